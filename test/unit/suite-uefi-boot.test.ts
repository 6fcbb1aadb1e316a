import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CaseResult } from '../../src/report/model.js';
import { runSuiteChecks } from '../../src/runner/checks.js';
import type { BootFailure, Firmware, GuestHandle, ImageBootInfo, ImageInfo } from '../../src/suite-api/index.js';
import { PROBE_SCRIPT } from '../../suites/uefi-boot/guest-data.js';
import uefiBoot from '../../suites/uefi-boot/index.js';
import { fileNode, fvFile, hd, loadOption, lsblkJson, mac, pci, pciRoot, probeOutput } from './helpers/efi-vars.js';
import { fakeGuest } from './helpers/fake-guest.js';

const artifactDir = mkdtempSync(join(tmpdir(), 'imgtest-uefi-suite-'));
afterAll(() => rmSync(artifactDir, { recursive: true, force: true }));

const SIGNED_HYBRID: ImageBootInfo = {
  partitionTable: 'gpt',
  biosBootCode: true,
  esp: { partition: 1, filesystem: 'FAT32' },
  fallbackLoader: { path: 'EFI/BOOT/BOOTX64.EFI', signed: true, shim: true },
  claims: { bios: true, uefi: true, secureBoot: true },
  reasons: [
    'GPT with 2 partition(s)',
    'EFI system partition is partition 1',
    'boot code in the MBR',
    'ESP (partition 1) is FAT32 labelled EFI, 4 file(s)',
    'EFI/BOOT/BOOTX64.EFI: x86_64 shim, Authenticode signature attached',
    'claims: uefi + bios + secure boot',
  ],
};
const UEFI_UNSIGNED: ImageBootInfo = {
  partitionTable: 'gpt',
  biosBootCode: false,
  esp: { partition: 1, filesystem: 'FAT32' },
  fallbackLoader: { path: 'EFI/BOOT/BOOTX64.EFI', signed: false, shim: false },
  claims: { bios: false, uefi: true, secureBoot: false },
  reasons: [
    'GPT with 2 partition(s)',
    'EFI system partition is partition 1',
    'ESP (partition 1) is FAT32, 1 file(s)',
    'EFI/BOOT/BOOTX64.EFI: x86_64 EFI application, unsigned (certificate table is empty)',
    'claims: uefi',
  ],
};
const BIOS_ONLY: ImageBootInfo = {
  partitionTable: 'mbr',
  biosBootCode: true,
  claims: { bios: true, uefi: false, secureBoot: false },
  reasons: ['MBR (dos) partition table', 'boot code in the MBR', 'claims: bios'],
};
const VENDOR_PATH_ONLY: ImageBootInfo = {
  partitionTable: 'gpt',
  biosBootCode: false,
  esp: { partition: 1, filesystem: 'FAT32' },
  claims: { bios: false, uefi: true, secureBoot: false },
  reasons: [
    'GPT with 2 partition(s)',
    'EFI system partition is partition 1',
    'ESP (partition 1) is FAT32, 2 file(s)',
    'no EFI/BOOT/BOOTX64.EFI on the ESP (EFI binaries found: EFI/debian/shimx64.efi): a fresh variable store has nothing to boot',
    'claims: uefi',
  ],
};

const image = (boot: ImageBootInfo): ImageInfo => ({ path: '/images/d.qcow2', name: 'd', format: 'qcow2', virtualSize: 2 ** 31, actualSize: 2 ** 28, sha256: '0'.repeat(64), boot });

const OVMF_CONSOLE =
  '\x1b[2J\x1b[01;01H\x1b[=3hBdsDxe: loading Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0)\r\nBdsDxe: starting Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0)\r\n\x1b[0mWelcome to GRUB!\r\n';
const REFUSED = 'BdsDxe: failed to load Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0): Access Denied';

const freshEntries = {
  Boot0000: loadOption('UiApp', [fvFile()], false),
  Boot0001: loadOption('UEFI Misc Device', [pciRoot(), pci(3)]),
  Boot0002: loadOption('UEFI PXEv4 (MAC:525400010203)', [pciRoot(), pci(2), mac()]),
};

