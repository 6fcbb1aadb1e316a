import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { InfraError } from '../errors.js';
import { abortableSleep, done, notYet, poll, type PollStep } from '../util/poll.js';
import { processInfo } from './processes.js';

/**
 * One `lab up` / `lab down` at a time on this machine: a lock folder next to the state folder
 * (the state folder itself is deleted by down) holding the owner's pid. A lock whose owner is
 * gone is taken over.
 */

export async function withLabLock<T>(stateDir: string, log: (line: string) => void, task: () => Promise<T>, timeoutMs = 15 * 60_000, purpose?: string): Promise<T> {
  const lock = `${stateDir}.lock`;
  const owner = `${lock}/pid`;
  // One look: the lock taken, or the live pid that holds it. A lock whose owner is gone, or that is
  // left half made, is taken over and looked at again at once (so only a live owner makes us wait).
  const look = async (): Promise<PollStep<void, number>> => {
    try {
      await mkdir(lock, { mode: 0o700 });
      // The purpose first: once the pid is there, the lock counts as fully taken.
      if (purpose) await writeFile(`${lock}/purpose`, `${purpose}\n`);
      await writeFile(owner, `${process.pid}\n`);
      return done(undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number.parseInt((await readFile(owner, 'utf8').catch(() => '')).trim(), 10);
    if (Number.isInteger(pid) && pid !== process.pid && !(await processInfo(pid))) {
      await rm(lock, { recursive: true, force: true });
      return look();
    }
    if (!Number.isInteger(pid)) {
      // Being created right now, or left half-made by a crash: give the owner a moment, then take over.
      await abortableSleep(1_000);
      if (!(await readFile(owner, 'utf8').catch(() => ''))) await rm(lock, { recursive: true, force: true });
      return look();
    }
    return notYet(pid);
  };
  const taken = await poll(look, {
    intervalMs: 500,
    timeoutMs,
    onTick: ({ attempt, observation: pid }) => {
      if (attempt === 1) log(`waiting for pid ${pid}, which is changing the lab (${lock})`);
    },
  });
  if (!taken.ok) throw new InfraError(`the lab is locked by pid ${taken.last} (${lock})`, { code: 'E_LAB' });
  try {
    return await task();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** Who holds the lab's exclusive lock now (a live owner only), and for what (`up`, `down`, `clean`...). */
export async function labLockOwner(stateDir: string): Promise<{ pid: number; purpose?: string } | undefined> {
  const lock = `${stateDir}.lock`;
  const pid = Number.parseInt((await readFile(`${lock}/pid`, 'utf8').catch(() => '')).trim(), 10);
  if (!Number.isInteger(pid) || !(await processInfo(pid))) return undefined;
  const purpose = (await readFile(`${lock}/purpose`, 'utf8').catch(() => '')).trim();
  return { pid, purpose: purpose || undefined };
}
