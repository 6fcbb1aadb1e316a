/**
 * The one way imgtest waits for something to become true: a guest to answer, a daemon to write its pid,
 * a lock to be free, a clock to synchronise. `poll` asks a probe, sleeps, asks again, until the probe
 * says `done(value)`, the deadline passes or the run is cancelled:
 *
 *   const waited = await poll(async () => (await ready()) ? done(address) : notYet(lastConsoleLine), { intervalMs: 3000, timeoutMs: 600_000, signal });
 *   if (!waited.ok) throw new InfraError(`no address after ${Math.round(waited.elapsedMs / 1000)} s; last console line '${waited.last}'`);
 *
 * - The deadline is checked after each probe: a probe that starts before it always runs, and the last
 *   sleep is shortened so the last probe falls on the deadline. Running out of time is a result
 *   (`ok: false`) that carries the last observation, not an exception: callers word their own message
 *   (and some, such as a reboot, report it as an outcome rather than throw).
 * - A probe that throws ends the wait with its error (the boot watch declares a guest stuck that way).
 * - The signal is checked before each probe and each sleep, and the default sleep stops when it fires:
 *   the wait then rejects with `InterruptedError` (or with the signal's reason when that is already one
 *   of imgtest's errors, e.g. a check's own timeout).
 * - `now` and `sleep` are injectable, so tests run on a fake clock without waiting.
 *
 * Retrying an action that fails transiently is not a wait: see ./retry.ts (p-retry).
 */
import { ImgtestError, InterruptedError } from '../errors.js';

/** What a probe says: the wait is over with `value`, or not yet, with what it saw (for the timeout's message). */
export type PollStep<T, O> = { readonly done: true; readonly value: T } | { readonly done: false; readonly observation: O; readonly nextInMs?: number };

/** The probe's "it is there": the wait ends and `poll` resolves with this value. */
export function done<T>(value: T): PollStep<T, never> {
  return { done: true, value };
}

/**
 * The probe's "not yet", with what it saw: the last one is in the timeout result. `nextInMs` asks for
 * the next probe sooner or later than the interval (0: at once, e.g. after taking over a stale lock).
 */
export function notYet<O = undefined>(observation?: O, options: { nextInMs?: number } = {}): PollStep<never, O> {
  return { done: false, observation: observation as O, ...(options.nextInMs === undefined ? {} : { nextInMs: options.nextInMs }) };
}

export interface PollTick<O> {
  /** 1 for the first probe. */
  attempt: number;
  /** Since `poll` was called, on its clock. */
  elapsedMs: number;
  observation: O;
}

export interface PollOptions<O> {
  /** Between the end of one probe and the start of the next. */
  intervalMs: number;
  /** Give up this long after `poll` was called. */
  timeoutMs?: number;
  /** Give up at this time on `now`'s clock (when the wait began earlier than the call, e.g. a reboot's deadline counts from the command). The earlier of the two wins. */
  deadline?: number;
  /** Give up after this many probes (with or without a deadline). */
  maxAttempts?: number;
  /** Sleep one interval before the first probe (a guest just told to reboot is still up). */
  waitFirst?: boolean;
  /** Cancels the wait (the run's Ctrl-C, a check's signal). */
  signal?: AbortSignal;
  /** Epoch ms; default `Date.now`. */
  now?: () => number;
  /** Default: a timer the signal cuts short. An injected sleep may ignore the signal: it is checked again after it. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Each "not yet", before the deadline is looked at (e.g. to say once what is being waited for). */
  onTick?: (tick: PollTick<O>) => void | Promise<void>;
}

/** How a wait ended, when not by an error: the probe's value, or out of time (or probes) with the last observation. */
export type PollResult<T, O> = { ok: true; value: T; attempts: number; elapsedMs: number } | PollTimeout<O>;

export interface PollTimeout<O> {
  ok: false;
  /** `deadline`: `timeoutMs` or `deadline` passed; `attempts`: `maxAttempts` probes said not yet. */
  reason: 'deadline' | 'attempts';
  /** What the last probe saw. */
  last: O;
  attempts: number;
  elapsedMs: number;
}

export async function poll<T, O>(probe: (tick: { attempt: number; elapsedMs: number }) => Promise<PollStep<T, O>> | PollStep<T, O>, options: PollOptions<O>): Promise<PollResult<T, O>> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const { signal } = options;
  const started = now();
  const deadline = Math.min(options.deadline ?? Infinity, options.timeoutMs === undefined ? Infinity : started + options.timeoutMs);
  const stopIfAborted = () => {
    if (signal?.aborted) throw abortError(signal);
  };
  const pause = async (ms: number, at: number) => {
    stopIfAborted();
    await sleep(Math.max(0, Math.min(ms, deadline - at)), signal);
    stopIfAborted();
  };

  if (options.waitFirst) await pause(options.intervalMs, started);
  for (let attempt = 1; ; attempt++) {
    stopIfAborted();
    const step = await probe({ attempt, elapsedMs: now() - started });
    const at = now();
    if (step.done) return { ok: true, value: step.value, attempts: attempt, elapsedMs: at - started };
    await options.onTick?.({ attempt, elapsedMs: at - started, observation: step.observation });
    if (at >= deadline) return { ok: false, reason: 'deadline', last: step.observation, attempts: attempt, elapsedMs: at - started };
    if (options.maxAttempts !== undefined && attempt >= options.maxAttempts) return { ok: false, reason: 'attempts', last: step.observation, attempts: attempt, elapsedMs: at - started };
    await pause(step.nextInMs ?? options.intervalMs, at);
  }
}

/**
 * The error a cancelled wait rejects with: the signal's reason when it is one of imgtest's errors (a
 * check's timeout stays "did not finish within N s"), else `InterruptedError` ('interrupted'), with the
 * reason (e.g. 'SIGINT') as its cause.
 */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof ImgtestError ? reason : new InterruptedError('interrupted', { cause: reason });
}

/** Sleeps `ms`; rejects with `abortError` at once when the signal fires (or has fired). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
