import { describe, expect, it } from 'vitest';
import { InfraError, InterruptedError } from '../../src/errors.js';
import { abortableSleep, done, notYet, poll, type PollStep } from '../../src/util/poll.js';

/** A fake clock: sleeping advances it, and every sleep is recorded. */
function fakeClock(start = 1_000_000) {
  const clock = { now: start, slept: [] as number[] };
  return {
    clock,
    now: () => clock.now,
    sleep: async (ms: number) => {
      clock.slept.push(ms);
      clock.now += ms;
    },
  };
}

describe('poll', () => {
  it("returns the probe's value as soon as it is done, after sleeping the interval between probes", async () => {
    const { clock, now, sleep } = fakeClock();
    const seen: number[] = [];
    const result = await poll(
      ({ attempt, elapsedMs }) => {
        seen.push(elapsedMs);
        return attempt < 3 ? notYet(`try ${attempt}`) : done('up');
      },
      { intervalMs: 3000, timeoutMs: 60_000, now, sleep },
    );
    expect(result).toEqual({ ok: true, value: 'up', attempts: 3, elapsedMs: 6000 });
    expect(clock.slept).toEqual([3000, 3000]);
    expect(seen).toEqual([0, 3000, 6000]);
  });

  it('ends at the deadline with the last observation, the last sleep shortened to fall on it', async () => {
    const { clock, now, sleep } = fakeClock();
    const ticks: string[] = [];
    const result = await poll(({ attempt }) => notYet(`console line ${attempt}`), {
      intervalMs: 5000,
      timeoutMs: 12_000,
      now,
      sleep,
      onTick: (t) => void ticks.push(`${t.attempt}@${t.elapsedMs}: ${t.observation}`),
    });
    expect(result).toEqual({ ok: false, reason: 'deadline', last: 'console line 4', attempts: 4, elapsedMs: 12_000 });
    expect(clock.slept).toEqual([5000, 5000, 2000]);
    expect(ticks).toEqual(['1@0: console line 1', '2@5000: console line 2', '3@10000: console line 3', '4@12000: console line 4']);
  });

  it('takes an absolute deadline (counted from before the call), and the earlier of deadline and timeout', async () => {
    const { clock, now, sleep } = fakeClock(0);
    clock.now = 40_000;
    const result = await poll(() => notYet(), { intervalMs: 5000, deadline: 60_000, timeoutMs: 600_000, now, sleep });
    expect(result).toMatchObject({ ok: false, attempts: 5, elapsedMs: 20_000 });
  });

  it('with waitFirst, sleeps one interval before the first probe', async () => {
    const { clock, now, sleep } = fakeClock(0);
    const probedAt: number[] = [];
    const result = await poll(() => (probedAt.push(clock.now), notYet()), { intervalMs: 5000, deadline: 15_000, waitFirst: true, now, sleep });
    expect(probedAt).toEqual([5000, 10_000, 15_000]);
    expect(result.ok).toBe(false);
  });

  it('stops after maxAttempts probes, with no deadline', async () => {
    const { clock, now, sleep } = fakeClock();
    const result = await poll(({ attempt }) => notYet({ attempt }), { intervalMs: 5000, maxAttempts: 6, now, sleep });
    expect(result).toMatchObject({ ok: false, reason: 'attempts', last: { attempt: 6 }, attempts: 6 });
    expect(clock.slept).toHaveLength(5);
  });

  it('honours a step asking for the next probe sooner', async () => {
    const { clock, now, sleep } = fakeClock();
    const steps: PollStep<string, string>[] = [notYet('stale', { nextInMs: 0 }), notYet('held'), done('taken')];
    const result = await poll(() => steps.shift()!, { intervalMs: 500, timeoutMs: 10_000, now, sleep });
    expect(result).toMatchObject({ ok: true, value: 'taken' });
    expect(clock.slept).toEqual([0, 500]);
  });

  it("ends with the probe's own error when it throws", async () => {
    const { now, sleep } = fakeClock();
    await expect(poll(() => Promise.reject(new InfraError('stuck in GRUB')), { intervalMs: 10, now, sleep })).rejects.toThrow('stuck in GRUB');
  });

  it('rejects with InterruptedError when the signal fires during a sleep, and probes no more', async () => {
    const controller = new AbortController();
    let probes = 0;
    const waiting = poll(() => (probes++, notYet()), { intervalMs: 60_000, timeoutMs: 600_000, signal: controller.signal });
    setTimeout(() => controller.abort('SIGINT'), 20);
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterruptedError);
    expect((error as InterruptedError).code).toBe('E_INTERRUPTED');
    expect((error as InterruptedError).message).toBe('interrupted');
    expect((error as Error).cause).toBe('SIGINT');
    expect(probes).toBe(1);
  });

  it('checks the signal between steps when an injected sleep ignores it, and keeps imgtest errors as the reason', async () => {
    const controller = new AbortController();
    const { now } = fakeClock();
    const timeout = new InfraError("did not finish within 5 s (the check's timeout)", { code: 'E_CHECK_TIMEOUT' });
    let probes = 0;
    const waiting = poll(() => (probes++, notYet()), { intervalMs: 1000, signal: controller.signal, now, sleep: async () => controller.abort(timeout) });
    await expect(waiting).rejects.toBe(timeout);
    expect(probes).toBe(1);
  });

  it('does not probe at all when the signal has already fired', async () => {
    let probes = 0;
    await expect(poll(() => (probes++, done(1)), { intervalMs: 10, signal: AbortSignal.abort('SIGTERM') })).rejects.toBeInstanceOf(InterruptedError);
    expect(probes).toBe(0);
  });
});

describe('abortableSleep', () => {
  it('resolves after the time, and rejects at once on an abort', async () => {
    await expect(abortableSleep(5)).resolves.toBeUndefined();
    const controller = new AbortController();
    const started = Date.now();
    const sleeping = abortableSleep(60_000, controller.signal);
    controller.abort('SIGHUP');
    await expect(sleeping).rejects.toBeInstanceOf(InterruptedError);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
