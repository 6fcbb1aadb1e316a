/** The `instance-lifecycle` section of the run config, validated here (the runner passes it through untouched). */
import { z } from 'zod';

const pattern = z.string().refine(
  (source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);

/**
 * Power-on to cloud-init done, seconds, by accelerator.
 *
 * KVM 120 s: Google's cloud-image-tests (test_suites/imageboot/image_boot_test.go, TestBootTime) allow
 * Debian 60 s (70 s by default, 130 s for the slowest families) measured as the guest's uptime once sshd
 * and the guest agent run. imgtest's figure is longer by what comes before the kernel (firmware, GRUB)
 * and after sshd (cloud-init's final stage), so the default is twice CIT's Debian figure. (LISA only
 * records `systemd-analyze time` as a boot-time message, lisa/tools/systemd_analyze.py, without a limit.)
 *
 * TCG 1200 s: software emulation is an order of magnitude slower and depends on the machine's load; this
 * project's CI machine (2 cores) sees TCG guests take 110-650 s power-on to cloud-init done (634 s seen
 * with three guests and compilers sharing the cores), so the default leaves room above the worst seen;
 * under TCG the figure says more about the machine than the image. The runner's own boot deadline under
 * TCG is longer still (2400 s, README).
 */
export const DEFAULT_BOOT_TIME_LIMITS = { kvm: 120, tcg: 1200 } as const;

export const optionsSchema = z
  .object({
    /**
     * Regular expressions (JavaScript syntax) for boot error lines that are noise on this image; added to
     * the suite's short built-in list (./commands/journalctl.ts). Matched against `IDENTIFIER: MESSAGE`.
     */
    bootErrorIgnore: z.array(pattern).default([]),
    /** Limits of `life-boot-time` (a `should` check), seconds from power-on to cloud-init done. */
    bootTimeLimitSeconds: z
      .object({
        kvm: z.number().positive().default(DEFAULT_BOOT_TIME_LIMITS.kvm),
        tcg: z.number().positive().default(DEFAULT_BOOT_TIME_LIMITS.tcg),
      })
      .strict()
      .prefault({}),
    /**
     * How long `life-time-sync` waits for the time service to report synchronisation when the run knows
     * the network's time servers, seconds. LISA's chrony check retries `chronyc tracking` for 120 s
     * (lisa/tools/chrony.py, 240 tries 0.5 s apart); an SNTP client polls its server at once when the
     * network comes up, so 90 s is ample on a lab network.
     */
    timeSyncWaitSeconds: z.number().int().min(0).max(900).default(90),
    /**
     * How far the guest's clock may be from the imgtest machine's, ms, once it is synchronised.
     * chrony.conf(5) `makestep 1 3` (Debian's default chrony.conf) steps the clock whenever it is more
     * than 1 s off during the first updates, and systemd-timesyncd steps it for large offsets
     * (systemd-timesyncd.service(8)): a synchronised guest is within 1 s. Without a known time server the
     * clock only comes from the RTC, which has whole seconds: then 1000 ms more are allowed.
     */
    clockToleranceMs: z.number().int().min(0).default(1000),
    /** Deadline for the guest to answer SSH again after `life-reboot`'s reboot; default: the run's boot deadline. */
    rebootTimeoutSeconds: z.number().int().min(10).max(86_400).optional(),
    /** After the reboot, how long `systemctl is-system-running --wait` may take for the boot to finish, seconds. */
    rebootSettleSeconds: z.number().int().min(10).max(7200).default(600),
  })
  .strict();

export type LifecycleOptions = z.infer<typeof optionsSchema>;

export function parseOptions(raw: Readonly<Record<string, unknown>>): LifecycleOptions {
  const parsed = optionsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(section)'}: ${i.message}`).join('; ');
    throw new Error(`instance-lifecycle options: ${issues}`);
  }
  return parsed.data;
}
