/**
 * A guest rebooted the way a user reboots it, and watched until it is back: SSH with the host keys
 * pinned at first boot, under a new boot id. The console is read meanwhile, so a guest that will not
 * come back (emergency mode, a panic) is reported as soon as it says so, not after a deadline.
 */
import { GuestHostKeyError } from '../errors.js';
import type { ExecOptions, ExecResult, RebootOutcome } from '../suite-api/index.js';
import { lastLines } from '../guest/serial.js';
import { done, notYet, poll, type PollStep } from '../util/poll.js';

export interface RebootSeam {
  /**
   * SSH to the guest as the seeded user, host keys pinned (the guest's ssh2 session). Throws when no
   * exit status came back: `GuestTransportError` (no connection, or it dropped), `GuestHostKeyError`
   * (the guest answered with other host keys), `GuestExecTimeoutError`.
   */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Ends the SSH connection, so the next command connects anew (the old one dies with the guest). */
  dropConnection(): Promise<void>;
  /** The whole serial console so far. */
  readConsole(): Promise<string>;
  now(): number;
  sleep(ms: number): Promise<void>;
}

const BOOT_ID = ['cat', '/proc/sys/kernel/random/boot_id'];

/**
 * Lines by which a booting guest says it will not come back by itself. systemd's emergency and rescue
 * targets print "You are in emergency mode" and, with root locked (every cloud image), sulogin's
 * "Cannot open access to console, the root account is locked" (systemd src/core/emergency-action.c,
 * util-linux sulogin.c); initramfs-tools drops to "(initramfs)" after "ALERT! ... Dropping to a shell!";
 * the kernel's "Kernel panic - not syncing".
 */
const STUCK_MARKERS: readonly RegExp[] = [
  /You are in (?:emergency|rescue) mode/,
  /Cannot open access to console, the root account is locked/,
  /Give root password for maintenance/,
  /Dropping to a shell!/,
  /Kernel panic - not syncing[^\n]*/,
];

/** The console line that shows the guest is stuck, if any. */
export function rebootStuck(console: string): string | undefined {
  const clean = console.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  for (const marker of STUCK_MARKERS) {
    const match = marker.exec(clean);
    if (match) return match[0].trim();
  }
  return undefined;
}

/** An error's message on one line, for an outcome's `error`. */
function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ').trim();
}

/** What exec resolved to, not what it threw (an imgtest error has an `exitCode` too: the process's). */
const isResult = (value: unknown): value is ExecResult => !(value instanceof Error) && typeof value === 'object' && value !== null && 'stdout' in value;

export async function rebootGuest(seam: RebootSeam, options: { timeoutSeconds: number; pollMs?: number }): Promise<RebootOutcome> {
  const started = seam.now();
  const seconds = () => Math.round((seam.now() - started) / 1000);
  const before = await seam.exec(BOOT_ID, { timeoutMs: 60_000 }).catch((error: unknown) => error);
  if (!isResult(before)) {
    return { ok: false, seconds: 0, bootIdBefore: '', cause: 'infrastructure', error: `could not read the boot id before rebooting: ${messageOf(before)}`, console: '' };
  }
  const bootIdBefore = before.stdout.trim();
  if (before.exitCode !== 0 || !bootIdBefore) {
    return { ok: false, seconds: 0, bootIdBefore, cause: 'infrastructure', error: `could not read the boot id before rebooting: ${before.stderr.trim() || `exit ${before.exitCode}`}`, console: '' };
  }
  const consoleStart = (await seam.readConsole().catch(() => '')).length;
  const since = async () => (await seam.readConsole().catch(() => '')).slice(consoleStart);

  // `systemctl reboot` returns once the job is queued; the connection may also drop before its exit
  // status comes back (exec throws): the guest is on its way down either way, as the poll will show.
  const command = await seam.exec(['systemctl', 'reboot'], { sudo: true, timeoutMs: 60_000 }).catch(() => undefined);
  if (command && command.exitCode !== 0) {
    return {
      ok: false,
      seconds: seconds(),
      bootIdBefore,
      cause: 'image',
      error: `sudo systemctl reboot was refused (exit ${command.exitCode}): ${command.stderr.trim().split('\n').pop() ?? ''}`,
      console: await since(),
    };
  }
  await seam.dropConnection();

  // Each probe reads the console, then asks for the boot id; a verdict (back, or stuck for good) ends the
  // wait. The deadline counts from before the reboot command; the first look is one interval after it.
  let lastError = '';
  const probe = async (): Promise<PollStep<RebootOutcome, string>> => {
    const console = await since();
    const stuck = rebootStuck(console);
    if (stuck) {
      return done({ ok: false, seconds: seconds(), bootIdBefore, cause: 'image', error: `the guest did not come back: its console says '${stuck}'`, console });
    }
    const after = await seam.exec(BOOT_ID, { timeoutMs: 30_000 }).catch((error: unknown) => error);
    if (after instanceof GuestHostKeyError) {
      return done({
        ok: false,
        seconds: seconds(),
        bootIdBefore,
        cause: 'image',
        error: `the guest came back with other SSH host keys than those pinned at first boot (it offered ${after.offered})`,
        console,
      });
    }
    if (!isResult(after)) {
      // Not back yet: connection refused, no handshake, dropped (the message says which).
      lastError = messageOf(after);
      return notYet(console);
    }
    const bootIdAfter = after.stdout.trim();
    if (after.exitCode === 0 && bootIdAfter && bootIdAfter !== bootIdBefore) {
      return done({ ok: true, seconds: seconds(), bootIdBefore, bootIdAfter, console });
    }
    if (after.exitCode !== 0) lastError = after.stderr.trim().split('\n').pop() ?? '';
    return notYet(console);
  };
  const waited = await poll(probe, { intervalMs: options.pollMs ?? 5000, deadline: started + options.timeoutSeconds * 1000, waitFirst: true, now: () => seam.now(), sleep: (ms) => seam.sleep(ms) });
  if (waited.ok) return waited.value;
  const console = await since();
  const tail = lastLines(console, 1);
  return {
    ok: false,
    seconds: seconds(),
    bootIdBefore,
    cause: 'infrastructure',
    error: `SSH did not answer again within ${options.timeoutSeconds} s of the reboot${lastError ? ` (${lastError})` : ''}${tail ? `; the console's last line: '${tail.slice(0, 160)}'` : '; the console printed nothing'}`,
    console,
  };
}
