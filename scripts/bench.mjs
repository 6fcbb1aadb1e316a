#!/usr/bin/env node
// `npm run bench`: what a run costs compared with booting one guest, and what live migration costs.
// 1. boots ONE guest of the clean image (UEFI) on the first lab host (power-on to SSH, TCG), alone;
// 2. runs `imgtest run` with the four image suites (image-hygiene, cloud-init-auth, ssh-hardening,
//    package-audit) on the same image, UEFI, TCG too, so both use one accelerator and one firmware;
// 3. prints both, their ratio, and the per-guest and per-suite figures of the run;
// 4. runs the live-migration suite (when it exists) and prints its per-leg figures.
// Figures to compare between runs, never asserted. Run it on a quiet machine: TCG shares the cores.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { labUp, labHosts } = await import(join(root, 'dist/src/lab/index.js'));
const { LibvirtHost } = await import(join(root, 'dist/src/hosts/libvirt-host.js'));
const { bootGuest } = await import(join(root, 'dist/src/runner/guest-boot.js'));
const { CleanupRegistry } = await import(join(root, 'dist/src/runner/cleanup.js'));

execFileSync('bash', [join(root, 'fixtures/build.sh'), 'debian-12-clean'], { stdio: 'inherit' });
const image = join(root, 'fixtures/out/debian-12-clean.qcow2');
await labUp({ log: () => {} });

// 1. One guest, alone.
const lab = labHosts()[0];
const host = new LibvirtHost({ name: lab.name, uri: lab.uri, migrationUri: lab.migrationUri, pool: lab.pool, network: { bridge: 'brg' } });
const workDir = mkdtempSync(join(tmpdir(), 'imgtest-bench-'));
const cleanup = new CleanupRegistry();
const runId = `bench${Date.now().toString(36)}`;
let single;
try {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(workDir, 'key')]);
  const base = `imgtest-${runId}-base.qcow2`;
  cleanup.add('base', () => host.deleteVolume(base));
  await host.uploadVolume(base, image);
  const guest = await bootGuest({
    runId, key: 'g1', host, hostInfo: { name: host.name, uri: lab.uri, migrationUri: lab.migrationUri }, firmware: 'uefi', virtType: 'qemu',
    baseVolume: base, baseFormat: 'qcow2', overlayBytes: 4 * 2 ** 30, memoryMiB: 1024, vcpus: 1, user: 'imgtest',
    publicKey: readFileSync(join(workDir, 'key.pub'), 'utf8').trim(), privateKeyFile: join(workDir, 'key'), workDir,
    bootTimeoutSeconds: 1200, cleanup, keep: false, onState: (state, detail) => console.log(`  single guest: ${state} ${detail ?? ''}`),
  });
  single = guest.bootSeconds;
} finally {
  await cleanup.runAll();
  rmSync(workDir, { recursive: true, force: true });
}

// 2. The full run.
const reportDir = join(root, 'reports', 'bench');
const started = Date.now();
const FOUR_SUITES = ['image-hygiene', 'cloud-init-auth', 'ssh-hardening', 'package-audit'];
const run = spawnSync('node', [join(root, 'bin/imgtest.js'), 'run', image, '--accel', 'tcg', '--firmware', 'uefi', '--suite', ...FOUR_SUITES, '--report-dir', reportDir], { stdio: ['ignore', 'inherit', 'inherit'] });
const wall = (Date.now() - started) / 1000;
const latestResult = () => JSON.parse(readFileSync(join(realpathSync(join(reportDir, 'latest')), 'results.json'), 'utf8'));
const result = latestResult();

console.log('\nbenchmark (TCG)');
console.log(`  image                  ${result.image.name} (sha256 ${result.image.sha256.slice(0, 12)})`);
console.log(`  one guest, power-on to SSH + cloud-init done: ${single} s`);
console.log(`  full run, ${result.suites.length} suites, wall time: ${wall.toFixed(1)} s (exit ${run.status})`);
console.log(`  ratio run / one boot:  ${(wall / single).toFixed(2)}`);
const guests = new Map();
for (const suite of result.suites) for (const g of suite.guests) guests.set(g.name, g);
for (const g of guests.values()) console.log(`  run guest              ${g.name} on ${g.host} (${g.firmware}): ${g.bootSeconds ?? '-'} s to ready`);
for (const suite of result.suites) console.log(`  suite                  ${suite.suiteId}${suite.firmware ? ` [${suite.firmware}]` : ''}: ${(suite.durationMs / 1000).toFixed(1)} s incl. waiting for guests, ${suite.cases.length} checks`);

// 4. Live migration, hv1 -> hv2 -> hv1, with the figures the suite records per leg.
const suiteIds = execFileSync('node', [join(root, 'bin/imgtest.js'), 'suites'], { encoding: 'utf8' });
if (/^live-migration\b/m.test(suiteIds)) {
  const migrationStarted = Date.now();
  const migration = spawnSync('node', [join(root, 'bin/imgtest.js'), 'run', image, '--accel', 'tcg', '--suite', 'live-migration', '--report-dir', reportDir], { stdio: ['ignore', 'inherit', 'inherit'] });
  const migrationWall = (Date.now() - migrationStarted) / 1000;
  const suite = latestResult().suites.find((s) => s.suiteId === 'live-migration');
  console.log(`\nlive migration (TCG): run wall time ${migrationWall.toFixed(1)} s (exit ${migration.status})`);
  for (const [key, value] of Object.entries(suite?.properties ?? {})) console.log(`  ${key.padEnd(36)} ${value}`);
}
