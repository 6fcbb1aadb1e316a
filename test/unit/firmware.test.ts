import { describe, expect, it } from 'vitest';
import { planRun } from '../../src/runner/planner.js';
import { resolveFirmware, unclaimedBecause } from '../../src/runner/firmware.js';
import type { ImageBootInfo } from '../../src/suite-api/index.js';

const boot = (over: Partial<ImageBootInfo> & { claims: ImageBootInfo['claims'] }): ImageBootInfo => ({ partitionTable: 'gpt', biosBootCode: over.claims.bios, reasons: [], ...over });
const signedHybrid = boot({
  esp: { partition: 1, filesystem: 'FAT32' },
  fallbackLoader: { path: 'EFI/BOOT/BOOTX64.EFI', signed: true, shim: true },
  claims: { uefi: true, bios: true, secureBoot: true },
});
const unsignedHybrid = boot({
  esp: { partition: 1, filesystem: 'FAT32' },
  fallbackLoader: { path: 'EFI/BOOT/BOOTX64.EFI', signed: false, shim: false },
  claims: { uefi: true, bios: true, secureBoot: false },
});
const uefiUnsigned = boot({
  esp: { partition: 1, filesystem: 'FAT32' },
  fallbackLoader: { path: 'EFI/BOOT/BOOTX64.EFI', signed: false, shim: false },
  claims: { uefi: true, bios: false, secureBoot: false },
});
const uefiSigned = boot({
  esp: { partition: 1, filesystem: 'FAT32' },
  fallbackLoader: { path: 'EFI/BOOT/BOOTX64.EFI', signed: true, shim: true },
  claims: { uefi: true, bios: false, secureBoot: true },
});
const biosOnly = boot({ partitionTable: 'mbr', claims: { uefi: false, bios: true, secureBoot: false } });
const nothing = boot({ partitionTable: 'none', claims: { uefi: false, bios: false, secureBoot: false } });

describe('resolveFirmware auto', () => {
  it('tests every firmware the image claims, the preferred (UEFI) first', () => {
    expect(resolveFirmware('auto', signedHybrid).firmwares).toEqual(['uefi', 'bios', 'uefi-secureboot']);
    expect(resolveFirmware('auto', unsignedHybrid).firmwares).toEqual(['uefi', 'bios']);
    expect(resolveFirmware('auto', uefiSigned).firmwares).toEqual(['uefi', 'uefi-secureboot']);
    expect(resolveFirmware('auto', uefiUnsigned).firmwares).toEqual(['uefi']);
    expect(resolveFirmware('auto', biosOnly).firmwares).toEqual(['bios']);
  });
  it('says what it decided and why', () => {
    expect(resolveFirmware('auto', signedHybrid).reason).toBe('firmware auto -> uefi, bios, uefi-secureboot (the image claims uefi + bios + secure boot; uefi first, as the image prefers)');
    expect(resolveFirmware('auto', biosOnly).reason).toBe('firmware auto -> bios (the image claims bios)');
    expect(resolveFirmware('auto', signedHybrid).warning).toBeUndefined();
  });
  it('an image claiming nothing is booted with BIOS, with a warning, not refused', () => {
    const choice = resolveFirmware('auto', nothing);
    expect(choice.firmwares).toEqual(['bios']);
    expect(choice.reason).toMatch(/claims nothing bootable/);
    expect(choice.warning).toMatch(/claims no way to boot/);
  });
  it("the matrix's first firmware is the one `firmwareMatrix: 'first'` suites get", () => {
    const plan = planRun({
      suites: [
        { id: 'uefi-boot', requires: { guests: { count: 1, placement: 'any', sharing: 'shared', seesFailedBoots: true } } },
        { id: 'live-migration', requires: { minHosts: 2, guests: { count: 1, placement: 'any', sharing: 'exclusive', firmwareMatrix: 'first' } } },
      ],
      hosts: ['hv1', 'hv2'],
      firmware: resolveFirmware('auto', signedHybrid).firmwares,
    });
    expect(plan.online.filter((a) => a.suiteId === 'uefi-boot').map((a) => a.firmware)).toEqual(['uefi', 'bios', 'uefi-secureboot']);
    expect(plan.online.filter((a) => a.suiteId === 'live-migration').map((a) => a.firmware)).toEqual(['uefi']);
    // One guest per firmware; the migration runs last on the UEFI one.
    expect(plan.guests).toHaveLength(3);
    expect(plan.online.at(-1)).toMatchObject({ suiteId: 'live-migration', guests: [plan.guests.find((g) => g.firmware === 'uefi')!.key] });
  });
});

describe('resolveFirmware explicit', () => {
  it('is a matrix of one, warning when the image does not claim it', () => {
    expect(resolveFirmware('uefi-secureboot', signedHybrid)).toEqual({
      firmwares: ['uefi-secureboot'],
      reason: 'firmware uefi-secureboot as asked (the image claims uefi + bios + secure boot)',
      warning: undefined,
    });
    expect(resolveFirmware('uefi-secureboot', uefiUnsigned).warning).toBe(
      'the image does not claim uefi-secureboot boot (its fallback loader EFI/BOOT/BOOTX64.EFI is not signed); testing it with uefi-secureboot as asked',
    );
    expect(resolveFirmware('uefi', biosOnly).warning).toMatch(/no EFI system partition \(MBR partition table\)/);
    expect(resolveFirmware('bios', uefiUnsigned).warning).toMatch(/no boot code in the MBR/);
  });
});

describe('unclaimedBecause', () => {
  it('names what is missing', () => {
    expect(unclaimedBecause('uefi', boot({ claims: { uefi: false, bios: true, secureBoot: false } }))).toBe('no EFI system partition');
    expect(unclaimedBecause('uefi-secureboot', boot({ esp: { partition: 1, filesystem: 'FAT32' }, claims: { uefi: true, bios: false, secureBoot: false } }))).toBe(
      'no fallback loader EFI/BOOT/BOOTX64.EFI',
    );
    expect(unclaimedBecause('uefi-secureboot', boot({ esp: { partition: 1 }, claims: { uefi: true, bios: false, secureBoot: false } }))).toBe(
      'no fallback loader EFI/BOOT/BOOTX64.EFI (the ESP could not be read)',
    );
    expect(unclaimedBecause('uefi', uefiUnsigned)).toBeUndefined();
  });
});
