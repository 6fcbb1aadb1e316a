import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunResult, SuiteResult } from '../../src/report/model.js';
import { canBootGuests, fixture, imgtest, repoRoot, sh, validateJunit } from './helpers.js';

/**
 * The live-migration suite on the lab, end to end: a guest of the clean image moves hv1 -> hv2 -> hv1,
 * once with per-host pools (copy mode) and once from the lab's shared pool; and one run that must fail
 * (shared storage on the lab's local filesystem without --unsafe: libvirt refuses, and the report says
 * why). Three guest boots in all (TCG: a few minutes each).
 */

interface LabStatus {
  stateDir: string;
  hosts: { name: string; uri: string; pool: string; sharedPool: string }[];
}

/** What is left on the lab's hosts that carries this run's id: domains, volumes of both pools, NVRAM files (must be nothing). */
async function leftovers(runId: string): Promise<string[]> {
  const status = JSON.parse((await imgtest(['lab', 'status', '--json'])).stdout) as LabStatus;
  const found: string[] = [];
  for (const host of status.hosts) {
    const lines = [(await sh('virsh', ['-c', host.uri, 'list', '--all', '--name'])).stdout];
    for (const pool of [host.pool, host.sharedPool]) {
      await sh('virsh', ['-c', host.uri, 'pool-refresh', pool]);
      lines.push((await sh('virsh', ['-c', host.uri, 'vol-list', '--pool', pool])).stdout);
    }
    lines.push((await sh('virsh', ['-c', host.uri, 'pool-list', '--all', '--name'])).stdout);
    // The lab is local: its NVRAM folder is a plain folder of the state directory.
    lines.push(...(await readdir(join(status.stateDir, host.name, 'var/lib/libvirt/qemu/nvram')).catch(() => [] as string[])));
    for (const line of lines.join('\n').split('\n')) if (line.includes(runId)) found.push(`${host.name}: ${line.trim()}`);
  }
  return found;
}

async function latest(reportDir: string): Promise<{ result: RunResult; dir: string }> {
  const dir = await readlink(join(reportDir, 'latest'));
  return { result: JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as RunResult, dir };
}

const suiteOf = (result: RunResult): SuiteResult => result.suites.find((s) => s.suiteId === 'live-migration')!;
const caseOf = (result: RunResult, checkId: string) => suiteOf(result).cases.find((c) => c.checkId === checkId)!;
const LEG_CHECKS = ['migrate', 'running-on-destination', 'same-boot', 'same-address', 'ssh-session', 'clock', 'kernel-log', 'file-integrity', 'guest-agent', 'network-gap'];

/** Two legs done, every check of them and of the preflight passed, legs 3-4 skipped, figures in the JSON and the JUnit file. */
async function expectTwoGoodLegs(run: { exitCode: number; stdout: string; stderr: string }, reportDir: string, storage: 'copy' | 'shared') {
  const { result, dir } = await latest(reportDir);
  const suite = suiteOf(result);
  const ran = suite.cases.filter((c) => !/^mig-leg[34]-/.test(c.checkId));
  expect(ran.filter((c) => c.status !== 'passed').map((c) => `${c.checkId}: ${c.status}: ${c.message}`)).toEqual([]);
  expect(run.exitCode, run.stdout.slice(-4000) + run.stderr).toBe(0);
  for (const leg of [1, 2]) for (const check of LEG_CHECKS) expect(ran.map((c) => c.checkId)).toContain(`mig-leg${leg}-${check}`);
  expect(suite.cases.filter((c) => /^mig-leg[34]-/.test(c.checkId)).every((c) => c.status === 'skipped')).toBe(true);
  const p = suite.properties;
  expect(p['migration.storage']).toBe(storage);
  expect(p['migration.route']).toBe('hv1 -> hv2 -> hv1');
  for (const leg of [1, 2]) {
    expect(p[`migration.leg${leg}.result`]).toBe('moved');
    for (const figure of ['libvirt-downtime-ms', 'libvirt-total-ms', 'wall-ms', 'guest-gap-ms', 'icmp-gap-ms', 'tcp-gap-ms', 'memory-bytes', 'bytes']) {
      expect(p[`migration.leg${leg}.${figure}`], `leg ${leg} ${figure}`).toMatch(/^\d+$/);
    }
  }
  expect(Number(p['migration.leg1.memory-bytes'])).toBeGreaterThan(2 ** 20);
  expect((await validateJunit(join(dir, 'junit.xml'))).exitCode).toBe(0);
  const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
  expect(xml).toMatch(/<property name="migration.leg1.libvirt-downtime-ms" value="\d+"\/>/);
  expect(xml).toMatch(/<property name="migration.leg2.guest-gap-ms" value="\d+"\/>/);
  expect(await leftovers(result.runId)).toEqual([]);
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

  it('copy mode (per-host pools): there and back, every check passes, figures reported, nothing left', async () => {
    const run = await imgtest(['run', clean, '--suite', 'live-migration', '--accel', 'tcg', '--report-dir', reportDir]);
    const { suite } = await expectTwoGoodLegs(run, reportDir, 'copy');
    expect(caseOf((await latest(reportDir)).result, 'mig-leg1-migrate').evidence).toMatch(/--copy-storage-inc/);
    expect(Number(suite.properties['migration.leg1.disk-bytes'])).toBeGreaterThan(0);
  }, 30 * 60_000);

  it('shared mode (the lab pool both hosts see): no disk copied, --unsafe used and said', async () => {
    const run = await imgtest(['run', clean, '--suite', 'live-migration', '--accel', 'tcg', '--config', sharedConfig, '--report-dir', reportDir]);
    const { result, suite } = await expectTwoGoodLegs(run, reportDir, 'shared');
    const migrate = caseOf(result, 'mig-leg1-migrate');
    expect(migrate.message).toMatch(/with --unsafe/);
    expect(migrate.evidence).not.toMatch(/--copy-storage-inc/);
    expect(suite.properties['migration.leg1.unsafe']).toMatch(/^yes \(libvirt: Unsafe migration/);
  }, 30 * 60_000);

  it("fails, naming libvirt's refusal, when shared storage on a local filesystem may not be moved with --unsafe", async () => {
    const run = await imgtest(['run', clean, '--suite', 'live-migration', '--accel', 'tcg', '--config', unsafeRefusedConfig, '--report-dir', reportDir]);
    const { result, dir } = await latest(reportDir);
    expect(run.exitCode, run.stdout.slice(-4000) + run.stderr).toBe(1);
    expect(caseOf(result, 'mig-storage-mode').status).toBe('passed');
    expect(caseOf(result, 'mig-leg1-migrate')).toMatchObject({ status: 'failed', message: expect.stringMatching(/^hv1 -> hv2: Unsafe migration: /) });
    expect(caseOf(result, 'mig-leg1-same-boot')).toMatchObject({ status: 'skipped', message: expect.stringMatching(/^not run: the move failed/) });
    expect(suiteOf(result).cases.filter((c) => c.status === 'error')).toEqual([]);
    expect(run.stdout).toMatch(/Unsafe migration/);
    const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
    expect(xml).toMatch(/<testcase[^>]*name="mig-leg1-migrate[^"]*"[^>]*>\s*<failure[^>]*message="[^"]*Unsafe migration/);
    expect(await leftovers(result.runId)).toEqual([]);
  }, 30 * 60_000);
});
