#!/usr/bin/env node
// `npm run matrix`: the user's default command, `imgtest run <image> --report-dir reports/matrix/<name>`
// (no other flags: all suites, auto firmware, auto accelerator, default deadlines), for each fixture
// image in MATRIX_IMAGES, one after the other; then a markdown table (image, exit code, guests, wall
// seconds, failed and error check ids, and whether that is what the image should give) written to
// reports/matrix/summary.md and printed. A clean image is expected to exit 0 with no `must` failure and
// no error; a flawed one (debian-13-flawed: debian-12-flawed's defects on trixie) to fail exactly the
// checks fixtures/README.md's "Planted defects" table names, with no error. The exit code is 0 when
// every image gave what it should.
//
//   npm run matrix                         # every image of the list (builds missing fixtures first)
//   node scripts/matrix.mjs debian-11-clean # some of them (after `npm run build`)
//
// It boots guests: hours under TCG on a small machine. Run it on a quiet machine, one at a time.
// The pure parts (summarize, renderTable) are exported for test/unit/matrix.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const MATRIX_IMAGES = [
  'debian-12-clean',
  'debian-12-bios-only',
  'debian-12-uefi-unsigned',
  'debian-12-gfxterm',
  'debian-12-minimal',
  'debian-11-clean',
  'debian-13-clean',
  'debian-13-flawed',
  'debian-12-lvm',
  'debian-12-btrfs',
];

/** Images that carry debian-12-flawed's planted defects; every other matrix image is clean. */
export const FLAWED_IMAGES = ['debian-12-flawed', 'debian-13-flawed'];

/**
 * The check ids fixtures/README.md's "Planted defects" table names (one row per defect), plus
 * `ssh-root-login-no`, the `should` check listed under the table that shares `ssh-root-login`'s
 * defect. A run with a vulnerability feed adds `pkg-vulnerabilities`; the default run has none.
 */
