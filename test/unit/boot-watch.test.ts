import { describe, expect, it } from 'vitest';
import { BootWatch, bootLimits, consoleStage, TCG_SLOWDOWN } from '../../src/runner/boot-watch.js';
import { stallHint } from '../../src/runner/guest-boot.js';

const kvm = bootLimits({ virtType: 'kvm', guestsOnHost: 1, hostCpus: 8 });
const s = (seconds: number) => seconds * 1000;

describe('bootLimits', () => {
  it('scales the KVM limits by the accelerator and by guests per host CPU', () => {
    const tcg = bootLimits({ virtType: 'qemu', guestsOnHost: 2, hostCpus: 2 });
    expect(tcg.silenceSeconds.firmware).toBe(kvm.silenceSeconds.firmware * TCG_SLOWDOWN);
    expect(tcg.totalSeconds).toBe(kvm.totalSeconds * TCG_SLOWDOWN);
    const crowded = bootLimits({ virtType: 'qemu', guestsOnHost: 4, hostCpus: 2 });
    expect(crowded.silenceSeconds.kernel).toBe(kvm.silenceSeconds.kernel * TCG_SLOWDOWN * 2);
    expect(crowded.basis).toMatch(/TCG, 4 guest\(s\) on 2 CPU\(s\): limits x8\.0/);
  });

  it('lets --timeout replace the overall cap, keeping the silence limits', () => {
    const limits = bootLimits({ virtType: 'qemu', guestsOnHost: 1, hostCpus: 2, overrideSeconds: 15 });
    expect(limits.totalSeconds).toBe(15);
    expect(limits.silenceSeconds['power-on']).toBe(30 * TCG_SLOWDOWN);
    expect(limits.basis).toMatch(/overall 15 s \(set by the user\)/);
  });
});

describe('consoleStage', () => {
  it('tells an empty console, firmware or bootloader output, and the kernel apart', () => {
    expect(consoleStage('')).toBe('power-on');
    expect(consoleStage('\r\n')).toBe('power-on');
    expect(consoleStage('BdsDxe: loading Boot0001 "UEFI Misc Device"\r\nWelcome to GRUB!\r\n')).toBe('firmware');
    expect(consoleStage('Welcome to GRUB!\n[    0.000000] Linux version 6.1.0-28-cloud-amd64 (debian-kernel@lists.debian.org)')).toBe('kernel');
    expect(consoleStage('EFI stub: UEFI Secure Boot is enabled.')).toBe('kernel');
  });
});

describe('BootWatch', () => {
  it('never declares a guest whose console keeps moving dead before the overall cap', () => {
    const watch = new BootWatch(kvm, 0);
    for (let t = 10; t < kvm.totalSeconds; t += 10) {
      watch.observe(s(t), { consoleLength: t, stage: 'kernel' });
      expect(watch.verdict(s(t)).stuck, `at ${t} s`).toBe(false);
    }
    expect(watch.verdict(s(kvm.totalSeconds + 1))).toMatchObject({ stuck: true, reason: 'total', stage: 'kernel' });
  });

  it('finds a guest silent in the bootloader after the firmware stage limit, not after the overall cap', () => {
    const watch = new BootWatch(kvm, 0);
    watch.observe(s(2), { consoleLength: 200, stage: 'firmware' });
    expect(watch.verdict(s(2 + kvm.silenceSeconds.firmware)).stuck).toBe(false);
    const verdict = watch.verdict(s(3 + kvm.silenceSeconds.firmware));
    expect(verdict).toMatchObject({ stuck: true, reason: 'silence', stage: 'firmware' });
    if (verdict.stuck) expect(verdict.message).toMatch(/^no kernel output after the firmware and bootloader after 93 s: no progress for 91 s \(stage limit 90 s\)$/);
  });

  it('finds a guest that never wrote to its console after the power-on limit', () => {
    const watch = new BootWatch(kvm, 0);
    watch.observe(s(10), { consoleLength: 0 });
    const verdict = watch.verdict(s(kvm.silenceSeconds['power-on'] + 1));
    expect(verdict).toMatchObject({ stuck: true, stage: 'power-on' });
    if (verdict.stuck) expect(verdict.message).toMatch(/^no output on the serial console/);
  });

  it('counts a new stage as progress even when the console is quiet, and restarts the silence clock', () => {
    const watch = new BootWatch(kvm, 0);
    watch.observe(s(5), { consoleLength: 100, stage: 'kernel' });
    expect(watch.observe(s(100), { consoleLength: 100, stage: 'address' })).toBe(true);
    expect(watch.verdict(s(100 + kvm.silenceSeconds.address)).stuck).toBe(false);
    const verdict = watch.verdict(s(101 + kvm.silenceSeconds.address));
    expect(verdict).toMatchObject({ stuck: true, stage: 'address' });
    if (verdict.stuck) expect(verdict.message).toMatch(/^SSH not answering/);
  });

  it('counts other signs of life (cloud-init moving on) as progress, and a finished boot is never stuck', () => {
    const watch = new BootWatch(kvm, 0);
    watch.observe(s(5), { stage: 'ssh' });
    expect(watch.observe(s(200), { activity: true })).toBe(true);
    expect(watch.verdict(s(200 + kvm.silenceSeconds.ssh)).stuck).toBe(false);
    expect(watch.observe(s(300), { consoleLength: 0 })).toBe(false);
    watch.observe(s(400), { stage: 'cloud-init-done' });
    expect(watch.verdict(s(100_000)).stuck).toBe(false);
  });

  it('never goes back a stage', () => {
    const watch = new BootWatch(kvm, 0);
    watch.observe(s(5), { stage: 'address' });
    expect(watch.observe(s(6), { stage: 'kernel' })).toBe(false);
    expect(watch.current).toBe('address');
  });
});

describe('stallHint', () => {
  it("names a boot that stopped in GRUB with the console's last line", () => {
    const console = 'SeaBIOS (version 1.16.2)\r\nBooting from Hard Disk...\r\nWelcome to GRUB!\r\n\r\n';
    expect(stallHint(console, 'firmware')).toBe("; the console stopped in GRUB after 'Welcome to GRUB!'");
  });
  it('says the console was empty, and adds nothing once the kernel ran', () => {
    expect(stallHint('', 'power-on')).toBe(' (serial console empty)');
    expect(stallHint('[    1.0] Linux version 6.1', 'kernel')).toBe('');
  });
});
