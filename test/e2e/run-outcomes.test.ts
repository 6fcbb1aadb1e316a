import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canBootGuests, fixture, imgtest, latestRun, leftovers, repoRoot, sh, validateJunit } from './helpers.js';

/**
 * How a run ends when no check gets to run: the image's fault (a failure, exit 1) or ours (an
 * error, exit 3). Each costs at most a minute of one guest, so the verdict paths stay proven in CI.
 */
describe.skipIf(!canBootGuests)('imgtest run outcomes when guests do not come up', () => {
  const reportDir = join(repoRoot, 'reports', 'e2e-outcomes');

  it(
    'a disk the firmware finds nothing to boot on is the image failing (exit 1), every check skipped',
    async () => {
      await mkdir(reportDir, { recursive: true });
      const blank = join(reportDir, 'blank.qcow2');
      await sh('qemu-img', ['create', '-q', '-f', 'qcow2', blank, '2G']);
      const run = await imgtest(['run', blank, '--firmware', 'bios', '--suite', 'cloud-init-auth', '--report-dir', reportDir]);
      const { result, dir } = await latestRun(reportDir);
      expect(run.exitCode, run.stdout + run.stderr).toBe(1);
      const cases = result.suites[0]!.cases;
      expect(cases[0]).toMatchObject({ checkId: 'boot', status: 'failed', message: expect.stringMatching(/the BIOS found nothing to boot: No bootable device/) });
      expect(cases.slice(1).every((c) => c.status === 'skipped' && c.message === 'not run: guest did not boot')).toBe(true);
      expect(cases.length).toBeGreaterThan(10);
      const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
      expect(xml).toMatch(/<testcase[^>]*name="boot[^"]*"[^>]*>\s*<failure/);
      expect(xml).toMatch(/\[\[ATTACHMENT\|[^\]]+\.serial\.log\]\]/);
      expect((await validateJunit(join(dir, 'junit.xml'))).exitCode).toBe(0);
      expect(await leftovers(result.runId)).toEqual([]);
    },
    10 * 60_000,
  );

  it(
    '--timeout: a guest not up within the overall cap is an infrastructure error (exit 3), every check skipped',
    async () => {
      // About the --timeout option itself, so the one test that forces it (the default path is run with
      // no options in run-all-suites.test.ts).
      const clean = await fixture('debian-12-clean');
      const run = await imgtest(['run', clean, '--firmware', 'bios', '--suite', 'cloud-init-auth', '--report-dir', reportDir, '--timeout', '15']);
      const { result, dir } = await latestRun(reportDir);
      expect(run.exitCode, run.stdout + run.stderr).toBe(3);
      const cases = result.suites[0]!.cases;
      // The boot stage it was in when the overall cap (--timeout) ran out, and the cap itself.
      expect(cases[0]).toMatchObject({
        checkId: 'boot',
        status: 'error',
        message: expect.stringMatching(/(no output on the serial console|no kernel output|no DHCP address seen) after \d+ s \(overall limit 15 s\)/),
      });
      expect(cases.slice(1).every((c) => c.status === 'skipped')).toBe(true);
      const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
      expect(xml).toMatch(/<error /);
      expect((await validateJunit(join(dir, 'junit.xml'))).exitCode).toBe(0);
      expect(await leftovers(result.runId)).toEqual([]);
    },
    10 * 60_000,
  );

  it(
    'a hypervisor that cannot be reached is an infrastructure error in one line (exit 3)',
    async () => {
      await mkdir(reportDir, { recursive: true });
      const config = join(reportDir, 'unreachable.yaml');
      await writeFile(config, 'hosts:\n  - name: gone\n    uri: qemu+tcp://127.0.0.1:9/system\n');
      const clean = await fixture('debian-12-clean');
      const run = await imgtest(['run', clean, '--config', config, '--suite', 'cloud-init-auth', '--report-dir', reportDir]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(3);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/gone/);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      // Jenkins still gets this run's report, never the previous run's under `latest`.
      const { result, dir } = await latestRun(reportDir);
      expect(result.exitCode).toBe(3);
      expect(result.suites[0]!.cases[0]).toMatchObject({ checkId: 'run', status: 'error', message: expect.stringMatching(/gone.*\[E_HOST_UNREACHABLE\]/) });
      expect((await validateJunit(join(dir, 'junit.xml'))).exitCode).toBe(0);
    },
    2 * 60_000,
  );

  it(
    'Ctrl-C during boot: stops, removes everything the run made, and reports what it interrupted (exit 3)',
    async () => {
      const clean = await fixture('debian-12-clean');
      const child = spawn('node', [join(repoRoot, 'bin', 'imgtest.js'), 'run', clean, '--suite', 'cloud-init-auth', '--firmware', 'bios', '--report-dir', reportDir], { cwd: repoRoot });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // Interrupt once both guests are powered on (domains, overlays, seeds and console files exist).
      for (let waited = 0; (stdout.match(/ starting /g) ?? []).length < 2 && waited < 300_000; waited += 500) await new Promise((r) => setTimeout(r, 500));
      expect(stdout).toMatch(/starting/);
      child.kill('SIGINT');
      const code = await exited;
      expect(code, stdout + stderr).toBe(3);
      expect(stderr).toMatch(/interrupted by SIGINT while booting g\d/);
      const { result, dir } = await latestRun(reportDir);
      expect(result.suites[0]!.cases[0]).toMatchObject({ checkId: 'run', status: 'error', message: expect.stringMatching(/^interrupted by SIGINT while booting g\d \(bios\) on hv\d/) });
      expect(result.suites.find((s) => s.suiteId === 'cloud-init-auth')!.cases.every((c) => c.status === 'skipped')).toBe(true);
      expect((await validateJunit(join(dir, 'junit.xml'))).exitCode).toBe(0);
      expect(await leftovers(result.runId)).toEqual([]);
      expect((await readdir(tmpdir())).filter((name) => name.includes(result.runId))).toEqual([]);
    },
    10 * 60_000,
  );
});
