#!/usr/bin/env node
// Measures a full run on the clean fixture: wall time, per-guest boot time, per-suite time.
// Prints one table; nothing here asserts (timings are figures to compare between runs, not tests).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const image = process.argv[2] ?? join(root, 'fixtures/out/debian-12-clean.qcow2');
const suites = process.argv.slice(3);
execFileSync('bash', [join(root, 'fixtures/build.sh'), 'debian-12-clean'], { stdio: 'inherit' });
const reportDir = join(root, 'reports', 'bench');
const started = Date.now();
const run = spawnSync('node', [join(root, 'bin/imgtest.js'), 'run', image, '--report-dir', reportDir, ...suites.flatMap((s) => ['--suite', s])], { stdio: ['ignore', 'inherit', 'inherit'] });
const wall = (Date.now() - started) / 1000;
const result = JSON.parse(readFileSync(join(realpathSync(join(reportDir, 'latest')), 'results.json'), 'utf8'));
console.log('\nbenchmark');
console.log(`  image           ${result.image.name} (${result.image.sha256.slice(0, 12)})`);
console.log(`  exit code       ${run.status}`);
console.log(`  wall time       ${wall.toFixed(1)} s`);
const guests = new Map();
for (const suite of result.suites) for (const g of suite.guests) guests.set(g.name, g);
for (const g of guests.values()) console.log(`  guest boot      ${g.name} on ${g.host} (${g.firmware}): ${g.bootSeconds ?? '-'} s`);
for (const suite of result.suites) console.log(`  suite           ${suite.suiteId}${suite.firmware ? ` [${suite.firmware}]` : ''}: ${(suite.durationMs / 1000).toFixed(1)} s, ${suite.cases.length} checks`);
