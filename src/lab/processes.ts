import { readFile, readdir, stat } from 'node:fs/promises';
import { done, notYet, poll } from '../util/poll.js';

/** Finding, checking and stopping the lab's processes, by pid and namespace (never by name). */

/** The inode of a namespace file (`/run/netns/x`, a bind-mounted ns file, `/proc/<pid>/ns/net`), or undefined. */
export async function namespaceId(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).ino;
  } catch {
    return undefined;
  }
}

export async function readPidFile(file: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(file, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface ProcessInfo {
  pid: number;
  comm: string;
  netns?: number;
  mntns?: number;
}

/** A live process (zombies count as gone: they hold no namespaces and cannot be killed). */
export async function processInfo(pid: number): Promise<ProcessInfo | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return undefined;
    const comm = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
    return { pid, comm, netns: await namespaceId(`/proc/${pid}/ns/net`), mntns: await namespaceId(`/proc/${pid}/ns/mnt`) };
  } catch {
    return undefined;
  }
}

export interface DaemonExpectation {
  /** /proc/<pid>/comm, e.g. 'libvirtd'. */
  comm: string;
  /** The network namespace it must run in (inode); undefined: not checked. */
  netns?: number;
  /** The mount namespace it must run in (inode); undefined: not checked. */
  mntns?: number;
}

/** The pid in `pidFile` when that process is alive and is the expected daemon in the expected namespaces. */
export async function runningDaemon(pidFile: string, expected: DaemonExpectation): Promise<number | undefined> {
  const pid = await readPidFile(pidFile);
  if (pid === undefined) return undefined;
  const info = await processInfo(pid);
  if (!info || info.comm !== expected.comm) return undefined;
  if (expected.netns !== undefined && info.netns !== expected.netns) return undefined;
  if (expected.mntns !== undefined && info.mntns !== expected.mntns) return undefined;
  return pid;
}

/** Every live process whose network or mount namespace is one of the given ones (by inode). */
export async function pidsInNamespaces(namespaces: { net?: readonly number[]; mnt?: readonly number[] }): Promise<number[]> {
  const net = new Set(namespaces.net ?? []);
  const mnt = new Set(namespaces.mnt ?? []);
  if (net.size === 0 && mnt.size === 0) return [];
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const info = await processInfo(pid);
    if (!info) continue;
    if ((info.netns !== undefined && net.has(info.netns)) || (info.mntns !== undefined && mnt.has(info.mntns))) pids.push(pid);
  }
  return pids;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM, up to `graceMs` to exit, then SIGKILL; resolves when all are gone (or `graceMs` more passed). */
export async function stopProcesses(pids: readonly number[], graceMs = 5_000): Promise<void> {
  const alive = async () => (await Promise.all(pids.map(async (pid) => ((await processInfo(pid)) ? pid : undefined)))).filter((p): p is number => p !== undefined);
  let remaining = await alive();
  for (const pid of remaining) signal(pid, 'SIGTERM');
  for (const sig of ['SIGKILL', undefined] as const) {
    if (remaining.length) {
      await poll(
        async () => {
          remaining = await alive();
          return remaining.length ? notYet() : done(undefined);
        },
        { intervalMs: 100, timeoutMs: graceMs, waitFirst: true },
      );
    }
    if (!remaining.length || !sig) return;
    for (const pid of remaining) signal(pid, sig);
  }
}
