import { readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/image/inspect.js';
import type { RunResult } from '../../src/report/model.js';
import { canBootGuests, fixture, imgtest, leftovers, repoRoot, validateJunit } from './helpers.js';

/** The check ids fixtures/README.md says must catch a planted defect in debian-12-flawed. */
async function plantedDefectChecks(): Promise<Set<string>> {
  const readme = await readFile(join(repoRoot, 'fixtures', 'README.md'), 'utf8');
  const section = readme.split('## Planted defects')[1]!.split('\n## ')[0]!;
  const rows = [...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]!);
  // Listed under the table: a should-check sharing a planted defect, and the feed's finding.
  return new Set([...rows, 'ssh-root-login-no', 'pkg-vulnerabilities']);
}

async function latest(reportDir: string): Promise<{ result: RunResult; dir: string }> {
  const dir = await readlink(join(reportDir, 'latest'));
  return { result: JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as RunResult, dir };
}

/**
 * The users' case: every built-in suite in one run per image, one shared set of guests. On the
 * clean image nothing fails; on the flawed one exactly the checks named in fixtures/README.md fail.
 */
describe.skipIf(!canBootGuests)('imgtest run with all suites', () => {
  const reportDir = join(repoRoot, 'reports', 'e2e-all-suites');
  const config = join(repoRoot, 'reports', 'e2e-all-suites.yaml');
  let clean: string;
  let flawed: string;
  beforeAll(async () => {
    [clean, flawed] = await Promise.all([fixture('debian-12-clean'), fixture('debian-12-flawed')]);
    // The feed fixture marks a package version of the flawed image (inetutils, high urgency) as fixed later;
    // a medium-urgency entry for sudo, present in both images, stays below the threshold.
    await writeFile(config, 'suites:\n  package-audit:\n    vulnerabilityFeed: test/fixtures/vuln-feed/debian-tracker.json\n    minUrgency: high\n');
  }, 45 * 60_000);

  it('debian-12-clean: every check passes, exit 0, image unchanged', async () => {
    const before = await sha256File(clean);
    const run = await imgtest(['run', clean, '--config', config, '--report-dir', reportDir]);
    const { result, dir } = await latest(reportDir);
    const notPassed = result.suites.flatMap((s) => s.cases.filter((c) => c.status !== 'passed' && c.status !== 'skipped').map((c) => `${s.suiteId}/${c.checkId}: ${c.status}: ${c.message}`));
    expect(notPassed).toEqual([]);
    expect(run.exitCode, run.stdout.slice(-3000) + run.stderr).toBe(0);
    expect(result.suites.map((s) => s.suiteId).sort()).toEqual(['cloud-init-auth', 'image-hygiene', 'package-audit', 'ssh-hardening']);
    // One shared pair of guests served every suite that boots.
    const guests = new Set(result.suites.flatMap((s) => s.guests.map((g) => g.name)));
    expect(guests.size).toBe(2);
    expect(result.suites.find((s) => s.suiteId === 'package-audit')!.cases.find((c) => c.checkId === 'pkg-vulnerabilities')!.status).toBe('passed');
    expect(result.suites.find((s) => s.suiteId === 'cloud-init-auth')!.cases.map((c) => c.checkId)).toContain('ci-hostkeys-fresh');
    const validation = await validateJunit(join(dir, 'junit.xml'));
    expect(validation.exitCode, validation.stderr).toBe(0);
    const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
    expect(xml).toMatch(/classname="debian-12-clean\.cloud-init-auth/);
    expect(xml).toMatch(/\[\[ATTACHMENT\|[^\]]+\.serial\.log\]\]/);
    expect(xml).toMatch(/\[\[ATTACHMENT\|[^\]]+\.cloud-init\.log\]\]/);
    expect(run.stdout).toMatch(/PASSED/);
    // The input is never written, and nothing of the run is left on any host.
    expect(await sha256File(clean)).toBe(before);
    expect(result.image.sha256).toBe(before);
    expect(await leftovers(result.runId)).toEqual([]);
  }, 30 * 60_000);

  it('debian-12-flawed: exactly the checks of the planted defects fail, each naming what it found', async () => {
    const expected = await plantedDefectChecks();
    const run = await imgtest(['run', flawed, '--config', config, '--report-dir', reportDir]);
    const { result, dir } = await latest(reportDir);
    const errors = result.suites.flatMap((s) => s.cases.filter((c) => c.status === 'error').map((c) => `${c.checkId}: ${c.message}`));
    expect(errors).toEqual([]);
    const failed = result.suites.flatMap((s) => s.cases.filter((c) => c.status === 'failed'));
    expect(new Set(failed.map((c) => c.checkId))).toEqual(expected);
    for (const c of failed) expect(c.message.length, c.checkId).toBeGreaterThan(10);
    const caseOf = (suiteId: string, checkId: string) => result.suites.find((s) => s.suiteId === suiteId)!.cases.find((c) => c.checkId === checkId)!;
    expect(caseOf('cloud-init-auth', 'ci-password-login-rejected')).toMatchObject({ status: 'failed', message: expect.stringMatching(/password/) });
    expect(caseOf('cloud-init-auth', 'ci-root-login-denied')).toMatchObject({ status: 'failed', message: expect.stringMatching(/root/i) });
    expect(caseOf('cloud-init-auth', 'ci-key-login').status).toBe('passed');
    expect(run.exitCode).toBe(1);
    expect((await validateJunit(join(dir, 'junit.xml'))).exitCode).toBe(0);
    const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
    expect(xml).toMatch(/<testcase[^>]*name="ci-password-login-rejected[^"]*"[^>]*>\s*<failure/);
    expect(await leftovers(result.runId)).toEqual([]);
  }, 30 * 60_000);
});
