/**
 * Choosing checks, waiving known failures and rerunning infrastructure errors, end to end through the
 * CLI as a user runs it, without booting a guest: the offline image-hygiene suite on debian-12-flawed
 * (whose planted hyg-* defects fail) next to a third party's offline suite loaded with --suite-module,
 * one of whose checks errors once and then passes (an infrastructure flake) and one of which fails.
 * One run (one read-only libguestfs appliance, about a minute) proves:
 *   --check / --skip / --exclude-tag: the checks not selected are skipped, saying which flag;
 *   --waivers: a failure under an unexpired waiver is skipped "waived: ..." and leaves the exit code
 *     alone; an expired waiver waives nothing and is itself a failed case naming it;
 *   --retries: the flake passes on retry (a Surefire <flakyError> in JUnit), the failure is never rerun;
 *   the JUnit stays valid against junit-10.xsd.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CaseResult } from '../../src/report/model.js';
import { SUITE_API_VERSION } from '../../src/suite-api/index.js';
import { canBootGuests, fixture, imgtest, latestRun, repoRoot, validateJunit } from './helpers.js';

/** A third party's offline suite, plain JavaScript with no imports (the loader checks its shape and version). */
const FLAKY_SUITE = `// Written by test/e2e/run-selection.test.ts.
let attempts = 0;
export default {
  apiVersion: ${SUITE_API_VERSION},
  id: 'flaky-demo',
  title: 'a suite whose first check errors once (an infrastructure flake)',
  tags: ['offline'],
  requires: { offline: true },
  checks: [
    {
      id: 'flaky-once',
      title: 'errors on its first attempt, passes on the next',
      severity: 'must',
      async run() {
        attempts += 1;
        if (attempts === 1) throw new Error('the metadata mirror did not answer (simulated flake)');
        return { status: 'pass', message: 'passed on attempt ' + attempts };
      },
    },
    {
      id: 'flaky-defect',
      title: 'always finds a defect',
      severity: 'must',
      async run() {
        return { status: 'fail', message: 'a defect, found every time' };
      },
    },
  ],
};
`;

const WAIVERS = `# Known failures of debian-12-flawed, for test/e2e/run-selection.test.ts.
waivers:
  - check: hyg-machine-id
    image: "debian-12-*"
    reason: the build pipeline still bakes the machine-id
    ticket: IMG-101
    expires: 2099-12-31
  - check: image-hygiene/hyg-hostname
    reason: renamed in the next build
    ticket: IMG-102
    expires: 2020-01-31
  - check: flaky-defect
    reason: tracked upstream
`;

describe.skipIf(!canBootGuests)('imgtest run: selection, waivers and retries (offline suites, no guest)', () => {
  const reportDir = join(repoRoot, 'reports', 'e2e-selection');

  it(
    'skips what is not selected, waives what is waived, fails on an expired waiver, reruns only the flake',
    async () => {
      await mkdir(reportDir, { recursive: true });
      const suiteFile = join(reportDir, 'flaky-suite.mjs');
      const waiverFile = join(reportDir, 'waivers.yaml');
      await writeFile(suiteFile, FLAKY_SUITE);
      await writeFile(waiverFile, WAIVERS);
      const flawed = await fixture('debian-12-flawed');
      const run = await imgtest([
        'run',
        flawed,
        '--suite-module',
        suiteFile,
        '--suite',
        'image-hygiene',
        'flaky-demo',
        '--skip',
        'hyg-swap',
        '--check',
        'hyg-*',
        '--check',
        'flaky-demo/*',
        '--exclude-tag',
        'storage',
        '--waivers',
        waiverFile,
        '--retries',
        '1',
        '--report-dir',
        reportDir,
      ]);
      const { result, dir } = await latestRun(reportDir);
      const byId = new Map<string, CaseResult>(result.suites.flatMap((s) => s.cases.map((c) => [`${s.suiteId}/${c.checkId}`, c] as const)));
      const get = (id: string) => byId.get(id) ?? expect.fail(`no case ${id} in ${[...byId.keys()].join(', ')}`);

      // Selection: the flag that ruled each check out is named.
      expect(get('image-hygiene/hyg-swap')).toMatchObject({ status: 'skipped', message: 'not selected (--skip hyg-swap)' });
      const storage = result.suites.find((s) => s.suiteId === 'image-hygiene')!.cases.filter((c) => c.message === 'not selected (--exclude-tag storage)');
      expect(storage.length).toBeGreaterThan(0);

      // Waivers: an unexpired one turns the failure into a skip with its reason and ticket.
      expect(get('image-hygiene/hyg-machine-id')).toMatchObject({
        status: 'skipped',
        message: expect.stringMatching(/^waived: the build pipeline still bakes the machine-id \(IMG-101, until 2099-12-31\): /),
      });
      // An expired one waives nothing, and is a failure of its own that names it.
      expect(get('image-hygiene/hyg-hostname').status).toBe('failed');
      expect(get('waivers/waiver-expired[image-hygiene/hyg-hostname]')).toMatchObject({ status: 'failed', severity: 'must', message: expect.stringMatching(/IMG-102.*expired on 2020-01-31/) });

      // Retries: the flake errored once and passed; the defect ran once and is waived (no expiry).
      expect(get('flaky-demo/flaky-once')).toMatchObject({ status: 'passed', attempts: 2 });
      expect(get('flaky-demo/flaky-once').earlierAttempts).toEqual([expect.objectContaining({ status: 'error', message: expect.stringMatching(/simulated flake/) })]);
      expect(get('flaky-demo/flaky-defect')).toMatchObject({ status: 'skipped', attempts: 1, message: expect.stringMatching(/^waived: tracked upstream: a defect, found every time$/) });

      // Other planted defects still fail; the expired waiver alone would make the verdict a failure.
      expect(result.suites.flatMap((s) => s.cases).some((c) => c.status === 'error')).toBe(false);
      expect(run.exitCode, run.stdout + run.stderr).toBe(1);
      expect(result.exitCode).toBe(1);

      const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
      expect(xml).toMatch(/<testcase[^>]*name="flaky-once[^"]*"[^>]*>[\s\S]*?<flakyError [^>]*message="check could not run: the metadata mirror did not answer/);
      expect(xml).toMatch(/<testcase[^>]*name="hyg-machine-id[^"]*"[^>]*>\s*<skipped message="waived: /);
      expect(xml).toMatch(/<testcase[^>]*name="waiver-expired\[image-hygiene\/hyg-hostname\][^"]*"[^>]*>\s*<failure /);
      expect((await validateJunit(join(dir, 'junit.xml'))).exitCode, 'junit.xml against junit-10.xsd').toBe(0);
    },
    10 * 60_000,
  );
});
