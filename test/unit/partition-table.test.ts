import { describe, expect, it } from 'vitest';
import { bytesFromQemuIoDump, guidFromBytes, readBootClaims, ESP_TYPE_GUID } from '../../src/image/partition-table.js';

/** Builds the first 34 sectors of a disk with the given GPT partition type GUIDs. */
function disk(options: { gpt?: string[]; bootCode?: boolean; mbr?: boolean }): Uint8Array {
  const head = new Uint8Array(34 * 512);
  const view = new DataView(head.buffer);
  if (options.mbr !== false) {
    head[510] = 0x55;
    head[511] = 0xaa;
  }
  if (options.bootCode) head.set([0xeb, 0x63, 0x90], 0);
  if (options.gpt) {
    head.set(new TextEncoder().encode('EFI PART'), 512);
    view.setBigUint64(512 + 72, 2n, true);
    view.setUint32(512 + 80, 128, true);
    view.setUint32(512 + 84, 128, true);
    options.gpt.forEach((guid, i) => {
      const offset = 1024 + i * 128;
      const hex = guid.replace(/-/g, '');
      const bytes = hex.match(/../g)!.map((h) => parseInt(h, 16));
      const mixed = [...bytes.slice(0, 4).reverse(), ...bytes.slice(4, 6).reverse(), ...bytes.slice(6, 8).reverse(), ...bytes.slice(8)];
      head.set(mixed, offset);
      view.setBigUint64(offset + 32, 2048n * BigInt(i + 1), true);
    });
  }
  return head;
}

const LINUX = '0fc63daf-8483-4772-8e79-3d69d8477de4';
const BIOS_BOOT = '21686148-6449-6e6f-744e-656564454649';

describe('readBootClaims', () => {
  it('a hybrid GPT image claims both firmwares', () => {
    const claims = readBootClaims(disk({ gpt: [BIOS_BOOT, ESP_TYPE_GUID, LINUX], bootCode: true }));
    expect(claims.table).toBe('gpt');
    expect(claims.esp?.index).toBe(2);
    expect(claims.claims).toEqual({ bios: true, uefi: true });
  });
  it('GPT without ESP and with boot code is BIOS-only, and says why', () => {
    const claims = readBootClaims(disk({ gpt: [LINUX], bootCode: true }));
    expect(claims.claims).toEqual({ bios: true, uefi: false });
    expect(claims.reasons).toContain('no EFI system partition');
  });
  it('UEFI-only: ESP but an empty protective MBR', () => {
    expect(readBootClaims(disk({ gpt: [ESP_TYPE_GUID, LINUX] })).claims).toEqual({ bios: false, uefi: true });
  });
  it('a blank disk claims nothing', () => {
    const claims = readBootClaims(new Uint8Array(34 * 512));
    expect(claims.table).toBe('none');
    expect(claims.claims).toEqual({ bios: false, uefi: false });
  });
  it('decodes mixed-endian GUIDs', () => {
    expect(guidFromBytes(new Uint8Array([0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b]))).toBe(ESP_TYPE_GUID);
  });
});

describe('bytesFromQemuIoDump', () => {
  it('rebuilds bytes from a hex dump', () => {
    const dump =
      '00000000:  eb 63 90 00 00 00 00 00 00 00 00 00 00 00 00 00  .c..............\n000001f0:  00 00 00 00 00 00 00 00 00 00 00 00 00 00 55 aa  ..............U.\nread 512/512 bytes at offset 0\n';
    const bytes = bytesFromQemuIoDump(dump, 512);
    expect(Array.from(bytes.slice(0, 3))).toEqual([0xeb, 0x63, 0x90]);
    expect(bytes[510]).toBe(0x55);
    expect(bytes[511]).toBe(0xaa);
  });
});
