/**
 * image-hygiene on the real fixture images, offline: one read-only libguestfs appliance per image
 * (TCG; ~30-60 s each), no VM booted. The suite's checks run directly with a minimal CheckContext
 * (image from the runner's inspectImage, artifacts into a temp folder, a memo map), the way the
 * runner calls them.
 *
 * On debian-12-flawed every planted hyg-* defect (fixtures/README.md) fails with a message naming
 * it and nothing else fails; on debian-12-clean and debian-12-bios-only every check passes; on
 * debian-12-gfxterm only hyg-headless-console fails (GRUB's gfxterm); a disk without an OS makes every
 * snapshot check throw "no operating system found"; the image files' sha256 never changes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectImage, sha256File } from '../../src/image/inspect.js';
import type { CheckContext, CheckOutcome, ImageInfo } from '../../src/suite-api/index.js';
import suite, { SNAPSHOT_MEMO_KEY } from '../../suites/image-hygiene/index.js';
import type { HygieneSnapshot } from '../../suites/image-hygiene/snapshot.js';
import { e2eSkipReason, fixture } from './helpers.js';

const canRun = e2eSkipReason(['/usr/bin/guestfish', '/usr/bin/qemu-img']) === '';

/** The runner's own view of the image (read-only), as the suite gets it in a real run. */
async function imageInfo(path: string): Promise<ImageInfo> {
  return inspectImage(realpathSync(path));
}

interface SuiteRun {
  results: Record<string, CheckOutcome | Error>;
  snapshot?: HygieneSnapshot;
  ms: number;
  log: string[];
}

/** Runs every check in order, like the runner: one context per check, one memo for the suite. */
async function runSuite(image: ImageInfo, artifactDir: string, options: Record<string, unknown> = {}): Promise<SuiteRun> {
  const memo = new Map<string, Promise<unknown>>();
  const log: string[] = [];
  const results: SuiteRun['results'] = {};
  const started = Date.now();
  for (const check of suite.checks) {
    const context: CheckContext = {
      image,
      guests: [],
      bootFailures: [],
      hosts: [],
      options,
      timeServers: [],
      signal: new AbortController().signal,
      log: (line) => log.push(line),
      property: () => undefined,
      memo<T>(key: string, compute: () => Promise<T>) {
        if (!memo.has(key)) memo.set(key, compute());
        return memo.get(key) as Promise<T>;
      },
      artifacts: {
        async write(fileName, content) {
          await mkdir(artifactDir, { recursive: true });
          const path = join(artifactDir, fileName);
          await writeFile(path, content);
          return path;
        },
        attach: () => undefined,
      },
    };
    try {
      results[check.id] = await check.run(context);
    } catch (error) {
      results[check.id] = error as Error;
    }
  }
  const snapshot = memo.has(SNAPSHOT_MEMO_KEY) ? await (memo.get(SNAPSHOT_MEMO_KEY) as Promise<HygieneSnapshot>).catch(() => undefined) : undefined;
  return { results, snapshot, ms: Date.now() - started, log };
}

function summary(run: SuiteRun): string {
  return Object.entries(run.results)
    .map(([id, r]) => (r instanceof Error ? `${id}: ERROR ${r.message}` : `${id}: ${r.status} - ${r.message}`))
    .join('\n');
}

function timing(name: string, run: SuiteRun): string {
  const t = run.snapshot?.timings;
  return t
    ? `${name}: suite ${(run.ms / 1000).toFixed(1)} s; appliance session ${(t.totalMs / 1000).toFixed(1)} s (launch ${(t.launchMs / 1000).toFixed(1)} s, ` +
        `inspection ${(t.inspectMs / 1000).toFixed(1)} s, collection ${(t.collectMs / 1000).toFixed(1)} s, ${t.commands} commands, ` +
        `${Object.keys(run.snapshot!.entries).length} paths)`
    : `${name}: suite ${(run.ms / 1000).toFixed(1)} s (no snapshot)`;
}

