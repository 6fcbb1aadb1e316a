import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfraError } from '../errors.js';
import { processInfo } from './processes.js';

/**
 * Which runs are in progress on this machine, and which of them use the local lab.
 *
 * - The run registry: `imgtest run` writes `<run dir>/runs/<run id>` (its pid and the process's start
 *   time) when it starts and removes it when it ends. `imgtest clean` keeps everything of a run listed
 *   there whose process is alive; a file whose process is gone (a crash, `kill -9`) is a dead run.
 * - The lab's shared lock: a run that uses the lab's hosts (no hosts in its config) also writes
 *   `<run dir>/lab-users/<run id>`. `imgtest lab down` refuses while a live run holds one (`--force`
 *   stops those runs first). Any number of runs hold it at once; only `lab down` is kept out.
 *
 * The run dir is /run/imgtest (a tmpfs: gone after a reboot, as the runs are; for other users than root
 * <tmp>/imgtest-<uid>), or $IMGTEST_RUN_DIR.
 * The start time (field 22 of /proc/<pid>/stat) tells a reused pid from the run that wrote the file.
 */

export function runDir(env: NodeJS.ProcessEnv = process.env, uid: number | undefined = process.getuid?.()): string {
  if (env['IMGTEST_RUN_DIR']) return env['IMGTEST_RUN_DIR'];
  // /run is root's; another user's runs are registered in a folder of their own.
  return uid === 0 || uid === undefined ? '/run/imgtest' : join(tmpdir(), `imgtest-${uid}`);
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkRunId(runId: string): void {
  if (!RUN_ID.test(runId)) throw new InfraError(`not a run id: ${JSON.stringify(runId)}`, { code: 'E_RUN_REGISTRY' });
}

export interface ProcessStamp {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot); undefined when unknown. */
  startTime?: number;
}

/** The start time of a live process, from /proc/<pid>/stat. */
export async function processStartTime(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return parseStatStartTime(stat);
}

/** Field 22 (starttime) of a /proc/<pid>/stat line; the command name (field 2) may hold spaces and parentheses. */
export function parseStatStartTime(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // Fields after the name start at field 3 (state); starttime is field 22, so index 19 here.
  const value = stat
    .slice(close + 2)
    .trim()
    .split(/\s+/)[19];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** A registry file's text: `<pid> <start time>`. */
export function formatStamp(stamp: ProcessStamp): string {
  return `${stamp.pid}${stamp.startTime === undefined ? '' : ` ${stamp.startTime}`}\n`;
}

export function parseStamp(text: string): ProcessStamp | undefined {
  const [pid, startTime] = text.trim().split(/\s+/);
  if (!pid || !/^\d+$/.test(pid) || Number(pid) < 1) return undefined;
  return { pid: Number(pid), startTime: startTime && /^\d+$/.test(startTime) ? Number(startTime) : undefined };
}

/** Alive: the process exists, is no zombie, and started when the file says (a reused pid does not count). */
export async function stampAlive(stamp: ProcessStamp): Promise<boolean> {
  if (!(await processInfo(stamp.pid))) return false;
  if (stamp.startTime === undefined) return true;
  return (await processStartTime(stamp.pid)) === stamp.startTime;
}

export interface RegisteredRun extends ProcessStamp {
  runId: string;
  alive: boolean;
}

async function writeEntry(folder: string, runId: string, pid: number): Promise<void> {
  checkRunId(runId);
  await mkdir(folder, { recursive: true, mode: 0o755 });
  const file = join(folder, runId);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, formatStamp({ pid, startTime: await processStartTime(pid) }));
  await rename(temporary, file);
}

async function removeEntry(folder: string, runId: string): Promise<void> {
  checkRunId(runId);
  await rm(join(folder, runId), { force: true });
}

async function readEntries(folder: string): Promise<RegisteredRun[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  const entries: RegisteredRun[] = [];
  for (const name of names.sort()) {
    if (!RUN_ID.test(name) || name.endsWith('.tmp')) continue;
    const stamp = parseStamp(await readFile(join(folder, name), 'utf8').catch(() => ''));
    if (!stamp) continue;
    entries.push({ runId: name, ...stamp, alive: await stampAlive(stamp) });
  }
  return entries;
}

const runsFolder = (dir: string) => join(dir, 'runs');
const labUsersFolder = (dir: string) => join(dir, 'lab-users');

export interface RegistryOptions {
  /** Default: runDir(). */
  dir?: string;
  /** Default: this process. */
  pid?: number;
}

/** Marks a run as in progress (this process, unless `pid`). Idempotent. */
export async function registerRun(runId: string, options: RegistryOptions = {}): Promise<void> {
  await writeEntry(runsFolder(options.dir ?? runDir()), runId, options.pid ?? process.pid);
}

/** The run has ended; quiet when it was never registered. */
export async function unregisterRun(runId: string, options: Pick<RegistryOptions, 'dir'> = {}): Promise<void> {
  await removeEntry(runsFolder(options.dir ?? runDir()), runId);
}

/** Every registered run, alive or not (a dead one crashed without unregistering). */
export async function registeredRuns(options: Pick<RegistryOptions, 'dir'> = {}): Promise<RegisteredRun[]> {
  return readEntries(runsFolder(options.dir ?? runDir()));
}

/** The ids of the runs in progress on this machine: registered, with a live process. */
export async function runningRunIds(options: Pick<RegistryOptions, 'dir'> = {}): Promise<Set<string>> {
  return new Set((await registeredRuns(options)).filter((r) => r.alive).map((r) => r.runId));
}

/** Takes the lab's shared lock for a run (released by releaseLabShare, or by the run's process dying). */
export async function acquireLabShare(runId: string, options: RegistryOptions = {}): Promise<void> {
  await writeEntry(labUsersFolder(options.dir ?? runDir()), runId, options.pid ?? process.pid);
}

export async function releaseLabShare(runId: string, options: Pick<RegistryOptions, 'dir'> = {}): Promise<void> {
  await removeEntry(labUsersFolder(options.dir ?? runDir()), runId);
}

/** The runs holding the lab's shared lock now (live processes only). */
export async function labShareHolders(options: Pick<RegistryOptions, 'dir'> = {}): Promise<RegisteredRun[]> {
  return (await readEntries(labUsersFolder(options.dir ?? runDir()))).filter((r) => r.alive);
}

/** Forgets shares whose process is gone (quiet housekeeping; a dead holder never blocks anything). */
export async function dropDeadLabShares(options: Pick<RegistryOptions, 'dir'> = {}): Promise<void> {
  const dir = options.dir ?? runDir();
  for (const entry of await readEntries(labUsersFolder(dir))) if (!entry.alive) await releaseLabShare(entry.runId, { dir });
}
