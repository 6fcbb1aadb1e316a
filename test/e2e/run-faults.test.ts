import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canBootGuests, fixture, imgtest, leftovers, processesMentioning, repoRoot, runUntil, validateJunit } from './helpers.js';

/**
 * A fault in the middle of a run with guests up: one host's libvirtd killed while its guest boots. The
 * run ends with a report that says what happened, and nothing of it is left on the host that answers
 * (imgtest clean removes the rest once the lost host is back). The user's Ctrl-C while a guest moves
 * between the hosts is in run-live-migration.test.ts. This file runs alone: it takes a host away.
 */
describe.skipIf(!canBootGuests)('imgtest run when something fails mid-run', () => {
  const reportDir = join(repoRoot, 'reports', 'e2e-faults');
  let clean: string;
  beforeAll(async () => void (clean = await fixture('debian-12-clean')), 45 * 60_000);
  // A test that failed half-way must not leave hv2 without its libvirtd for the files after this one.
  afterAll(async () => void (await imgtest(['lab', 'up'])), 120_000);

  it(
    "one host's libvirtd killed while its guest boots: an error naming that host, the other host cleaned; imgtest clean removes the rest once the host is back (exit 3)",
    async () => {
      const dir = join(reportDir, 'host-lost');
      const libvirtdPid = join('/var/lib/imgtest-lab', 'hv2', 'run', 'libvirt', 'libvirtd.pid');
      const killHv2Libvirtd = async () => void process.kill(Number((await readFile(libvirtdPid, 'utf8')).trim()), 'SIGKILL');
      const { code, stdout, stderr, result, junitDir } = await runUntil(
        ['run', clean, '--suite', 'cloud-init-auth', '--firmware', 'bios', '--report-dir', dir],
        // Once hv2's guest is up and has its address: its QEMU runs on without the libvirtd that started it.
        (out) => /\[hv2\] \S+ address /.test(out),
        killHv2Libvirtd,
      );
      expect(code, stdout + stderr).toBe(3);
      // The suite needs both guests: the lost one's boot is the error, named by host; no check ran, none failed.
      const cases = result.suites.find((s) => s.suiteId === 'cloud-init-auth')!.cases;
      const errors = cases.filter((c) => c.status === 'error');
      expect(errors, JSON.stringify(cases, null, 1)).toHaveLength(1);
      expect(errors[0]!.message).toMatch(/^imgtest-\S+-g\d+t? \(bios\) on hv2: host hv2 stopped answering: libvirt has not answered for \d+ s \(\d+ connections in a row failed: .*Connection refused/);
      expect(cases.filter((c) => c.status === 'failed')).toEqual([]);
      // hv1's guest serves only this suite, which needs hv2's too: its boot stops once hv2 is declared lost
      // (or it was ready by then; which comes first is a race of the two boots).
      expect(stdout).toMatch(/\[hv1\] \S+( ready |: boot stopped: every suite planned on it also needs g\d+t?, which did not boot)/);
      const junit = await readFile(join(junitDir, 'junit.xml'), 'utf8');
      expect(junit).toMatch(/<error[^>]*message="[^"]*host hv2 stopped answering/);
      expect((await validateJunit(join(junitDir, 'junit.xml'))).exitCode).toBe(0);
      // What could not be removed is said, with the way to remove it.
      expect(stderr).toMatch(/cleanup: hv2: /);
      expect(stderr).toMatch(/once the host answers again, 'imgtest clean' removes it/);
      // hv1 has nothing left (hv2 cannot be asked: its libvirtd is down, so leftovers() sees hv1 only).
      expect(await leftovers(result.runId)).toEqual([]);

      // hv2 back: its guest is still there (QEMU outlived libvirtd), until imgtest clean removes it.
      expect((await imgtest(['lab', 'up'])).exitCode).toBe(0);
      expect((await leftovers(result.runId)).filter((line) => line.startsWith('hv2: ')).length).toBeGreaterThan(0);
      const cleaned = await imgtest(['clean']);
      expect(cleaned.exitCode, cleaned.stdout + cleaned.stderr).toBe(0);
      expect(await leftovers(result.runId)).toEqual([]);
      expect(await processesMentioning(result.runId)).toEqual([]);
    },
    20 * 60_000,
  );
});
