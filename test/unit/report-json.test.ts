import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/report/model.js';
import { JsonReporter, renderJson } from '../../src/report/json.js';
import { caseResult, imageInfo, runResult, suiteResult } from './helpers/results.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'imgtest-json-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(overrides: Partial<RunResult> = {}): RunResult {
  return runResult({
    image: imageInfo({ path: '/images/d.qcow2', name: 'd', virtualSize: 2 ** 31, actualSize: 2 ** 29 }),
    hosts: [{ name: 'hv1', uri: 'qemu:///system' }],
    reportDir: path.join(scratch, 'r'),
    suites: [
      suiteResult({
        guests: [{ name: 'g1', host: 'hv1', mac: '52:54:00:00:00:01', firmware: 'uefi' }],
        cases: [
          caseResult({
            title: 'done',
            status: 'failed',
            message: 'status: error',
            evidence: 'raw \u001b[31mtext\u001b[0m \u0000 kept as is',
            durationMs: 12,
            attachments: ['/r/a.txt'],
          }),
        ],
        properties: { k: 'v' },
        durationMs: 100,
      }),
    ],
    verdict: 'failed',
    exitCode: 1,
    ...overrides,
  });
}

describe('renderJson', () => {
  it('is the RunResult plus schemaVersion 1, first, pretty-printed with a final newline', () => {
    const result = run();
    const text = renderJson(result);
    expect(JSON.parse(text)).toEqual({ schemaVersion: 1, ...result });
    expect(Object.keys(JSON.parse(text))[0]).toBe('schemaVersion');
    expect(text.startsWith('{\n  "schemaVersion": 1,\n')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
  });

  it('keeps evidence unchanged (JSON can carry any text)', () => {
    const parsed = JSON.parse(renderJson(run())) as RunResult;
    expect(parsed.suites[0]?.cases[0]?.evidence).toBe('raw \u001b[31mtext\u001b[0m \u0000 kept as is');
  });

  it('renders an empty run', () => {
    expect(JSON.parse(renderJson(run({ suites: [], hosts: [] })))).toMatchObject({ schemaVersion: 1, suites: [], hosts: [] });
  });
});

describe('JsonReporter', () => {
  it('writes <reportDir>/results.json, creating the folder', async () => {
    const result = run({ reportDir: path.join(scratch, 'nested', 'run-1') });
    const reporter = new JsonReporter();
    await reporter.onRunEnd(result);
    const file = path.join(result.reportDir, 'results.json');
    expect(reporter.written).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(renderJson(result));
  });
});
