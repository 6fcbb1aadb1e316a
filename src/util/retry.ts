/**
 * Retrying an action that fails transiently (libvirt refusing a second pool over a folder while another
 * run holds one there): p-retry, with the budget spelled out at every call site. Only the failures
 * `shouldRetry` names are retried; any other ends the retrying at once and is thrown as it is, as is the
 * last transient one when the budget is spent. Waiting for a state to come about is not a retry: see
 * ./poll.ts.
 */
import pRetry from 'p-retry';
import { abortError } from './poll.js';

export interface RetryBudget {
  /** Retries after the first attempt (so at most `retries + 1` attempts). */
  retries: number;
  /** Delay before the first retry, ms. */
  minTimeout: number;
  /** Each further delay is the previous times this (1: a constant delay). */
  factor: number;
  /** Cap on one delay, ms. */
  maxTimeout?: number;
}

export interface RetryOptions extends RetryBudget {
  /** Stops the retrying (and a pending delay) when it fires; `undefined` says on purpose that nothing cancels it (e.g. cleanup). */
  signal: AbortSignal | undefined;
  /** The transient failures: only these are retried. */
  shouldRetry(error: Error): boolean;
  /**
   * Failures retried at once, without a delay and without spending the budget (p-retry's
   * `shouldConsumeRetry: false`); they must also pass `shouldRetry`, which then bounds them.
   */
  retryAtOnce?(error: Error): boolean;
  /** Each failed attempt that will be retried, with the delay before the next. */
  onRetry?(failure: { error: Error; attemptNumber: number; retriesLeft: number; retryDelay: number }): void;
}

/** Runs `attempt` (given its number, from 1) until it resolves, a failure is not transient, or the budget is spent. */
export async function retry<T>(attempt: (attemptNumber: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { signal } = options;
  try {
    return await pRetry(attempt, {
      retries: options.retries,
      minTimeout: options.minTimeout,
      factor: options.factor,
      maxTimeout: options.maxTimeout,
      randomize: false,
      signal,
      shouldConsumeRetry: ({ error }) => !options.retryAtOnce?.(error),
      shouldRetry: ({ error, attemptNumber, retriesLeft, retriesConsumed }) => {
        const again = options.shouldRetry(error);
        if (again) options.onRetry?.({ error, attemptNumber, retriesLeft, retryDelay: options.retryAtOnce?.(error) ? 0 : retryDelay(options, retriesConsumed) });
        return again;
      },
    });
  } catch (error) {
    // p-retry rejects with the signal's bare reason (e.g. 'SIGINT'): say it as imgtest's cancellation.
    if (signal?.aborted) throw abortError(signal);
    throw error;
  }
}

/** The delay p-retry waits before the next attempt (its calculateDelay with randomize off); p-retry 7 does not pass it on. */
function retryDelay(budget: RetryBudget, retriesConsumed: number): number {
  return Math.min(Math.round(budget.minTimeout * budget.factor ** retriesConsumed), budget.maxTimeout ?? Infinity);
}
