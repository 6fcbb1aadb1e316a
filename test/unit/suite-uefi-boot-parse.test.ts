import { describe, expect, it } from 'vitest';
import {
  bootCurrent,
  bootEntries,
  bootOrder,
  byteVariable,
  consoleBootLines,
  describeBootEntries,
  espPartitionsSeen,
  mokutilState,
  namesFile,
  parseEfiProbe,
  parseLoadOption,
} from '../../suites/uefi-boot/parse.js';
import { fileNode, fvFile, hd, loadOption, lsblkJson, mac, pci, pciRoot, probeOutput } from './helpers/efi-vars.js';

const data = (bytes: number[]) => Uint8Array.from(bytes.slice(4));

describe('parseEfiProbe', () => {
  it('reads flags, variables without their attribute bytes, mokutil, kernel lines and lsblk', () => {
    const probe = parseEfiProbe(
      probeOutput({ secureBoot: 1, setupMode: 0, bootCurrent: 0x1a, bootOrder: [1, 0x1a], mokutil: 'SecureBoot enabled ', kernel: ['secureboot: Secure boot enabled'], lsblk: lsblkJson() }),
    );
    expect(probe.efi).toBe(true);
    expect(probe.platformSize).toBe(64);
    expect(byteVariable(probe, 'SecureBoot')).toBe(1);
    expect(byteVariable(probe, 'SetupMode')).toBe(0);
    expect(bootCurrent(probe)).toBe('Boot001A');
    expect(bootOrder(probe)).toEqual(['Boot0001', 'Boot001A']);
    expect(probe.mokutil).toBe('SecureBoot enabled');
    expect(probe.kernel).toEqual(['secureboot: Secure boot enabled']);
    expect(espPartitionsSeen(probe.lsblk)).toMatchObject([{ disk: '/dev/vda', pttype: 'gpt', partitions: [{ path: '/dev/vda1', fstype: 'vfat' }] }]);
  });
  it('a BIOS guest: no EFI, mokutil absent', () => {
    const probe = parseEfiProbe('efi=no\nmokutil=(not installed)\nlsblk=\n');
    expect(probe).toMatchObject({ efi: false, mokutil: undefined });
    expect(byteVariable(probe, 'SecureBoot')).toBeUndefined();
    expect(bootCurrent(probe)).toBeUndefined();
  });
});

describe('parseLoadOption', () => {
  it("the firmware's own disk entry: a device path without a file", () => {
    const option = parseLoadOption(data(loadOption('UEFI Misc Device', [pciRoot(), pci(3)])))!;
    expect(option).toMatchObject({ active: true, description: 'UEFI Misc Device', path: 'PciRoot(0x0)/Pci(0x3,0x0)', file: undefined, firmwareApp: false, network: false });
  });
  it('a vendor entry names its loader file', () => {
    const option = parseLoadOption(data(loadOption('debian', [hd(1), fileNode('\\EFI\\debian\\shimx64.efi')])))!;
    expect(option.file).toBe('\\EFI\\debian\\shimx64.efi');
    expect(option.path).toMatch(/^HD\(1,GPT,ABABABAB-ABAB-ABAB-ABAB-ABABABABABAB,0x800,0x200000\)\/\\EFI\\debian\\shimx64.efi$/);
    expect(namesFile(option.path)).toBe(true);
  });
  it('firmware applications and network entries', () => {
    expect(parseLoadOption(data(loadOption('UiApp', [fvFile()], false)))).toMatchObject({ active: false, firmwareApp: true, path: 'FvFile(462CAA21-7614-4503-836E-8AB6F4662331)' });
    expect(parseLoadOption(data(loadOption('UEFI PXEv4', [pciRoot(), pci(2), mac()])))).toMatchObject({ network: true, path: 'PciRoot(0x0)/Pci(0x2,0x0)/MAC(525400010203,0x1)' });
  });
  it('truncated data is no option', () => {
    expect(parseLoadOption(new Uint8Array(3))).toBeUndefined();
  });
  it('describeBootEntries lists them like efibootmgr', () => {
    const probe = parseEfiProbe(
      probeOutput({ bootCurrent: 1, bootOrder: [1, 0], entries: { Boot0000: loadOption('UiApp', [fvFile()], false), Boot0001: loadOption('UEFI Misc Device', [pciRoot(), pci(3)]) } }),
    );
    expect([...bootEntries(probe).keys()]).toEqual(['Boot0000', 'Boot0001']);
    expect(describeBootEntries(probe)).toBe(
      'BootCurrent: Boot0001\nBootOrder: Boot0001,Boot0000\nBoot0000  "UiApp" FvFile(462CAA21-7614-4503-836E-8AB6F4662331)\nBoot0001* "UEFI Misc Device" PciRoot(0x0)/Pci(0x3,0x0)',
    );
  });
});

describe('consoleBootLines', () => {
  it("reads OVMF's lines through ANSI noise, with the reason of a refusal", () => {
    const log =
      '\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01HBdsDxe: failed to load Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0): Access Denied\r\nBdsDxe: loading Boot0002 "UEFI PXEv4 (MAC:525400A1B2C3)" from PciRoot(0x0)/Pci(0x2,0x0)/MAC(525400A1B2C3,0x1)/IPv4(0.0.0.0,0x0,DHCP,0.0.0.0,0.0.0.0,0.0.0.0)\r\nBdsDxe: starting Boot0002 "UEFI PXEv4 (MAC:525400A1B2C3)" from PciRoot(0x0)/Pci(0x2,0x0)/MAC(525400A1B2C3,0x1)/IPv4(0.0.0.0,0x0,DHCP,0.0.0.0,0.0.0.0,0.0.0.0)\r\n';
    const lines = consoleBootLines(log);
    expect(lines.map((l) => [l.event, l.option, l.description, l.detail])).toEqual([
      ['failed', 'Boot0001', 'UEFI Misc Device', 'Access Denied'],
      ['loading', 'Boot0002', 'UEFI PXEv4 (MAC:525400A1B2C3)', undefined],
      ['starting', 'Boot0002', 'UEFI PXEv4 (MAC:525400A1B2C3)', undefined],
    ]);
    expect(lines[0]!.path).toBe('PciRoot(0x0)/Pci(0x3,0x0)');
    expect(lines[1]!.path).toMatch(/MAC\(525400A1B2C3,0x1\)\/IPv4/);
    expect(namesFile(lines[0]!.path)).toBe(false);
  });
});

describe('mokutilState', () => {
  it('reads mokutil --sb-state', () => {
    expect(mokutilState('SecureBoot enabled')).toBe('enabled');
    expect(mokutilState('SecureBoot disabled\nPlatform is in Setup Mode')).toBe('disabled');
    expect(mokutilState("This system doesn't support Secure Boot")).toBe('unsupported');
    expect(mokutilState(undefined)).toBeUndefined();
  });
});
