import { describe, expect, it } from 'vitest';
import { done, notYet, poll } from '../../src/suite-api/index.js';
import * as util from '../../src/util/poll.js';

describe('the contract exports the poll helper', () => {
  it("is the runner's own, and a check can wait with its signal and report the last observation", async () => {
    expect(poll).toBe(util.poll);
    let now = 0;
    const waited = await poll(({ attempt }) => (attempt === 99 ? done('synchronised') : notYet(`not yet (${attempt})`)), {
      intervalMs: 5000,
      timeoutMs: 20_000,
      signal: new AbortController().signal,
      now: () => now,
      sleep: async (ms) => void (now += ms),
    });
    expect(waited).toEqual({ ok: false, reason: 'deadline', last: 'not yet (5)', attempts: 5, elapsedMs: 20_000 });
  });
});
