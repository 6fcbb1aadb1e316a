import { describe, expect, it } from 'vitest';
import { readVolumeKind, volumeKindName } from '../../src/image/fat.js';

/** A FAT boot sector with the given geometry (the fields the type decision reads). */
function bootSector(o: { totalSectors: number; sectorsPerCluster: number; fatSize: number; rootEntries: number; reserved?: number; fat32?: boolean; label?: string }): Uint8Array {
  const b = new Uint8Array(4096);
  const v = new DataView(b.buffer);
  b.set([0xeb, 0x58, 0x90], 0);
  b.set(new TextEncoder().encode('mkfs.fat'), 3);
  v.setUint16(11, 512, true);
  b[13] = o.sectorsPerCluster;
  v.setUint16(14, o.reserved ?? (o.fat32 ? 32 : 1), true);
  b[16] = 2;
  v.setUint16(17, o.rootEntries, true);
  if (o.totalSectors < 65536) v.setUint16(19, o.totalSectors, true);
  else v.setUint32(32, o.totalSectors, true);
  b[21] = 0xf8;
  if (o.fat32) v.setUint32(36, o.fatSize, true);
  else v.setUint16(22, o.fatSize, true);
  const sigAt = o.fat32 ? 66 : 38;
  b[sigAt] = 0x29;
  b.set(new TextEncoder().encode((o.label ?? 'NO NAME').padEnd(11)), o.fat32 ? 71 : 43);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

describe('readVolumeKind', () => {
  it('FAT32 by cluster count (the 100 MiB ESP mkfs.fat -F32 makes)', () => {
    const kind = readVolumeKind(bootSector({ totalSectors: 204750, sectorsPerCluster: 1, fatSize: 1576, rootEntries: 0, fat32: true, label: 'EFI' }));
    expect(kind).toMatchObject({ kind: 'fat', type: 'FAT32', label: 'EFI' });
    expect(volumeKindName(kind)).toBe('FAT32');
  });
  it('FAT16 and FAT12 by cluster count, whatever the label text says', () => {
    expect(readVolumeKind(bootSector({ totalSectors: 65536 * 2 - 1, sectorsPerCluster: 4, fatSize: 128, rootEntries: 512 }))).toMatchObject({ type: 'FAT16' });
    expect(readVolumeKind(bootSector({ totalSectors: 2880, sectorsPerCluster: 1, fatSize: 9, rootEntries: 224, label: 'FAT32 LIE' }))).toMatchObject({ type: 'FAT12', label: 'FAT32 LIE' });
  });
  it('the cluster-count boundaries: 4084 is FAT12, 4085 FAT16; 65524 FAT16, 65525 FAT32', () => {
    const at = (clusters: number, fat32 = false) => readVolumeKind(bootSector({ totalSectors: 1 + 2 * 64 + 32 + clusters, sectorsPerCluster: 1, fatSize: 64, rootEntries: 512, reserved: 1, fat32 }));
    expect(at(4084)).toMatchObject({ type: 'FAT12', clusters: 4084 });
    expect(at(4085)).toMatchObject({ type: 'FAT16', clusters: 4085 });
    expect(at(65524)).toMatchObject({ type: 'FAT16' });
    expect(at(65525)).toMatchObject({ type: 'FAT32' });
  });
  it('ext2/3/4, NTFS, all zeros, garbage', () => {
    const ext = new Uint8Array(4096);
    ext[1080] = 0x53;
    ext[1081] = 0xef;
    expect(readVolumeKind(ext)).toEqual({ kind: 'other', name: 'ext2/3/4' });
    const ntfs = new Uint8Array(512);
    ntfs.set(new TextEncoder().encode('NTFS    '), 3);
    expect(readVolumeKind(ntfs)).toEqual({ kind: 'other', name: 'NTFS' });
    expect(readVolumeKind(new Uint8Array(4096))).toEqual({ kind: 'empty' });
    const junk = new Uint8Array(512).fill(0x41);
    const kind = readVolumeKind(junk);
    expect(kind.kind).toBe('unknown');
    if (kind.kind === 'unknown') expect(kind.reason).toMatch(/not a FAT boot sector/);
  });
});
