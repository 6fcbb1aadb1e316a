/**
 * What a user sees from the built CLI when suite options or --check/--skip are wrong: the lines, exit 2,
 * and nothing done (no report folder). The image does not exist and the hosts cannot answer, so a run
 * that got past these checks would print something else: these refusals must come first.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const built = existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js'));
const HOSTS = 'hosts:\n  - name: hv1\n    uri: qemu+tcp://127.0.0.1:1/system\n  - name: hv2\n    uri: qemu+tcp://127.0.0.1:2/system\n';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgtest-cli-refusals-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'node',
      [join(repoRoot, 'bin', 'imgtest.js'), 'run', join(dir, 'no-such-image.qcow2'), '--report-dir', join(dir, 'reports'), ...args],
      { cwd: dir, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

async function config(name: string, suites: string): Promise<string> {
  await writeFile(join(dir, name), `${HOSTS}suites:\n${suites}`);
  return name;
}

describe.skipIf(!built)('imgtest run refuses before anything is done', () => {
  it('a bad option type: one line naming file, line and field; exit 2', async () => {
    const result = await run(['--config', await config('bad-type.yaml', '  ssh-hardening:\n    maxAuthTries: "x"\n')]);
    expect(result.stderr).toBe('imgtest: bad-type.yaml:8: suites.ssh-hardening.maxAuthTries: Invalid input: expected number, received string [E_CONFIG]\n');
    expect(result.code).toBe(2);
    expect(existsSync(join(dir, 'reports'))).toBe(false);
  });

  it('an unknown suite id, with the known ones; every problem on its own line', async () => {
    const result = await run(['--config', await config('ids.yaml', '  ssh-hardenning: {}\n  live-migration:\n    legs: 9\n')]);
    expect(result.stderr.split('\n')).toEqual([
      expect.stringMatching(
        /^imgtest: ids\.yaml:7: suites\.ssh-hardenning: unknown suite \(known: image-hygiene, cloud-init-auth, ssh-hardening, package-audit, uefi-boot, live-migration\b.*\) \[E_CONFIG\]$/,
      ),
      'imgtest: ids.yaml:9: suites.live-migration.legs: Too big: expected number to be <=4 [E_CONFIG]',
      '',
    ]);
    expect(result.code).toBe(2);
  });

  it("--skip '*': one line, exit 2", async () => {
    const result = await run(['--config', await config('good.yaml', '  ssh-hardening: {}\n'), '--skip', '*']);
    expect(result.stderr).toMatch(/^imgtest: no check selected: --skip \* leaves none of the \d+ checks of the \d+ suites \(image-hygiene, .*\) to run \[E_USAGE\]\n$/);
    expect(result.code).toBe(2);
    expect(existsSync(join(dir, 'reports'))).toBe(false);
  });

  it('--tag matching no check of the suite: one line naming the flag, exit 2', async () => {
    const result = await run(['--config', 'good.yaml', '--suite', 'ssh-hardening', '--tag', 'firmware']);
    expect(result.stderr).toMatch(/^imgtest: no check selected: --tag firmware leaves none of the \d+ checks of suite ssh-hardening to run \[E_USAGE\]\n$/);
    expect(result.code).toBe(2);
    const excluded = await run(['--config', 'good.yaml', '--suite', 'uefi-boot', '--exclude-tag', 'boot']);
    expect(excluded.stderr).toBe('imgtest: no check selected: --exclude-tag boot leaves none of the 6 checks of suite uefi-boot to run [E_USAGE]\n');
    expect(existsSync(join(dir, 'reports'))).toBe(false);
  });

  it('a bad waiver file: one line naming file, line and field, exit 2; the config names one relative to itself, --waivers wins', async () => {
    await writeFile(join(dir, 'waivers.yaml'), 'waivers:\n  - check: ssh-weak-macs\n    reason: stock MACs\n    expires: 2027-02-30\n');
    const flag = await run(['--config', 'good.yaml', '--waivers', 'waivers.yaml']);
    expect(flag.stderr).toBe('imgtest: waivers.yaml:4: waivers[0].expires: 2027-02-30 is no day of the calendar [E_CONFIG]\n');
    expect(flag.code).toBe(2);
    await mkdir(join(dir, 'ci'), { recursive: true });
    await writeFile(join(dir, 'ci', 'imgtest.yaml'), `${HOSTS}waivers: known.yaml\n`);
    await writeFile(join(dir, 'ci', 'known.yaml'), 'waivers:\n  - check: hyg-swap\n    reason: ""\n');
    const fromConfig = await run(['--config', join('ci', 'imgtest.yaml')]);
    expect(fromConfig.stderr).toBe(`imgtest: ${join('ci', 'known.yaml')}:3: waivers[0].reason: must not be empty: why this failure is accepted [E_CONFIG]\n`);
    expect(fromConfig.code).toBe(2);
    const missing = await run(['--config', join('ci', 'imgtest.yaml'), '--waivers', 'nowhere.yaml']);
    expect(missing.stderr).toBe('imgtest: nowhere.yaml: cannot read waiver file (ENOENT) [E_CONFIG]\n');
    expect(missing.code).toBe(2);
    expect(existsSync(join(dir, 'reports'))).toBe(false);
  });

  it('--suite with --check matching nothing in it', async () => {
    const result = await run(['--config', 'good.yaml', '--suite', 'uefi-boot', '--check', 'ssh-*']);
    expect(result.stderr).toBe('imgtest: no check selected: --check ssh-* leaves none of the 6 checks of suite uefi-boot to run [E_USAGE]\n');
    expect(result.code).toBe(2);
  });
});

describe.skipIf(!built)('imgtest suites', () => {
  it("ends each check's line with its tags (its suite's and its own)", async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile('node', [join(repoRoot, 'bin', 'imgtest.js'), 'suites'], { cwd: dir, timeout: 60_000 }, (error, out) => (error ? reject(error) : resolve(out)));
    });
    const line = (id: string) => stdout.split('\n').find((l) => l.trim().startsWith(`${id} `));
    expect(line('ssh-weak-macs')).toMatch(/^ {4}ssh-weak-macs +must +the server offers no weak MAC .*\) {2}\[security, ssh\]$/);
    expect(line('life-time-sync')).toMatch(/ {2}\[time\]$/);
    expect(line('hyg-swap')).toMatch(/ {2}\[hygiene, offline, storage\]$/);
  });
});
