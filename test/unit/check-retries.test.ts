/**
 * --retries: a check whose outcome is an infrastructure `error` runs again (up to N more times, on the
 * same guests); a failure never does. The case is the last attempt's, with the earlier attempts kept.
 * Also the flag (`--retries N`), the config's `retries`, and the console line.
 */
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseRetries, retriesOption } from '../../src/cli/retries.js';
import { parseConfig } from '../../src/config/load.js';
import { ConsoleReporter } from '../../src/report/console.js';
import type { CaseResult } from '../../src/report/model.js';
import { retryOutcome } from '../../src/report/model.js';
import { runSuiteChecks } from '../../src/runner/checks.js';
import { defineSuite, fail, pass, type Check, type CheckOutcome } from '../../src/suite-api/index.js';
import { HYBRID_BOOT } from './helpers/fake-guest.js';
import { caseResult } from './helpers/results.js';

const image = { path: '/i.qcow2', name: 'i', format: 'qcow2' as const, virtualSize: 1, actualSize: 1, sha256: '0'.repeat(64), boot: HYBRID_BOOT };

/** A check that plays `script` in order (an Error is thrown: an infrastructure error), counting its runs. */
function scripted(id: string, script: Array<CheckOutcome | Error>): Check & { runs: number } {
  const check = {
    id,
    title: id,
    severity: 'must' as const,
    runs: 0,
    run: async () => {
      const step = script[Math.min(check.runs, script.length - 1)]!;
      check.runs++;
      if (step instanceof Error) throw step;
      return step;
    },
  };
  return check;
}

async function runChecks(checks: Check[], retries: number | undefined, extra: { log?: string[]; signal?: AbortSignal } = {}): Promise<CaseResult[]> {
  const suite = defineSuite({ id: 'r', title: 'r', requires: { offline: true }, checks });
  return runSuiteChecks({
    suite,
    image,
    guests: [],
    hosts: [],
    options: {},
    artifactDir: '/nonexistent',
    onCase: () => undefined,
    retries,
    log: (line) => extra.log?.push(line),
    signal: extra.signal,
  });
}

describe('the retry loop', () => {
  it('runs a check that errored once again, and it passes: passed, with the error kept as an earlier attempt', async () => {
    const check = scripted('r-flaky', [new Error('ssh: connection reset by peer'), pass('sshd config is fine')]);
    const log: string[] = [];
    const [result] = await runChecks([check], 3, { log });
    expect(check.runs).toBe(2);
    expect(result).toMatchObject({ checkId: 'r-flaky', status: 'passed', message: 'sshd config is fine', attempts: 2, retries: 3 });
    expect(result!.earlierAttempts).toEqual([
      { status: 'error', message: 'check could not run: ssh: connection reset by peer', evidence: expect.stringContaining('connection reset'), durationMs: expect.any(Number) },
    ]);
    expect(log).toEqual(['r-flaky: check could not run: ssh: connection reset by peer; retry 1 of 3 on the same guests']);
    expect(retryOutcome(result!)).toBe('passed on retry 1 of 3');
  });

  it('a check in error every time: error (the last attempt), after 1 + N runs', async () => {
    const check = scripted('r-down', [new Error('host gone 1'), new Error('host gone 2'), new Error('host gone 3')]);
    const [result] = await runChecks([check], 2);
    expect(check.runs).toBe(3);
    expect(result).toMatchObject({ status: 'error', message: 'check could not run: host gone 3', attempts: 3, retries: 2 });
    expect(result!.earlierAttempts!.map((a) => a.message)).toEqual(['check could not run: host gone 1', 'check could not run: host gone 2']);
    expect(retryOutcome(result!)).toBe('error on all 3 attempts');
  });

  it('never runs a failure again: a defect found is the result at once', async () => {
    const check = scripted('r-defect', [fail('PermitRootLogin yes'), pass('would pass the second time')]);
    const [result] = await runChecks([check], 5);
    expect(check.runs).toBe(1);
    expect(result).toMatchObject({ status: 'failed', message: 'PermitRootLogin yes', attempts: 1 });
    expect(result!.earlierAttempts).toBeUndefined();
    expect(retryOutcome(result!)).toBeUndefined();
  });

  it('a failure after an error ends the retries: failed, the error kept', async () => {
    const check = scripted('r-then-fail', [new Error('timeout'), fail('defect'), pass('never')]);
    const [result] = await runChecks([check], 3);
    expect(check.runs).toBe(2);
    expect(result).toMatchObject({ status: 'failed', message: 'defect', attempts: 2 });
    expect(retryOutcome(result!)).toBe('failed on retry 1 of 3');
  });

  it('without retries (default 0) an error is the result at once; every run check says attempts 1, a skipped one 0', async () => {
    const erring = scripted('r-err', [new Error('down'), pass('up')]);
    const suite = defineSuite({ id: 'r', title: 'r', requires: { offline: true }, checks: [erring, scripted('r-skip', [pass('x')])] });
    const cases = await runSuiteChecks({
      suite,
      image,
      guests: [],
      hosts: [],
      options: {},
      artifactDir: '/nonexistent',
      onCase: () => undefined,
      log: () => undefined,
      notSelected: ({ id }) => (id === 'r-skip' ? 'not selected (--skip r-skip)' : undefined),
    });
    expect(erring.runs).toBe(1);
    expect(cases.map((c) => [c.status, c.attempts])).toEqual([
      ['error', 1],
      ['skipped', 0],
    ]);
  });

  it('adds up the time of every attempt', async () => {
    let runs = 0;
    const slow: Check = {
      id: 'r-slow',
      title: 'slow',
      severity: 'must',
      run: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (++runs === 1) throw new Error('first try lost the guest');
        return pass('ok');
      },
    };
    const [result] = await runChecks([slow], 1);
    expect(result!.durationMs).toBeGreaterThanOrEqual(result!.earlierAttempts![0]!.durationMs + 15);
  });

  it('computes a memo value again on a retry when it had failed (a rejected value would fail the retry the same way)', async () => {
    let computed = 0;
    const check: Check = {
      id: 'r-memo',
      title: 'memo',
      severity: 'must',
      run: async (context) => {
        const facts = await context.memo('facts', async () => {
          if (++computed === 1) throw new Error('ssh dropped while collecting');
          return 'facts';
        });
        return pass(facts);
      },
    };
    const [result] = await runChecks([check], 1);
    expect(computed).toBe(2);
    expect(result).toMatchObject({ status: 'passed', message: 'facts', attempts: 2 });
  });

  it('does not run a check again once the run is cancelled', async () => {
    const run = new AbortController();
    let runs = 0;
    const check: Check = {
      id: 'r-stop',
      title: 'stop',
      severity: 'must',
      run: async () => {
        runs++;
        run.abort('SIGTERM');
        throw new Error('stopped');
      },
    };
    const cases: CaseResult[] = [];
    const suite = defineSuite({ id: 'r', title: 'r', requires: { offline: true }, checks: [check] });
    await runSuiteChecks({ suite, image, guests: [], hosts: [], options: {}, artifactDir: '/nonexistent', onCase: (c) => cases.push(c), log: () => undefined, retries: 3, signal: run.signal });
    expect(runs).toBe(1);
    expect(cases.map((c) => [c.status, c.attempts])).toEqual([['error', 1]]);
  });
});