function guest(firmware: Firmware, probe: Parameters<typeof probeOutput>[0] = {}, serialLog = OVMF_CONSOLE): GuestHandle {
  const defaults =
    firmware === 'bios' ? { efi: false } : { secureBoot: firmware === 'uefi-secureboot' ? 1 : 0, setupMode: 0, bootCurrent: 1, bootOrder: [1, 2, 0], entries: freshEntries, lsblk: lsblkJson() };
  return fakeGuest({ name: `imgtest-r1-${firmware}`, firmware, serialLog, scripts: { [PROBE_SCRIPT]: probeOutput({ ...defaults, ...probe }) } });
}

const failure = (firmware: Firmware, message: string, cause: BootFailure['cause'] = 'image'): BootFailure => ({
  guestName: `imgtest-r1-${firmware}`,
  host: 'hv1',
  firmware,
  message,
  cause,
  consoleTail: REFUSED,
});

async function runSuite(o: { boot: ImageBootInfo; firmware: Firmware; guests?: GuestHandle[]; failures?: BootFailure[]; options?: Record<string, unknown> }): Promise<Map<string, CaseResult>> {
  const cases = await runSuiteChecks({
    suite: uefiBoot,
    image: image(o.boot),
    firmware: o.firmware,
    guests: o.guests ?? [],
    bootFailures: o.failures ?? [],
    hosts: [],
    options: o.options ?? {},
    artifactDir,
    log: () => undefined,
    onCase: () => undefined,
  });
  return new Map(cases.map((c) => [c.checkId, c]));
}

const statuses = (cases: Map<string, CaseResult>) => Object.fromEntries([...cases].map(([id, c]) => [id, c.status]));

