import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/image/inspect.js';
import type { RunResult } from '../../src/report/model.js';
import { canBootGuests, fixture, imgtest, repoRoot, sh, validateJunit } from './helpers.js';

/** What is left on the lab's hosts that carries this run's id (must be nothing). */
async function leftovers(runId: string): Promise<string[]> {
  const status = JSON.parse((await imgtest(['lab', 'status', '--json'])).stdout) as { hosts: { name: string; uri: string }[] };
  const found: string[] = [];
  for (const host of status.hosts) {
    const domains = await sh('virsh', ['-c', host.uri, 'list', '--all', '--name']);
    const volumes = await sh('virsh', ['-c', host.uri, 'vol-list', '--pool', 'imgtest']);
    for (const line of `${domains.stdout}\n${volumes.stdout}`.split('\n')) if (line.includes(runId)) found.push(`${host.name}: ${line.trim()}`);
  }
  return found;
}

async function latestResults(reportDir: string): Promise<{ result: RunResult; dir: string }> {
  const dir = await readlink(join(reportDir, 'latest'));
  return { result: JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as RunResult, dir };
}

const caseOf = (result: RunResult, suiteId: string, checkId: string) => result.suites.find((s) => s.suiteId === suiteId)!.cases.find((c) => c.checkId === checkId)!;

describe.skipIf(!canBootGuests)('imgtest run --suite cloud-init-auth (real guests in the lab)', () => {
  const reportDir = join(repoRoot, 'reports', 'e2e-cloud-init-auth');
  let clean: string;
  let flawed: string;
  beforeAll(async () => {
    clean = await fixture('debian-12-clean');
    flawed = await fixture('debian-12-flawed');
  }, 45 * 60_000);

  it('passes every check on the clean image, leaves the image and the hosts untouched', async () => {
    const before = await sha256File(clean);
    const run = await imgtest(['run', clean, '--suite', 'cloud-init-auth', '--report-dir', reportDir]);
    const { result, dir } = await latestResults(reportDir);
    const failed = result.suites.flatMap((s) => s.cases).filter((c) => c.status !== 'passed');
    expect(failed.map((c) => `${c.checkId}: ${c.status}: ${c.message}`)).toEqual([]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(result.suites[0]!.cases.map((c) => c.checkId)).toContain('ci-hostkeys-fresh');
    expect(result.suites[0]!.guests.map((g) => g.host).sort()).toEqual(['hv1', 'hv2']);
    const validation = await validateJunit(join(dir, 'junit.xml'));
    expect(validation.exitCode, validation.stderr).toBe(0);
    const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
    expect(xml).toContain('classname="debian-12-clean.cloud-init-auth"');
    expect(xml).toMatch(/\[\[ATTACHMENT\|[^\]]+\.serial\.log\]\]/);
    expect(await sha256File(clean)).toBe(before);
    expect(result.image.sha256).toBe(before);
    expect(await leftovers(result.runId)).toEqual([]);
    expect(run.stdout).toMatch(/PASSED/);
  }, 30 * 60_000);

  it('fails the checks the flawed image breaks, naming the defect, and exits 1', async () => {
    const run = await imgtest(['run', flawed, '--suite', 'cloud-init-auth', '--report-dir', reportDir]);
    const { result, dir } = await latestResults(reportDir);
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    expect(caseOf(result, 'cloud-init-auth', 'ci-password-login-rejected')).toMatchObject({ status: 'failed', message: expect.stringMatching(/password/) });
    expect(caseOf(result, 'cloud-init-auth', 'ci-root-login-denied')).toMatchObject({ status: 'failed', message: expect.stringMatching(/root/i) });
    expect(caseOf(result, 'cloud-init-auth', 'ci-key-login').status).toBe('passed');
    expect(result.suites.flatMap((s) => s.cases).filter((c) => c.status === 'error')).toEqual([]);
    expect((await validateJunit(join(dir, 'junit.xml'))).exitCode).toBe(0);
    const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
    expect(xml).toMatch(/<testcase[^>]*name="ci-password-login-rejected[^"]*"[^>]*>\s*<failure/);
    expect(await leftovers(result.runId)).toEqual([]);
  }, 30 * 60_000);

  it('reports a disk that boots nothing as an infrastructure error, every check skipped, exit 3', async () => {
    const blank = join(reportDir, 'blank.qcow2');
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', blank, '2G']);
    const run = await imgtest(['run', blank, '--suite', 'cloud-init-auth', '--report-dir', reportDir, '--timeout', '45']);
    const { result, dir } = await latestResults(reportDir);
    expect(run.exitCode, run.stdout + run.stderr).toBe(3);
    const cases = result.suites[0]!.cases;
    expect(cases[0]).toMatchObject({ checkId: 'boot', status: 'error', message: expect.stringMatching(/no DHCP address seen after \d+ s/) });
    expect(cases.slice(1).every((c) => c.status === 'skipped' && c.message === 'not run: guest did not boot')).toBe(true);
    expect(cases.length).toBeGreaterThan(10);
    const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
    expect(xml).toMatch(/<error /);
    expect((await validateJunit(join(dir, 'junit.xml'))).exitCode).toBe(0);
    expect(await leftovers(result.runId)).toEqual([]);
  }, 10 * 60_000);
});
