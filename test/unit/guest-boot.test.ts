/**
 * bootGuest against a fake host (the seam is LibvirtHost): how a boot ends when KVM refuses or
 * pauses the guest, when the console stalls in the bootloader, and when the firmware refuses the
 * image. The seed ISO is built for real (genisoimage), nothing else leaves the process.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LibvirtHost } from '../../src/hosts/libvirt-host.js';
import type { BootLimits } from '../../src/runner/boot-watch.js';
import { GuestAddressBook } from '../../src/runner/address-book.js';
import { CleanupRegistry } from '../../src/runner/cleanup.js';
import { bootGuest, GuestBootFailure, type GuestBootSpec } from '../../src/runner/guest-boot.js';

const canBuildSeed = ['/usr/bin/genisoimage', '/usr/bin/cloud-localds', '/usr/bin/xorriso'].some((p) => existsSync(p));

interface FakeHostScript {
  start?: () => void;
  state?: () => { state: string; reason?: string } | undefined;
  console?: () => string;
}

function fakeHost(script: FakeHostScript, calls: string[]): LibvirtHost {
  const host = {
    name: 'hv1',
    pool: 'imgtest',
    config: { name: 'hv1', uri: 'qemu:///fake', pool: 'imgtest', network: { bridge: 'brg' } },
    migrationUri: 'qemu:///fake',
    uploadVolume: async (name: string) => void calls.push(`upload ${name}`),
    createOverlay: async (name: string) => void calls.push(`overlay ${name}`),
    poolPath: async () => '/var/lib/imgtest/images',
    defineDomain: async () => void calls.push('define'),
    startDomain: async () => {
      calls.push('start');
      script.start?.();
    },
    dumpXml: async () => '<domain/>',
    domainState: async () => script.state?.() ?? { state: 'running', reason: 'booted' },
    readPoolFile: async () => script.console?.() ?? '',
    agentAddresses: async () => [],
    refreshPool: async () => undefined,
    deleteVolume: async (name: string) => void calls.push(`delete ${name}`),
    removeDomain: async (name: string) => void calls.push(`remove ${name}`),
  };
  return host as unknown as LibvirtHost;
}

const limits = (over: Partial<BootLimits['silenceSeconds']> = {}, totalSeconds = 60): BootLimits => ({
  silenceSeconds: { 'power-on': 30, firmware: 30, kernel: 30, address: 30, ssh: 30, ...over },
  totalSeconds,
  basis: 'test',
});

describe.skipIf(!canBuildSeed)('bootGuest', () => {
  let workDir: string;
  beforeEach(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'imgtest-boot-test-'));
  });
  afterEach(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  const spec = (host: LibvirtHost, over: Partial<GuestBootSpec> = {}): GuestBootSpec => ({
    runId: 'r1',
    key: 'g1',
    host,
    hostInfo: { name: 'hv1', uri: 'qemu:///fake', migrationUri: 'qemu:///fake' },
    firmware: 'uefi-secureboot',
    virtType: 'kvm',
    baseVolume: 'base.qcow2',
    baseFormat: 'qcow2',
    overlayBytes: 2 ** 32,
    memoryMiB: 1024,
    vcpus: 1,
    user: 'imgtest',
    publicKey: 'ssh-ed25519 AAAA test',
    privateKeyFile: join(workDir, 'key'),
    workDir,
    limits: limits(),
    cleanup: new CleanupRegistry(),
    keep: false,
    onState: () => undefined,
    pollMs: 5,
    ...over,
  });

  it('QEMU refusing a Secure Boot guest under KVM (no SMM) is a KVM failure to retry under TCG', async () => {
    const calls: string[] = [];
    const host = fakeHost(
      {
        start: () => {
          throw new Error(
            "error: Failed to start domain 'imgtest-r1-g1'\nerror: internal error: qemu unexpectedly closed the monitor: 2026-11-30T02:51:07Z qemu-system-x86_64: System Management Mode not supported by this hypervisor.",
          );
        },
      },
      calls,
    );
    const failure = await bootGuest(spec(host)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(GuestBootFailure);
    expect((failure as GuestBootFailure).kvmFallback).toBe('System Management Mode not supported by this hypervisor.');
    expect((failure as GuestBootFailure).message).toMatch(/could not start: .*System Management Mode/);
    // Everything made before the start is registered for cleanup (and was made in order).
    expect(calls).toEqual(['upload imgtest-r1-g1-seed.iso', 'overlay imgtest-r1-g1.qcow2', 'define', 'start']);
  });

  it('the same refusal under TCG is not retried', async () => {
    const host = fakeHost(
      {
        start: () => {
          throw new Error('error: internal error: process exited while connecting to monitor: could not open disk');
        },
      },
      [],
    );
    const failure = (await bootGuest(spec(host, { virtType: 'qemu' })).catch((e: unknown) => e)) as GuestBootFailure;
    expect(failure.kvmFallback).toBeUndefined();
  });

  it('a guest KVM paused is a KVM failure, with the console line that says why', async () => {
    const host = fakeHost({ state: () => ({ state: 'paused', reason: 'crashed' }), console: () => 'SeaBIOS (version 1.16.2)\nKVM internal error. Suberror: 1\nemulation failure\n' }, []);
    const failure = (await bootGuest(spec(host, { firmware: 'bios' })).catch((e: unknown) => e)) as GuestBootFailure;
    expect(failure.kvmFallback).toBe('KVM paused the guest (crashed): KVM internal error. Suberror: 1');
    expect(failure.cause).toBe('infrastructure');
  });

  it('a console that stops in GRUB is found by the firmware stage limit and named, not called a DHCP timeout', async () => {
    const host = fakeHost({ console: () => 'SeaBIOS (version 1.16.2)\r\nBooting from Hard Disk...\r\nWelcome to GRUB!\r\n' }, []);
    const failure = (await bootGuest(spec(host, { firmware: 'bios', virtType: 'qemu', limits: limits({ firmware: 1 }) })).catch((e: unknown) => e)) as GuestBootFailure;
    expect(failure.message).toMatch(/no kernel output after the firmware and bootloader after \d+ s: no progress for \d+ s \(stage limit 1 s\); the console stopped in GRUB after 'Welcome to GRUB!'/);
    expect(failure.message).not.toMatch(/DHCP/);
    expect(failure.kvmFallback).toBeUndefined();
  }, 15_000);

  it('a console that keeps moving is not declared stuck by its stage limit', async () => {
    let lines = 'Welcome to GRUB!\n';
    const started = Date.now();
    const host = fakeHost({ console: () => (lines += '.'), state: () => (Date.now() - started > 2500 ? { state: 'shut off', reason: 'destroyed' } : { state: 'running' }) }, []);
    const failure = (await bootGuest(spec(host, { firmware: 'bios', virtType: 'qemu', limits: limits({ firmware: 1 }) })).catch((e: unknown) => e)) as GuestBootFailure;
    // It ran past the 1 s stage limit because the console grew, until the domain went away.
    expect(failure.message).toMatch(/guest is shut off \(destroyed\)/);
    expect(Date.now() - started).toBeGreaterThan(2000);
  }, 15_000);

  it("a guest given the address another guest of the run holds on its host fails at once as the image's (a shared DHCP client id), not as an SSH timeout", async () => {
    const addresses = new GuestAddressBook();
    expect(addresses.claim('hv1', '10.78.0.85', { domain: 'imgtest-r1-g2', mac: '52:54:00:00:00:02' })).toBeUndefined();
    const table = 'ci-info: |  enp1s0  | True |  10.78.0.85  | 255.255.255.0 | global | 52:54:00:aa:bb:cc |\r\n';
    const host = fakeHost({ console: () => `Booting Linux\r\n${table}` }, []);
    const started = Date.now();
    const failure = (await bootGuest(spec(host, { firmware: 'bios', virtType: 'qemu', addresses })).catch((e: unknown) => e)) as GuestBootFailure;
    expect(failure).toBeInstanceOf(GuestBootFailure);
    expect(failure.cause).toBe('image');
    expect(failure.message).toMatch(
      /^imgtest-r1-g1 \(52:54:00:[0-9a-f:]{8}\) was given 10\.78\.0\.85, which imgtest-r1-g2 \(52:54:00:00:00:02\) on hv1 already has: .*same DHCP client identifier.*\/etc\/machine-id.*hyg-machine-id/,
    );
    expect(Date.now() - started).toBeLessThan(10_000); // the boot's limits (30 s per stage here) were not waited out
  }, 15_000);

  it("a firmware refusing the loader is the image's failure, not KVM's", async () => {
    const host = fakeHost({ console: () => 'BdsDxe: failed to load Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0): Access Denied\r\n' }, []);
    const failure = (await bootGuest(spec(host)).catch((e: unknown) => e)) as GuestBootFailure;
    expect(failure.cause).toBe('image');
    expect(failure.kvmFallback).toBeUndefined();
    expect(failure.message).toMatch(/the firmware refused the loader: BdsDxe: failed to load Boot0001/);
  });
});
