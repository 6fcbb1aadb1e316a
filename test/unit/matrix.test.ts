/**
 * scripts/matrix.mjs (`npm run matrix`), its pure parts: a results.json per image turned into the
 * summary table. Nothing is run or booted here; the samples are shaped like imgtest's results.json.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
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
  unexpected?: string;
}
interface MatrixModule {
  MATRIX_IMAGES: string[];
  FLAWED_IMAGES: string[];
  plantedDefectChecks(fixturesReadme: string): Set<string>;
  unexpected(row: Row, expected: Set<string> | undefined): string;
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
  it('lists every fixture recipe but debian-12-flawed (CI boots that one with its expectations), each once', () => {
    const recipes = readdirSync(join(repoRoot, 'fixtures', 'images'))
      .map((f) => f.replace(/\.sh$/, ''))
      .filter((n) => n !== 'debian-12-flawed');
    expect([...m.MATRIX_IMAGES].sort()).toEqual(recipes.sort());
    expect(m.MATRIX_IMAGES[0]).toBe('debian-12-clean');
    for (const f of m.FLAWED_IMAGES) expect(existsSync(join(repoRoot, 'fixtures', 'images', `${f}.sh`)), f).toBe(true);
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
        '| image | exit code | guests | wall s | failed | error | as expected |',
        '|---|---|---|---|---|---|---|',
        '| `debian-12-clean` | 0 | 3 | 1512 | - | - | - |',
        '| `debian-12-gfxterm` | 3 | 2 | 901 | `hyg-headless-console (should)`, `life-reboot` | `life-boot-errors` | - |',
        '| `debian-11-clean` | none (signal) (no results.json) | - | 3 | - | - | - |',
        '',
      ].join('\n'),
    );
  });

  it('escapes pipes in cells', () => {
    const row = { image: 'a|b', exitCode: 0, guests: 1, wallSeconds: 1, failed: ['x|y'], errors: [] };
    expect(m.renderTable([row]).split('\n')[2]).toBe('| `a\\|b` | 0 | 1 | 1 | `x\\|y` | - | - |');
  });

  it('the summary names when it started and the command', () => {
    const text = m.renderSummary([m.summarize('debian-13-clean', 0, 10, passed)], { startedAt: '2026-11-30T08:00:00.000Z', command: 'node bin/imgtest.js run <image>' });
    expect(text).toMatch(/^# imgtest matrix\n\nStarted 2026-11-30T08:00:00.000Z; each image: `node bin\/imgtest.js run <image>`\.\n\n\| image \|/);
    expect(text.endsWith('| `debian-13-clean` | 0 | 3 | 10 | - | - | - |\n')).toBe(true);
  });
});

describe('matrix: what each image should give', () => {
  const row = (over: Partial<Row>): Row => ({ image: 'x', exitCode: 0, guests: 3, wallSeconds: 1, failed: [], errors: [], ...over });

  it("the planted defects are the rows of fixtures/README.md's table, plus the should-check sharing one", () => {
    const planted = m.plantedDefectChecks(readFileSync(join(repoRoot, 'fixtures', 'README.md'), 'utf8'));
    for (const id of ['hyg-machine-id', 'hyg-dhcp-leases', 'ssh-weak-kex', 'pkg-forbidden', 'ci-root-login-denied', 'life-reboot', 'life-time-sync', 'ssh-root-login-no'])
      expect(planted.has(id), id).toBe(true);
    expect(planted.size).toBeGreaterThan(20);
    expect(planted.has('pkg-vulnerabilities')).toBe(false);
    expect(() => m.plantedDefectChecks('# no table here\n')).toThrow(/Planted defects/);
  });

  it('a clean image: exit 0 with should-failures only is as expected; a must failure, an error or another exit code is not', () => {
    expect(m.unexpected(row({ failed: ['hyg-headless-console (should)'] }), undefined)).toBe('');
    expect(m.unexpected(row({ exitCode: 1, failed: ['life-reboot', 'ssh-forwarding (should)'] }), undefined)).toBe('must failed: life-reboot; exit 1, not 0');
    expect(m.unexpected(row({ exitCode: 3, errors: ['mig-leg2-ping'] }), undefined)).toBe('errors: mig-leg2-ping; exit 3, not 0');
    expect(m.unexpected(row({ note: 'no results.json', exitCode: 2 }), undefined)).toBe('no results.json');
  });

  it('a flawed image: exactly the planted checks failed (any severity) and exit 1; a missed or an extra one is named', () => {
    const planted = new Set(['hyg-machine-id', 'ssh-root-login-no']);
    expect(m.unexpected(row({ exitCode: 1, failed: ['hyg-machine-id', 'ssh-root-login-no (should)'] }), planted)).toBe('');
    expect(m.unexpected(row({ exitCode: 1, failed: ['hyg-machine-id', 'mig-leg2-ping'] }), planted)).toBe('not caught: ssh-root-login-no; failed beyond the planted defects: mig-leg2-ping');
    expect(m.unexpected(row({ exitCode: 0, failed: [] }), planted)).toBe('not caught: hyg-machine-id, ssh-root-login-no; exit 0, not 1');
  });

  it('the table says whether each row is as expected', () => {
    const table = m.renderTable([
      { ...row({ image: 'debian-13-flawed', exitCode: 1 }), unexpected: '' } as Row,
      { ...row({ image: 'debian-13-clean', exitCode: 1 }), unexpected: 'exit 1, not 0' } as Row,
    ]);
    expect(table.split('\n')[2]).toMatch(/\| yes \|$/);
    expect(table.split('\n')[3]).toMatch(/\| no: exit 1, not 0 \|$/);
  });
});
