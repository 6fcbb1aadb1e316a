#!/usr/bin/env node
// `npm run bench`: what the default run costs compared with booting one guest, from one invocation.
// 1. runs `imgtest run <clean image>` exactly as a user does (no flags: all suites, auto firmware,
//    auto accelerator, default deadlines) and records its wall time and the guests it booted;
// 2. boots ONE guest of the same image alone on the first lab host, with the firmware the run
//    preferred and the accelerator the run's guests ended up on (KVM, or TCG after a fallback),
//    power-on to cloud-init done;
// 3. prints the guest count, both times, their ratio, and the live-migration figures of the run.
// Figures to compare between runs, never asserted. Run it on a quiet machine: TCG shares the cores.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { labUp, labHosts } = await import(join(root, 'dist/src/lab/index.js'));
const { LibvirtHost } = await import(join(root, 'dist/src/hosts/libvirt-host.js'));
const { bootGuest } = await import(join(root, 'dist/src/runner/guest-boot.js'));
const { bootLimits } = await import(join(root, 'dist/src/runner/boot-watch.js'));
const { CleanupRegistry } = await import(join(root, 'dist/src/runner/cleanup.js'));

execFileSync('bash', [join(root, 'fixtures/build.sh'), 'debian-12-clean'], { stdio: 'inherit' });
const image = join(root, 'fixtures/out/debian-12-clean.qcow2');
await labUp({ log: () => {} });

// 1. The default run.
const reportDir = join(root, 'reports', 'bench');
const started = Date.now();
const run = spawnSync('node', [join(root, 'bin/imgtest.js'), 'run', image, '--report-dir', reportDir], { stdio: ['ignore', 'inherit', 'inherit'] });
const wall = (Date.now() - started) / 1000;
const result = JSON.parse(readFileSync(join(realpathSync(join(reportDir, 'latest')), 'results.json'), 'utf8'));
const guests = new Map();
for (const suite of result.suites) for (const g of suite.guests) guests.set(g.name, g);
const accels = new Set([...guests.values()].map((g) => g.accel).filter(Boolean));
const accel = accels.has('tcg') ? 'tcg' : 'kvm';
const firmware = result.firmware.split('-> ')[1]?.split(',')[0]?.trim() || 'uefi';

// 2. One guest, alone, with the same accelerator and the run's preferred firmware.
const lab = labHosts()[0];
const host = new LibvirtHost({ name: lab.name, uri: lab.uri, migrationUri: lab.migrationUri, pool: lab.pool, network: { bridge: 'brg' } });
const workDir = mkdtempSync(join(tmpdir(), 'imgtest-bench-'));
const cleanup = new CleanupRegistry();
const runId = `bench${Date.now().toString(36)}`;
const virtType = accel === 'kvm' ? 'kvm' : 'qemu';
let single;
try {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(workDir, 'key')]);
  const base = `imgtest-${runId}-base.qcow2`;
  cleanup.add('base', () => host.deleteVolume(base));
  await host.uploadVolume(base, image);
  const facts = await host.facts();
  const guest = await bootGuest({
    runId,
    key: 'g1',
    host,
    hostInfo: { name: host.name, uri: lab.uri, migrationUri: lab.migrationUri },
    firmware,
    virtType,
    baseVolume: base,
    baseFormat: 'qcow2',
    overlayBytes: 4 * 2 ** 30,
    memoryMiB: 1024,
    vcpus: 1,
    user: 'imgtest',
    publicKey: readFileSync(join(workDir, 'key.pub'), 'utf8').trim(),
    privateKeyFile: join(workDir, 'key'),
    workDir,
    limits: bootLimits({ virtType, guestsOnHost: 1, hostCpus: facts.cpus ?? 1 }),
    cleanup,
    keep: false,
    onState: (state, detail) => console.log(`  single guest: ${state} ${detail ?? ''}`),
  });
  single = guest.bootSeconds;
} finally {
  await cleanup.runAll();
  rmSync(workDir, { recursive: true, force: true });
}

console.log(`\nbenchmark (${accel.toUpperCase()}, ${result.hosts.length} hosts)`);
console.log(`  image                  ${result.image.name} (sha256 ${result.image.sha256.slice(0, 12)}), firmware ${result.firmware}`);
console.log(`  guests booted          ${guests.size}`);
console.log(`  default run, ${result.suites.length} suite runs, wall time: ${wall.toFixed(1)} s (exit ${run.status}, ${result.verdict})`);
console.log(`  one guest alone, power-on to cloud-init done (${firmware}): ${single} s`);
console.log(`  ratio run / one boot:  ${(wall / single).toFixed(2)}`);
for (const g of guests.values()) console.log(`  run guest              ${g.name} on ${g.host} (${g.firmware}, ${g.accel ?? '?'}): ${g.bootSeconds ?? '-'} s to ready`);
for (const suite of result.suites)
  console.log(
    `  suite                  ${suite.suiteId}${suite.firmware ? ` [${suite.firmware}]` : ''}: ${(suite.durationMs / 1000).toFixed(1)} s incl. waiting for guests, ${suite.cases.length} checks`,
  );
const migration = result.suites.find((s) => s.suiteId === 'live-migration');
if (migration) {
  console.log('\nlive migration (in the default run)');
  for (const [key, value] of Object.entries(migration.properties ?? {})) console.log(`  ${key.padEnd(36)} ${value}`);
}
