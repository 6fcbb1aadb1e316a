/**
 * The example third-party suite (examples/suite-hello-sysctl), installed outside src/ and suites/ the
 * way a user's project holds it: its own node:test tests pass there, its JSDoc types check against
 * the published contract, and imgtest's loader takes it by package name and by path.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSuite } from '../../src/plugins/load-suites.js';
import { GuestTransportError, SUITE_API_VERSION, type Suite } from '../../src/suite-api/index.js';
import { exampleSuiteId, exampleSuitePackage, installExampleSuite, type InstalledExampleSuite } from '../e2e/example-suite.js';
import { fakeContext, fakeGuest } from './helpers/fake-guest.js';

const execFileAsync = promisify(execFile);
const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CHECK_IDS = ['hello-sysctl-dmesg-restrict', 'hello-sysctl-unprivileged-bpf', 'hello-sysctl-syncookies'];

// The installation links the built contract (dist/, made by `npm run build`, the pretest step).
const built = existsSync(join(repoRoot, 'dist', 'src', 'suite-api', 'index.js'));

describe.skipIf(!built)('example suite imgtest-suite-hello-sysctl, installed outside the repository', () => {
  let installed: InstalledExampleSuite;
  beforeAll(async () => {
    installed = await installExampleSuite();
  });
  afterAll(async () => {
    await installed?.cleanup();
  });

  it('is a copy beside a linked imgtest, not a link into the repository', async () => {
    expect(installed.packageDir).toBe(join(installed.dir, 'node_modules', exampleSuitePackage));
    expect(installed.modulePath).toBe(join(installed.packageDir, 'index.js'));
    const manifest = JSON.parse(await readFile(join(installed.packageDir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: exampleSuitePackage, type: 'module', main: './index.js', peerDependencies: { imgtest: '>=0.1.0' } });
    expect(manifest['dependencies']).toBeUndefined();
    // It imports nothing of imgtest's but the published contract.
    const source = await readFile(installed.modulePath, 'utf8');
    expect([...source.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1])).toEqual(['imgtest/suite-api']);
  });

  it('passes its own node:test tests (pass, fail, error and option paths) where only imgtest/suite-api resolves', async () => {
    const files = (await readdir(join(installed.packageDir, 'test'))).filter((f) => f.endsWith('.test.js')).sort();
    expect(files.length).toBeGreaterThan(0);
    // How many tests the files declare: the run must report exactly that many passing.
    let declared = 0;
    for (const file of files) declared += (await readFile(join(installed.packageDir, 'test', file), 'utf8')).match(/^test\(/gm)?.length ?? 0;
    expect(declared).toBeGreaterThanOrEqual(5);
    let stdout: string;
    try {
      ({ stdout } = await execFileAsync(process.execPath, ['--test', '--test-reporter=tap', ...files.map((f) => join('test', f))], { cwd: installed.packageDir, timeout: 60_000 }));
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      throw new Error(`node --test exited ${String(e.code)}:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: error });
    }
    expect(stdout).toMatch(new RegExp(`^# pass ${declared}$`, 'm'));
    expect(stdout).toMatch(/^# fail 0$/m);
    expect(stdout).toMatch(/^# skipped 0$/m);
    expect(stdout).toMatch(/^ok \d+ - error: a lost SSH connection \(exec throws GuestTransportError\) passes through, never a failure$/m);
  });

  it('type-checks (JSDoc, strict) against the published contract with its jsconfig.json', async () => {
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await execFileAsync(process.execPath, [tsc, '-p', 'jsconfig.json'], { cwd: installed.packageDir, timeout: 120_000 }).catch((error: { stdout?: string; code?: number }) => {
      throw new Error(`tsc -p jsconfig.json exited ${String(error.code)}:\n${error.stdout ?? ''}`);
    });
    expect(result.stdout).toBe('');
  }, 120_000);

  const expectExampleSuite = (suite: Suite) => {
    expect(suite.id).toBe(exampleSuiteId);
    expect(suite.apiVersion).toBe(SUITE_API_VERSION);
    expect(suite.requires).toEqual({ guests: { count: 1, placement: 'any', sharing: 'shared', firmwareMatrix: 'first' } });
    expect(suite.checks.map((c) => c.id)).toEqual(CHECK_IDS);
    expect(suite.checks.map((c) => c.severity)).toEqual(['must', 'must', 'should']);
  };

  it("loads through imgtest's loader by package name from the project folder, and by path from anywhere", async () => {
    expectExampleSuite(await loadSuite(exampleSuitePackage, installed.dir));
    expectExampleSuite(await loadSuite(installed.modulePath, repoRoot));
    expectExampleSuite(await loadSuite(`./node_modules/${exampleSuitePackage}/index.js`, installed.dir));
  });

  it('runs against the project’s own fake guest: pass on Debian 12 values, fail on a wrong one, error on a lost connection or a non-zero exit', async () => {
    const suite = await loadSuite(installed.modulePath, repoRoot);
    const sysctl = (key: string) => `/usr/sbin/sysctl -n ${key}`;
    const debian = { [sysctl('kernel.dmesg_restrict')]: '1\n', [sysctl('kernel.unprivileged_bpf_disabled')]: '2\n', [sysctl('net.ipv4.tcp_syncookies')]: '1\n' };
    const outcomes = [];
    for (const check of suite.checks) outcomes.push((await check.run(fakeContext([fakeGuest({ exec: debian })]))).status);
    expect(outcomes).toEqual(['pass', 'pass', 'pass']);

    const [dmesg] = suite.checks;
    const wrong = await dmesg!.run(fakeContext([fakeGuest({ exec: { ...debian, [sysctl('kernel.dmesg_restrict')]: '0\n' } })]));
    expect(wrong).toMatchObject({ status: 'fail', message: 'kernel.dmesg_restrict is 0, expected 1' });
    const dropped = new GuestTransportError(
      'SSH to cloud@10.78.0.11: the connection was closed by the remote host before `/usr/sbin/sysctl -n kernel.dmesg_restrict` returned its exit status',
      '10.78.0.11',
      'closed',
    );
    const lost = fakeGuest({ exec: { [sysctl('kernel.dmesg_restrict')]: dropped } });
    await expect(dmesg!.run(fakeContext([lost]))).rejects.toBe(dropped);
    const refused = fakeGuest({ exec: { [sysctl('kernel.dmesg_restrict')]: { exitCode: 255, stderr: 'sysctl: something went wrong\n' } } });
    await expect(dmesg!.run(fakeContext([refused]))).rejects.toThrow(/cannot read kernel\.dmesg_restrict: .* ended with exit 255: sysctl: something went wrong$/);
    await expect(dmesg!.run(fakeContext([fakeGuest({ exec: debian })], { expected: { 'kernel.dmesg_restrict': 'one' } }))).rejects.toThrow(
      'suite hello-sysctl: option expected.kernel.dmesg_restrict: must be an integer, a non-empty list of integers, or null, got string "one"',
    );
  });
});
