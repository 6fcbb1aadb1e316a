/**
 * Boot deadlines judged by progress, not by one flat timer. A boot goes through stages, each seen from
 * outside: the firmware writes to the serial console, the kernel writes to it, the guest gets an
 * address, SSH answers, cloud-init says it is done. Each stage has its own silence limit: a guest is
 * declared stuck only when its console has not moved and it has not reached the next stage for that
 * long. A guest whose console keeps moving is alive however slow it is, up to an overall cap.
 *
 * The limits are KVM figures scaled by the accelerator (TCG emulates every instruction: 3-5x slower
 * here) and by the load (guests per host core compete for the same cores). Pure: time comes in.
 */

export const BOOT_STAGES = ['power-on', 'firmware', 'kernel', 'address', 'ssh', 'cloud-init-done'] as const;
export type BootStage = (typeof BOOT_STAGES)[number];

/** What each stage means to a reader of a failure message. */
const STAGE_WAITING_FOR: Record<BootStage, string> = {
  'power-on': 'no output on the serial console',
  firmware: 'no kernel output after the firmware and bootloader',
  kernel: 'no DHCP address seen',
  address: 'SSH not answering',
  ssh: 'cloud-init did not finish',
  'cloud-init-done': 'done',
};

export interface BootLimits {
  /** Longest silence (no console output, no new stage) tolerated while in each stage, in seconds. */
  silenceSeconds: Record<Exclude<BootStage, 'cloud-init-done'>, number>;
  /** Power-on to cloud-init done, whatever the progress. */
  totalSeconds: number;
  /** Why these numbers (accelerator, load, override), for the log and the report. */
  basis: string;
}

/** KVM figures: a cloud image reaches cloud-init done in well under a minute on a hypervisor. */
const KVM_SILENCE: BootLimits['silenceSeconds'] = {
  // Firmware prints within seconds of power-on (SeaBIOS with useserial, OVMF's BdsDxe lines).
  'power-on': 30,
  // Bootloader menus time out in seconds; a bootloader that waits longer is stuck (or asks someone).
  firmware: 90,
  // From the kernel's first line to a DHCP lease: initramfs, fsck, udev, networking.
  kernel: 120,
  // From the address to SSH with the host keys printed: cloud-init's config and final stages.
  address: 180,
  // SSH answers; cloud-init's modules (packages, users, resize) may run for minutes.
  ssh: 300,
};
const KVM_TOTAL_SECONDS = 600;
/** TCG on the machines seen so far: a boot that takes ~40 s under KVM takes ~150 s alone. */
export const TCG_SLOWDOWN = 4;

export interface BootLimitsInput {
  virtType: 'kvm' | 'qemu';
  /** Guests booting at once on the host, and its logical CPUs. */
  guestsOnHost: number;
  hostCpus: number;
  /** `--timeout`/`guest.bootTimeoutSeconds` when the user set one: replaces the overall cap. */
  overrideSeconds?: number;
}

export function bootLimits(input: BootLimitsInput): BootLimits {
  const accel = input.virtType === 'kvm' ? 1 : TCG_SLOWDOWN;
  // Each guest has one vCPU; more guests than cores share them, and TCG uses a whole core per vCPU.
  const load = Math.max(1, input.guestsOnHost / Math.max(1, input.hostCpus));
  const factor = accel * load;
  const silence = Object.fromEntries(Object.entries(KVM_SILENCE).map(([stage, seconds]) => [stage, Math.round(seconds * factor)])) as BootLimits['silenceSeconds'];
  const scaled = Math.round(KVM_TOTAL_SECONDS * factor);
  const totalSeconds = input.overrideSeconds ?? scaled;
  const basis = `${input.virtType === 'kvm' ? 'KVM' : 'TCG'}, ${input.guestsOnHost} guest(s) on ${input.hostCpus} CPU(s): limits x${factor.toFixed(1)}${input.overrideSeconds ? `, overall ${input.overrideSeconds} s (set by the user)` : ''}`;
  return { silenceSeconds: silence, totalSeconds, basis };
}

/** How far a console shows a boot got: nothing, firmware/bootloader output, or the kernel's. */
export function consoleStage(text: string): 'power-on' | 'firmware' | 'kernel' {
  if (/Linux version \d|^\s*\[\s*\d+\.\d{6}\]|EFI stub: /m.test(text)) return 'kernel';
  return /\S/.test(text) ? 'firmware' : 'power-on';
}

export type BootVerdict = { stuck: false } | { stuck: true; stage: BootStage; reason: 'silence' | 'total'; seconds: number; message: string };

/**
 * Follows one boot. `observe` is called at each poll with the console's length and the stage reached;
 * `verdict` says whether the guest is to be declared stuck now.
 */
export class BootWatch {
  private stage: BootStage = 'power-on';
  private consoleLength = 0;
  private lastProgress: number;

  constructor(
    readonly limits: BootLimits,
    private readonly startedAt: number,
  ) {
    this.lastProgress = startedAt;
  }

  get current(): BootStage {
    return this.stage;
  }

  /** Records what a poll saw; returns true when it is progress (a later stage or console output). */
  observe(now: number, seen: { consoleLength?: number; stage?: BootStage; activity?: boolean }): boolean {
    // `activity`: the guest showed life another way (e.g. cloud-init moved on to another module).
    let progress = seen.activity === true;
    if (seen.stage && BOOT_STAGES.indexOf(seen.stage) > BOOT_STAGES.indexOf(this.stage)) {
      this.stage = seen.stage;
      progress = true;
    }
    if (seen.consoleLength !== undefined && seen.consoleLength > this.consoleLength) {
      this.consoleLength = seen.consoleLength;
      progress = true;
    }
    if (progress) this.lastProgress = now;
    return progress;
  }

  verdict(now: number): BootVerdict {
    if (this.stage === 'cloud-init-done') return { stuck: false };
    const elapsed = Math.round((now - this.startedAt) / 1000);
    const silent = Math.round((now - this.lastProgress) / 1000);
    const waitingFor = STAGE_WAITING_FOR[this.stage];
    if (elapsed > this.limits.totalSeconds) {
      return { stuck: true, stage: this.stage, reason: 'total', seconds: elapsed, message: `${waitingFor} after ${elapsed} s (overall limit ${this.limits.totalSeconds} s)` };
    }
    const limit = this.limits.silenceSeconds[this.stage];
    if (silent > limit) {
      return { stuck: true, stage: this.stage, reason: 'silence', seconds: silent, message: `${waitingFor} after ${elapsed} s: no progress for ${silent} s (stage limit ${limit} s)` };
    }
    return { stuck: false };
  }
}
