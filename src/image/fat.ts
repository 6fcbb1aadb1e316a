/**
 * Pure reading of a partition's first sector: which FAT it is (by cluster count, the way the FAT
 * specification and every driver decide, not by the label text), or what else is there.
 */

export type FatType = 'FAT12' | 'FAT16' | 'FAT32';

export type VolumeKind =
  | { kind: 'fat'; type: FatType; clusters: number; bytesPerSector: number; sectorsPerCluster: number; label?: string }
  | { kind: 'other'; name: string }
  | { kind: 'empty' }
  | { kind: 'unknown'; reason: string };

/** `head`: at least the first 2 KiB of the partition (ext's superblock magic sits at 1080). */
export function readVolumeKind(head: Uint8Array): VolumeKind {
  if (head.length < 512) return { kind: 'unknown', reason: 'partition shorter than one sector' };
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head.length >= 1082 && view.getUint16(1080, true) === 0xef53) return { kind: 'other', name: 'ext2/3/4' };
  if (new TextDecoder().decode(head.subarray(3, 11)) === 'NTFS    ') return { kind: 'other', name: 'NTFS' };
  if (new TextDecoder().decode(head.subarray(3, 11)) === 'EXFAT   ') return { kind: 'other', name: 'exFAT' };
  if (head.subarray(0, 512).every((b) => b === 0)) return { kind: 'empty' };

  const jump = head[0] === 0xeb || head[0] === 0xe9;
  const bytesPerSector = view.getUint16(11, true);
  const sectorsPerCluster = head[13]!;
  const reserved = view.getUint16(14, true);
  const fats = head[16]!;
  const rootEntries = view.getUint16(17, true);
  const total16 = view.getUint16(19, true);
  const media = head[21]!;
  const fatSize16 = view.getUint16(22, true);
  const total32 = view.getUint32(32, true);
  const fatSize32 = view.getUint32(36, true);
  const problems: string[] = [];
  if (!jump) problems.push('no x86 jump at the start');
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) problems.push(`bytes per sector ${bytesPerSector}`);
  if (!sectorsPerCluster || (sectorsPerCluster & (sectorsPerCluster - 1)) !== 0) problems.push(`sectors per cluster ${sectorsPerCluster}`);
  if (!reserved) problems.push('no reserved sectors');
  if (!fats) problems.push('no FATs');
  if (media !== 0xf0 && media < 0xf8) problems.push(`media byte 0x${media.toString(16)}`);
  const fatSize = fatSize16 || fatSize32;
  const total = total16 || total32;
  if (!fatSize || !total) problems.push('no FAT size or sector count');
  if (problems.length) return { kind: 'unknown', reason: `not a FAT boot sector (${problems.join(', ')})` };

  const rootSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const dataSectors = total - (reserved + fats * fatSize + rootSectors);
  if (dataSectors <= 0) return { kind: 'unknown', reason: 'FAT boot sector with no data area' };
  const clusters = Math.floor(dataSectors / sectorsPerCluster);
  const type: FatType = clusters < 4085 ? 'FAT12' : clusters < 65525 ? 'FAT16' : 'FAT32';
  // The volume label lives in the extended BPB: at 43 for FAT12/16, at 71 for FAT32 (signature 0x29 before the serial).
  const labelAt = type === 'FAT32' ? 71 : 43;
  const signatureAt = type === 'FAT32' ? 66 : 38;
  const label = head[signatureAt] === 0x29 ? new TextDecoder('latin1').decode(head.subarray(labelAt, labelAt + 11)).trim() : undefined;
  return { kind: 'fat', type, clusters, bytesPerSector, sectorsPerCluster, label: label && label !== 'NO NAME' ? label : undefined };
}

/** One word for the report: FAT32, ext2/3/4, empty, unknown. */
export function volumeKindName(kind: VolumeKind): string {
  switch (kind.kind) {
    case 'fat':
      return kind.type;
    case 'other':
      return kind.name;
    case 'empty':
      return 'empty (all zeros)';
    case 'unknown':
      return 'unknown';
  }
}
