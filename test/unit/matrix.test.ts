/**
 * scripts/matrix.mjs (`npm run matrix`), its pure parts: a results.json per image turned into the
 * summary table. Nothing is run or booted here; the samples are shaped like imgtest's results.json.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Row {
  image: string;
  exitCode: number | null;
  guests?: number;
  wallSeconds: number;
  failed: string[];
  errors: string[];
  note?: string;
}
interface MatrixModule {
  MATRIX_IMAGES: string[];
  summarize(name: string, exitCode: number | null, wallSeconds: number, results: unknown): Row;
  renderTable(rows: Row[]): string;
  renderSummary(rows: Row[], meta: { startedAt: string; command: string }): string;
}

let m: MatrixModule;
beforeAll(async () => {
  m = (await import(pathToFileURL(join(repoRoot, 'scripts', 'matrix.mjs')).href)) as MatrixModule;
});

const guest = (name: string) => ({ name, host: 'lab1', mac: '52:54:00:00:00:01', firmware: 'uefi', bootSeconds: 120, accel: 'tcg' });
const kase = (checkId: string, status: string, severity = 'must') => ({ checkId, title: checkId, severity, status, message: '', durationMs: 1, attachments: [] });

/** A passing run: three guests over several suites (the same guest in two suites counts once). */
const passed = {
  schemaVersion: 1,
  runId: '20261130T080000-aaaa',
  startedAt: '2026-11-30T08:00:00.000Z',
  durationMs: 1_500_000,
  exitCode: 0,
  verdict: 'passed',
  suites: [
    { suiteId: 'image-hygiene', guests: [], cases: [kase('hyg-machine-id', 'passed'), kase('hyg-headless-console', 'passed', 'should')] },
    { suiteId: 'cloud-init-auth', guests: [guest('g1')], cases: [kase('ci-password-login-rejected', 'passed')] },
    { suiteId: 'live-migration', guests: [guest('g2'), guest('g3')], cases: [kase('mig-live', 'passed')] },
    { suiteId: 'ssh-hardening', guests: [guest('g1')], cases: [kase('ssh-weak-macs', 'skipped')] },
  ],
};

/** A failed run with a `should` failure, a `must` failure on two guests and an infrastructure error. */
const failed = {
  ...passed,
  exitCode: 3,
  verdict: 'error',
  suites: [
    { suiteId: 'image-hygiene', guests: [], cases: [kase('hyg-headless-console', 'failed', 'should'), kase('hyg-machine-id', 'passed')] },
    { suiteId: 'instance-lifecycle', guests: [guest('g1'), guest('g2')], cases: [kase('life-reboot', 'failed'), kase('life-reboot', 'failed'), kase('life-boot-errors', 'error')] },
  ],
};

describe('matrix: rows from results.json', () => {
  it('lists the six fixture images in order', () => {
    expect(m.MATRIX_IMAGES).toEqual(['debian-12-clean', 'debian-12-bios-only', 'debian-12-uefi-unsigned', 'debian-12-gfxterm', 'debian-12-minimal', 'debian-11-clean', 'debian-13-clean']);
  });

  it('a passing run: distinct guests, no failed or error ids', () => {
    expect(m.summarize('debian-12-clean', 0, 1512.4, passed)).toEqual({
      image: 'debian-12-clean',
      exitCode: 0,
      guests: 3,
      wallSeconds: 1512.4,
      failed: [],
      errors: [],
      note: undefined,
    });
  });

  it('failed ids once each, non-must ones with their severity; error ids apart; a differing exit code noted', () => {
    const row = m.summarize('debian-12-gfxterm', 1, 900, failed);
    expect(row.failed).toEqual(['hyg-headless-console (should)', 'life-reboot']);
    expect(row.errors).toEqual(['life-boot-errors']);
    expect(row.guests).toBe(2);
    expect(row.note).toBe('results.json says exit 3');
  });

  it('no results.json: the exit code alone', () => {
    expect(m.summarize('debian-11-clean', 2, 3, undefined)).toMatchObject({ guests: undefined, failed: [], errors: [], note: 'no results.json' });
  });
});

describe('matrix: the markdown table', () => {
  it('renders one row per image with rounded seconds and code-quoted ids', () => {
    const table = m.renderTable([m.summarize('debian-12-clean', 0, 1512.4, passed), m.summarize('debian-12-gfxterm', 3, 900.6, failed), m.summarize('debian-11-clean', null, 3, undefined)]);
    expect(table).toBe(
      [
        '| image | exit code | guests | wall s | failed | error |',
        '|---|---|---|---|---|---|',
        '| `debian-12-clean` | 0 | 3 | 1512 | - | - |',
        '| `debian-12-gfxterm` | 3 | 2 | 901 | `hyg-headless-console (should)`, `life-reboot` | `life-boot-errors` |',
        '| `debian-11-clean` | none (signal) (no results.json) | - | 3 | - | - |',
        '',
      ].join('\n'),
    );
  });

  it('escapes pipes in cells', () => {
    const row = { image: 'a|b', exitCode: 0, guests: 1, wallSeconds: 1, failed: ['x|y'], errors: [] };
    expect(m.renderTable([row]).split('\n')[2]).toBe('| `a\\|b` | 0 | 1 | 1 | `x\\|y` | - |');
  });

  it('the summary names when it started and the command', () => {
    const text = m.renderSummary([m.summarize('debian-13-clean', 0, 10, passed)], { startedAt: '2026-11-30T08:00:00.000Z', command: 'node bin/imgtest.js run <image>' });
    expect(text).toMatch(/^# imgtest matrix\n\nStarted 2026-11-30T08:00:00.000Z; each image: `node bin\/imgtest.js run <image>`\.\n\n\| image \|/);
    expect(text.endsWith('| `debian-13-clean` | 0 | 3 | 10 | - | - |\n')).toBe(true);
  });
});
