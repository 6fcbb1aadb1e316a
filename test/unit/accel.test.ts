import { describe, expect, it } from 'vitest';
import { HostAccel, kvmFailureLine, kvmFallbackReason } from '../../src/runner/accel.js';

// Messages recorded on this project's machines (Debian 12, libvirt 9.0, QEMU 7.2; LAB-NOTES.md).
const SMM_REFUSED =
  "error: Failed to start domain 'imgtest-20261130-g3'\nerror: internal error: qemu unexpectedly closed the monitor: 2026-11-30T02:51:07.118915Z qemu-system-x86_64: System Management Mode not supported by this hypervisor.";
const MSR_REFUSED =
  "error: Failed to start domain 'vm1'\nerror: internal error: qemu unexpectedly closed the monitor: qemu-system-x86_64: error: failed to set MSR 0x10a to 0x2000000001e72eb\nqemu-system-x86_64: ../../target/i386/kvm/kvm.c:3193: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.";
const EMULATION_FAILURE_LOG = 'KVM internal error. Suberror: 1\nextra data[0]: 0x0000000000000000\nemulation failure\nRAX=0000000000000000 RBX=0000000000000000';
const OTHER_START_ERROR = "error: Failed to start domain 'vm1'\nerror: Cannot access storage file '/var/lib/imgtest/images/x.qcow2': No such file or directory";

describe('kvmFailureLine', () => {
  it('finds the line of each recorded KVM failure', () => {
    expect(kvmFailureLine(SMM_REFUSED)).toBe('System Management Mode not supported by this hypervisor.');
    expect(kvmFailureLine(MSR_REFUSED)).toMatch(/^failed to set MSR 0x10a/);
    expect(kvmFailureLine(EMULATION_FAILURE_LOG)).toBe('KVM internal error. Suberror: 1');
    expect(kvmFailureLine('emulation failure')).toBe('emulation failure');
  });

  it('finds nothing in errors that are not KVM', () => {
    expect(kvmFailureLine(OTHER_START_ERROR)).toBeUndefined();
    expect(kvmFailureLine('Booting `Debian GNU/Linux`\nLinux version 6.1.0-28-cloud-amd64')).toBeUndefined();
  });
});

describe('kvmFallbackReason', () => {
  it('retries under TCG when QEMU refuses a Secure Boot guest for want of SMM', () => {
    expect(kvmFallbackReason({ phase: 'start', message: SMM_REFUSED })).toBe('System Management Mode not supported by this hypervisor.');
  });

  it('retries under TCG when QEMU refuses the host CPU model', () => {
    expect(kvmFallbackReason({ phase: 'start', message: MSR_REFUSED })).toMatch(/failed to set MSR/);
  });

  it("retries any start failure under KVM, naming libvirt's last clause", () => {
    expect(kvmFallbackReason({ phase: 'start', message: OTHER_START_ERROR })).toBe(
      "QEMU did not start the guest under KVM: Cannot access storage file '/var/lib/imgtest/images/x.qcow2': No such file or directory",
    );
  });

  it('retries a guest KVM paused, with the emulation failure from its console when there is one', () => {
    expect(kvmFallbackReason({ phase: 'run', message: '', state: 'paused', stateReason: 'crashed', console: EMULATION_FAILURE_LOG })).toBe(
      'KVM paused the guest (crashed): KVM internal error. Suberror: 1',
    );
    expect(kvmFallbackReason({ phase: 'run', message: '', state: 'paused', stateReason: 'unknown', console: 'SeaBIOS (version 1.16.2-debian-1.16.2-1)' })).toBe('KVM paused the guest (unknown)');
  });

  it('retries a guest whose QEMU crashed under KVM', () => {
    expect(kvmFallbackReason({ phase: 'run', message: '', state: 'shut off', stateReason: 'crashed', console: '' })).toBe('QEMU crashed running the guest under KVM');
  });

  it('does not blame KVM for a guest that shut down or was refused by its firmware', () => {
    expect(kvmFallbackReason({ phase: 'run', message: '', state: 'shut off', stateReason: 'shutdown', console: 'reboot: Power down' })).toBeUndefined();
    expect(kvmFallbackReason({ phase: 'run', message: '', state: 'shut off', stateReason: 'destroyed', console: 'BdsDxe: failed to load Boot0001: Access Denied' })).toBeUndefined();
  });
});

describe('HostAccel', () => {
  it('probes KVM with the first guest and starts the others once its kernel runs', async () => {
    const accel = new HostAccel('auto', true);
    expect(await accel.choose()).toEqual({ virtType: 'kvm', probe: true });
    let second: unknown;
    const waiting = accel.choose().then((choice) => (second = choice));
    await Promise.resolve();
    expect(second).toBeUndefined(); // waits for the probe
    accel.works();
    await waiting;
    expect(second).toEqual({ virtType: 'kvm', probe: false });
  });

  it('starts every later guest under TCG once KVM failed on the host', async () => {
    const accel = new HostAccel('auto', true);
    await accel.choose();
    const waiting = accel.choose();
    accel.broken('System Management Mode not supported by this hypervisor.');
    expect(await waiting).toEqual({ virtType: 'qemu', probe: false });
    expect(await accel.choose()).toEqual({ virtType: 'qemu', probe: false });
    expect(accel.reason).toMatch(/System Management Mode/);
    // A later "works" (another guest's kernel under TCG) does not revive KVM.
    accel.works();
    expect(await accel.choose()).toEqual({ virtType: 'qemu', probe: false });
  });

  it('uses TCG at once where the host offers no KVM, and obeys a forced choice without fallback', async () => {
    expect(await new HostAccel('auto', false).choose()).toEqual({ virtType: 'qemu', probe: false });
    const forced = new HostAccel('kvm', true);
    expect(await forced.choose()).toEqual({ virtType: 'kvm', probe: false });
    expect(forced.mayFallBack).toBe(false);
    expect(await new HostAccel('tcg', true).choose()).toEqual({ virtType: 'qemu', probe: false });
  });
});
