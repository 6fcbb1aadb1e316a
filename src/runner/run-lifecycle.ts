/**
 * One run from its first step to its report, however it ends. The steps run under the run's
 * AbortSignal; when the signal fires (Ctrl-C, SIGTERM, SIGHUP), the steps under way get a bounded
 * time to stop (each checks the signal between its own steps), then cleanup undoes what they made,
 * once, and the report says what was interrupted. An error that ends the run early (bad input, a
 * host that does not answer) also leaves a report, and is then passed on for the CLI to print.
 */
import { isImgtestError } from '../errors.js';
import type { RunResult } from '../report/model.js';
import type { CleanupRegistry } from './cleanup.js';
import type { RunRecord } from './run-record.js';

export interface RunLifecycle {
  record: RunRecord;
  cleanup: CleanupRegistry;
  signal: AbortSignal;
  /** How long the steps under way get to stop after an interrupt, before cleanup starts. */
  stopGraceMs?: number;
  warn(line: string): void;
}

export type RunEnd = { result: RunResult; interrupted?: string; error?: unknown };

export async function runToReport(lifecycle: RunLifecycle, work: () => Promise<RunResult>): Promise<RunEnd> {
  const { record, cleanup, signal } = lifecycle;
  const running = work();
  running.catch(() => undefined);
  let end: RunEnd;
  try {
    end = { result: await untilAborted(running, signal) };
  } catch (error) {
    if (signal.aborted) {
      // What was going on when the signal came, before the steps unwind.
      const activity = record.activity;
      const interrupted = `interrupted by ${String(signal.reason ?? 'a signal')}${activity ? ` while ${activity}` : ''}`;
      await settled(running, lifecycle.stopGraceMs ?? 30_000);
      end = { result: record.ended('error', interrupted, 'E_INTERRUPTED'), interrupted };
    } else {
      const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      const code = isImgtestError(error) ? error.code : 'E_INTERNAL';
      const exitCode = isImgtestError(error) && error.exitCode === 2 ? 2 : 3;
      end = { result: record.ended('error', message, code, exitCode), error };
    }
  }
  const failures = await cleanup.runAll();
  for (const failure of failures) lifecycle.warn(`cleanup: ${failure}`);
  // Typically a host that stopped answering: what it holds of this run is removed once it answers again.
  if (failures.length) lifecycle.warn("what could not be removed stays on its host; once the host answers again, 'imgtest clean' removes it (with the run's --config)");
  await record.write(end.result);
  return end;
}

/** The work's result, or a rejection as soon as the signal fires. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Waits for the work to end either way, at most `ms`. */
async function settled(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