describe('--retries and the config', () => {
  /** Parses `imgtest run`-like arguments with the real option; returns what the action got. */
  function parse(args: string[]): { retries?: number } {
    let seen: { retries?: number } = {};
    const program = new Command('t')
      .exitOverride()
      .argument('<image>')
      .addOption(retriesOption())
      .action((_image: string, opts: { retries?: number }) => {
        seen = opts;
      });
    program.parse(['node', 't', 'image.qcow2', ...args]);
    return seen;
  }

  it('reads --retries N as a number; unset, it is left to the config', () => {
    expect(parse(['--retries', '2']).retries).toBe(2);
    expect(parse(['--retries=0']).retries).toBe(0);
    expect(parse([]).retries).toBeUndefined();
  });

  it('refuses what is not a whole number from 0 to 10 (a usage error: exit 2)', () => {
    for (const bad of ['-1', '1.5', 'two', '', '0x2', '11']) {
      expect(() => parse(['--retries', bad]), bad).toThrow(expect.objectContaining({ code: 'E_USAGE', exitCode: 2 }));
    }
    expect(() => parseRetries('11')).toThrow('--retries 11: at most 10');
    expect(parseRetries('10')).toBe(10);
  });

  it('config: retries defaults to 0, takes 0-10, and names the line of a bad value', () => {
    expect(parseConfig('{}', 'c.yaml').retries).toBe(0);
    expect(parseConfig('retries: 3\n', 'c.yaml').retries).toBe(3);
    expect(() => parseConfig('firmware: auto\nretries: 11\n', 'c.yaml')).toThrow(/^c\.yaml:2: retries: /);
    expect(() => parseConfig('retries: -1\n', 'c.yaml')).toThrow(/^c\.yaml:1: retries: /);
  });
});

describe('the console line of a check run again', () => {
  class Capture extends Writable {
    text = '';
    override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
      this.text += chunk.toString();
      done();
    }
  }
  const earlier = (n: number) => Array.from({ length: n }, (_, i) => ({ status: 'error' as const, message: `lost ${i + 1}`, durationMs: 10 }));

  it('says on which retry it passed, or that it errored every time', () => {
    const out = new Capture();
    const reporter = new ConsoleReporter(out, { color: false });
    reporter.onCaseEnd('s', undefined, caseResult({ checkId: 'ssh-root', message: 'root login refused', attempts: 3, retries: 3, earlierAttempts: earlier(2) }));
    reporter.onCaseEnd('s', undefined, caseResult({ checkId: 'ssh-keys', status: 'error', message: 'ssh: timeout', attempts: 4, retries: 3, earlierAttempts: earlier(3) }));
    reporter.onCaseEnd('s', undefined, caseResult({ checkId: 'ssh-plain', attempts: 1 }));
    expect(out.text.split('\n')).toEqual([
      '  PASS ssh-root (passed on retry 2 of 3)  root login refused',
      '  ERROR ssh-keys (error on all 4 attempts)  ssh: timeout',
      '  PASS ssh-plain  cloud-init finished, no errors',
      '',
    ]);
  });
});
