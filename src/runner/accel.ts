/**
 * Hardware acceleration per host: KVM where the host offers it, TCG (software emulation) where it
 * does not or where KVM turns out unable to run the guests. `/dev/kvm` answering is no proof: on
 * nested or odd hosts QEMU refuses to start, or starts a guest that KVM then stops. Every such failure
 * moves the guest to TCG with one line saying why, and once KVM failed on a host the run's remaining
 * guests there start under TCG directly.
 */
import type { AccelSetting } from '../config/schema.js';

/**
 * The line of a libvirt/QEMU error or a console that shows KVM, not the image, failing a guest.
 * Recorded forms (LAB-NOTES, Debian 12 host, libvirt 9.0, QEMU 7.2):
 * - start refused, Secure Boot firmware: "qemu unexpectedly closed the monitor: ... System Management
 *   Mode not supported by this hypervisor";
 * - start refused, host CPU model: "kvm: failed to set MSR 0x10a to 0x...";
 * - guest paused: "KVM internal error. Suberror: 1" / "emulation failure" in the domain's log.
 */
export function kvmFailureLine(text: string): string | undefined {
  const match =
    /(System Management Mode not supported[^\n]*|KVM internal error[^\n]*|emulation failure[^\n]*|failed to set MSR[^\n]*|kvm: [^\n]*(?:failed|not supported|error)[^\n]*|Could not access KVM kernel module[^\n]*|failed to initialize kvm[^\n]*)/i.exec(
      text,
    );
  return match?.[1]?.trim();
}

/**
 * Whether a guest that failed under KVM should be retried under TCG, and the reason to print.
 * Under KVM, any refusal to start and any guest that KVM paused or that died without the firmware
 * blaming the image is KVM's doing until TCG shows otherwise: retrying costs one more boot attempt;
 * not retrying turns every such host into an infrastructure error.
 */
export function kvmFallbackReason(failure: { phase: 'start' | 'run'; message: string; state?: string; stateReason?: string; console?: string }): string | undefined {
  const line = kvmFailureLine(failure.message) ?? (failure.console ? kvmFailureLine(failure.console) : undefined);
  if (failure.phase === 'start') return line ?? `QEMU did not start the guest under KVM: ${lastClause(failure.message)}`;
  if (failure.state === 'paused') return `KVM paused the guest (${failure.stateReason ?? 'no reason given'})${line ? `: ${line}` : ''}`;
  if (line) return line;
  if (failure.state === 'shut off' && failure.stateReason === 'crashed') return 'QEMU crashed running the guest under KVM';
  return undefined;
}

/** libvirt wraps QEMU's words in its own ("error: Failed to start domain 'x'\nerror: internal error: ..."). */
function lastClause(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.replace(/^error:\s*/, '').trim())
    .filter(Boolean);
  return (lines.at(-1) ?? message).slice(0, 300);
}

export type VirtType = 'kvm' | 'qemu';

/**
 * The accelerator decision for one host, shared by the guests booting there. With `auto`, the first
 * guest to start under KVM is the probe; the others wait until it shows KVM works (its kernel runs)
 * or fails, so a broken KVM costs one failed start per host instead of one per guest.
 */
export class HostAccel {
  private state: 'untried' | 'probing' | 'works' | 'broken';
  private settled!: Promise<void>;
  private settle!: () => void;
  private brokenReason?: string;

  constructor(
    readonly setting: AccelSetting,
    /** The host's domain capabilities list KVM. */
    readonly kvmOffered: boolean,
  ) {
    this.state = setting === 'auto' && kvmOffered ? 'untried' : 'works';
    this.settled = new Promise((resolve) => (this.settle = resolve));
    if (this.state === 'works') this.settle();
  }

  /** The accelerator for the next guest; under `auto` the first caller probes and the rest wait. */
  async choose(): Promise<{ virtType: VirtType; probe: boolean }> {
    if (this.setting === 'tcg') return { virtType: 'qemu', probe: false };
    if (this.setting === 'kvm') return { virtType: 'kvm', probe: false };
    if (!this.kvmOffered) return { virtType: 'qemu', probe: false };
    if (this.state === 'untried') {
      this.state = 'probing';
      return { virtType: 'kvm', probe: true };
    }
    await this.settled;
    return { virtType: this.state === 'broken' ? 'qemu' : 'kvm', probe: false };
  }

  /** The probe's kernel is running under KVM (or it failed for reasons that are not KVM's). */
  works(): void {
    if (this.state === 'probing' || this.state === 'untried') this.state = 'works';
    this.settle();
  }

  /** KVM failed a guest on this host: every later guest here starts under TCG. */
  broken(reason: string): void {
    this.state = 'broken';
    this.brokenReason ??= reason;
    this.settle();
  }

  get isBroken(): boolean {
    return this.state === 'broken';
  }

  get reason(): string | undefined {
    return this.brokenReason;
  }

  /** Fallback is allowed only when the user left the choice to imgtest. */
  get mayFallBack(): boolean {
    return this.setting === 'auto';
  }
}
