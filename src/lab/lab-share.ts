import { InfraError } from '../errors.js';
import { done, notYet, poll } from '../util/poll.js';
import { labLockOwner } from './lock.js';
import { stopProcesses } from './processes.js';
import { acquireLabShare, labShareHolders, releaseLabShare, type RegisteredRun, type RegistryOptions } from './run-registry.js';

/**
 * The lab's shared lock as runs and `lab down` see it (see run-registry.ts for the files).
 * A run joins the lab (shared); `lab down` refuses while any live run holds it, or with `--force`
 * stops those runs first and says so.
 */

type Log = (line: string) => void;

/** "run 20261130T030131-3c3a (pid 4242), run ... (pid ...)". */
export function describeHolders(holders: readonly Pick<RegisteredRun, 'runId' | 'pid'>[]): string {
  return holders.map((h) => `run ${h.runId} (pid ${h.pid})`).join(', ');
}

export type LabDownDecision = { action: 'proceed' } | { action: 'refuse'; message: string } | { action: 'stop-runs'; holders: RegisteredRun[] };

/** What `lab down` does given the runs holding the lab: pure. */
export function decideLabDown(holders: readonly RegisteredRun[], force: boolean): LabDownDecision {
  const live = holders.filter((h) => h.alive);
  if (!live.length) return { action: 'proceed' };
  if (force) return { action: 'stop-runs', holders: [...live] };
  return {
    action: 'refuse',
    message: `lab down: the lab is in use by ${describeHolders(live)}; wait for ${live.length === 1 ? 'it' : 'them'} to end, or 'imgtest lab down --force' stops ${live.length === 1 ? 'it' : 'them'} first`,
  };
}

/**
 * Before `lab down` touches anything: refuses (InfraError, exit 3) while runs hold the lab, or with
 * `force` stops them (SIGTERM, so each cleans up and writes its report; SIGKILL after `graceMs`).
 */
export async function gateLabDown(options: { force?: boolean; log: Log; registry?: Pick<RegistryOptions, 'dir'>; graceMs?: number }): Promise<void> {
  const holders = await labShareHolders(options.registry);
  const decision = decideLabDown(holders, options.force ?? false);
  if (decision.action === 'proceed') return;
  if (decision.action === 'refuse') throw new InfraError(decision.message, { code: 'E_LAB_IN_USE' });
  for (const holder of decision.holders) options.log(`lab down --force: stopping run ${holder.runId} (pid ${holder.pid}), which is using the lab`);
  await stopProcesses(
    decision.holders.map((h) => h.pid),
    options.graceMs ?? 60_000,
  );
  const left = (await labShareHolders(options.registry)).filter((h) => decision.holders.some((d) => d.runId === h.runId));
  if (left.length) throw new InfraError(`lab down --force: still running: ${describeHolders(left)}`, { code: 'E_LAB_IN_USE' });
  for (const holder of decision.holders) await releaseLabShare(holder.runId, options.registry);
}

/**
 * A run joins the lab: takes the shared lock, then waits while a `lab down` that began before it holds
 * the lab's exclusive lock (that down did not see this run; the run then starts the lab again).
 */
export async function joinLab(runId: string, stateDir: string, options: { log: Log; registry?: RegistryOptions; timeoutMs?: number }): Promise<void> {
  await acquireLabShare(runId, options.registry);
  const waited = await poll(
    async () => {
      const owner = await labLockOwner(stateDir);
      return owner?.purpose === 'down' ? notYet(owner.pid) : done(undefined);
    },
    {
      intervalMs: 500,
      timeoutMs: options.timeoutMs ?? 15 * 60_000,
      onTick: ({ attempt, observation: pid }) => {
        if (attempt === 1) options.log(`waiting for 'imgtest lab down' (pid ${pid}) to finish`);
      },
    },
  );
  if (waited.ok) return;
  await releaseLabShare(runId, options.registry);
  throw new InfraError(`the lab is being taken down by pid ${waited.last}; try again when it is done`, { code: 'E_LAB' });
}