/** The defects debian-12-flawed carries (fixtures/images/debian-12-flawed.sh), and what each message must name. */
const PLANTED: Record<string, RegExp[]> = {
  'hyg-ssh-host-keys': [/ssh_host_\w+_key/, /ed25519/],
  'hyg-machine-id': [/\/etc\/machine-id is set \(3f6c0d5e/, /\/var\/lib\/dbus\/machine-id/],
  'hyg-password-hashes': [/password hashes for .*root/, /builder/],
  'hyg-shell-history': [/\/root\/\.bash_history/, /\/home\/builder\/\.bash_history/],
  'hyg-cloud-init-state': [/i-0b1d000000build01/, /\/var\/log\/cloud-init\.log/],
  'hyg-authorized-keys': [/\/root\/\.ssh\/authorized_keys/, /\/home\/builder\/\.ssh\/authorized_keys/],
  'hyg-dhcp-leases': [/\/var\/lib\/dhcp\/dhclient\.eth0\.leases/, /192\.168\.122\.57/],
  'hyg-mac-bound-network': [/52:54:00:b1:1d:01/, /70-persistent-net\.rules/],
  'hyg-swap': [/\/swapfile/, /fstab/],
  'hyg-hostname': [/build-vm-01/],
};

// Configured forbidden paths: present in flawed only.
const OPTIONS = { forbiddenPaths: ['/root/.ssh/authorized_keys', '/etc/ssh/ssh_host_*_key'] };

describe.skipIf(!canRun)('image-hygiene offline on the fixture images', () => {
  const images: Record<string, ImageInfo> = {};
  const runs: Record<string, SuiteRun> = {};
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'imgtest-hyg-e2e-'));
    for (const name of ['debian-12-clean', 'debian-12-flawed', 'debian-12-bios-only', 'debian-12-gfxterm']) images[name] = await imageInfo(await fixture(name));
    // The four appliances at once (one vCPU each, TCG): test files run one at a time, so nothing else
    // wants the two cores, and the appliances' boots overlap their waits.
    await Promise.all(
      Object.keys(images).map(async (name) => {
        runs[name] = await runSuite(images[name]!, join(work, name), OPTIONS);
        console.log(timing(name, runs[name]!));
      }),
    );
  }, 45 * 60_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('debian-12-flawed: every planted defect fails with a message naming it', () => {
    const run = runs['debian-12-flawed']!;
    for (const [id, mentions] of Object.entries(PLANTED)) {
      const outcome = run.results[id]!;
      expect(outcome, `${id}\n${summary(run)}`).not.toBeInstanceOf(Error);
      const o = outcome as CheckOutcome;
      expect(o.status, `${id}: ${o.message}`).toBe('fail');
      for (const m of mentions) expect(o.message, id).toMatch(m);
      expect(o.evidence, id).toBeTruthy();
    }
    const forbidden = run.results['hyg-forbidden-paths'] as CheckOutcome;
    expect(forbidden.status).toBe('fail');
    expect(forbidden.message).toMatch(/\/root\/\.ssh\/authorized_keys/);
    // Nothing beyond the planted defects fails, and no hash leaks into any message or evidence.
    for (const id of ['hyg-image-file', 'hyg-apt-caches', 'hyg-tmp-files', 'hyg-headless-console']) expect((run.results[id] as CheckOutcome).status, `${id}\n${summary(run)}`).toBe('pass');
    expect(JSON.stringify(run.results)).not.toContain('$6$');
    expect(JSON.stringify(run.snapshot)).not.toContain('$6$');
  });

  it('debian-12-clean: every hyg-* check passes', () => {
    const run = runs['debian-12-clean']!;
    const bad = Object.entries(run.results).filter(([, r]) => r instanceof Error || r.status !== 'pass');
    expect(
      bad.map(([id]) => id),
      summary(run),
    ).toEqual([]);
    expect(run.snapshot!.os).toMatchObject({ type: 'linux', distro: 'debian', version: '12' });
    for (const path of Object.keys(run.snapshot!.entries)) expect(path).toMatch(/^\/(?!.*\/\/)(?!.*\/$)/);
    expect(run.snapshot!.entries['/var/lib/dbus/machine-id']).toMatchObject({ type: 'symlink', target: '/etc/machine-id' });
    // Both boot paths were read: extlinux in the root, and Debian's grub.cfg on the ESP (mounted after the root).
    const headless = run.results['hyg-headless-console'] as CheckOutcome;
    expect(headless.message).toContain('/boot/extlinux/extlinux.conf');
    expect(headless.evidence).toContain('/boot/extlinux/extlinux.conf: SERIAL 0 115200; console=ttyS0,115200n8');
    expect(headless.evidence).toContain('ESP:/EFI/debian/grub.cfg: terminal_output serial console; console=ttyS0,115200n8');
  });

  it('debian-12-gfxterm: hyg-headless-console fails naming gfxterm in /boot/grub/grub.cfg; every other check passes', () => {
    const run = runs['debian-12-gfxterm']!;
    const headless = run.results['hyg-headless-console']!;
    expect(headless, summary(run)).not.toBeInstanceOf(Error);
    const o = headless as CheckOutcome;
    expect(o.status, o.message).toBe('fail');
    expect(o.message).toContain("/boot/grub/grub.cfg:21: terminal_output gfxterm (GRUB draws on a display; with no display adapter it never gets past 'Welcome to GRUB!')");
    expect(o.message).toContain('/etc/default/grub: GRUB_TERMINAL and GRUB_TERMINAL_OUTPUT unset');
    // The kernel line is fine: the finding is the terminal, not the command line.
    expect(o.message).not.toContain('console=ttyS0 (or ttyS1');
    expect(o.evidence).toContain('/boot/grub/grub.cfg: terminal_output gfxterm; console=ttyS0,115200n8');
    expect(run.snapshot!.esps).toBeUndefined(); // BIOS only: no FAT filesystem
    const bad = Object.entries(run.results).filter(([id, r]) => id !== 'hyg-headless-console' && (r instanceof Error || r.status !== 'pass'));
    expect(
      bad.map(([id]) => id),
      summary(run),
    ).toEqual([]);
  });

  it('debian-12-bios-only (MBR, one ext4 partition): every hyg-* check passes', () => {
    const run = runs['debian-12-bios-only']!;
    const bad = Object.entries(run.results).filter(([, r]) => r instanceof Error || r.status !== 'pass');
    expect(
      bad.map(([id]) => id),
      summary(run),
    ).toEqual([]);
    expect(run.snapshot!.mounts).toEqual([{ mountpoint: '/', device: '/dev/sda1' }]);
  });

  it('reads the image files without changing a byte', async () => {
    for (const image of Object.values(images)) expect(await sha256File(image.path), image.path).toBe(image.sha256);
  });

  it(
    'a disk without an operating system: every snapshot check throws "no operating system found"',
    async () => {
      const blank = join(work, 'blank.qcow2');
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', blank, '1G']);
      const image = await imageInfo(blank);
      const run = await runSuite(image, join(work, 'blank'));
      console.log(timing('blank disk', run));
      expect((run.results['hyg-image-file'] as CheckOutcome).status).toBe('pass');
      for (const check of suite.checks.filter((c) => c.id !== 'hyg-image-file')) {
        const r = run.results[check.id];
        expect(r, check.id).toBeInstanceOf(Error);
        expect((r as Error).message).toMatch(/^offline inspection of blank failed: no operating system found in the image/);
        expect((r as Error).message).not.toContain('\n');
      }
      expect(await sha256File(blank)).toBe(image.sha256);
    },
    10 * 60_000,
  );
});
