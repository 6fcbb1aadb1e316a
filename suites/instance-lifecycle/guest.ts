/**
 * Running commands in a guest and folding per-guest verdicts into one outcome.
 *
 * Every command goes through `run`/`tryRun`: they keep the command and what it printed as evidence, and
 * tell a command that answered (whatever its exit code) from one that could not run at all (sudo
 * refused, the program missing; a lost SSH connection is thrown by the guest handle itself). A check
 * that could not observe throws (the runner reports a JUnit `<error>`); it never turns that into a
 * failure of the image.
 */
import { fail, pass, skip, unobserved, type CheckContext, type CheckOutcome, type ExecOptions, type ExecResult, type GuestHandle, type Unobserved } from './api.js';
import { parseOptions, type LifecycleOptions } from './options.js';
import { oneLine, transcript, withoutSudoNoise } from './api.js';
// The contract's evidence helpers, re-exported for this suite's other files (one wording across suites).
export { oneLine, transcript, withoutSudoNoise };

export const SUITE = 'instance-lifecycle';

const UNOBSERVED_TEXT: Record<Unobserved, string> = {
  transport: 'the SSH connection to the guest failed', // never returned: exec throws GuestTransportError
  sudo: 'sudo -n was refused',
  missing: 'the program is not installed in the guest',
};

export interface Ran {
  argv: readonly string[];
  sudo: boolean;
  result: ExecResult;
  evidence: string;
  unobserved?: Unobserved;
}

/** The error a check throws when it could not look: a JUnit <error> naming the guest and why. */
export function cannotObserve(guest: GuestHandle, what: string, ran: Ran): Error {
  const why = ran.unobserved ? UNOBSERVED_TEXT[ran.unobserved] : `exit ${ran.result.exitCode}`;
  const said = oneLine(withoutSudoNoise(ran.result.stderr) || ran.result.stdout, 200);
  return new Error(`${guest.name}: cannot ${what}: ${why} ($ ${ran.sudo ? 'sudo ' : ''}${ran.argv.join(' ')}${said ? `: ${said}` : ''})`);
}

/** Runs argv and returns what it said, whatever the exit code; `unobserved` says when it could not run at all. */
export async function tryRun(guest: GuestHandle, argv: readonly string[], options: ExecOptions = {}): Promise<Ran> {
  const result = await guest.exec(argv, options);
  return { argv, sudo: options.sudo === true, result, evidence: transcript(argv, result, options), unobserved: unobserved(result, options) };
}

/** Like `tryRun`, but throws when the command could not run at all: nothing was observed. */
export async function run(guest: GuestHandle, argv: readonly string[], options: ExecOptions = {}, what = `run ${argv[0]}`): Promise<Ran> {
  const ran = await tryRun(guest, argv, options);
  if (ran.unobserved) throw cannotObserve(guest, what, ran);
  return ran;
}

export interface FileRead {
  path: string;
  state: 'ok' | 'missing' | 'unreadable';
  text: string;
  evidence: string;
}

const MISSING = /No such file or directory/i;

/** `cat PATH` (as root with `sudo`); a missing file is an answer, a failed SSH or sudo is not. */
export async function readFile(guest: GuestHandle, path: string, options: { sudo?: boolean } = {}): Promise<FileRead> {
  const ran = await run(guest, ['cat', path], { sudo: options.sudo }, `read ${path}`);
  if (ran.result.exitCode === 0) return { path, state: 'ok', text: ran.result.stdout, evidence: ran.evidence };
  return { path, state: MISSING.test(ran.result.stderr) ? 'missing' : 'unreadable', text: '', evidence: ran.evidence };
}

/** Paths `find DIR -maxdepth 1 -type f -name GLOB` lists; none when DIR does not exist. */
export async function listFiles(guest: GuestHandle, dir: string, glob: string, options: { sudo?: boolean } = {}): Promise<{ paths: string[]; evidence: string }> {
  const ran = await run(guest, ['find', dir, '-maxdepth', '1', '-type', 'f', '-name', glob], { sudo: options.sudo }, `list ${dir}`);
  const paths = ran.result.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('/'))
    .sort();
  return { paths, evidence: ran.evidence };
}

export function optionsOf(context: CheckContext): Promise<LifecycleOptions> {
  return context.memo(`${SUITE}:options`, async () => parseOptions(context.options));
}

/** A value read once per guest and shared between checks (`context.memo`). */
export function perGuest<T>(context: CheckContext, guest: GuestHandle, name: string, compute: () => Promise<T>): Promise<T> {
  return context.memo(`${SUITE}:${guest.name}:${name}`, compute);
}

export const GiB = 1024 ** 3;

export function formatBytes(bytes: number): string {
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${bytes} B`;
}

export const seconds = (value: number): string => `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} s`;

export function guestHeader(guest: GuestHandle): string {
  return `=== ${guest.name} on ${guest.host.name} (${guest.address}) ===`;
}

/** The guests to check; an empty list is the runner's fault, not the image's. */
export function requireGuests(context: CheckContext): readonly GuestHandle[] {
  if (context.guests.length === 0) throw new Error(`${SUITE}: the runner planned no guest for this suite`);
  return context.guests;
}

export interface GuestVerdict {
  status: 'pass' | 'fail' | 'skip';
  /** One line naming what was found on this guest (the guest's name is added). */
  message: string;
  evidence: string;
}

export const verdict = (ok: boolean, message: string, evidence: string): GuestVerdict => ({ status: ok ? 'pass' : 'fail', message, evidence });

/**
 * Runs `check` on every guest of the suite at once and folds the verdicts: a guest with a defect fails the
 * check (naming the guest); otherwise a guest that could not be observed makes it an error (thrown);
 * otherwise it passes (or skips when every guest skipped).
 */
export async function onEveryGuest(context: CheckContext, check: (guest: GuestHandle) => Promise<GuestVerdict>): Promise<CheckOutcome> {
  const guests = requireGuests(context);
  const settled = await Promise.allSettled(guests.map((guest) => check(guest)));
  const evidence = settled
    .map((s, i) => `${guestHeader(guests[i]!)}\n${s.status === 'fulfilled' ? s.value.evidence.trim() : `could not observe: ${(s.reason as Error)?.message ?? String(s.reason)}`}`)
    .join('\n\n');
  const failing = settled.flatMap((s, i) => (s.status === 'fulfilled' && s.value.status === 'fail' ? [`${guests[i]!.name}: ${s.value.message}`] : []));
  const errors = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as Error] : []));
  if (failing.length) {
    const note = errors.length ? ` (and ${errors.length} guest${errors.length > 1 ? 's' : ''} could not be observed)` : '';
    return fail(oneLine(`${failing.join('; ')}${note}`, 1000), evidence);
  }
  if (errors.length) {
    const error = errors[0]!;
    throw error instanceof Error ? error : new Error(String(error));
  }
  const verdicts = settled.map((s) => (s as PromiseFulfilledResult<GuestVerdict>).value);
  const messages = verdicts.map((v, i) => `${guests[i]!.name}: ${v.message}`);
  if (verdicts.every((v) => v.status === 'skip')) return skip(oneLine(messages.join('; '), 1000), evidence);
  return pass(oneLine(messages.join('; '), 1000), evidence);
}
