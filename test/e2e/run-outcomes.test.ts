import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canBootGuests, fixture, imgtest, latestRun, leftovers, processesMentioning, repoRoot, tempFoldersOf, runUntil, sh, shown, validateJunit } from './helpers.js';

/**
 * How a run ends when no check gets to run: the image's fault (a failure, exit 1), ours (an error,
 * exit 3), or the user's Ctrl-C (during the image's copy, during boot). Each costs at most a minute of
 * one or two guests, so the verdict paths stay proven in CI. They all run at once, as several users'
 * runs would on one lab, each with its own report folder.
 */
const sigint = (child: ChildProcess) => void child.kill('SIGINT');

describe.skipIf(!canBootGuests).concurrent('imgtest run outcomes when guests do not come up', () => {
  const reportDir = join(repoRoot, 'reports', 'e2e-outcomes');

  it(
    'two runs at once on the lab, each with its own verdict: a disk the firmware finds nothing to boot on is the image failing (exit 1); a guest not up within --timeout is an infrastructure error (exit 3)',
    async () => {
      // Both runs upload, define, lease and clean up on the same two hosts at the same time; each must
      // end with its own verdict and report, and leave nothing. (--timeout is forced in the run that is
      // about it; the default path is run with no options in run-all-suites.test.ts.)
      const blankDir = join(reportDir, 'blank');
      const timeoutDir = join(reportDir, 'timeout');
      await mkdir(blankDir, { recursive: true });
      const blank = join(blankDir, 'blank.qcow2');
      await sh('qemu-img', ['create', '-q', '-f', 'qcow2', blank, '2G']);
      const clean = await fixture('debian-12-clean');
      const [blankRun, timeoutRun] = await Promise.all([
        imgtest(['run', blank, '--firmware', 'bios', '--suite', 'cloud-init-auth', '--report-dir', blankDir]),
        imgtest(['run', clean, '--firmware', 'bios', '--suite', 'cloud-init-auth', '--report-dir', timeoutDir, '--timeout', '15']),
      ]);

      // The blank disk: the image's failure, every check skipped.
      const blankReport = await latestRun(blankDir);
      expect(blankRun.exitCode, blankRun.stdout + blankRun.stderr).toBe(1);
      const blankCases = blankReport.result.suites[0]!.cases;
      expect(blankCases[0]).toMatchObject({ checkId: 'boot', status: 'failed', message: expect.stringMatching(/the BIOS found nothing to boot: No bootable device/) });
      expect(blankCases.slice(1).every((c) => c.status === 'skipped' && c.message === 'not run: guest did not boot')).toBe(true);
      expect(blankCases.length).toBeGreaterThan(10);
      const blankXml = await readFile(join(blankReport.dir, 'junit.xml'), 'utf8');
      expect(blankXml).toMatch(/<testcase[^>]*name="boot[^"]*"[^>]*>\s*<failure/);
      expect(blankXml).toMatch(/\[\[ATTACHMENT\|[^\]]+\.serial\.log\]\]/);
      expect((await validateJunit(join(blankReport.dir, 'junit.xml'))).exitCode).toBe(0);

      // The overall cap: the boot stage it was in when --timeout ran out, and the cap itself.
      const timeoutReport = await latestRun(timeoutDir);
      expect(timeoutRun.exitCode, timeoutRun.stdout + timeoutRun.stderr).toBe(3);
      const timeoutCases = timeoutReport.result.suites[0]!.cases;
      expect(timeoutCases[0]).toMatchObject({
        checkId: 'boot',
        status: 'error',
        // Whichever early stage the guest was in when the cap ran out (boot-watch.ts's wording).
        message: expect.stringMatching(/(no output on the serial console|no kernel output after the firmware and bootloader|no DHCP address seen) after \d+ s \(overall limit 15 s\)/),
      });
      expect(timeoutCases.slice(1).every((c) => c.status === 'skipped')).toBe(true);
      expect(await readFile(join(timeoutReport.dir, 'junit.xml'), 'utf8')).toMatch(/<error /);
      expect((await validateJunit(join(timeoutReport.dir, 'junit.xml'))).exitCode).toBe(0);

      expect(blankReport.result.runId).not.toBe(timeoutReport.result.runId);
      expect(await leftovers(blankReport.result.runId)).toEqual([]);
      expect(await leftovers(timeoutReport.result.runId)).toEqual([]);
    },
    10 * 60_000,
  );

  it(
    'a hypervisor that cannot be reached is an infrastructure error in one line (exit 3)',
    async () => {
      const dir = join(reportDir, 'unreachable');
      await mkdir(dir, { recursive: true });
      const config = join(dir, 'unreachable.yaml');
      await writeFile(config, 'hosts:\n  - name: gone\n    uri: qemu+tcp://127.0.0.1:9/system\n');
      const clean = await fixture('debian-12-clean');
      const run = await imgtest(['run', clean, '--config', config, '--suite', 'cloud-init-auth', '--report-dir', dir]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(3);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/gone/);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      // Jenkins still gets this run's report, never the previous run's under `latest`.
      const { result, dir: runDir } = await latestRun(dir);
      expect(result.exitCode).toBe(3);
      expect(result.suites[0]!.cases[0]).toMatchObject({ checkId: 'run', status: 'error', message: expect.stringMatching(/gone.*\[E_HOST_UNREACHABLE\]/) });
      expect((await validateJunit(join(runDir, 'junit.xml'))).exitCode).toBe(0);
    },
    2 * 60_000,
  );

  it(
    "Ctrl-C during the image's copy to the hosts: the copy stops at once, nothing is left, and the report says what it interrupted (exit 3)",
    async () => {
      // A raw image is copied whole (2 GiB here), so the copy is still under way when the signal comes.
      const dir = join(reportDir, 'upload');
      await mkdir(dir, { recursive: true });
      const raw = join(dir, 'blank.raw');
      await sh('qemu-img', ['create', '-q', '-f', 'raw', raw, '2G']);
      // An MBR with one partition, so imgtest takes it for a disk (a blank raw file is refused as bad input).
      await sh('sh', ['-c', 'printf "label: dos\\n,,L\\n" | sfdisk -q "$1"', 'sh', raw]);
      const { code, stdout, stderr, result, junitDir } = await runUntil(
        ['run', raw, '--firmware', 'bios', '--suite', 'cloud-init-auth', '--report-dir', dir],
        shown(/\] copying blank to pool/, 1),
        sigint,
      );
      expect(code, stdout + stderr).toBe(3);
      expect(stderr).toMatch(/interrupted by SIGINT while copying the image to hv\d/);
      expect(result.suites[0]!.cases[0]).toMatchObject({ checkId: 'run', status: 'error', message: expect.stringMatching(/^interrupted by SIGINT while copying the image to hv\d/) });
      expect((await validateJunit(join(junitDir, 'junit.xml'))).exitCode).toBe(0);
      // No domain was started, and the half-made copy is gone from every pool; no virsh is still copying.
      expect(stdout).not.toMatch(/ starting /);
      expect(await leftovers(result.runId)).toEqual([]);
      expect(await processesMentioning(result.runId)).toEqual([]);
      expect(await tempFoldersOf(result.runId)).toEqual([]);
    },
    5 * 60_000,
  );

  it(
    'Ctrl-C during boot: stops, removes everything the run made, and reports what it interrupted (exit 3)',
    async () => {
      const clean = await fixture('debian-12-clean');
      // Interrupt once both guests are powered on (domains, overlays, seeds and console files exist).
      const { code, stdout, stderr, result, junitDir } = await runUntil(
        ['run', clean, '--suite', 'cloud-init-auth', '--firmware', 'bios', '--report-dir', join(reportDir, 'boot')],
        shown(/ starting /, 2),
        sigint,
      );
      expect(code, stdout + stderr).toBe(3);
      expect(stderr).toMatch(/interrupted by SIGINT while booting g\d+/);
      expect(result.suites[0]!.cases[0]).toMatchObject({ checkId: 'run', status: 'error', message: expect.stringMatching(/^interrupted by SIGINT while booting g\d+ \(bios\) on hv\d/) });
      expect(result.suites.find((s) => s.suiteId === 'cloud-init-auth')!.cases.every((c) => c.status === 'skipped')).toBe(true);
      expect((await validateJunit(join(junitDir, 'junit.xml'))).exitCode).toBe(0);
      expect(await leftovers(result.runId)).toEqual([]);
      expect(await tempFoldersOf(result.runId)).toEqual([]);
    },
    10 * 60_000,
  );
});
