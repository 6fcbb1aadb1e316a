import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { espBootFacts, parseMdirListing, type EspReading } from '../../src/image/esp.js';
import { bootInfoFrom, inspectImage } from '../../src/image/inspect.js';
import { readBootClaims, type BootClaims } from '../../src/image/partition-table.js';
import { readPe } from '../../src/image/pe.js';
import { buildPe, derCommonName } from './helpers/pe-builder.js';

const fat32 = { kind: 'fat' as const, type: 'FAT32' as const, clusters: 200000, bytesPerSector: 512, sectorsPerCluster: 1, label: 'EFI' };
const signedShim = readPe(buildPe({ sections: [{ name: '.vendor_cert', data: new Uint8Array(8) }], certificate: { blob: derCommonName('Microsoft Windows UEFI Driver Publisher') } }));
const signedGrub = readPe(buildPe({ certificate: { blob: derCommonName('Debian Secure Boot Signer 2022 - grub2') } }));
const unsigned = readPe(buildPe());

const hybrid: BootClaims = {
  table: 'gpt',
  mbrBootCode: true,
  partitions: [],
  claims: { bios: true, uefi: true },
  esp: { index: 1, typeGuid: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b', firstLba: 2048n, lastLba: 206847n, name: 'EFI System Partition', legacyBiosBootable: false },
  reasons: ['GPT with 2 partition(s)', 'EFI system partition is partition 1', 'boot code in the MBR', 'claims: bios + uefi'],
};

describe('parseMdirListing', () => {
  it('keeps files, drops folders and the ::/ prefix, keeps long names and case', () => {
    expect(parseMdirListing('::/EFI/\n::/EFI/BOOT/\n::/EFI/BOOT/BOOTX64.EFI\n::/EFI/BOOT/grubx64.efi\n::/EFI/debian/grub.cfg\n::/My Files/a b.txt\n')).toEqual([
      'EFI/BOOT/BOOTX64.EFI',
      'EFI/BOOT/grubx64.efi',
      'EFI/debian/grub.cfg',
      'My Files/a b.txt',
    ]);
  });
});

describe('espBootFacts', () => {
  it('signed shim with a signed second stage: claims Secure Boot, says who signed it', () => {
    const reading: EspReading = {
      volume: fat32,
      files: ['EFI/BOOT/BOOTX64.EFI', 'EFI/BOOT/grubx64.efi'],
      loader: { path: 'EFI/BOOT/BOOTX64.EFI', pe: signedShim },
      secondStage: { path: 'EFI/BOOT/grubx64.efi', pe: signedGrub },
    };
    const facts = espBootFacts(reading, 1);
    expect(facts).toMatchObject({ filesystem: 'FAT32', secureBoot: true, fallbackLoader: { path: 'EFI/BOOT/BOOTX64.EFI', signed: true, shim: true } });
    expect(facts.reasons).toEqual([
      'ESP (partition 1) is FAT32 labelled EFI, 2 file(s)',
      'EFI/BOOT/BOOTX64.EFI: x86_64 shim, Authenticode signature attached (certificates: Microsoft Windows UEFI Driver Publisher)',
      "shim's second stage EFI/BOOT/grubx64.efi: signed",
    ]);
  });
  it('an unsigned loader: UEFI but no Secure Boot claim', () => {
    const facts = espBootFacts({ volume: fat32, files: ['EFI/BOOT/BOOTX64.EFI'], loader: { path: 'EFI/BOOT/BOOTX64.EFI', pe: unsigned } }, 1);
    expect(facts.secureBoot).toBe(false);
    expect(facts.fallbackLoader).toEqual({ path: 'EFI/BOOT/BOOTX64.EFI', signed: false, shim: false });
    expect(facts.reasons[1]).toMatch(/^EFI\/BOOT\/BOOTX64.EFI: x86_64 EFI application, unsigned/);
  });
  it('a loader only in a vendor path: names what is there', () => {
    const facts = espBootFacts({ volume: fat32, files: ['EFI/debian/shimx64.efi', 'EFI/debian/grubx64.efi', 'EFI/debian/grub.cfg'] }, 1);
    expect(facts.fallbackLoader).toBeUndefined();
    expect(facts.reasons[1]).toBe('no EFI/BOOT/BOOTX64.EFI on the ESP (EFI binaries found: EFI/debian/shimx64.efi, EFI/debian/grubx64.efi): a fresh variable store has nothing to boot');
  });
  it('shim without its second stage, and a loader that is no PE', () => {
    const noGrub = espBootFacts(
      { volume: fat32, files: ['EFI/BOOT/BOOTX64.EFI'], loader: { path: 'EFI/BOOT/BOOTX64.EFI', pe: signedShim }, secondStage: { path: 'EFI/BOOT/grubx64.efi', missing: true } },
      1,
    );
    expect(noGrub.reasons).toContain("shim's second stage EFI/BOOT/grubx64.efi is missing: shim will have nothing to start");
    const text = espBootFacts({ volume: fat32, files: ['EFI/BOOT/BOOTX64.EFI'], loader: { path: 'EFI/BOOT/BOOTX64.EFI', pe: { pe: false, reason: 'no MZ header' } } }, 1);
    expect(text).toMatchObject({ secureBoot: false, fallbackLoader: { signed: false } });
    expect(text.reasons).toContain('EFI/BOOT/BOOTX64.EFI is not an EFI executable (no MZ header)');
  });
  it('an ESP that is not FAT, or could not be read', () => {
    expect(espBootFacts({ volume: { kind: 'other', name: 'ext2/3/4' }, files: [] }, 2).reasons).toEqual(['ESP (partition 2) is not FAT (ext2/3/4): the firmware cannot read it']);
    const unread = espBootFacts({ volume: { kind: 'unknown', reason: 'not read' }, files: [], problem: 'qemu-img could not copy partition 1 out: boom' }, 1);
    expect(unread.filesystem).toBeUndefined();
    expect(unread.reasons).toEqual(['ESP (partition 1): qemu-img could not copy partition 1 out: boom']);
  });
});

describe('bootInfoFrom', () => {
  it('a signed hybrid image claims uefi + bios + secure boot, ending with the claims line', () => {
    const facts = espBootFacts({ volume: fat32, files: ['EFI/BOOT/BOOTX64.EFI'], loader: { path: 'EFI/BOOT/BOOTX64.EFI', pe: signedGrub } }, 1);
    const boot = bootInfoFrom(hybrid, facts);
    expect(boot.claims).toEqual({ bios: true, uefi: true, secureBoot: true });
    expect(boot.esp).toEqual({ partition: 1, filesystem: 'FAT32' });
    expect(boot.fallbackLoader).toEqual({ path: 'EFI/BOOT/BOOTX64.EFI', signed: true, shim: false });
    expect(boot.reasons.filter((r) => r.startsWith('claims:'))).toEqual(['claims: uefi + bios + secure boot']);
    expect(boot.reasons.at(-1)).toBe('claims: uefi + bios + secure boot');
  });
  it('without an ESP reading: the partition table alone', () => {
    const boot = bootInfoFrom(readBootClaims(new Uint8Array(34 * 512)));
    expect(boot).toMatchObject({ partitionTable: 'none', claims: { bios: false, uefi: false, secureBoot: false }, esp: undefined });
    expect(boot.reasons.at(-1)).toBe('claims: nothing bootable');
  });
});

const tools = ['qemu-img', 'qemu-io', 'mkfs.vfat', 'mmd', 'mcopy', 'sfdisk'].every((t) => ['/usr/bin', '/usr/sbin', '/sbin', '/bin'].some((d) => existsSync(join(d, t))));

describe.skipIf(!tools)('inspectImage reads the ESP of a real (small) disk image', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'imgtest-esp-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A 64 MiB GPT disk: partition 1 = ESP (40 MiB FAT32) holding `files`, converted to qcow2. */
  function disk(name: string, files: Record<string, Uint8Array>): string {
    const esp = join(dir, `${name}-esp.img`);
    execFileSync('mkfs.vfat', ['-C', '-F', '32', '-n', 'EFI', esp, String(40 * 1024)], { stdio: 'ignore' });
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    const made = new Set<string>();
    for (const [path, content] of Object.entries(files)) {
      const parts = path.split('/');
      for (let i = 1; i < parts.length; i++) {
        const folder = parts.slice(0, i).join('/');
        if (!made.has(folder)) execFileSync('mmd', ['-i', esp, `::/${folder}`], { env, stdio: 'ignore' });
        made.add(folder);
      }
      const local = join(dir, 'upload');
      writeFileSync(local, content);
      execFileSync('mcopy', ['-o', '-i', esp, local, `::/${path}`], { env });
    }
    const raw = join(dir, `${name}.raw`);
    execFileSync('truncate', ['-s', '64M', raw]);
    execFileSync('sfdisk', ['-q', raw], { input: 'label: gpt\nstart=2048, size=81920, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nstart=83968, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' });
    execFileSync('dd', [`if=${esp}`, `of=${raw}`, 'bs=1M', 'seek=1', 'conv=notrunc', 'status=none']);
    const qcow2 = join(dir, `${name}.qcow2`);
    execFileSync('qemu-img', ['convert', '-O', 'qcow2', raw, qcow2]);
    return qcow2;
  }

  it('signed shim on the fallback path: uefi + secure boot, no BIOS boot code', async () => {
    const shim = buildPe({
      sections: [{ name: '.sbat', data: 'sbat,1,SBAT Version,sbat,1,x\nshim,3,UEFI shim,shim,1,x\n' }],
      certificate: { blob: derCommonName('Microsoft Windows UEFI Driver Publisher') },
    });
    const grub = buildPe({ certificate: { blob: derCommonName('Debian Secure Boot Signer') } });
    const image = await inspectImage(disk('signed', { 'EFI/BOOT/BOOTX64.EFI': shim, 'EFI/BOOT/grubx64.efi': grub, 'EFI/debian/grub.cfg': new TextEncoder().encode('search --label root\n') }), {
      workDir: dir,
    });
    expect(image.boot).toMatchObject({
      partitionTable: 'gpt',
      biosBootCode: false,
      esp: { partition: 1, filesystem: 'FAT32' },
      fallbackLoader: { path: 'EFI/BOOT/BOOTX64.EFI', signed: true, shim: true },
      claims: { uefi: true, bios: false, secureBoot: true },
    });
    expect(image.boot.reasons).toContain("shim's second stage EFI/BOOT/grubx64.efi: signed");
  }, 60_000);

  it('unsigned loader in lower case: found case-insensitively, UEFI without Secure Boot', async () => {
    const image = await inspectImage(disk('unsigned', { 'efi/boot/bootx64.efi': buildPe() }), { workDir: dir });
    expect(image.boot.claims).toEqual({ uefi: true, bios: false, secureBoot: false });
    expect(image.boot.fallbackLoader).toMatchObject({ signed: false, shim: false });
  }, 60_000);

  it('an empty ESP: UEFI claimed (there is an ESP) but no fallback loader, and the reason says so', async () => {
    const image = await inspectImage(disk('empty', {}), { workDir: dir });
    expect(image.boot.fallbackLoader).toBeUndefined();
    expect(image.boot.reasons.join('\n')).toMatch(/no EFI\/BOOT\/BOOTX64.EFI on the ESP \(no EFI binaries at all\)/);
  }, 60_000);
});
