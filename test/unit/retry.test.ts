import { afterEach, describe, expect, it, vi } from 'vitest';
import { InfraError, InterruptedError } from '../../src/errors.js';
import { retry } from '../../src/util/retry.js';

class Conflict extends Error {}

const transient = (error: Error) => error instanceof Conflict;

describe('retry (p-retry)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries only the transient failure, with the delays of its budget', async () => {
    vi.useFakeTimers();
    const delays: number[] = [];
    let attempts = 0;
    const running = retry(
      async () => {
        attempts++;
        if (attempts < 4) throw new Conflict('Storage source conflict with pool');
        return 'opened';
      },
      { retries: 30, minTimeout: 2000, factor: 1, signal: undefined, shouldRetry: transient, onRetry: ({ retryDelay }) => void delays.push(retryDelay) },
    );
    await vi.runAllTimersAsync();
    await expect(running).resolves.toBe('opened');
    expect(attempts).toBe(4);
    expect(delays).toEqual([2000, 2000, 2000]);
  });

  it('grows the delay by the factor', async () => {
    vi.useFakeTimers();
    const delays: number[] = [];
    const running = retry(() => Promise.reject(new Conflict('busy')), {
      retries: 3,
      minTimeout: 100,
      factor: 2,
      signal: undefined,
      shouldRetry: transient,
      onRetry: ({ retryDelay }) => void delays.push(retryDelay),
    });
    running.catch(() => undefined);
    await vi.runAllTimersAsync();
    await expect(running).rejects.toBeInstanceOf(Conflict);
    expect(delays).toEqual([100, 200, 400]);
  });

  it('throws any other failure at once, as it is', async () => {
    let attempts = 0;
    const refused = new InfraError('cannot open /var/lib/libvirt/qemu/nvram through a transient pool: permission denied', { code: 'E_POOL' });
    await expect(
      retry(
        async () => {
          attempts++;
          throw refused;
        },
        { retries: 30, minTimeout: 2000, factor: 1, signal: undefined, shouldRetry: transient },
      ),
    ).rejects.toBe(refused);
    expect(attempts).toBe(1);
  });

  it('gives up after the budget (30 retries, 2 s apart: one minute) with the last failure', async () => {
    vi.useFakeTimers();
    let attempts = 0;
    const started = Date.now();
    const running = retry(
      async () => {
        attempts++;
        throw new Conflict(`conflict ${attempts}`);
      },
      { retries: 30, minTimeout: 2000, factor: 1, signal: undefined, shouldRetry: transient },
    );
    running.catch(() => undefined);
    await vi.runAllTimersAsync();
    await expect(running).rejects.toThrow('conflict 31');
    expect(attempts).toBe(31);
    expect(Date.now() - started).toBe(60_000);
  });

  it('retries some failures at once, without a delay or spending the budget', async () => {
    vi.useFakeTimers();
    const failures = [new Error('left over'), new Error('left over'), new Conflict('busy'), new Conflict('busy')];
    let attempts = 0;
    const started = Date.now();
    const running = retry(
      async () => {
        attempts++;
        const failure = failures.shift();
        if (failure) throw failure;
        return 'opened';
      },
      { retries: 2, minTimeout: 2000, factor: 1, signal: undefined, shouldRetry: () => true, retryAtOnce: (e) => e.message === 'left over' },
    );
    await vi.runAllTimersAsync();
    await expect(running).resolves.toBe('opened');
    expect(attempts).toBe(5);
    expect(Date.now() - started).toBe(4000);
  });

  it('stops when the signal fires, during a delay, with InterruptedError', async () => {
    const controller = new AbortController();
    let attempts = 0;
    const running = retry(
      async () => {
        attempts++;
        throw new Conflict('busy');
      },
      { retries: 30, minTimeout: 60_000, factor: 1, signal: controller.signal, shouldRetry: transient },
    );
    setTimeout(() => controller.abort('SIGINT'), 20);
    const error = await running.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterruptedError);
    expect((error as Error).cause).toBe('SIGINT');
    expect(attempts).toBe(1);
  });

  it('does not start when the signal has already fired', async () => {
    let attempts = 0;
    await expect(retry(async () => void attempts++, { retries: 3, minTimeout: 10, factor: 1, signal: AbortSignal.abort('SIGTERM'), shouldRetry: transient })).rejects.toBeInstanceOf(InterruptedError);
    expect(attempts).toBe(0);
  });
});