export function plantedDefectChecks(fixturesReadme) {
  const section = fixturesReadme.split('## Planted defects')[1]?.split('\n## ')[0];
  if (!section) throw new Error('fixtures/README.md has no "## Planted defects" section');
  const rows = [...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
  return new Set([...rows, 'ssh-root-login-no']);
}

/**
 * Whether a row is what its image should give: `expected` undefined for a clean image (exit 0, no
 * `must` failure, no error), or the set of check ids a flawed one must fail (exit 1, exactly those
 * failed, whatever their severity, no error). Returns '' when it is, else what differs.
 */
export function unexpected(row, expected) {
  const problems = [];
  if (row.note === 'no results.json') return 'no results.json';
  if (row.errors.length) problems.push(`errors: ${row.errors.join(', ')}`);
  const failedIds = row.failed.map((id) => id.replace(/ \(should\)$/, ''));
  if (expected === undefined) {
    const must = row.failed.filter((id) => !/ \(should\)$/.test(id));
    if (must.length) problems.push(`must failed: ${must.join(', ')}`);
    if (row.exitCode !== 0) problems.push(`exit ${row.exitCode}, not 0`);
  } else {
    const missed = [...expected].filter((id) => !failedIds.includes(id));
    const extra = failedIds.filter((id) => !expected.has(id));
    if (missed.length) problems.push(`not caught: ${missed.join(', ')}`);
    if (extra.length) problems.push(`failed beyond the planted defects: ${extra.join(', ')}`);
    if (row.exitCode !== 1) problems.push(`exit ${row.exitCode}, not 1`);
  }
  return problems.join('; ');
}

/**
 * One row from a run: `results` is the parsed results.json (undefined when the run wrote none),
 * `exitCode` the process's, `wallSeconds` measured around it. Check ids are listed once each
 * (the same check on several guests is one id), in the order they first appear; a failed
 * check that is not `must` carries its severity, as in `hyg-headless-console (should)`.
 */
export function summarize(name, exitCode, wallSeconds, results) {
  if (!results) return { image: name, exitCode, guests: undefined, wallSeconds, failed: [], errors: [], note: 'no results.json' };
  const guests = new Set();
  const failed = [];
  const errors = [];
  for (const suite of results.suites ?? []) {
    for (const g of suite.guests ?? []) guests.add(g.name);
    for (const c of suite.cases ?? []) {
      if (c.status === 'failed') {
        const id = c.severity === 'must' ? c.checkId : `${c.checkId} (${c.severity})`;
        if (!failed.includes(id)) failed.push(id);
      } else if (c.status === 'error' && !errors.includes(c.checkId)) {
        errors.push(c.checkId);
      }
    }
  }
  const note = results.exitCode !== undefined && results.exitCode !== exitCode ? `results.json says exit ${results.exitCode}` : undefined;
  return { image: name, exitCode, guests: guests.size, wallSeconds, failed, errors, note };
}

/** Escapes what would break a markdown table cell. */
function cell(text) {
  return String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The summary table, markdown, one row per image in the given order; ends with a newline. */
export function renderTable(rows) {
  const lines = ['| image | exit code | guests | wall s | failed | error | as expected |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const ids = (list) => (list.length ? list.map((id) => `\`${cell(id)}\``).join(', ') : '-');
    const exit = r.exitCode === null || r.exitCode === undefined ? 'none (signal)' : String(r.exitCode);
    const verdict = r.unexpected === undefined ? '-' : r.unexpected === '' ? 'yes' : `no: ${cell(r.unexpected)}`;
    lines.push(`| \`${cell(r.image)}\` | ${exit}${r.note ? ` (${cell(r.note)})` : ''} | ${r.guests ?? '-'} | ${Math.round(r.wallSeconds)} | ${ids(r.failed)} | ${ids(r.errors)} | ${verdict} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** The whole summary.md: when and how it was made, then the table. */
export function renderSummary(rows, { startedAt, command }) {
  return `# imgtest matrix\n\nStarted ${startedAt}; each image: \`${command}\`.\n\n${renderTable(rows)}`;
}

async function main(argv) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const names = argv.length ? argv : MATRIX_IMAGES;
  const unknown = names.filter((n) => !existsSync(join(root, 'fixtures', 'images', `${n}.sh`)));
  if (unknown.length) {
    console.error(`matrix: unknown fixture image(s): ${unknown.join(', ')}`);
    return 2;
  }
  // Missing images are built first (root needed then); cached ones are found in well under a second.
  const build = spawnSync('bash', [join(root, 'fixtures', 'build.sh'), ...names], { stdio: 'inherit' });
  if (build.status !== 0) {
    console.error(`matrix: fixtures/build.sh failed (exit ${build.status})`);
    return 3;
  }
  const planted = plantedDefectChecks(readFileSync(join(root, 'fixtures', 'README.md'), 'utf8'));
  const matrixDir = join(root, 'reports', 'matrix');
  mkdirSync(matrixDir, { recursive: true });
  const startedAt = new Date().toISOString();
  const rows = [];
  for (const name of names) {
    // The cached file behind fixtures/out/<name>.qcow2: a rebuild during the run moves the link, not this file.
    const image = realpathSync(join(root, 'fixtures', 'out', `${name}.qcow2`));
    const reportDir = join(matrixDir, name);
    console.log(`\nmatrix: ${name}: imgtest run ${image} --report-dir ${reportDir}`);
    const t0 = Date.now();
    const run = spawnSync('node', [join(root, 'bin', 'imgtest.js'), 'run', image, '--report-dir', reportDir], { stdio: ['ignore', 'inherit', 'inherit'] });
    const wall = (Date.now() - t0) / 1000;
    const resultsFile = join(reportDir, 'latest', 'results.json');
    let results;
    try {
      // Only this run's file counts: `latest` is pointed at the new run's folder before it starts.
      const parsed = JSON.parse(readFileSync(resultsFile, 'utf8'));
      if (Date.parse(parsed.startedAt) >= t0 - 5_000) results = parsed;
    } catch {
      results = undefined;
    }
    const row = summarize(name, run.status, wall, results);
    row.unexpected = unexpected(row, FLAWED_IMAGES.includes(name) ? planted : undefined);
    rows.push(row);
    // Written after each image, so an interrupted matrix still leaves the rows it has.
    writeFileSync(join(matrixDir, 'summary.md'), renderSummary(rows, { startedAt, command: 'node bin/imgtest.js run <image> --report-dir reports/matrix/<name>' }));
  }
  const summary = readFileSync(join(matrixDir, 'summary.md'), 'utf8');
  console.log(`\n${summary}`);
  console.log(`matrix: written to ${join(matrixDir, 'summary.md')}`);
  return rows.every((r) => r.unexpected === '') ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
