/**
 * `journalctl`, as root. The kernel's ring buffer is in the journal too (journald reads /dev/kmsg:
 * `_TRANSPORT=kernel`), so one query covers kernel and service messages.
 */
import type { GuestHandle } from '../api.js';
import { cannotObserve, run, tryRun } from '../guest.js';

export const BOOT_ERRORS_ARGV = ['journalctl', '-b', '-p', 'err', '-o', 'json', '--no-pager'] as const;

export interface JournalEntry {
  /** `__MONOTONIC_TIMESTAMP`: µs since the kernel started (CLOCK_MONOTONIC of this boot). */
  monotonicUs?: number;
  /** syslog priority, 0 (emerg) .. 7 (debug). */
  priority?: number;
  identifier: string;
  message: string;
  unit?: string;
  transport?: string;
}

/** journalctl -o json writes MESSAGE as a string, or as an array of bytes when it is not valid UTF-8. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((b) => typeof b === 'number')) return Buffer.from(value as number[]).toString('utf8');
  if (Array.isArray(value)) return value.map(text).join(' ');
  return value === undefined || value === null ? '' : String(value);
}

const num = (value: unknown): number | undefined => {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
};

/** `journalctl -o json`: one JSON object a line (journalctl(1) "json"; every field value a string). */
export function parseJournalJson(output: string): JournalEntry[] {
  const entries: JournalEntry[] = [];
  for (const line of output.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const transport = typeof record._TRANSPORT === 'string' ? record._TRANSPORT : undefined;
    const identifier = text(record.SYSLOG_IDENTIFIER) || text(record._COMM) || (transport === 'kernel' ? 'kernel' : '?');
    entries.push({
      monotonicUs: num(record.__MONOTONIC_TIMESTAMP),
      priority: num(record.PRIORITY),
      identifier,
      message: text(record.MESSAGE).replace(/\s+$/, ''),
      unit: typeof record._SYSTEMD_UNIT === 'string' ? record._SYSTEMD_UNIT : undefined,
      transport,
    });
  }
  return entries;
}

/** Like journalctl's short-monotonic output: `[   12.345678] kernel: message`. */
export function formatEntry(entry: JournalEntry): string {
  const when = entry.monotonicUs === undefined ? '[        ?]' : `[${(entry.monotonicUs / 1e6).toFixed(6).padStart(12)}]`;
  return `${when} ${entry.identifier}: ${entry.message}`;
}

/** What an ignore pattern is matched against. */
export const matchText = (entry: JournalEntry): string => `${entry.identifier}: ${entry.message}`;

export interface IgnoreRule {
  pattern: RegExp;
  /** Why it is noise, with the source. */
  why: string;
}

/**
 * Boot error lines that are noise on imgtest's guests. Short and specific on purpose: each names the exact
 * message, never a whole subsystem. (LISA's list is much longer because it greps every line containing
 * "error", "fail" or "warning" in dmesg and syslog; here only priority err and above count, so most of its
 * entries, e.g. "GPT: Use GNU Parted to correct GPT errors." (a pr_warn), never reach this check.)
 */
export const DEFAULT_BOOT_ERROR_IGNORE: readonly IgnoreRule[] = [
  {
    // LISA's verify_boot_error_fail_warnings ignore list (microsoft/testsuites/core/azure_image_standard.py)
    // has these two for the virtual CD-ROM: the NoCloud seed is an ISO on a SCSI CD-ROM here, and probing
    // it (blkid, udev) reads past the ISO's end.
    pattern: /I\/O error, dev sr0, sector \d+ op 0x0:\(READ\)/,
    why: 'read error probing the seed CD-ROM (sr0); in LISA verify_boot_error_fail_warnings ignore list',
  },
  {
    pattern: /Buffer I\/O error on dev sr0, logical block \d+, async page read/,
    why: 'read error probing the seed CD-ROM (sr0); in LISA verify_boot_error_fail_warnings ignore list',
  },
  {
    // A distribution regression, not the image's doing: Debian 13.5's systemd 257.13-1~deb13u1 makes
    // systemd-ssh-generator fail on VM guests whose vsock has no CID (most clouds offer no vsock device),
    // logging this and its own exit status at every boot (systemd/systemd#42188, labelled downstream/debian;
    // 257.9 did not). It only concerns sshd over AF_VSOCK; sshd on TCP is untouched. Seen on debian-13-clean.
    pattern: /^systemd-ssh-generator: Failed to query local AF_VSOCK CID: /,
    why: 'systemd 257.13 (Debian 13.5) ssh-generator regression on VMs without a vsock CID (systemd/systemd#42188)',
  },
  {
    pattern: /: \/usr\/lib\/systemd\/system-generators\/systemd-ssh-generator failed with exit status 1\.$/,
    why: 'systemd 257.13 (Debian 13.5) ssh-generator regression on VMs without a vsock CID (systemd/systemd#42188)',
  },
];

