/**
 * Waivers (--waivers, config `waivers:`): the file is read and checked before anything boots, with the
 * line of every error; a failure an unexpired waiver covers is reported skipped ("waived: ..."); errors
 * and passes are never touched; an expired waiver is a failure of its own that fails the run.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { loadWaivers, parseDay, parseWaivers, type Waiver } from '../../src/config/waivers.js';
import { ConfigError } from '../../src/errors.js';
import { renderJson } from '../../src/report/json.js';
import type { CaseResult } from '../../src/report/model.js';
import { runSuiteChecks } from '../../src/runner/checks.js';
import { RunRecord } from '../../src/runner/run-record.js';
import { applyWaiver, covers, expiredWaiverSuite, isExpired, waivedMessage, Waivers } from '../../src/runner/waivers.js';
import { defineSuite, fail, pass, skip, type Check } from '../../src/suite-api/index.js';
import { HYBRID_BOOT } from './helpers/fake-guest.js';
import { caseResult } from './helpers/results.js';

const FILE = `# known defects of the Debian 12 images
waivers:
  - check: ssh-weak-macs
    image: "debian-12-*"
    firmware: bios
    reason: "vendor ships stock MACs until 2027"
    ticket: SEC-123
    expires: 2027-01-31

  - check: package-audit/pkg-*
    reason: '  feed lags behind  '
    ticket: 4711
  - { check: hyg-swap, reason: swap is wanted here }
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgtest-waivers-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const parseError = (text: string) => {
  try {
    parseWaivers(text, 'w.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('no error');
};

describe('the waiver file', () => {
  it('reads every field, each waiver with the line it starts on', () => {
    expect(parseWaivers(FILE, 'ci/waivers.yaml')).toEqual([
      { check: 'ssh-weak-macs', image: 'debian-12-*', firmware: 'bios', reason: 'vendor ships stock MACs until 2027', ticket: 'SEC-123', expires: '2027-01-31', source: 'ci/waivers.yaml:3' },
      { check: 'package-audit/pkg-*', reason: 'feed lags behind', ticket: '4711', source: 'ci/waivers.yaml:10' },
      { check: 'hyg-swap', reason: 'swap is wanted here', source: 'ci/waivers.yaml:13' },
    ]);
    expect(parseWaivers('waivers: []\n', 'w.yaml')).toEqual([]);
  });

  it('names file, line and field of every kind of error, one line each', () => {
    const entry = (body: string) => `waivers:\n  - check: ssh-weak-macs\n    reason: r\n  - check: ssh-weak-kex\n${body}`;
    expect(parseError(entry('    reason: ""\n'))).toBe('w.yaml:5: waivers[1].reason: must not be empty: why this failure is accepted');
    expect(parseError(entry('    reason: "   "\n'))).toBe('w.yaml:5: waivers[1].reason: must not be empty: why this failure is accepted');
    expect(parseError(entry('    ticket: X\n'))).toBe('w.yaml:4: waivers[1].reason: required: why this failure is accepted');
    expect(parseError(entry('    reason: [a]\n'))).toBe('w.yaml:5: waivers[1].reason: must be text: why this failure is accepted');
    expect(parseError('waivers:\n  - reason: r\n')).toMatch(/^w\.yaml:2: waivers\[0\]\.check: required: a check id or glob, like --check/);
    expect(parseError('waivers:\n  - check: ""\n    reason: r\n')).toMatch(/^w\.yaml:2: waivers\[0\]\.check: must not be empty/);
    expect(parseError('waivers:\n  - check: a/b/c\n    reason: r\n')).toBe('w.yaml:2: waivers[0].check: at most one / (suite-id/check-id)');
    expect(parseError(entry('    reason: r\n    image: ""\n'))).toMatch(/^w\.yaml:6: waivers\[1\]\.image: must not be empty/);
    expect(parseError(entry('    reason: r\n    firmware: coreboot\n'))).toMatch(/^w\.yaml:6: waivers\[1\]\.firmware: Invalid option: expected one of "bios"\|"uefi"\|"uefi-secureboot"$/);
    expect(parseError(entry('    reason: r\n    ticket: ""\n'))).toBe('w.yaml:6: waivers[1].ticket: must not be empty');
    expect(parseError(entry('    reason: r\n    expires: 31.01.2027\n'))).toBe('w.yaml:6: waivers[1].expires: must be a date as YYYY-MM-DD (2027-01-31), not "31.01.2027"');
    expect(parseError(entry('    reason: r\n    expires: 2027-1-31\n'))).toBe('w.yaml:6: waivers[1].expires: must be a date as YYYY-MM-DD (2027-01-31), not "2027-1-31"');
    expect(parseError(entry('    reason: r\n    expires: 20270131\n'))).toBe('w.yaml:6: waivers[1].expires: must be a date as YYYY-MM-DD (2027-01-31)');
    expect(parseError(entry('    reason: r\n    owner: me\n'))).toBe('w.yaml:6: waivers[1]: unknown field(s) owner');
    expect(parseError('waiver:\n  - check: x\n')).toBe('w.yaml:1: waivers: required: the list of waivers (waivers: [...])');
    expect(parseError('waivers: []\nowner: me\n')).toBe('w.yaml:2: (top level): unknown field(s) owner');
    expect(parseError('')).toBe('w.yaml: waivers: required: the list of waivers (waivers: [...])');
    expect(parseError('waivers:\n  check: x\n')).toBe('w.yaml:1: waivers: must be a list of waivers');
    expect(parseError('waivers:\n  - check: "x\n    reason: r\n')).toMatch(/^w\.yaml:2: invalid YAML: /);
  });

  it('a day that is not in the calendar (2027-02-30) is refused at its line', () => {
    expect(parseError('waivers:\n  - check: x\n    reason: r\n    expires: 2027-02-30\n')).toBe('w.yaml:4: waivers[0].expires: 2027-02-30 is no day of the calendar');
    expect(parseError('waivers:\n  - check: x\n    reason: r\n    expires: 2027-13-01\n')).toBe('w.yaml:4: waivers[0].expires: 2027-13-01 is no day of the calendar');
    expect(parseWaivers('waivers:\n  - check: x\n    reason: r\n    expires: 2028-02-29\n', 'w.yaml')[0]!.expires).toBe('2028-02-29');
    expect(parseDay('2027-02-29')).toBeUndefined();
    expect(parseDay('2027-02-28')).toEqual({ year: 2027, month: 2, day: 28 });
  });

  it('a file that cannot be read is one line naming it', async () => {
    await expect(loadWaivers(join(dir, 'none.yaml'))).rejects.toThrow(new ConfigError(`${join(dir, 'none.yaml')}: cannot read waiver file (ENOENT)`));
    await writeFile(join(dir, 'w.yaml'), FILE);
    expect(await loadWaivers(join(dir, 'w.yaml'))).toHaveLength(3);
  });

  it('the config names one with `waivers:`', () => {
    expect(parseConfig('waivers: known-defects.yaml\n', 'c.yaml').waivers).toBe('known-defects.yaml');
    expect(parseConfig('retries: 0\n', 'c.yaml').waivers).toBeUndefined();
    expect(() => parseConfig('waivers: ""\n', 'c.yaml')).toThrow(/^c\.yaml:1: waivers: /);
  });
});

const waiver = (overrides: Partial<Waiver> = {}): Waiver => ({ check: 'ssh-weak-macs', reason: 'stock MACs', source: 'w.yaml:3', ...overrides });
const at = (iso: string) => new Date(iso);

describe('which failure a waiver covers', () => {
  const scope = { suiteId: 'ssh-hardening', checkId: 'ssh-weak-macs', image: 'debian-12-generic', firmware: 'bios' as const };

  it('the check glob, like --check: the id, or with a / suite-id/check-id', () => {
    expect(covers(waiver(), scope)).toBe(true);
    expect(covers(waiver({ check: 'ssh-weak-*' }), scope)).toBe(true);
    expect(covers(waiver({ check: 'ssh-weak-kex' }), scope)).toBe(false);
    expect(covers(waiver({ check: 'ssh-hardening/ssh-*' }), scope)).toBe(true);
    expect(covers(waiver({ check: 'package-audit/ssh-*' }), scope)).toBe(false);
    expect(covers(waiver({ check: 'weak' }), scope)).toBe(false);
  });

  it("the image glob on the image's name, when given", () => {
    expect(covers(waiver({ image: 'debian-12-*' }), scope)).toBe(true);
    expect(covers(waiver({ image: 'debian-11-*' }), scope)).toBe(false);
    expect(covers(waiver({ image: 'debian-12-generic' }), scope)).toBe(true);
  });

  it('the firmware, when given: never a suite run without one (offline)', () => {
    expect(covers(waiver({ firmware: 'bios' }), scope)).toBe(true);
    expect(covers(waiver({ firmware: 'uefi' }), scope)).toBe(false);
    expect(covers(waiver({ firmware: 'bios' }), { ...scope, firmware: undefined })).toBe(false);
    expect(covers(waiver(), { ...scope, firmware: undefined })).toBe(true);
  });

  it('expires is the last day it holds, in UTC: today still holds, yesterday has expired', () => {
    const w = waiver({ expires: '2027-01-31' });
    expect(isExpired(w, at('2027-01-31T00:00:00Z'))).toBe(false);
    expect(isExpired(w, at('2027-01-31T23:59:59.999Z'))).toBe(false);
    expect(isExpired(w, at('2027-02-01T00:00:00Z'))).toBe(true);
    expect(isExpired(w, at('2027-02-01T00:30:00+01:00'))).toBe(false); // still the 31st in UTC
    expect(isExpired(waiver(), at('2999-01-01T00:00:00Z'))).toBe(false);
    const today = new Waivers([w], at('2027-01-31T12:00:00Z'));
    expect(today.find(scope)).toBe(w);
    expect(today.expired('debian-12-generic')).toEqual([]);
    const dayAfter = new Waivers([w], at('2027-02-01T12:00:00Z'));
    expect(dayAfter.find(scope)).toBeUndefined(); // an expired waiver waives nothing
    expect(dayAfter.expired('debian-12-generic')).toEqual([w]);
  });

  it('the first waiver of the file that covers the failure is used; the others are reported unused', () => {
    const first = waiver({ check: 'ssh-weak-*', source: 'w.yaml:2' });
    const second = waiver({ source: 'w.yaml:5' });
    const other = waiver({ check: 'hyg-swap', source: 'w.yaml:8' });
    const elsewhere = waiver({ check: 'hyg-swap', image: 'rhel-*', source: 'w.yaml:11' });
    const old = waiver({ check: 'hyg-tmp-files', expires: '2020-01-01', source: 'w.yaml:14' });
    const waivers = new Waivers([first, second, other, elsewhere, old], at('2026-06-01T00:00:00Z'));
    expect(waivers.unused('debian-12-generic')).toEqual([first, second, other]);
    expect(waivers.find(scope)).toBe(first);
    expect(waivers.find({ ...scope, checkId: 'ssh-weak-kex' })).toBe(first);
    expect(waivers.find({ ...scope, checkId: 'ssh-config-test' })).toBeUndefined();
    // Only the image's waivers: one for another image is neither unused nor expired here.
    expect(waivers.unused('debian-12-generic')).toEqual([second, other]);
    expect(waivers.expired('debian-12-generic')).toEqual([old]);
    expect(waivers.expired('rhel-9')).toEqual([old]);
  });
});

describe('a waived failure', () => {
  const w = waiver({ ticket: 'SEC-123', expires: '2027-01-31' });

  it('is skipped, says why in its message, keeps its evidence and carries the waiver', () => {
    const failed = caseResult({ checkId: 'ssh-weak-macs', severity: 'should', status: 'failed', message: 'offers hmac-sha1', evidence: 'ssh-audit output', attachments: ['/r/a.json'] });
    expect(applyWaiver(failed, () => w)).toEqual({
      ...failed,
      status: 'skipped',
      message: 'waived: stock MACs (SEC-123, until 2027-01-31): offers hmac-sha1',
      waiver: { check: 'ssh-weak-macs', reason: 'stock MACs', ticket: 'SEC-123', expires: '2027-01-31', source: 'w.yaml:3' },
    });
    expect(applyWaiver(failed, () => undefined)).toBe(failed);
  });

  it('the message leaves out what the waiver does not have', () => {
    expect(waivedMessage({ reason: 'r' }, 'm')).toBe('waived: r: m');
    expect(waivedMessage({ reason: 'r', ticket: 'T-1' }, 'm')).toBe('waived: r (T-1): m');
    expect(waivedMessage({ reason: 'r', expires: '2027-01-31' }, 'm')).toBe('waived: r (until 2027-01-31): m');
    expect(waivedMessage({ reason: 'r' }, '')).toBe('waived: r');
  });

  it('only a failure: an error, a pass or a skip is returned as it is, and no waiver is looked up', () => {
    let asked = 0;
    const find = () => (asked++, w);
    for (const status of ['error', 'passed', 'skipped'] as const) {
      const c = caseResult({ status, message: 'x' });
      expect(applyWaiver(c, find)).toBe(c);
    }
    expect(asked).toBe(0);
  });
});

describe('runSuiteChecks waives only failed cases, before the console hears of them', () => {
  const image = { path: '/i.qcow2', name: 'i', format: 'qcow2' as const, virtualSize: 1, actualSize: 1, sha256: '0'.repeat(64), boot: HYBRID_BOOT };
  const check = (id: string, run: Check['run']): Check => ({ id, title: id, severity: 'must', run });
  const suite = defineSuite({
    id: 'w',
    title: 'w',
    requires: { offline: true },
    checks: [
      check('w-pass', async () => pass('fine')),
      check('w-fail', async () => fail('defect', 'the evidence')),
      check('w-should', async () => ({ status: 'fail', message: 'minor', severity: 'should' })),
      check('w-error', async () => {
        throw new Error('ssh dropped');
      }),
      check('w-skip', async () => skip('not here')),
      check('w-other', async () => fail('not covered')),
      check('w-unselected', async () => fail('never run')),
    ],
  });

  it('failed cases (any severity) a waiver covers are skipped; the rest as they were', async () => {
    const waivers = new Waivers([waiver({ check: 'w-*', reason: 'known', source: 'w.yaml:2' }), waiver({ check: 'w-other', image: 'elsewhere', source: 'w.yaml:5' })], at('2026-01-01T00:00:00Z'));
    const asked: string[] = [];
    const heard: string[] = [];
    const cases = await runSuiteChecks({
      suite,
      image,
      guests: [],
      hosts: [],
      options: {},
      artifactDir: '/nonexistent',
      log: () => undefined,
      notSelected: ({ id }) => (id === 'w-unselected' ? 'not selected (--skip w-unselected)' : undefined),
      waiverFor: ({ id: checkId }) => (asked.push(checkId), waivers.find({ suiteId: 'w', checkId, image: image.name })),
      onCase: (c) => heard.push(`${c.checkId} ${c.status} ${c.message}`),
    });
    const lines = cases.map((c) => `${c.checkId} ${c.status} ${c.message}`);
    expect(lines).toEqual([
      'w-pass passed fine',
      'w-fail skipped waived: known: defect',
      'w-should skipped waived: known: minor',
      'w-error error check could not run: ssh dropped',
      'w-skip skipped not here',
      'w-other skipped waived: known: not covered',
      'w-unselected skipped not selected (--skip w-unselected)',
    ]);
    expect(heard).toEqual(lines);
    expect(asked).toEqual(['w-fail', 'w-should', 'w-other']);
    expect(cases[1]).toMatchObject({ evidence: 'the evidence', severity: 'must', waiver: { check: 'w-*', reason: 'known', source: 'w.yaml:2' } });
    expect(cases[2]).toMatchObject({ severity: 'should' });
    expect(cases.filter((c) => c.waiver).map((c) => c.checkId)).toEqual(['w-fail', 'w-should', 'w-other']);
    expect(waivers.unused('i').map((w) => w.source)).toEqual([]);
  });

  it('without a hook nothing is waived', async () => {
    const cases = await runSuiteChecks({ suite, image, guests: [], hosts: [], options: {}, artifactDir: '/nonexistent', log: () => undefined, onCase: () => undefined });
    expect(cases.filter((c) => c.status === 'failed').map((c) => c.checkId)).toEqual(['w-fail', 'w-should', 'w-other', 'w-unselected']);
  });
});

describe('an expired waiver fails the run', () => {
  const suite = defineSuite({ id: 'alpha', title: 'alpha', requires: { offline: true }, checks: [{ id: 'a-one', title: 'one', severity: 'must', run: async () => pass('ok') }] });
  const passed: CaseResult = caseResult({ checkId: 'a-one', status: 'passed' });
  const expired = waiver({ check: 'ssh-weak-*', ticket: 'SEC-123', expires: '2026-01-31', source: 'ci/w.yaml:3' });
  const current = waiver({ check: 'hyg-swap', expires: '2026-12-31', source: 'ci/w.yaml:9' });
  const otherImage = waiver({ check: 'hyg-tmp-files', image: 'rhel-*', expires: '2020-01-01', source: 'ci/w.yaml:12' });
  const noTicket = waiver({ check: 'pkg-sbom', expires: '2025-05-05', source: 'ci/w.yaml:15' });

  const record = () => {
    const r = new RunRecord([suite], '/nonexistent', '/images/debian-12-generic.qcow2', '0.1.0');
    r.waivers = new Waivers([expired, current, otherImage, noTicket], at('2026-02-01T08:00:00Z'));
    r.add({ suiteId: 'alpha', title: 'alpha', guests: [], attachments: [], properties: {}, startedAt: new Date().toISOString(), durationMs: 1, cases: [passed] });
    return r;
  };

  it('a complete run: a suite `waivers` with a failed must case per expired waiver of the image, exit 1', () => {
    const result = record().completed([suite]);
    expect(result.suites.map((s) => s.suiteId)).toEqual(['alpha', 'waivers']);
    const waivers = result.suites[1]!;
    expect(waivers.title).toBe('waiver file');
    expect(waivers.cases.map((c) => [c.checkId, c.severity, c.status, c.message])).toEqual([
      ['waiver-expired[ssh-weak-*]', 'must', 'failed', 'waiver for ssh-weak-* (ci/w.yaml:3, SEC-123) expired on 2026-01-31: renew it or fix the defect'],
      ['waiver-expired[pkg-sbom]', 'must', 'failed', 'waiver for pkg-sbom (ci/w.yaml:15) expired on 2025-05-05: renew it or fix the defect'],
    ]);
    expect(waivers.cases[0]!.evidence).toBe('check: ssh-weak-*\nreason: stock MACs\nticket: SEC-123\nexpires: 2026-01-31');
    expect(result.verdict).toBe('failed');
    expect(result.exitCode).toBe(1);
  });

  it("no expired waiver: no such suite, the verdict is the checks'", () => {
    const r = record();
    r.waivers = new Waivers([current], at('2026-02-01T08:00:00Z'));
    const result = r.completed([suite]);
    expect(result.suites.map((s) => s.suiteId)).toEqual(['alpha']);
    expect(result.exitCode).toBe(0);
  });

  it('an interrupted run (and the provisional report) has it too, in JUnit and results.json', async () => {
    const r = record();
    const result = r.ended('error', 'interrupted by SIGINT', 'E_INTERRUPTED');
    expect(result.suites.map((s) => s.suiteId)).toEqual(['imgtest', 'alpha', 'waivers']);
    expect(result.exitCode).toBe(3); // the run's own error weighs more
    const dirRecord = new RunRecord([suite], await mkdtemp(join(dir, 'run-')), '/images/debian-12-generic.qcow2', '0.1.0');
    dirRecord.waivers = r.waivers;
    await dirRecord.open();
    await dirRecord.write(dirRecord.ended('error', 'interrupted by SIGTERM', 'E_INTERRUPTED'));
    const junit = await readFile(join(dirRecord.dir, 'junit.xml'), 'utf8');
    expect(junit).toContain('classname="debian-12-generic.waivers"');
    expect(junit).toMatch(/<failure message="waiver for ssh-weak-\* \(ci\/w\.yaml:3, SEC-123\) expired on 2026-01-31: renew it or fix the defect" type="must">/);
    const json = JSON.parse(await readFile(join(dirRecord.dir, 'results.json'), 'utf8')) as { suites: { suiteId: string; cases: CaseResult[] }[] };
    expect(json.suites.find((s) => s.suiteId === 'waivers')!.cases.map((c) => c.checkId)).toEqual(['waiver-expired[ssh-weak-*]', 'waiver-expired[pkg-sbom]']);
  });

  it('expiredWaiverSuite on its own, and a waived case in results.json', () => {
    expect(expiredWaiverSuite([], 't').cases).toEqual([]);
    const waived = applyWaiver(caseResult({ status: 'failed', message: 'm' }), () => current);
    const json = renderJson({ ...record().completed([suite]), suites: [{ suiteId: 's', title: 's', guests: [], attachments: [], properties: {}, startedAt: 't', durationMs: 0, cases: [waived] }] });
    expect(JSON.parse(json).suites[0].cases[0].waiver).toEqual({ check: 'hyg-swap', reason: 'stock MACs', expires: '2026-12-31', source: 'ci/w.yaml:9' });
  });
});
