import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunResult, SuiteResult } from '../../src/report/model.js';
import { canBootGuests, expectTwoGoodLegs, fixture, imgtest, latestRun, leftovers, nvramLeftovers, processesMentioning, repoRoot, runUntil, sh, tempFoldersOf, validateJunit } from './helpers.js';

/**
 * The live-migration suite on the lab, end to end: a guest of the clean image moves hv1 -> hv2 -> hv1
 * from the lab's shared pool; one run that must fail (shared storage on the lab's local filesystem
 * without --unsafe: libvirt refuses, and the report says why); and the user's Ctrl-C while a guest
 * moves. Copy mode (per-host pools, the default) is proven by run-all-suites.test.ts, where
 * live-migration runs with every other suite. One guest each (TCG: a few minutes to boot); the three
 * runs go at once, as three users' runs would on one lab, each with its own report folder: a guest has
 * one vCPU, so the lab's two hosts have the cores for them.
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

describe.skipIf(!canBootGuests).concurrent('imgtest run --suite live-migration (real guests in the lab)', () => {
  const reportDir = (test: string) => join(repoRoot, 'reports', 'e2e-live-migration', test);
  const uris: Record<string, string> = {};
  const sharedConfig = join(repoRoot, 'reports', 'e2e-live-migration-shared.yaml');
  const unsafeRefusedConfig = join(repoRoot, 'reports', 'e2e-live-migration-no-unsafe.yaml');
  let clean: string;
  beforeAll(async () => {
    clean = await fixture('debian-12-clean');
    await writeFile(sharedConfig, 'storage:\n  sharedPool: imgtest-shared\n');
    await writeFile(unsafeRefusedConfig, 'storage:\n  sharedPool: imgtest-shared\nsuites:\n  live-migration:\n    allowUnsafe: false\n    legs: 1\n');
    const status = JSON.parse((await imgtest(['lab', 'status', '--json'])).stdout) as { hosts: { name: string; uri: string }[] };
    for (const host of status.hosts) uris[host.name] = host.uri;
  }, 45 * 60_000);

  it(
    'shared mode (the lab pool both hosts see): no disk copied, --unsafe used and said',
    async () => {
      const dir = reportDir('shared');
      const run = await imgtest(['run', clean, '--suite', 'live-migration', '--config', sharedConfig, '--report-dir', dir]);
      const { result, suite } = await expectGoodRun(run, dir, 'shared');
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
      const run = await imgtest(['run', clean, '--suite', 'live-migration', '--config', unsafeRefusedConfig, '--report-dir', reportDir('unsafe-refused')]);
      const { result, dir } = await latestRun(reportDir('unsafe-refused'));
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

  it(
    'Ctrl-C during a migration leg: libvirt cancels the move, nothing is left on either host, the report says what it interrupted (exit 3)',
    async () => {
      // Ready once libvirt on hv1 shows a migration job on this run's guest: the move is under way. The
      // guest is found on hv1 by the run's id (its name may be g1, or g1t after a KVM fallback), since
      // the other runs of this file move guests of their own at the same time.
      const migrating = async (stdout: string) => {
        const runId = /imgtest run (\S+)/.exec(stdout)?.[1];
        if (!runId || !/leg 1: hv2 prepared/.test(stdout)) return false;
        const onHv1 = (await sh('virsh', ['-c', uris['hv1']!, 'list', '--name'])).stdout.split('\n').filter((name) => name.includes(runId));
        for (const domain of onHv1) if (/Job type:\s+Unbounded/.test((await sh('virsh', ['-c', uris['hv1']!, 'domjobinfo', domain.trim()])).stdout)) return true;
        return false;
      };
      const { code, stdout, stderr, result, junitDir } = await runUntil(
        ['run', clean, '--suite', 'live-migration', '--report-dir', reportDir('interrupted')],
        migrating,
        (child) => void child.kill('SIGINT'),
      );
      expect(code, stdout + stderr).toBe(3);
      expect(stderr).toMatch(/interrupted by SIGINT while .*migrating g\d+t? hv1 -> hv2/);
      expect(result.suites[0]!.cases[0]).toMatchObject({ checkId: 'run', status: 'error', message: expect.stringMatching(/^interrupted by SIGINT while .*migrating g\d+t? hv1 -> hv2/) });
      const junit = await readFile(join(junitDir, 'junit.xml'), 'utf8');
      expect(junit).toMatch(/<error[^>]*message="interrupted by SIGINT while [^"]*migrating g\d+t? hv1 -&gt; hv2/);
      expect((await validateJunit(join(junitDir, 'junit.xml'))).exitCode).toBe(0);
      // Neither end keeps a domain, a volume (the base and overlay copied to hv2 included) or an NVRAM file.
      expect(await leftovers(result.runId)).toEqual([]);
      expect(await nvramLeftovers(result.runId)).toEqual([]);
      expect(await processesMentioning(result.runId)).toEqual([]);
      expect(await tempFoldersOf(result.runId)).toEqual([]);
    },
    30 * 60_000,
  );
});
