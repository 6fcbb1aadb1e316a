/** The `live-migration` section of the run config, validated here (the runner passes it through untouched). */
import { z } from 'zod';

/** Per-leg checks exist for this many legs; legs beyond `legs` are reported skipped. */
export const MAX_LEGS = 4;

export const optionsSchema = z
  .object({
    /**
     * `copy`: per-host pools, the overlay copied by libvirt (`--copy-storage-inc`). `shared`: the guest's
     * volumes in a pool every host sees (run config `storage.sharedPool`). `auto`: whichever the guest has.
     */
    storage: z.enum(['auto', 'copy', 'shared']).default('auto'),
    /** Moves, alternating between the hosts: 2 = there and back. */
    legs: z.number().int().min(1).max(MAX_LEGS).default(2),
    /**
     * Shared storage on a filesystem libvirt does not trust (local, like the lab's) is refused as an
     * "Unsafe migration"; allowed, the move is retried with `--unsafe` and the report says so.
     */
    allowUnsafe: z.boolean().default(true),
    /** `<driver cache=...>` values a writable disk may have (`default` = no cache attribute). */
    allowedCacheModes: z
      .array(z.enum(['none', 'directsync', 'writethrough', 'writeback', 'unsafe', 'default']))
      .min(1)
      .default(['none', 'directsync']),
    /**
     * How far the guest's clock may be from the host's after a move, ms. (A guest's clock starts from the
     * RTC, which has whole seconds, so it is often up to a second off before anything moves.)
     */
    clockToleranceMs: z.number().int().min(0).default(5000),
    /** How far one move may shift the guest's clock against the host's, ms (a paused guest under TCG loses about the downtime). */
    clockShiftToleranceMs: z.number().int().min(0).default(2000),
    /** Longest gap the guest's network may show during a move (a `should` check), ms. */
    maxNetworkGapMs: z.number().int().min(0).default(10_000),
    /** A move that has not finished by then is aborted (and fails), seconds. */
    timeoutSeconds: z.number().int().min(10).default(600),
    /** Memory the in-guest workload keeps dirtying during a move, MiB, and how often it rewrites it. */
    dirtyMiB: z.number().int().min(0).max(4096).default(16),
    dirtyIntervalMs: z.number().int().min(50).default(1000),
    /** Probing before the move starts and after it ends, seconds (the figures' baseline). */
    settleSeconds: z.number().min(0).max(60).default(2),
    /** TCP port of the guest's SSH server, probed from outside during the move. */
    sshPort: z.number().int().min(1).max(65535).default(22),
  })
  .strict();

export type LiveMigrationOptions = z.infer<typeof optionsSchema>;

export function parseOptions(raw: Readonly<Record<string, unknown>>): LiveMigrationOptions {
  const parsed = optionsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(section)'}: ${i.message}`).join('; ');
    throw new Error(`live-migration options: ${issues}`);
  }
  return parsed.data;
}
