/**
 * The fixture build's contract, without building anything: cache keys follow the recipe files,
 * a cached image is reused without building anything, and the README documents every check id.
 * Works on a copy of fixtures/ with a temp cache, so the real cache and fixtures/out are untouched.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/util/exec.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGES = [
  'debian-11-clean',
  'debian-12-bios-only',
  'debian-12-btrfs',
  'debian-12-clean',
  'debian-12-flawed',
  'debian-12-gfxterm',
  'debian-12-lvm',
  'debian-12-minimal',
  'debian-12-uefi-unsigned',
  'debian-13-clean',
  'debian-13-flawed',
];
/** Recipes of another release (IMAGE_SUITE, lib/suite.sh) and their suite. */
const SUITE_IMAGES = { 'debian-11-clean': 'bullseye', 'debian-13-clean': 'trixie' } as const;
const CHECK_IDS = [
  'hyg-ssh-host-keys',
  'hyg-machine-id',
  'hyg-password-hashes',
  'hyg-shell-history',
  'hyg-cloud-init-state',
  'hyg-authorized-keys',
  'hyg-dhcp-leases',
  'hyg-mac-bound-network',
  'hyg-swap',
  'hyg-hostname',
  'ssh-password-auth',
  'ssh-kbdinteractive-auth',
  'ssh-root-login',
  'ssh-weak-ciphers',
  'ssh-weak-macs',
  'ssh-weak-kex',
  'pkg-forbidden',
  'pkg-integrity',
  'ci-password-login-rejected',
  'ci-root-login-denied',
];

let dir: string;
let cache: string;

async function list(env: Record<string, string> = {}): Promise<Record<string, { file: string; state: string }>> {
  const { stdout } = await run('bash', [join(dir, 'fixtures', 'build.sh'), '--list'], { env: { IMGTEST_FIXTURE_CACHE: cache, ...env } });
  const out: Record<string, { file: string; state: string }> = {};
  for (const line of stdout.split('\n').filter(Boolean)) {
    const [name, file, state] = line.trim().split(/\s+/);
    out[name!] = { file: file!, state: state! };
  }
  return out;
}

