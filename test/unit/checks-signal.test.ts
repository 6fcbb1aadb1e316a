/**
 * context.signal: a check gets the run's AbortSignal (to stop a long tool it runs); without one (a
 * caller that cannot be cancelled) it gets a signal that never fires. A check that stops on it ends as
 * an error case, and no later check starts.
 */
import { describe, expect, it } from 'vitest';
import { runSuiteChecks } from '../../src/runner/checks.js';
import { defineSuite, pass, type CheckContext } from '../../src/suite-api/index.js';
import { HYBRID_BOOT } from './helpers/fake-guest.js';

const image = { path: '/i.qcow2', name: 'i', format: 'qcow2' as const, virtualSize: 1, actualSize: 1, sha256: '0'.repeat(64), boot: HYBRID_BOOT };

describe('context.signal', () => {
  it("is the run's signal, or one that never fires", async () => {
    const seen: AbortSignal[] = [];
    const suite = defineSuite({
      id: 'sig',
      title: 'sig',
      requires: { offline: true },
      checks: [{ id: 's-one', title: 'one', severity: 'must', run: async (context: CheckContext) => (seen.push(context.signal), pass('ok')) }],
    });
    const run = new AbortController();
    await runSuiteChecks({ suite, image, guests: [], hosts: [], options: {}, artifactDir: '/nonexistent', log: () => undefined, onCase: () => undefined, signal: run.signal });
    await runSuiteChecks({ suite, image, guests: [], hosts: [], options: {}, artifactDir: '/nonexistent', log: () => undefined, onCase: () => undefined });
    // The check's signal follows the run's (with its reason), and never fires without one.
    expect(seen[0]!.aborted).toBe(false);
    run.abort('SIGTERM');
    expect(seen[0]!.aborted).toBe(true);
    expect(seen[0]!.reason).toBe('SIGTERM');
    expect(seen[1]).toBeInstanceOf(AbortSignal);
    expect(seen[1]!.aborted).toBe(false);
  });

  it("a check's timeout fires its signal and ends it as an error, also when it ignores the signal; the next check runs", async () => {
    const reasons: unknown[] = [];
    const suite = defineSuite({
      id: 'sig',
      title: 'sig',
      requires: { offline: true },
      checks: [
        {
          id: 's-stops',
          title: 'stops its tool',
          severity: 'must',
          timeoutSeconds: 0.05,
          run: (context) => new Promise((_, reject) => context.signal.addEventListener('abort', () => (reasons.push(context.signal.reason), reject(new Error('tool stopped'))))),
        },
        { id: 's-hangs', title: 'ignores its signal', severity: 'must', timeoutSeconds: 0.05, run: () => new Promise(() => undefined) },
        { id: 's-next', title: 'next', severity: 'must', run: async () => pass('ok') },
      ],
    });
    const cases: string[] = [];
    await runSuiteChecks({ suite, image, guests: [], hosts: [], options: {}, artifactDir: '/nonexistent', log: () => undefined, onCase: (c) => cases.push(`${c.checkId}: ${c.status}: ${c.message}`) });
    expect(cases).toEqual([
      "s-stops: error: check could not run: did not finish within 0.05 s (the check's timeout)",
      "s-hangs: error: check could not run: did not finish within 0.05 s (the check's timeout)",
      's-next: passed: ok',
    ]);
    expect((reasons[0] as { code?: string }).code).toBe('E_CHECK_TIMEOUT');
  });

  it('a check that stops its tool on the signal is an error case, and the next check does not start', async () => {
    const run = new AbortController();
    const started: string[] = [];
    const suite = defineSuite({
      id: 'sig',
      title: 'sig',
      requires: { offline: true },
      checks: [
        {
          id: 's-long',
          title: 'long',
          severity: 'must',
          run: (context) => {
            started.push('s-long');
            return new Promise((_, reject) => context.signal.addEventListener('abort', () => reject(new Error(`tool stopped: ${String(context.signal.reason)}`))));
          },
        },
        { id: 's-next', title: 'next', severity: 'must', run: async () => (started.push('s-next'), pass('ok')) },
      ],
    });
    const cases: string[] = [];
    const running = runSuiteChecks({
      suite,
      image,
      guests: [],
      hosts: [],
      options: {},
      artifactDir: '/nonexistent',
      log: () => undefined,
      onCase: (c) => cases.push(`${c.checkId}: ${c.status}: ${c.message}`),
      signal: run.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    run.abort('SIGINT');
    await expect(running).rejects.toBe('SIGINT');
    expect(cases).toEqual(['s-long: error: check could not run: tool stopped: SIGINT']);
    expect(started).toEqual(['s-long']);
  });
});
