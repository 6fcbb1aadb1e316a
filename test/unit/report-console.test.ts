import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/report/model.js';
import { ConsoleReporter, formatBytes, formatDuration, wrap } from '../../src/report/console.js';
import { caseResult as kase, runResult, suiteResult as suite } from './helpers/results.js';

/** A stream that collects what is written; `isTTY` as a real terminal would set it. */
class Capture extends Writable {
  text = '';
  isTTY?: boolean;
  constructor(tty = false) {
    super();
    if (tty) this.isTTY = true;
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    done();
  }
  get lines(): string[] {
    return this.text.replace(/\n$/, '').split('\n');
  }
}

const ESC = '\u001b';
const stripSgr = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');

function run(overrides: Partial<RunResult> = {}): RunResult {
  return runResult({
    finishedAt: '2026-11-25T18:14:12.000Z',
    durationMs: 312_000,
    suites: [
      suite({
        cases: [
          kase(),
          kase({ checkId: 'ci-errors', status: 'failed', message: 'found 2 errors in /var/log/cloud-init.log' }),
          kase({ checkId: 'ci-warn', status: 'failed', severity: 'should', message: 'one warning' }),
          kase({ checkId: 'ci-net', status: 'skipped', message: 'no network config' }),
        ],
      }),
      suite({ suiteId: 'ssh', firmware: undefined, cases: [kase({ checkId: 'ssh-up', status: 'error', message: 'ssh: connect to host 10.0.0.5 port 22: Connection refused' })] }),
    ],
    verdict: 'error',
    exitCode: 3,
    ...overrides,
  });
}

function drive(reporter: ConsoleReporter, result: RunResult): void {
  reporter.onRunStart({
    runId: result.runId,
    image: result.image,
    hosts: result.hosts,
    planned: result.suites.flatMap((s) => s.cases.map((c) => ({ suiteId: s.suiteId, checkId: c.checkId, title: c.title, severity: c.severity }))),
    guests: 1,
  });
  reporter.onGuestState({ name: 'imgtest-abc-g1', host: 'hv1', firmware: 'uefi' }, 'booting');
  reporter.onGuestState({ name: 'imgtest-abc-g1', host: 'hv1', firmware: 'uefi' }, 'ssh up', 'after 143 s');
  for (const s of result.suites) {
    for (const c of s.cases) reporter.onCaseEnd(s.suiteId, undefined, c);
    reporter.onSuiteEnd(s);
  }
  reporter.onRunEnd(result);
}