// Each test runs build.sh over every recipe several times: seconds on a quiet machine, more beside booting guests.
describe('fixtures/build.sh cache contract', { timeout: 120_000 }, () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'imgtest-fixtures-unit-'));
    cache = join(dir, 'cache');
    for (const part of ['build.sh', 'lib', 'images', 'rootfs.packages', 'rootfs-bullseye.packages', 'rootfs-trixie.packages', 'README.md']) {
      cpSync(join(repoRoot, 'fixtures', part), join(dir, 'fixtures', part), { recursive: true });
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists every image with a cache key, all missing in an empty cache', async () => {
    const l = await list();
    expect(Object.keys(l).sort()).toEqual(IMAGES);
    for (const name of IMAGES) {
      expect(l[name]!.file).toMatch(new RegExp(`^${name}-[0-9a-f]{16}\\.qcow2$`));
      expect(l[name]!.state).toBe('missing');
    }
  });

  it('reuses cached images without building anything and links them from fixtures/out', async () => {
    const l = await list();
    await run('mkdir', ['-p', cache]);
    for (const name of IMAGES) writeFileSync(join(cache, l[name]!.file), 'cached');
    // What it did, not how long it took (a loaded machine makes any time limit flaky).
    const built = await run('bash', [join(dir, 'fixtures', 'build.sh')], { env: { IMGTEST_FIXTURE_CACHE: cache } });
    const log = built.stdout + built.stderr;
    for (const name of IMAGES) expect(log).toContain(`${name}: cached ${l[name]!.file}`);
    expect(log).not.toMatch(/mmdebstrap|compressing/);
    for (const name of IMAGES) {
      const link = join(dir, 'fixtures', 'out', `${name}.qcow2`);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readlinkSync(link)).toBe(join(cache, l[name]!.file));
      expect(readFileSync(link, 'utf8')).toBe('cached');
    }
    expect(Object.values(await list()).every((e) => e.state === 'cached')).toBe(true);
  });

  it('a recipe change re-keys that image only', async () => {
    const before = await list();
    appendFileSync(join(dir, 'fixtures', 'images', 'debian-12-flawed.sh'), '\n# changed\n');
    const after = await list();
    expect(after['debian-12-flawed']!.file).not.toBe(before['debian-12-flawed']!.file);
    for (const name of IMAGES.filter((n) => n !== 'debian-12-flawed')) expect(after[name]!.file).toBe(before[name]!.file);
  });

  it.each(['lib/common.sh', 'lib/rootfs.sh', 'rootfs.packages', 'build.sh'])('a change to %s re-keys every image', async (file) => {
    const before = await list();
    appendFileSync(join(dir, 'fixtures', file), '\n# changed\n');
    const after = await list();
    for (const name of IMAGES) expect(after[name]!.file).not.toBe(before[name]!.file);
  });

  /** Sources a recipe as build_image_uncached does (after the libraries), without building. */
  async function sourceRecipe(name: string, after = '') {
    const script = `set -euo pipefail; FIXTURES_DIR=$1; source "$FIXTURES_DIR/lib/common.sh"; source "$FIXTURES_DIR/lib/rootfs.sh"; source "$FIXTURES_DIR/images/$2.sh"; ${after}`;
    return run('bash', ['-c', script, 'bash', join(dir, 'fixtures'), name], { allowFailure: true });
  }

  it.each(Object.entries(SUITE_IMAGES))('%s pins the hash of lib/suite.sh and its package list, and builds its own %s rootfs', async (name, suite) => {
    const r = await sourceRecipe(name, 'echo "$ROOTFS_SUITE $(rootfs_key) $(rootfs_packages_csv)"');
    expect(r.exitCode, r.stderr).toBe(0);
    const [rootfsSuite, key, csv] = r.stdout.trim().split(' ');
    expect(rootfsSuite).toBe(suite);
    expect(key).toMatch(new RegExp(`^${suite}-[0-9a-f]{16}$`));
    expect(csv).toContain('openssh-server,');
    expect(csv).toContain('cloud-guest-utils');
    expect(csv).toContain('systemd-timesyncd');
    // The bookworm rootfs key (what the five Debian 12 images extract) is not the suite's.
    const bookworm = await run('bash', ['-c', 'FIXTURES_DIR=$1; source "$1/lib/common.sh"; source "$1/lib/rootfs.sh"; rootfs_key', 'bash', join(dir, 'fixtures')]);
    expect(bookworm.stdout.trim()).toMatch(/^[0-9a-f]{16}$/);
  });

  it.each(Object.entries(SUITE_IMAGES))('%s: a change to rootfs-%s.packages stops its build until the recipe pin (its key) is updated', async (name, suite) => {
    const before = await list();
    appendFileSync(join(dir, 'fixtures', `rootfs-${suite}.packages`), '\n# changed\n');
    const r = await sourceRecipe(name);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`lib/suite.sh or rootfs-${suite}.packages changed: set IMAGE_SUITE_INPUTS=[0-9a-f]{16} in the recipe`));
    const pin = /IMAGE_SUITE_INPUTS=([0-9a-f]{16})/.exec(r.stderr)![1]!;
    const recipe = join(dir, 'fixtures', 'images', `${name}.sh`);
    writeFileSync(recipe, readFileSync(recipe, 'utf8').replace(/^IMAGE_SUITE_INPUTS=.*$/m, `IMAGE_SUITE_INPUTS=${pin}`));
    expect((await sourceRecipe(name)).exitCode).toBe(0);
    const after = await list();
    for (const n of IMAGES) expect(after[n]!.file === before[n]!.file, n).toBe(n !== name);
  });

  it('debian-13-flawed sources debian-12-flawed.sh: a change there stops its build until its pin (its key) is updated', async () => {
    const flawed = join(dir, 'fixtures', 'images', 'debian-12-flawed.sh');
    const recipe = join(dir, 'fixtures', 'images', 'debian-13-flawed.sh');
    const pinOf = () => createHash('sha256').update(readFileSync(flawed)).digest('hex').slice(0, 16);
    const setPin = (pin: string) => writeFileSync(recipe, readFileSync(recipe, 'utf8').replace(/^FLAWED_RECIPE_INPUTS=.*$/m, `FLAWED_RECIPE_INPUTS=${pin}`));
    // Earlier tests changed debian-12-flawed.sh and rootfs-trixie.packages in this copy: pin what they are now.
    setPin(pinOf());
    const suiteInputs = createHash('sha256')
      .update(Buffer.concat([readFileSync(join(dir, 'fixtures', 'lib', 'suite.sh')), readFileSync(join(dir, 'fixtures', 'rootfs-trixie.packages'))]))
      .digest('hex')
      .slice(0, 16);
    writeFileSync(recipe, readFileSync(recipe, 'utf8').replace(/^IMAGE_SUITE_INPUTS=.*$/m, `IMAGE_SUITE_INPUTS=${suiteInputs}`));
    const ok = await sourceRecipe('debian-13-flawed', 'declare -F image_customize flawed_dhcp_lease check_sshd_config >/dev/null && echo "$IMAGE_LAYOUT $ROOTFS_SUITE $FLAWED_HOSTNAME"');
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe('gpt-hybrid trixie build-vm-01');
    const before = await list();
    appendFileSync(flawed, '\n# another defect\n');
    const r = await sourceRecipe('debian-13-flawed');
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain(`images/debian-12-flawed.sh changed: set FLAWED_RECIPE_INPUTS=${pinOf()} in images/debian-13-flawed.sh`);
    setPin(pinOf());
    expect((await sourceRecipe('debian-13-flawed')).exitCode).toBe(0);
    const after = await list();
    for (const n of IMAGES) expect(after[n]!.file === before[n]!.file, n).toBe(n !== 'debian-12-flawed' && n !== 'debian-13-flawed');
  });

  it('the qcow2 compression setting is part of the key', async () => {
    const zlib = await list();
    const zstd = await list({ IMGTEST_QCOW2_COMPRESSION: 'zstd' });
    for (const name of IMAGES) expect(zstd[name]!.file).not.toBe(zlib[name]!.file);
  });

  it('refuses an unknown image name', async () => {
    const r = await run('bash', [join(dir, 'fixtures', 'build.sh'), 'debian-99'], { env: { IMGTEST_FIXTURE_CACHE: cache }, allowFailure: true });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("unknown image 'debian-99'");
  });
});

describe('fixtures/README.md', () => {
  const readme = readFileSync(join(repoRoot, 'fixtures', 'README.md'), 'utf8');

  it('has a defect table row for every check id', () => {
    for (const id of CHECK_IDS) expect(readme, id).toMatch(new RegExp(`^\\| \`${id}\` \\|`, 'm'));
  });

  it('describes every image recipe', () => {
    for (const name of IMAGES) expect(readme).toContain(`\`${name}\``);
  });
});
