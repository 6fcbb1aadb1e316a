import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commonNames, readPe } from '../../src/image/pe.js';
import { buildPe, concat, derCommonName } from './helpers/pe-builder.js';

const SBAT_SHIM =
  'sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\nshim,3,UEFI shim,shim,1,https://github.com/rhboot/shim\nshim.debian,1,Debian,shim,15.7,https://tracker.debian.org/pkg/shim\n';
const SBAT_GRUB = 'sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\ngrub,3,Free Software Foundation,grub,2.06,https://www.gnu.org/software/grub/\n';
const signature = concat(
  new Uint8Array([0x30, 0x82, 0x01, 0x00]),
  derCommonName('Microsoft Windows UEFI Driver Publisher'),
  derCommonName('Microsoft Corporation UEFI CA 2011'),
  derCommonName('Microsoft Windows UEFI Driver Publisher'),
);

describe('readPe', () => {
  it('an unsigned PE32+ EFI application: no certificate table', () => {
    const info = readPe(buildPe());
    expect(info).toMatchObject({ pe: true, machine: 'x86_64', pe32plus: true, subsystem: 10, signed: false, shim: false });
    if (info.pe) expect(info.signatureNote).toMatch(/empty/);
  });

  it('a signed shim: Authenticode certificate (data directory 4), .vendor_cert + SBAT shim entry', () => {
    const info = readPe(
      buildPe({
        sections: [
          { name: '.text', data: new Uint8Array(100) },
          { name: '.sbat', data: SBAT_SHIM },
          { name: '.vendor_cert', data: new Uint8Array(32) },
        ],
        certificate: { blob: signature },
      }),
    );
    expect(info.pe).toBe(true);
    if (!info.pe) return;
    expect(info.signed).toBe(true);
    expect(info.shim).toBe(true);
    expect(info.sbat).toMatch(/^shim,3/m);
    expect(info.certificate).toMatchObject({ revision: 0x0200, type: 2, typeName: 'PKCS#7 (Authenticode)' });
    expect(info.certificate!.commonNames).toEqual(['Microsoft Windows UEFI Driver Publisher', 'Microsoft Corporation UEFI CA 2011']);
    expect(info.signatureNote).toBe('Authenticode signature attached (certificates: Microsoft Windows UEFI Driver Publisher; Microsoft Corporation UEFI CA 2011)');
  });

  it('long section names come from the COFF string table', () => {
    const info = readPe(
      buildPe({
        sections: [
          { name: '.text', data: 'x' },
          { name: '.vendor_cert', data: 'y' },
          { name: '.sbatlevel', data: 'z' },
        ],
      }),
    );
    expect(info.pe && info.sections.map((s) => s.name)).toEqual(['.text', '.vendor_cert', '.sbatlevel']);
    expect(info).toMatchObject({ shim: true, signed: false });
  });

  it('shim is recognised by its SBAT entry alone, GRUB is not shim', () => {
    expect(readPe(buildPe({ sections: [{ name: '.sbat', data: SBAT_SHIM }] }))).toMatchObject({ shim: true });
    expect(readPe(buildPe({ sections: [{ name: '.sbat', data: SBAT_GRUB }], certificate: { blob: signature } }))).toMatchObject({ shim: false, signed: true });
  });

  it('PE32 (32-bit optional header) is read at its own directory offsets', () => {
    expect(readPe(buildPe({ pe32plus: false, machine: 0x14c, certificate: { blob: signature } }))).toMatchObject({ pe: true, pe32plus: false, machine: 'i386', signed: true });
  });

  it('a certificate table that is not PKCS#7, or points outside the file, is not a signature', () => {
    const x509 = readPe(buildPe({ certificate: { type: 1, blob: new Uint8Array(16) } }));
    expect(x509).toMatchObject({ signed: false });
    if (x509.pe) expect(x509.signatureNote).toMatch(/X\.509, not an Authenticode/);
    const outside = readPe(buildPe({ directory4: { offset: 1 << 20, size: 100 } }));
    expect(outside).toMatchObject({ signed: false });
    if (outside.pe) expect(outside.signatureNote).toMatch(/outside the file/);
  });

  it('fewer than 5 data directories: unsigned', () => {
    expect(readPe(buildPe({ directoryCount: 4 }))).toMatchObject({ pe: true, signed: false });
  });

  it('not a PE at all', () => {
    expect(readPe(new Uint8Array(10))).toEqual({ pe: false, reason: 'no MZ header' });
    const mzOnly = new Uint8Array(256);
    mzOnly.set([0x4d, 0x5a]);
    mzOnly[0x3c] = 0x80;
    expect(readPe(mzOnly)).toEqual({ pe: false, reason: 'no PE signature' });
    expect(readPe(new TextEncoder().encode('#!/bin/sh\necho not an EFI binary\n'.padEnd(200)))).toMatchObject({ pe: false });
  });

  it('an aarch64 loader says so', () => {
    expect(readPe(buildPe({ machine: 0xaa64 }))).toMatchObject({ pe: true, machine: 'aarch64' });
  });

  const grubMkstandalone = existsSync('/usr/bin/grub-mkstandalone') && existsSync('/usr/lib/grub/x86_64-efi');
  it.skipIf(!grubMkstandalone)(
    'a real grub-mkstandalone loader is an unsigned x86_64 PE32+, not shim',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'imgtest-pe-'));
      try {
        const out = join(dir, 'BOOTX64.EFI');
        execFileSync('grub-mkstandalone', ['-O', 'x86_64-efi', '-o', out, '--modules=part_gpt', `boot/grub/grub.cfg=/dev/null`]);
        const info = readPe(new Uint8Array(readFileSync(out)));
        expect(info).toMatchObject({ pe: true, machine: 'x86_64', pe32plus: true, signed: false, shim: false });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});

describe('commonNames', () => {
  it('reads UTF8String, PrintableString and BMPString CNs, once each', () => {
    const bmp = new Uint8Array([0x06, 0x03, 0x55, 0x04, 0x03, 0x1e, 0x04, 0x00, 0x41, 0x00, 0x42]);
    expect(commonNames(concat(derCommonName('Debian Secure Boot CA'), derCommonName('Debian Secure Boot Signer', 0x13), bmp, derCommonName('Debian Secure Boot CA')))).toEqual([
      'Debian Secure Boot CA',
      'Debian Secure Boot Signer',
      'AB',
    ]);
  });
  it('ignores truncated data', () => {
    expect(commonNames(new Uint8Array([0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x40, 0x41]))).toEqual([]);
  });
});