describe('uefi-boot suite', () => {
  it("declares the issue's checks, one shared guest, and sees failed boots", () => {
    expect(uefiBoot.checks.map((c) => c.id)).toEqual(['uefi-booted', 'uefi-gpt-esp', 'uefi-fallback-loader', 'uefi-fresh-nvram', 'uefi-secureboot', 'bios-boot']);
    expect(uefiBoot.requires.guests).toEqual({ count: 1, placement: 'any', sharing: 'shared', seesFailedBoots: true });
  });

  it('UEFI run of a signed hybrid image: UEFI checks pass, Secure Boot and BIOS skip with the reason', async () => {
    const cases = await runSuite({ boot: SIGNED_HYBRID, firmware: 'uefi', guests: [guest('uefi')] });
    expect(statuses(cases)).toEqual({
      'uefi-booted': 'passed',
      'uefi-gpt-esp': 'passed',
      'uefi-fallback-loader': 'passed',
      'uefi-fresh-nvram': 'passed',
      'uefi-secureboot': 'skipped',
      'bios-boot': 'skipped',
    });
    expect(cases.get('uefi-booted')!.message).toBe('booted with UEFI (uefi): /sys/firmware/efi present, 64-bit firmware');
    expect(cases.get('uefi-gpt-esp')!.message).toBe('GPT, EFI system partition 1, FAT32; the guest sees /dev/vda1 (vfat)');
    expect(cases.get('uefi-fallback-loader')!.message).toBe('EFI/BOOT/BOOTX64.EFI present: shim, signed');
    expect(cases.get('uefi-fresh-nvram')!.message).toMatch(/^booted from an empty variable store: the firmware started its own entry Boot0001 "UEFI Misc Device" \(PciRoot\(0x0\)\/Pci\(0x3,0x0\)\)/);
    expect(cases.get('uefi-fresh-nvram')!.evidence).toContain('Boot0000  "UiApp" FvFile(462CAA21-7614-4503-836E-8AB6F4662331)');
    expect(cases.get('uefi-secureboot')!.message).toBe('not applicable: Secure Boot is off in this run (uefi); the image claims it, tested in the uefi-secureboot run');
    expect(cases.get('bios-boot')!.message).toBe('not applicable: this run boots with uefi; the image claims BIOS too, tested in the bios run');
    expect(cases.get('uefi-booted')!.attachments.some((a) => a.endsWith('uefi-probe-imgtest-r1-uefi.txt'))).toBe(true);
  });

  it('Secure Boot run: SecureBoot=1, mokutil and the kernel agree: pass, must', async () => {
    const cases = await runSuite({
      boot: SIGNED_HYBRID,
      firmware: 'uefi-secureboot',
      guests: [
        guest('uefi-secureboot', {
          mokutil: 'SecureBoot enabled ',
          kernel: ['[    0.000000] Kernel is locked down from EFI Secure Boot; see man kernel_lockdown.7', '[    0.000000] secureboot: Secure boot enabled'],
        }),
      ],
    });
    const sb = cases.get('uefi-secureboot')!;
    expect(sb).toMatchObject({ status: 'passed', severity: 'must' });
    expect(sb.message).toBe('booted with Secure Boot on: SecureBoot=1, SetupMode=0, mokutil: SecureBoot enabled, kernel: secureboot: Secure boot enabled; loader EFI/BOOT/BOOTX64.EFI (shim, signed)');
    expect(cases.get('uefi-booted')!.status).toBe('passed');
    expect(cases.get('bios-boot')!.status).toBe('skipped');
  });

  it('Secure Boot run: mokutil disagreeing is a failure; a firmware without keys is an error (the host, not the image)', async () => {
    const disagree = await runSuite({ boot: SIGNED_HYBRID, firmware: 'uefi-secureboot', guests: [guest('uefi-secureboot', { mokutil: 'SecureBoot disabled' })] });
    expect(disagree.get('uefi-secureboot')).toMatchObject({ status: 'failed', message: expect.stringMatching(/mokutil --sb-state disagrees: SecureBoot disabled/) });
    const noKeys = await runSuite({ boot: SIGNED_HYBRID, firmware: 'uefi-secureboot', guests: [guest('uefi-secureboot', { secureBoot: 0, setupMode: 1 })] });
    expect(noKeys.get('uefi-secureboot')).toMatchObject({ status: 'error', message: expect.stringMatching(/SetupMode 1: the firmware has no keys enrolled/) });
    const noVar = await runSuite({ boot: SIGNED_HYBRID, firmware: 'uefi-secureboot', guests: [guest('uefi-secureboot', { secureBoot: undefined })] });
    expect(noVar.get('uefi-secureboot')!.status).toBe('error');
  });

  it("unsigned loader refused under Secure Boot: the firmware's refusal is the failure of that firmware's checks, offline checks still pass", async () => {
    const message = `imgtest-r1-g1 (uefi-secureboot): the firmware refused the loader: ${REFUSED}`;
    const cases = await runSuite({ boot: UEFI_UNSIGNED, firmware: 'uefi-secureboot', failures: [failure('uefi-secureboot', message)] });
    expect(statuses(cases)).toEqual({
      'uefi-booted': 'failed',
      'uefi-gpt-esp': 'passed',
      'uefi-fallback-loader': 'passed',
      'uefi-fresh-nvram': 'failed',
      'uefi-secureboot': 'failed',
      'bios-boot': 'skipped',
    });
    const sb = cases.get('uefi-secureboot')!;
    expect(sb.severity).toBe('must');
    expect(sb.message).toBe(`Secure Boot: the guest did not boot with uefi-secureboot; the image's fallback loader EFI/BOOT/BOOTX64.EFI is not signed: the firmware refused the loader: ${REFUSED}`);
    expect(sb.evidence).toContain('--- last serial console lines ---');
    expect(cases.get('bios-boot')!.message).toBe('not applicable: the image claims no BIOS boot (no boot code in the MBR)');
  });

  it('suites.uefi-boot.secureBoot: optional makes an unclaimed Secure Boot failure a should; required fails an unsigned image without booting it', async () => {
    const message = `imgtest-r1-g1 (uefi-secureboot): the firmware refused the loader: ${REFUSED}`;
    const optional = await runSuite({ boot: UEFI_UNSIGNED, firmware: 'uefi-secureboot', failures: [failure('uefi-secureboot', message)], options: { secureBoot: 'optional' } });
    expect(optional.get('uefi-secureboot')).toMatchObject({ status: 'failed', severity: 'should' });
    const required = await runSuite({ boot: UEFI_UNSIGNED, firmware: 'uefi', guests: [guest('uefi')], options: { secureBoot: 'required' } });
    expect(required.get('uefi-secureboot')).toMatchObject({
      status: 'failed',
      severity: 'must',
      message: "Secure Boot is required (suites.uefi-boot.secureBoot: required), but the image's fallback loader EFI/BOOT/BOOTX64.EFI is not signed: the firmware would refuse it",
    });
    const plain = await runSuite({ boot: UEFI_UNSIGNED, firmware: 'uefi', guests: [guest('uefi')] });
    expect(plain.get('uefi-secureboot')).toMatchObject({
      status: 'skipped',
      message: "not tested: the image claims no Secure Boot (the image's fallback loader EFI/BOOT/BOOTX64.EFI is not signed); --firmware uefi-secureboot tests it",
    });
    const bad = await runSuite({ boot: UEFI_UNSIGNED, firmware: 'uefi', guests: [guest('uefi')], options: { secureBoot: 'yes' } });
    expect(bad.get('uefi-secureboot')).toMatchObject({ status: 'error', message: expect.stringMatching(/suites\.uefi-boot\.secureBoot/) });
  });

  it('BIOS run: bios-boot passes, every UEFI check skips naming why', async () => {
    const cases = await runSuite({ boot: BIOS_ONLY, firmware: 'bios', guests: [guest('bios')] });
    expect(statuses(cases)).toEqual({
      'uefi-booted': 'skipped',
      'uefi-gpt-esp': 'skipped',
      'uefi-fallback-loader': 'skipped',
      'uefi-fresh-nvram': 'skipped',
      'uefi-secureboot': 'skipped',
      'bios-boot': 'passed',
    });
    expect(cases.get('uefi-booted')!.message).toBe(
      'not applicable: this run boots with bios; the image claims no UEFI boot (the image has no EFI system partition (MBR (dos) partition table, not GPT))',
    );
    expect(cases.get('bios-boot')!.message).toBe('booted with BIOS to SSH (no /sys/firmware/efi)');
    const hybrid = await runSuite({ boot: SIGNED_HYBRID, firmware: 'bios', guests: [guest('bios')] });
    expect(hybrid.get('uefi-gpt-esp')!.message).toBe('not applicable: this run boots with bios; the image claims UEFI too, tested in the uefi run');
  });

  it('a BIOS-only image forced to UEFI: the UEFI checks fail naming the missing ESP, even when the runner only saw a timeout', async () => {
    for (const cause of ['image', 'infrastructure'] as const) {
      const message =
        cause === 'image' ? 'imgtest-r1-g1 (uefi): the firmware found nothing to boot: BdsDxe: No bootable option or device was found.' : 'imgtest-r1-g1: no DHCP address seen after 600 s';
      const cases = await runSuite({ boot: BIOS_ONLY, firmware: 'uefi', failures: [failure('uefi', message, cause)] });
      expect(statuses(cases)).toEqual({
        'uefi-booted': 'failed',
        'uefi-gpt-esp': 'failed',
        'uefi-fallback-loader': 'failed',
        'uefi-fresh-nvram': 'failed',
        'uefi-secureboot': 'skipped',
        'bios-boot': 'skipped',
      });
      for (const id of ['uefi-booted', 'uefi-gpt-esp', 'uefi-fallback-loader', 'uefi-fresh-nvram']) expect(cases.get(id)!.message).toMatch(/no EFI system partition/);
      expect(cases.get('uefi-gpt-esp')!.message).toBe('no EFI system partition: the image has an MBR (dos) partition table, not GPT');
      expect(cases.get('bios-boot')!.message).toBe('not applicable: this run boots with uefi; the image claims BIOS too, tested in the bios run');
    }
  });

  it('a guest that did not boot for reasons outside the image is an error, not a defect', async () => {
    const cases = await runSuite({ boot: SIGNED_HYBRID, firmware: 'uefi', failures: [failure('uefi', 'imgtest-r1-g1: could not start: internal error: process exited', 'infrastructure')] });
    expect(cases.get('uefi-booted')).toMatchObject({ status: 'error', message: expect.stringMatching(/did not boot \(infrastructure\)/) });
    expect(cases.get('uefi-gpt-esp')!.status).toBe('passed');
  });

  it('a loader only in a vendor path: uefi-fallback-loader fails with what is there', async () => {
    const cases = await runSuite({
      boot: VENDOR_PATH_ONLY,
      firmware: 'uefi',
      failures: [failure('uefi', 'imgtest-r1-g1 (uefi): the firmware found nothing to boot: BdsDxe: No bootable option or device was found. (no EFI loader on the disk)')],
    });
    expect(cases.get('uefi-fallback-loader')).toMatchObject({
      status: 'failed',
      message: 'no EFI/BOOT/BOOTX64.EFI on the ESP (EFI binaries found: EFI/debian/shimx64.efi): a fresh variable store has nothing to boot',
    });
    expect(cases.get('uefi-booted')!.message).toMatch(/the image has no EFI\/BOOT\/BOOTX64.EFI on its EFI system partition: the firmware found nothing to boot/);
  });

  it('uefi-gpt-esp: two ESP-type partitions, or an ESP that is not FAT, fail', async () => {
    const two = await runSuite({ boot: SIGNED_HYBRID, firmware: 'uefi', guests: [guest('uefi', { lsblk: lsblkJson({ esps: 2 }) })] });
    expect(two.get('uefi-gpt-esp')).toMatchObject({ status: 'failed', message: '2 partitions on /dev/vda carry the ESP type (/dev/vda1, /dev/vda3): there must be one' });
    const ext = await runSuite({ boot: { ...SIGNED_HYBRID, esp: { partition: 1, filesystem: 'ext2/3/4' } }, firmware: 'uefi', guests: [guest('uefi')] });
    expect(ext.get('uefi-gpt-esp')!.message).toBe('EFI system partition 1 is ext2/3/4, not FAT: UEFI firmware cannot read it');
  });

  it('uefi-booted fails when the kernel runs without EFI under UEFI firmware', async () => {
    const cases = await runSuite({ boot: SIGNED_HYBRID, firmware: 'uefi', guests: [guest('uefi', { efi: false })] });
    expect(cases.get('uefi-booted')).toMatchObject({ status: 'failed', message: expect.stringMatching(/\/sys\/firmware\/efi is absent/) });
  });

  it('uefi-fresh-nvram: a file path in the first option tried means the store was not fresh (error); without console lines BootCurrent decides', async () => {
    const stale = await runSuite({
      boot: SIGNED_HYBRID,
      firmware: 'uefi',
      guests: [
        guest(
          'uefi',
          {},
          'BdsDxe: loading Boot0003 "debian" from HD(1,GPT,AB,0x800,0x32000)/\\EFI\\debian\\shimx64.efi\r\nBdsDxe: starting Boot0003 "debian" from HD(1,GPT,AB,0x800,0x32000)/\\EFI\\debian\\shimx64.efi\r\n',
        ),
      ],
    });
    expect(stale.get('uefi-fresh-nvram')).toMatchObject({ status: 'error', message: expect.stringMatching(/not empty at power-on: .*Boot0003 "debian"/) });
    const quiet = await runSuite({ boot: SIGNED_HYBRID, firmware: 'uefi', guests: [guest('uefi', {}, 'Welcome to GRUB!\n')] });
    expect(quiet.get('uefi-fresh-nvram')).toMatchObject({
      status: 'passed',
      message: 'booted from an empty variable store: BootCurrent Boot0001 "UEFI Misc Device" (PciRoot(0x0)/Pci(0x3,0x0)) is the firmware\'s own entry for the disk',
    });
    const vendor = { ...freshEntries, Boot0003: loadOption('debian', [hd(1), fileNode('\\EFI\\debian\\shimx64.efi')]) };
    const viaVendor = await runSuite({ boot: SIGNED_HYBRID, firmware: 'uefi', guests: [guest('uefi', { bootCurrent: 3, entries: vendor }, 'Welcome to GRUB!\n')] });
    expect(viaVendor.get('uefi-fresh-nvram')).toMatchObject({ status: 'failed', message: expect.stringMatching(/names \\EFI\\debian\\shimx64.efi, not the firmware's own entry/) });
  });

  it('a BIOS guest that shows /sys/firmware/efi is an error (the domain was not BIOS)', async () => {
    const cases = await runSuite({ boot: SIGNED_HYBRID, firmware: 'bios', guests: [guest('bios', { efi: true, lsblk: lsblkJson() })] });
    expect(cases.get('bios-boot')!.status).toBe('error');
  });

  it("bios-boot in a BIOS run of an image that cannot boot with BIOS: fails with the firmware's words", async () => {
    const cases = await runSuite({ boot: UEFI_UNSIGNED, firmware: 'bios', failures: [failure('bios', 'imgtest-r1-g1 (bios): the BIOS found nothing to boot: No bootable device.')] });
    expect(cases.get('bios-boot')).toMatchObject({
      status: 'failed',
      message: 'BIOS boot: the guest did not boot with bios; the image has no boot code in its MBR (it claims no BIOS boot): the BIOS found nothing to boot: No bootable device.',
    });
  });
});
