import { junitSchemaPath } from '../shared-dir.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CaseResult, RunResult, SuiteResult } from '../../src/report/model.js';
import { JunitReporter, junitTime, junitTimestamp, renderJunit } from '../../src/report/junit.js';
import { caseResult, imageInfo, runResult, suiteResult } from './helpers/results.js';
import { applyWaiver, expiredWaiverSuite } from '../../src/runner/waivers.js';

const XSD = junitSchemaPath;
const scratch = mkdtempSync(path.join(tmpdir(), 'imgtest-junit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let fileCounter = 0;
function toFile(xml: string): string {
  const file = path.join(scratch, `doc-${++fileCounter}.xml`);
  writeFileSync(file, xml, 'utf8');
  return file;
}

/** Validates a document against junit-10.xsd with xmllint; `ok` is xmllint's verdict. */
function validate(xml: string): { ok: boolean; output: string } {
  const res = spawnSync('xmllint', ['--noout', '--schema', XSD, toFile(xml)], { encoding: 'utf8' });
  if (res.error) throw res.error;
  return { ok: res.status === 0, output: `${res.stdout}${res.stderr}` };
}

function expectValid(xml: string): void {
  const { ok, output } = validate(xml);
  expect(output).toMatch(/validates/);
  expect(ok, output).toBe(true);
}

/** Evaluates an XPath expression (string(), count(), ...) on a document with xmllint. */
function xpath(xml: string, expression: string): string {
  const res = spawnSync('xmllint', ['--xpath', expression, toFile(xml)], { encoding: 'utf8' });
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`xmllint --xpath ${expression}: ${res.stderr}`);
  return res.stdout.replace(/\n$/, '');
}

// ---- factory -------------------------------------------------------------------------------

function kase(overrides: Partial<CaseResult> = {}): CaseResult {
  return caseResult({ title: 'cloud-init finished without errors', durationMs: 1234, ...overrides });
}

function suite(overrides: Partial<SuiteResult> = {}): SuiteResult {
  return suiteResult({
    guests: [{ name: 'imgtest-abc-g1', host: 'hv1', address: '10.10.1.5', mac: '52:54:00:aa:bb:01', firmware: 'uefi', bootSeconds: 143 }],
    cases: [kase()],
    attachments: ['/reports/abc/serial-g1.log'],
    properties: { 'cloud-init.version': '22.4.2' },
    startedAt: '2026-11-25T19:10:00.123+01:00',
    durationMs: 65_432,
    ...overrides,
  });
}

function run(overrides: Partial<RunResult> = {}): RunResult {
  return runResult({
    image: imageInfo({
      path: '/images/debian-12.1-generic.qcow2',
      name: 'debian-12.1-generic',
      actualSize: 512 * 1024 ** 2,
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    }),
    hosts: [
      { name: 'hv1', uri: 'qemu+ssh://root@hv1/system', libvirtVersion: '9.0.0', qemuVersion: '7.2.0' },
      { name: 'hv2', uri: 'qemu+ssh://root@hv2/system', libvirtVersion: '9.0.0', qemuVersion: '7.2.0' },
    ],
    firmware: 'auto',
    suites: [suite()],
    ...overrides,
  });
}

/** One suite with a case of every status. */
function mixedRun(): RunResult {
  return run({
    suites: [
      suite({
        cases: [
          kase({ attachments: ['/reports/abc/ci-status.txt'] }),
          kase({ checkId: 'ci-errors', title: 'no errors in the log', status: 'failed', message: 'found 2 errors', evidence: 'line 1\nline 2' }),
          kase({ checkId: 'ci-warn', title: 'no warnings', severity: 'should', status: 'failed', message: '1 warning' }),
          kase({ checkId: 'ci-ds', title: 'datasource', status: 'error', message: 'ssh: connection refused', evidence: 'stack', attachments: ['/reports/abc/ssh.log'] }),
          kase({ checkId: 'ci-net', title: 'network v2', status: 'skipped', message: 'no network config seeded' }),
        ],
      }),
      suite({ suiteId: 'offline', title: 'offline hygiene', firmware: undefined, guests: [], attachments: [], properties: {}, cases: [kase({ checkId: 'off-mid', title: 'machine-id empty' })] }),
    ],
    verdict: 'error',
    exitCode: 3,
  });
}

// ---- tests ---------------------------------------------------------------------------------

describe('the xmllint validation helper', () => {
  it('accepts a minimal valid document', () => {
    expectValid('<?xml version="1.0"?><testsuites><testsuite name="a.b" tests="1" failures="0" errors="0"><testcase name="x"/></testsuite></testsuites>');
  });

  it('rejects a <testcase> without name', () => {
    const { ok, output } = validate('<?xml version="1.0"?><testsuites><testsuite name="a.b" tests="1" failures="0" errors="0"><testcase classname="a.b"/></testsuite></testsuites>');
    expect(ok).toBe(false);
    expect(output).toMatch(/name.*required|fails to validate/);
  });

  it('rejects attributes the schema does not know (skipped on <testsuites>)', () => {
    const { ok } = validate('<?xml version="1.0"?><testsuites skipped="1"></testsuites>');
    expect(ok).toBe(false);
  });

  it('rejects a time the schema pattern forbids', () => {
    const { ok } = validate('<?xml version="1.0"?><testsuites time="-1.0"></testsuites>');
    expect(ok).toBe(false);
  });
});

describe('renderJunit', () => {
  it('validates against junit-10.xsd with every status', () => {
    expectValid(renderJunit(mixedRun()));
  });

  it('validates an empty run and a suite without cases', () => {
    expectValid(renderJunit(run({ suites: [] })));
    const xml = renderJunit(run({ suites: [suite({ cases: [], guests: [], attachments: [], properties: {} })] }));
    expectValid(xml);
    expect(xpath(xml, 'string(/testsuites/testsuite/@tests)')).toBe('0');
  });

  it('counts totals on <testsuites> and per <testsuite>', () => {
    const xml = renderJunit(mixedRun());
    expect(xpath(xml, 'string(/testsuites/@name)')).toBe('imgtest');
    expect(xpath(xml, 'string(/testsuites/@tests)')).toBe('6');
    expect(xpath(xml, 'string(/testsuites/@failures)')).toBe('2');
    expect(xpath(xml, 'string(/testsuites/@errors)')).toBe('1');
    expect(xpath(xml, 'string(/testsuites/@time)')).toBe('660.000');
    expect(xpath(xml, 'count(/testsuites/testsuite)')).toBe('2');
    const first = '/testsuites/testsuite[1]';
    expect(xpath(xml, `string(${first}/@tests)`)).toBe('5');
    expect(xpath(xml, `string(${first}/@failures)`)).toBe('2');
    expect(xpath(xml, `string(${first}/@errors)`)).toBe('1');
    expect(xpath(xml, `string(${first}/@skipped)`)).toBe('1');
    expect(xpath(xml, `string(${first}/@time)`)).toBe('65.432');
    expect(xpath(xml, `string(${first}/@timestamp)`)).toBe('2026-11-25T18:10:00');
    expect(xpath(xml, `string(${first}/@hostname)`)).toBe('hv1');
    expect(xpath(xml, 'string(/testsuites/testsuite[2]/@hostname)')).toBe('');
  });

  it('names suites <image>.<suite> and cases "<checkId>: <title>"', () => {
    const xml = renderJunit(mixedRun());
    expect(xpath(xml, 'string(/testsuites/testsuite[1]/@name)')).toBe('debian-12.1-generic.cloud-init');
    expect(xpath(xml, 'string(/testsuites/testsuite[2]/@name)')).toBe('debian-12.1-generic.offline');
    expect(xpath(xml, 'count(//testsuite[1]/testcase[@classname="debian-12.1-generic.cloud-init"])')).toBe('5');
    expect(xpath(xml, 'string(//testsuite[1]/testcase[1]/@name)')).toBe('ci-status: cloud-init finished without errors');
    expect(xpath(xml, 'string(//testsuite[1]/testcase[1]/@time)')).toBe('1.234');
    // Jenkins splits at the last dot: package = image name (dots kept), class = suite id.
    const classname = xpath(xml, 'string(//testsuite[1]/testcase[1]/@classname)');
    expect(classname.slice(classname.lastIndexOf('.') + 1)).toBe('cloud-init');
    expect(classname.slice(0, classname.lastIndexOf('.'))).toBe('debian-12.1-generic');
  });

  it('maps statuses to failure, error and skipped elements', () => {
    const xml = renderJunit(mixedRun());
    const tc = (id: string) => `//testcase[starts-with(@name, "${id}:")]`;
    expect(xpath(xml, `count(${tc('ci-status')}/*[not(self::system-out)])`)).toBe('0');
    expect(xpath(xml, `string(${tc('ci-errors')}/failure/@type)`)).toBe('must');
    expect(xpath(xml, `string(${tc('ci-errors')}/failure/@message)`)).toBe('found 2 errors');
    expect(xpath(xml, `string(${tc('ci-errors')}/failure)`)).toBe('line 1\nline 2');
    expect(xpath(xml, `string(${tc('ci-warn')}/failure/@type)`)).toBe('should');
    expect(xpath(xml, `string(${tc('ci-warn')}/failure)`)).toBe('1 warning');
    expect(xpath(xml, `string(${tc('ci-ds')}/error/@type)`)).toBe('infrastructure');
    expect(xpath(xml, `string(${tc('ci-ds')}/error/@message)`)).toBe('ssh: connection refused');
    expect(xpath(xml, `count(${tc('ci-ds')}/failure)`)).toBe('0');
    expect(xpath(xml, `string(${tc('ci-net')}/skipped/@message)`)).toBe('no network config seeded');
    expect(xpath(xml, 'count(//failure)')).toBe('2');
    expect(xpath(xml, 'count(//error)')).toBe('1');
    expect(xpath(xml, 'count(//skipped)')).toBe('1');
  });

  it('writes evidence and attachment lines to <system-out>', () => {
    const xml = renderJunit(mixedRun());
    const out = (id: string) => xpath(xml, `string(//testcase[starts-with(@name, "${id}:")]/system-out)`);
    expect(out('ci-status')).toBe('cloud-init finished, no errors\n\n[[ATTACHMENT|/reports/abc/ci-status.txt]]');
    expect(out('ci-errors')).toBe('found 2 errors\n\nline 1\nline 2\n\n[[ATTACHMENT|/reports/abc/serial-g1.log]]');
    // Failing and error cases repeat the suite's attachments after their own.
    expect(
      out('ci-ds')
        .split('\n')
        .filter((l) => l.startsWith('[[ATTACHMENT|')),
    ).toEqual(['[[ATTACHMENT|/reports/abc/ssh.log]]', '[[ATTACHMENT|/reports/abc/serial-g1.log]]']);
    expect(out('ci-net')).not.toContain('ATTACHMENT');
    const suiteOut = xpath(xml, 'string(/testsuites/testsuite[1]/system-out)');
    expect(suiteOut).toContain('[[ATTACHMENT|/reports/abc/serial-g1.log]]');
    expect(suiteOut).toContain('guest imgtest-abc-g1 on hv1: uefi, mac 52:54:00:aa:bb:01, address 10.10.1.5, booted in 143 s');
  });

  it('resolves relative attachment paths against the report dir', () => {
    const xml = renderJunit(run({ suites: [suite({ attachments: [], cases: [kase({ attachments: ['logs/x.txt'] })] })] }));
    expect(xpath(xml, 'string(//testcase/system-out)')).toContain('[[ATTACHMENT|/reports/abc/logs/x.txt]]');
  });

  it('adds run, image, host, guest and suite facts as <properties>', () => {
    const xml = renderJunit(mixedRun());
    const prop = (name: string) => xpath(xml, `string(/testsuites/testsuite[1]/properties/property[@name="${name}"]/@value)`);
    expect(prop('image.sha256')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(prop('image.path')).toBe('/images/debian-12.1-generic.qcow2');
    expect(prop('image.format')).toBe('qcow2');
    expect(prop('image.virtual-size')).toBe(String(2 * 1024 ** 3));
    expect(prop('hosts')).toBe('hv1,hv2');
    expect(prop('host.hv1.uri')).toBe('qemu+ssh://root@hv1/system');
    expect(prop('host.hv2.uri')).toBe('qemu+ssh://root@hv2/system');
    expect(prop('host.hv1.libvirt-version')).toBe('9.0.0');
    expect(prop('host.hv2.qemu-version')).toBe('7.2.0');
    expect(prop('firmware')).toBe('uefi');
    expect(prop('run.firmware')).toBe('auto');
    expect(prop('image.boot-claims')).toBe('uefi,bios');
    expect(prop('image.boot-reasons')).toMatch(/^GPT with 2 partition\(s\); EFI system partition is partition 1/);
    expect(prop('accel')).toBe('tcg');
    expect(prop('run.id')).toBe('abc');
    expect(prop('imgtest.version')).toBe('0.1.0');
    expect(prop('guest.imgtest-abc-g1.host')).toBe('hv1');
    expect(prop('cloud-init.version')).toBe('22.4.2');
    // Offline suites have no firmware of their own.
    expect(xpath(xml, 'count(/testsuites/testsuite[2]/properties/property[@name="firmware"])')).toBe('0');
    expect(xpath(xml, 'count(/testsuites/testsuite[2]/properties/property[@name="run.id"])')).toBe('1');
  });

  it('keeps names unique when one suite ran per firmware, without dots in the suite part', () => {
    const xml = renderJunit(
      run({
        suites: [
          suite({ suiteId: 'boot', firmware: 'bios' }),
          suite({ suiteId: 'boot', firmware: 'uefi' }),
          suite({ suiteId: 'boot', firmware: 'uefi' }),
          suite({ suiteId: 'my.suite', firmware: 'uefi' }),
          suite({ suiteId: 'cloud-init', firmware: 'uefi-secureboot' }),
        ],
      }),
    );
    expectValid(xml);
    const names = [1, 2, 3, 4, 5].map((i) => xpath(xml, `string(/testsuites/testsuite[${i}]/@name)`));
    expect(names).toEqual(['debian-12.1-generic.boot-bios', 'debian-12.1-generic.boot-uefi', 'debian-12.1-generic.boot-uefi-2', 'debian-12.1-generic.my_suite', 'debian-12.1-generic.cloud-init']);
    expect(xpath(xml, 'string(/testsuites/testsuite[1]/testcase/@classname)')).toBe('debian-12.1-generic.boot-bios');
  });

  it('names a suite run once per datasource <suite>-<datasource>, and leaves the default NoCloud-only run’s names as they were', () => {
    const matrix = renderJunit(
      run({
        suites: [
          suite({ suiteId: 'cloud-init-auth', datasource: 'nocloud' }),
          suite({ suiteId: 'cloud-init-auth', datasource: 'configdrive' }),
          suite({ suiteId: 'cloud-init-auth', datasource: 'ec2-imdsv2-only' }),
          suite({ suiteId: 'ssh-hardening', firmware: 'uefi' }),
        ],
      }),
    );
    expectValid(matrix);
    expect([1, 2, 3, 4].map((i) => xpath(matrix, `string(/testsuites/testsuite[${i}]/@name)`))).toEqual([
      'debian-12.1-generic.cloud-init-auth-nocloud',
      'debian-12.1-generic.cloud-init-auth-configdrive',
      'debian-12.1-generic.cloud-init-auth-ec2-imdsv2-only',
      'debian-12.1-generic.ssh-hardening',
    ]);
    expect(xpath(matrix, "string(/testsuites/testsuite[3]/properties/property[@name='datasource']/@value)")).toBe('ec2-imdsv2-only');
    const single = (datasource: 'nocloud' | 'exoscale') => xpath(renderJunit(run({ suites: [suite({ suiteId: 'cloud-init-auth', datasource })] })), 'string(/testsuites/testsuite[1]/@name)');
    expect(single('nocloud')).toBe('debian-12.1-generic.cloud-init-auth');
    expect(single('exoscale')).toBe('debian-12.1-generic.cloud-init-auth-exoscale');
  });

  it('cleans and escapes weird text and still validates', () => {
    const nasty = 'a\u0000b \u001b[31mred\u001b[0m & <tag> "q" \'s\' ]]> 🚀 \ud800 x\u0007\u000b\u001b]0;title\u0007';
    const xml = renderJunit(
      run({
        image: { ...run().image, name: 'img <&> "x"' },
        suites: [
          suite({
            title: nasty,
            properties: { [`k${nasty}`]: nasty },
            attachments: [],
            cases: [
              kase({ checkId: 'x-1', title: nasty, status: 'failed', message: `${nasty}\nsecond line\r\nthird`, evidence: `${nasty}\r\nline2 ]]> <![CDATA[ x ]]>` }),
              kase({ checkId: 'x-2', title: 'err', status: 'error', message: nasty, evidence: '\u001b[1;32mgreen\u001b[0m' }),
              kase({ checkId: 'x-3', title: 'skip', status: 'skipped', message: nasty }),
            ],
          }),
        ],
      }),
    );
    expectValid(xml);
    expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
    expect(xml).not.toContain(']]>');
    expect(xml).toContain('🚀');
    const clean = 'ab red & <tag> "q" \'s\' ]]> 🚀  x';
    expect(xpath(xml, 'string(//testcase[1]/@name)')).toBe(`x-1: ${clean.replace(/\s+/g, ' ')}`);
    expect(xpath(xml, 'string(//testcase[1]/failure/@message)')).toBe(`${clean.replace(/\s+/g, ' ')} second line third`);
    expect(xpath(xml, 'string(//testcase[1]/failure)')).toBe(`${clean}\nline2 ]]> <![CDATA[ x ]]>`);
    expect(xpath(xml, 'string(//testcase[2]/error)')).toBe('green');
    expect(xpath(xml, 'string(//testcase[3]/skipped/@message)')).toBe(clean.replace(/\s+/g, ' '));
    expect(xpath(xml, 'string(/testsuites/testsuite/@name)')).toBe('img_<&>_"x".cloud-init');
  });

  it('keeps messages on one short line', () => {
    const long = 'word '.repeat(200);
    const xml = renderJunit(run({ suites: [suite({ cases: [kase({ status: 'failed', message: `first\nsecond\n${long}` })] })] }));
    const message = xpath(xml, 'string(//failure/@message)');
    expect(message).not.toContain('\n');
    expect(message.startsWith('first second word')).toBe(true);
    expect(Array.from(message).length).toBeLessThanOrEqual(300);
    expect(message.endsWith('…')).toBe(true);
  });

  it('defuses attachment markers that come from the guest', () => {
    const xml = renderJunit(
      run({ suites: [suite({ attachments: [], cases: [kase({ status: 'failed', message: '[[ATTACHMENT|/etc/shadow]]', evidence: 'x\n[[ATTACHMENT|/var/lib/jenkins/secret.key]]' })] })] }),
    );
    const out = xpath(xml, 'string(//testcase/system-out)');
    expect(out).not.toContain('[[ATTACHMENT|/etc/shadow]]');
    expect(out).not.toContain('[[ATTACHMENT|/var/lib/jenkins/secret.key]]');
    expect(out).toContain('/var/lib/jenkins/secret.key');
  });

  it('describes a guest that did not boot without empty facts', () => {
    const xml = renderJunit(
      run({
        suites: [suite({ guests: [{ name: 'imgtest-abc-g2', host: 'hv2', mac: '', firmware: 'bios' }], cases: [kase({ checkId: 'boot', status: 'error', message: 'no address after 600 s' })] })],
      }),
    );
    expectValid(xml);
    expect(xpath(xml, 'count(//property[@name="guest.imgtest-abc-g2.mac"])')).toBe('0');
    expect(xpath(xml, 'string(//property[@name="guest.imgtest-abc-g2.host"]/@value)')).toBe('hv2');
    expect(xpath(xml, 'string(/testsuites/testsuite/system-out)')).toContain('guest imgtest-abc-g2 on hv2: bios, did not boot');
  });

  it('caps huge evidence, keeping head and tail', () => {
    const evidence = `HEAD\n${'x'.repeat(300_000)}\nTAIL`;
    const xml = renderJunit(run({ suites: [suite({ cases: [kase({ status: 'failed', evidence })] })] }));
    expectValid(xml);
    const body = xpath(xml, 'string(//failure)');
    expect(body.length).toBeLessThan(110_000);
    expect(body.startsWith('HEAD')).toBe(true);
    expect(body.endsWith('TAIL')).toBe(true);
    expect(body).toMatch(/characters omitted; the full text is in results\.json/);
  });

  it('formats times and timestamps for the schema and Jenkins', () => {
    expect(junitTime(0)).toBe('0.000');
    expect(junitTime(-5)).toBe('0.000');
    expect(junitTime(Number.NaN)).toBe('0.000');
    expect(junitTime(1)).toBe('0.001');
    expect(junitTime(3_723_456)).toBe('3723.456');
    expect(junitTimestamp('2026-11-25T23:30:00-02:00')).toBe('2026-11-26T01:30:00');
    expect(junitTimestamp('not a date')).toBeUndefined();
    const xml = renderJunit(run({ durationMs: -1, suites: [suite({ startedAt: 'garbage', durationMs: Number.NaN })] }));
    expectValid(xml);
    expect(xpath(xml, 'count(//testsuite/@timestamp)')).toBe('0');
  });

  it('is pure: same input, same output', () => {
    const input = mixedRun();
    const copy = structuredClone(input);
    expect(renderJunit(input)).toBe(renderJunit(input));
    expect(input).toEqual(copy);
  });
});

describe('checks run again after infrastructure errors (--retries): Surefire rerun elements', () => {
  const lost = (n: number, evidence?: string) => ({ status: 'error' as const, message: `check could not run: ssh: connection lost (${n})`, evidence, durationMs: 1500 });
  function retriedRun(): RunResult {
    return run({
      suites: [
        suite({
          cases: [
            kase({ checkId: 'ci-flaky', message: 'cloud-init done', attempts: 3, retries: 3, earlierAttempts: [lost(1, 'Error: ssh: connection lost (1)\n    at exec'), lost(2)], durationMs: 4000 }),
            kase({ checkId: 'ci-down', status: 'error', message: 'check could not run: host gone', evidence: 'Error: host gone', attempts: 3, retries: 2, earlierAttempts: [lost(1), lost(2)] }),
            kase({ checkId: 'ci-defect', status: 'failed', message: 'found 2 errors', attempts: 2, retries: 1, earlierAttempts: [lost(1)] }),
            kase({ checkId: 'ci-once', status: 'failed', message: 'a defect, never rerun', attempts: 1 }),
          ],
        }),
      ],
      verdict: 'error',
      exitCode: 3,
    });
  }
  const tc = (id: string) => `//testcase[starts-with(@name,'${id}:')]`;

  it('validates against junit-10.xsd', () => {
    expectValid(renderJunit(retriedRun()));
  });

  it('passed after errors: no <error>, one <flakyError> per earlier attempt with message, type, <stackTrace> and <system-out>', () => {
    const xml = renderJunit(retriedRun());
    expect(xpath(xml, `count(${tc('ci-flaky')}/error)`)).toBe('0');
    expect(xpath(xml, `count(${tc('ci-flaky')}/flakyError)`)).toBe('2');
    expect(xpath(xml, `count(${tc('ci-flaky')}/rerunError)`)).toBe('0');
    expect(xpath(xml, `string(${tc('ci-flaky')}/flakyError[1]/@message)`)).toBe('check could not run: ssh: connection lost (1)');
    expect(xpath(xml, `string(${tc('ci-flaky')}/flakyError[1]/@type)`)).toBe('infrastructure');
    expect(xpath(xml, `string(${tc('ci-flaky')}/flakyError[1]/stackTrace)`)).toBe('Error: ssh: connection lost (1)\n    at exec');
    expect(xpath(xml, `string(${tc('ci-flaky')}/flakyError[2]/stackTrace)`)).toBe('check could not run: ssh: connection lost (2)');
    expect(xpath(xml, `string(${tc('ci-flaky')}/flakyError[2]/system-out)`)).toBe('attempt 2 of 3: error after 1.500 s\ncheck could not run: ssh: connection lost (2)');
    expect(xpath(xml, `string(${tc('ci-flaky')}/@time)`)).toBe('4.000');
    // Readers that only show the case's output see the attempts too.
    expect(xpath(xml, `string(${tc('ci-flaky')}/system-out)`)).toContain('ran 3 times (--retries): passed on retry 2 of 3');
  });

  it('in error every time: <error> is the last attempt, the earlier ones <rerunError>; totals count the case once', () => {
    const xml = renderJunit(retriedRun());
    expect(xpath(xml, `string(${tc('ci-down')}/error/@message)`)).toBe('check could not run: host gone');
    expect(xpath(xml, `count(${tc('ci-down')}/rerunError)`)).toBe('2');
    expect(xpath(xml, `count(${tc('ci-down')}/flakyError)`)).toBe('0');
    expect(xpath(xml, 'string(/testsuites/@errors)')).toBe('1');
    expect(xpath(xml, 'string(/testsuites/@failures)')).toBe('2');
    expect(xpath(xml, 'string(/testsuites/@tests)')).toBe('4');
  });

  it('a failure stays a <failure> (earlier errors as <rerunError>); a check that ran once has no rerun element', () => {
    const xml = renderJunit(retriedRun());
    expect(xpath(xml, `string(${tc('ci-defect')}/failure/@message)`)).toBe('found 2 errors');
    expect(xpath(xml, `count(${tc('ci-defect')}/rerunError)`)).toBe('1');
    expect(xpath(xml, `count(${tc('ci-once')}/*[self::rerunError or self::rerunFailure or self::flakyError or self::flakyFailure])`)).toBe('0');
  });

  it('records the attempts as suite properties', () => {
    const xml = renderJunit(retriedRun());
    expect(xpath(xml, "string(//property[@name='check.ci-flaky.attempts']/@value)")).toBe('3');
    expect(xpath(xml, "string(//property[@name='check.ci-flaky.outcomes']/@value)")).toBe('error,error,passed');
    expect(xpath(xml, "string(//property[@name='check.ci-down.outcomes']/@value)")).toBe('error,error,error');
    expect(xpath(xml, "count(//property[@name='check.ci-once.attempts'])")).toBe('0');
  });

  it("cleans the earlier attempts' text and still validates", () => {
    const weird = { status: 'error' as const, message: 'lost \u001b[31m<guest>\u0000 & [[ATTACHMENT|/etc/shadow]]', evidence: ']]> \u0007 <stack>', durationMs: -5 };
    const xml = renderJunit(run({ suites: [suite({ cases: [kase({ attempts: 2, retries: 1, earlierAttempts: [weird] })] })] }));
    expectValid(xml);
    expect(xml).not.toContain('[[ATTACHMENT|/etc/shadow]]');
  });
});

describe('JunitReporter', () => {
  it('writes <reportDir>/junit.xml at the end of the run', async () => {
    const reportDir = path.join(scratch, 'reports', 'run-1');
    const reporter = new JunitReporter();
    const result = { ...mixedRun(), reportDir };
    await reporter.onRunEnd(result);
    const file = path.join(reportDir, 'junit.xml');
    expect(reporter.written).toBe(file);
    const xml = readFileSync(file, 'utf8');
    expect(xml).toBe(renderJunit(result));
    expectValid(xml);
  });
});

describe('waivers: a waived failure is <skipped>, expired waivers are failures of a suite `waivers`', () => {
  const accepted = { check: 'ci-weak-*', reason: 'vendor ships it until 2027', ticket: 'SEC-123', expires: '2027-01-31', source: 'ci/waivers.yaml:3' };
  function waivedRun(): RunResult {
    const waived = applyWaiver(kase({ checkId: 'ci-weak-macs', status: 'failed', severity: 'should', message: 'offers hmac-sha1', evidence: 'ssh-audit says so' }), () => accepted);
    const expired = { check: 'ci-old', reason: 'old', ticket: 'SEC-9', expires: '2026-01-01', source: 'ci/waivers.yaml:10' };
    return run({ suites: [suite({ cases: [kase(), waived] }), expiredWaiverSuite([expired], '2026-11-25T18:09:00.000Z')], verdict: 'failed', exitCode: 1 });
  }
  const tc = (id: string) => `//testcase[starts-with(@name,'${id}')]`;

  it('validates against junit-10.xsd', () => {
    expectValid(renderJunit(waivedRun()));
  });

  it('the waived case: <skipped message="waived: ...">, no <failure>, its evidence in <system-out>, the waiver as a property', () => {
    const xml = renderJunit(waivedRun());
    expect(xpath(xml, `string(${tc('ci-weak-macs:')}/skipped/@message)`)).toBe('waived: vendor ships it until 2027 (SEC-123, until 2027-01-31): offers hmac-sha1');
    expect(xpath(xml, `count(${tc('ci-weak-macs:')}/failure)`)).toBe('0');
    expect(xpath(xml, `string(${tc('ci-weak-macs:')}/system-out)`)).toContain('ssh-audit says so');
    expect(xpath(xml, "string(//property[@name='check.ci-weak-macs.waived-by']/@value)")).toBe('ci/waivers.yaml:3: vendor ships it until 2027');
    expect(xpath(xml, 'string(/testsuites/testsuite[1]/@skipped)')).toBe('1');
    expect(xpath(xml, 'string(/testsuites/testsuite[1]/@failures)')).toBe('0');
  });

  it('each expired waiver: a <failure type="must"> in class <image>.waivers, counted in the totals', () => {
    const xml = renderJunit(waivedRun());
    const expired = "//testsuite[@name='debian-12.1-generic.waivers']/testcase";
    expect(xpath(xml, `string(${expired}/@name)`)).toBe('waiver-expired[ci-old]: the waiver at ci/waivers.yaml:10 still holds');
    expect(xpath(xml, `string(${expired}/failure/@message)`)).toBe('waiver for ci-old (ci/waivers.yaml:10, SEC-9) expired on 2026-01-01: renew it or fix the defect');
    expect(xpath(xml, `string(${expired}/failure/@type)`)).toBe('must');
    expect(xpath(xml, 'string(/testsuites/@failures)')).toBe('1');
  });
});
