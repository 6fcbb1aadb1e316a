/**
 * Pure reading of what an image claims about how it boots, from its first 34 sectors
 * (MBR + GPT header + the first 128 partition entries).
 */

export const ESP_TYPE_GUID = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';
export const BIOS_BOOT_TYPE_GUID = '21686148-6449-6e6f-744e-656564454649';

export interface GptPartition {
  index: number;
  typeGuid: string;
  firstLba: bigint;
  lastLba: bigint;
  name: string;
  legacyBiosBootable: boolean;
}

export interface BootClaims {
  table: 'gpt' | 'mbr' | 'none';
  /** The first 440 bytes hold boot code (GRUB, SYSLINUX's gptmbr...): a BIOS can start it. */
  mbrBootCode: boolean;
  esp?: GptPartition;
  biosBootPartition?: GptPartition;
  partitions: GptPartition[];
  claims: { bios: boolean; uefi: boolean };
  /** Human-readable reasons, for the report. */
  reasons: string[];
}

/** Mixed-endian GUID bytes as on disk -> canonical lower-case text. */
export function guidFromBytes(b: Uint8Array): string {
  const hex = (from: number, to: number, reverse: boolean) => {
    const part = Array.from(b.slice(from, to), (x) => x.toString(16).padStart(2, '0'));
    return (reverse ? part.reverse() : part).join('');
  };
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10, false)}-${hex(10, 16, false)}`;
}

export function readBootClaims(head: Uint8Array, sectorSize = 512): BootClaims {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const reasons: string[] = [];
  const hasMbrSignature = head.length >= 512 && head[510] === 0x55 && head[511] === 0xaa;
  const mbrBootCode = hasMbrSignature && head.slice(0, 440).some((x) => x !== 0);
  const gptSignature = new TextDecoder().decode(head.slice(sectorSize, sectorSize + 8)) === 'EFI PART';
  const partitions: GptPartition[] = [];
  if (gptSignature) {
    const entriesLba = Number(view.getBigUint64(sectorSize + 72, true));
    const count = view.getUint32(sectorSize + 80, true);
    const entrySize = view.getUint32(sectorSize + 84, true);
    for (let i = 0; i < count; i++) {
      const offset = entriesLba * sectorSize + i * entrySize;
      if (offset + 128 > head.length) break;
      const typeGuid = guidFromBytes(head.slice(offset, offset + 16));
      if (/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(typeGuid)) continue;
      const attributes = view.getBigUint64(offset + 48, true);
      const nameBytes = head.slice(offset + 56, offset + 128);
      const name = new TextDecoder('utf-16le').decode(nameBytes).replace(/\0.*$/, '');
      partitions.push({ index: i + 1, typeGuid, firstLba: view.getBigUint64(offset + 32, true), lastLba: view.getBigUint64(offset + 40, true), name, legacyBiosBootable: (attributes & 4n) !== 0n });
    }
  }
  const esp = partitions.find((p) => p.typeGuid === ESP_TYPE_GUID);
  const biosBootPartition = partitions.find((p) => p.typeGuid === BIOS_BOOT_TYPE_GUID);
  const table = gptSignature ? 'gpt' : hasMbrSignature ? 'mbr' : 'none';
  if (table === 'none') reasons.push('no partition table (no MBR signature, no GPT header)');
  if (gptSignature) reasons.push(`GPT with ${partitions.length} partition(s)`);
  else if (hasMbrSignature) reasons.push('MBR (dos) partition table');
  if (esp) reasons.push(`EFI system partition is partition ${esp.index}`);
  else if (gptSignature) reasons.push('no EFI system partition');
  if (mbrBootCode) reasons.push('boot code in the MBR');
  if (biosBootPartition) reasons.push(`BIOS boot partition ${biosBootPartition.index}`);
  const bios = mbrBootCode;
  const uefi = Boolean(esp);
  reasons.push(`claims: ${[bios && 'bios', uefi && 'uefi'].filter(Boolean).join(' + ') || 'nothing bootable'}`);
  return { table, mbrBootCode, esp, biosBootPartition, partitions, claims: { bios, uefi }, reasons };
}

/** Parses `qemu-io -c 'read -v OFFSET LEN'` hex dump lines back into bytes. */
export function bytesFromQemuIoDump(dump: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (const line of dump.split('\n')) {
    const match = /^([0-9a-f]{8}):\s+((?:[0-9a-f]{2}\s){1,16})/.exec(line);
    if (!match) continue;
    const offset = parseInt(match[1]!, 16);
    match[2]!
      .trim()
      .split(/\s+/)
      .forEach((byte, i) => {
        if (offset + i < length) out[offset + i] = parseInt(byte, 16);
      });
  }
  return out;
}
