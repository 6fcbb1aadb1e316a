import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunResult, SuiteResult } from '../../src/report/model.js';
import { canBootGuests, expectTwoGoodLegs, fixture, imgtest, latestRun, leftovers, nvramLeftovers, repoRoot, validateJunit } from './helpers.js';

/**
 * The live-migration suite on the lab, end to end: a guest of the clean image moves hv1 -> hv2 -> hv1
 * from the lab's shared pool; and one run that must fail (shared storage on the lab's local filesystem
 * without --unsafe: libvirt refuses, and the report says why). Copy mode (per-host pools, the default)
 * is proven by run-all-suites.test.ts, where live-migration runs with every other suite. Two guest
 * boots in all (TCG: a few minutes each).
 */

const suiteOf = (result: RunResult): SuiteResult => result.suites.find((s) => s.suiteId === 'live-migration')!;
const caseOf = (result: RunResult, checkId: string) => suiteOf(result).cases.find((c) => c.checkId === checkId)!;

/** Two good legs (see expectTwoGoodLegs), exit 0, valid JUnit carrying the figures, nothing left on the hosts. */
async function expectGoodRun(run: { exitCode: number; stdout: string; stderr: string }, reportDir: string, storage: 'copy' | 'shared') {
  const { result, dir } = await latestRun(reportDir);
  const suite = suiteOf(result);
  expectTwoGoodLegs(suite, storage);
  expect(run.exitCode, run.stdout.slice(-4000) + run.stderr).toBe(0);
  expect((await validateJunit(join(dir, 'junit.xml'))).exitCode).toBe(0);
  const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
  expect(xml).toMatch(/<property name="migration.leg1.libvirt-downtime-ms" value="\d+"\/>/);
  expect(xml).toMatch(/<property name="migration.leg2.guest-gap-ms" value="\d+"\/>/);
  expect(await leftovers(result.runId)).toEqual([]);
  expect(await nvramLeftovers(result.runId)).toEqual([]);
  return { result, suite };
}

describe.skipIf(!canBootGuests)('imgtest run --suite live-migration (real guests in the lab)', () => {
  const reportDir = join(repoRoot, 'reports', 'e2e-live-migration');
  const sharedConfig = join(repoRoot, 'reports', 'e2e-live-migration-shared.yaml');
  const unsafeRefusedConfig = join(repoRoot, 'reports', 'e2e-live-migration-no-unsafe.yaml');
  let clean: string;
  beforeAll(async () => {
    clean = await fixture('debian-12-clean');
    await writeFile(sharedConfig, 'storage:\n  sharedPool: imgtest-shared\n');
    await writeFile(unsafeRefusedConfig, 'storage:\n  sharedPool: imgtest-shared\nsuites:\n  live-migration:\n    allowUnsafe: false\n    legs: 1\n');
  }, 45 * 60_000);

  it(
    'shared mode (the lab pool both hosts see): no disk copied, --unsafe used and said',
    async () => {
      const run = await imgtest(['run', clean, '--suite', 'live-migration', '--config', sharedConfig, '--report-dir', reportDir]);
      const { result, suite } = await expectGoodRun(run, reportDir, 'shared');
      const migrate = caseOf(result, 'mig-leg1-migrate');
      expect(migrate.message).toMatch(/with --unsafe/);
      expect(migrate.evidence).not.toMatch(/--copy-storage-inc/);
      expect(suite.properties['migration.leg1.unsafe']).toMatch(/^yes \(libvirt: Unsafe migration/);
    },
    30 * 60_000,
  );

  it(
    "fails, naming libvirt's refusal, when shared storage on a local filesystem may not be moved with --unsafe",
    async () => {
      const run = await imgtest(['run', clean, '--suite', 'live-migration', '--config', unsafeRefusedConfig, '--report-dir', reportDir]);
      const { result, dir } = await latestRun(reportDir);
      expect(run.exitCode, run.stdout.slice(-4000) + run.stderr).toBe(1);
      expect(caseOf(result, 'mig-storage-mode').status).toBe('passed');
      expect(caseOf(result, 'mig-leg1-migrate')).toMatchObject({ status: 'failed', message: expect.stringMatching(/^hv1 -> hv2: Unsafe migration: /) });
      expect(caseOf(result, 'mig-leg1-same-boot')).toMatchObject({ status: 'skipped', message: expect.stringMatching(/^not run: the move failed/) });
      expect(suiteOf(result).cases.filter((c) => c.status === 'error')).toEqual([]);
      expect(run.stdout).toMatch(/Unsafe migration/);
      const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
      expect(xml).toMatch(/<testcase[^>]*name="mig-leg1-migrate[^"]*"[^>]*>\s*<failure[^>]*message="[^"]*Unsafe migration/);
      expect(await leftovers(result.runId)).toEqual([]);
      expect(await nvramLeftovers(result.runId)).toEqual([]);
    },
    30 * 60_000,
  );
});