describe('ConsoleReporter', () => {
  it("says the run's title first, before the lines reading the image prints, and once", () => {
    const out = new Capture(false);
    const reporter = new ConsoleReporter(out);
    reporter.onRunBegin({ runId: 'abc' });
    reporter.onLog('image debian-12-clean: qcow2, 2.0 GiB virtual');
    drive(reporter, run());
    expect(out.lines[0]).toBe('imgtest run abc');
    expect(out.lines[1]).toMatch(/^\s+image debian-12-clean: qcow2/);
    expect(out.lines.filter((l) => l.startsWith('imgtest run '))).toHaveLength(1);
  });

  it('prints plain progress lines when the stream is not a TTY (Jenkins)', () => {
    const out = new Capture(false);
    drive(new ConsoleReporter(out), run());
    expect(out.text).not.toContain(ESC);
    expect(out.lines).toContain('[hv1] imgtest-abc-g1 booting (uefi)');
    expect(out.lines).toContain('[hv1] imgtest-abc-g1 ssh up after 143 s');
    expect(out.lines).toContain('  PASS ci-status  cloud-init finished, no errors');
    expect(out.lines).toContain('  FAIL ci-errors  found 2 errors in /var/log/cloud-init.log');
    expect(out.lines).toContain('  FAIL ci-warn (should)  one warning');
    expect(out.lines).toContain('  SKIP ci-net  no network config');
    expect(out.lines).toContain('  ERROR ssh-up  ssh: connect to host 10.0.0.5 port 22: Connection refused');
    expect(out.text).toContain('imgtest run abc');
    expect(out.text).toContain('plan   5 checks in 2 suites, 1 guest');
  });

  it('shows the firmware a guest starts with once', () => {
    const out = new Capture();
    const reporter = new ConsoleReporter(out);
    reporter.onGuestState({ name: 'g1', host: 'hv2', firmware: 'uefi' }, 'starting', 'uefi, TCG');
    reporter.onGuestState({ name: 'g2', host: 'hv2', firmware: 'bios' }, 'starting');
    expect(out.lines).toEqual(['[hv2] g1 starting uefi, TCG', '[hv2] g2 starting (bios)']);
  });

  it('ends with a summary table, every failure and error, the verdict and the report files', () => {
    const out = new Capture(false);
    new ConsoleReporter(out).onRunEnd(run());
    const text = out.text;
    const row = (name: string) =>
      out.lines
        .find((l) => l.startsWith(`  ${name} `))
        ?.trim()
        .split(/\s{2,}/);
    expect(row('suite')).toEqual(['suite', 'passed', 'failed', 'error', 'skipped']);
    expect(row('cloud-init [uefi]')).toEqual(['cloud-init [uefi]', '1', '2', '0', '1']);
    expect(row('ssh')).toEqual(['ssh', '0', '0', '1', '0']);
    expect(row('total')).toEqual(['total', '1', '2', '1', '1']);
    expect(text).toMatch(/FAIL ci-errors in cloud-init \[uefi\]\n\s+found 2 errors in \/var\/log\/cloud-init.log/);
    expect(text).toContain('FAIL ci-warn in cloud-init [uefi] (should: not fatal)');
    expect(text).toMatch(/ERROR ssh-up in ssh\n\s+ssh: connect to host/);
    expect(text).not.toContain('ci-net in');
    expect(text).toContain('ERROR (exit 3): 1 check could not run (infrastructure)');
    expect(text).toContain('/reports/abc/junit.xml');
    expect(text).toContain('/reports/abc/results.json');
    expect(text).toMatch(/report dir\s+\/reports\/abc\n$/);
  });

  it('a waived failure: SKIP with the waiver in its live line, then listed under "Waived failures" with its source', () => {
    const waived = kase({
      checkId: 'ssh-weak-macs',
      status: 'skipped',
      message: 'waived: stock MACs (SEC-123, until 2027-01-31): offers hmac-sha1',
      waiver: { check: 'ssh-weak-*', reason: 'stock MACs', ticket: 'SEC-123', expires: '2027-01-31', source: 'ci/waivers.yaml:3' },
    });
    const out = new Capture(false);
    drive(new ConsoleReporter(out), run({ suites: [suite({ cases: [kase(), waived] })], verdict: 'passed', exitCode: 0 }));
    expect(out.lines).toContain('  SKIP ssh-weak-macs  waived: stock MACs (SEC-123, until 2027-01-31): offers hmac-sha1');
    expect(out.text).toMatch(/\nWaived failures:\n {2}WAIVED ssh-weak-macs in cloud-init \[uefi\] \(ci\/waivers\.yaml:3\)\n {8}waived: stock MACs \(SEC-123, until 2027-01-31\): offers hmac-sha1\n/);
    const none = new Capture(false);
    new ConsoleReporter(none).onRunEnd(run());
    expect(none.text).not.toContain('Waived');
  });

  it('names the verdict for passed and failed runs', () => {
    const passed = new Capture();
    new ConsoleReporter(passed).onRunEnd(run({ suites: [suite()], verdict: 'passed', exitCode: 0 }));
    expect(passed.text).toMatch(/^PASSED \(exit 0\)$/m);
    const failed = new Capture();
    new ConsoleReporter(failed).onRunEnd(run({ suites: [suite({ cases: [kase({ status: 'failed' })] })], verdict: 'failed', exitCode: 1 }));
    expect(failed.text).toMatch(/^FAILED \(exit 1\): 1 must check\(s\) failed$/m);
    const empty = new Capture();
    new ConsoleReporter(empty).onRunEnd(run({ suites: [], verdict: 'passed', exitCode: 0 }));
    expect(empty.text).toContain('(no suites ran)');
  });

  it('colours output on a TTY, and when asked', () => {
    const tty = new Capture(true);
    drive(new ConsoleReporter(tty), run());
    expect(tty.text).toContain(`${ESC}[32mPASS${ESC}[39m`);
    expect(tty.text).toContain(`${ESC}[31mFAIL${ESC}[39m`);
    expect(stripSgr(tty.text)).toContain('  PASS ci-status  cloud-init finished, no errors');
    const forced = new Capture(false);
    new ConsoleReporter(forced, { color: true }).onRunEnd(run());
    expect(forced.text).toContain(ESC);
    const off = new Capture(true);
    new ConsoleReporter(off, { color: false }).onRunEnd(run());
    expect(off.text).not.toContain(ESC);
  });

  it('never passes escape sequences from guests through, even in colour', () => {
    const out = new Capture(true);
    const reporter = new ConsoleReporter(out);
    reporter.onCaseEnd('x', 'g1', kase({ status: 'failed', message: `${ESC}[2J${ESC}]0;pwned\u0007cleared\nscreen\u0000` }));
    reporter.onLog(`${ESC}[31mred log${ESC}[0m`);
    expect(stripSgr(out.text)).not.toContain(ESC);
    expect(stripSgr(out.text)).toContain('  FAIL ci-status [g1]  cleared screen');
    expect(stripSgr(out.text)).toContain('red log');
  });

  it('keeps every line within 100 columns (paths excepted)', () => {
    const long = 'x'.repeat(500);
    const out = new Capture(true);
    const result = run({
      suites: [suite({ suiteId: `s${'y'.repeat(150)}`, cases: [kase({ checkId: 'ci-long', status: 'failed', message: `${'word '.repeat(80)}${long}` })] })],
      verdict: 'failed',
      exitCode: 1,
    });
    const reporter = new ConsoleReporter(out);
    drive(reporter, result);
    reporter.onGuestState({ name: `g${long}`, host: 'hv1', firmware: 'bios' }, 'booting', long);
    reporter.onLog(long);
    const tooLong = stripSgr(out.text)
      .split('\n')
      .filter((l) => !l.includes('/reports/abc') && !l.includes('/images/'))
      .filter((l) => Array.from(l).length > 100);
    expect(tooLong).toEqual([]);
    // The summary wraps a long message instead of cutting it.
    expect(out.text.replace(/\s+/g, ' ')).toContain('word word');
  });
});