/**
 * Ignored only on a guest that ran under TCG (software emulation, where this machine's boots take 5-10x
 * as long as under KVM): systemd gives the serial console's device a short job timeout, and under TCG
 * udev may tag /dev/ttyS0 after it ran out (seen on debian-13-clean, systemd 257, twice in a row; the
 * getty starts anyway once the device appears). Under KVM, the users' case, the line counts.
 */
export const TCG_BOOT_ERROR_IGNORE: readonly IgnoreRule[] = [
  {
    pattern: /^systemd: Timed out waiting for device dev-ttyS\d+\.device\b/,
    why: 'serial console device job timed out under TCG (software emulation slows udev past the job timeout); counted under KVM',
  },
  {
    // Linux's check_timer() (arch/x86/kernel/apic/io_apic.c) counts jiffies over a busy loop to see that
    // the PIT's IRQ0 arrives through the IO-APIC; under TCG the emulated timer can miss that window and
    // the kernel logs this at KERN_ERR, then routes the timer another way and boots on. Seen on a
    // debian-12-clean BIOS guest under TCG (the demo run of 2026-11-30), not on the runs before it.
    pattern: /^kernel: \.\.MP-BIOS bug: 8254 timer not connected to IO-APIC$/,
    why: "the kernel's IO-APIC timer check missed IRQ0 under TCG (software emulation); counted under KVM",
  },
];

export interface BootErrorSplit {
  /** Errors up to the cut-off that no rule ignores: the findings. */
  kept: JournalEntry[];
  ignored: { entry: JournalEntry; rule: IgnoreRule }[];
  /** Errors after the cut-off (caused by what ran after boot, e.g. other suites' login probes). */
  late: JournalEntry[];
}

export function splitBootErrors(entries: readonly JournalEntry[], cutoffUs: number, rules: readonly IgnoreRule[]): BootErrorSplit {
  const split: BootErrorSplit = { kept: [], ignored: [], late: [] };
  for (const entry of entries) {
    if (entry.monotonicUs !== undefined && entry.monotonicUs > cutoffUs) {
      split.late.push(entry);
      continue;
    }
    const rule = rules.find((r) => r.pattern.test(matchText(entry)));
    if (rule) split.ignored.push({ entry, rule });
    else split.kept.push(entry);
  }
  return split;
}

/** Messages at priority err (3) or above of this boot. Throws when the journal cannot be read. */
export async function readBootErrors(guest: GuestHandle): Promise<{ entries: JournalEntry[]; evidence: string }> {
  const what = 'read the journal';
  const ran = await run(guest, BOOT_ERRORS_ARGV, { sudo: true }, what);
  // journalctl says so on stderr and exits 0 when there is no journal at all: nothing was observed.
  if (ran.result.exitCode !== 0 || /No journal files were found|Failed to open journal/.test(ran.result.stderr)) throw cannotObserve(guest, what, ran);
  const entries = parseJournalJson(ran.result.stdout);
  return { entries, evidence: `$ sudo -n ${BOOT_ERRORS_ARGV.join(' ')}   (exit 0, ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'})` };
}

/** The last lines a unit logged this boot (evidence only: never throws for the guest's answer). */
export async function unitLog(guest: GuestHandle, unit: string, lines = 20): Promise<string> {
  const ran = await tryRun(guest, ['journalctl', '-b', '-u', unit, '-n', String(lines), '--no-pager'], { sudo: true });
  if (ran.unobserved) throw cannotObserve(guest, `read the journal of ${unit}`, ran);
  return ran.evidence;
}