describe('progress lines', () => {
  it('wraps a long one instead of cutting its end, continuations indented under it', () => {
    const out = new Capture(false);
    const reporter = new ConsoleReporter(out);
    const line =
      '[hv1] imgtest-20261201T063810-33cc-g1: KVM failed it (KVM paused the guest (unknown): KVM internal error. Suberror: 1); retrying under TCG (software emulation); later guests on hv1 start under TCG';
    reporter.onLog(line);
    const lines = stripSgr(out.text).trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.every((l) => l.length <= 100)).toBe(true);
    expect(lines[0]).toMatch(/^ {5}\[hv1\] /);
    expect(lines.slice(1).every((l) => /^ {7}\S/.test(l))).toBe(true);
    // Nothing is lost: the lines joined again are the line.
    expect(lines.map((l) => l.trim()).join(' ')).toBe(line);
  });
});

describe('formatting helpers', () => {
  it('formats durations and sizes', () => {
    expect(formatDuration(12_345)).toBe('12.3 s');
    expect(formatDuration(312_000)).toBe('5m 12s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
    expect(formatDuration(-1)).toBe('0.0 s');
    expect(formatBytes(2 * 1024 ** 3)).toBe('2.0 GiB');
    expect(formatBytes(512 * 1024 ** 2)).toBe('512 MiB');
    expect(formatBytes(100)).toBe('100 B');
  });

  it('wraps words and cuts words longer than a line', () => {
    expect(wrap('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
    expect(wrap('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrap('a abcdefghij', 4)).toEqual(['a', 'abcd', 'efgh', 'ij']);
    expect(wrap('', 10)).toEqual([]);
  });
});
