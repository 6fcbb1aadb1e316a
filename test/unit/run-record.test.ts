import { mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageError, InfraError } from '../../src/errors.js';
import type { RunResult } from '../../src/report/model.js';
import { CleanupRegistry } from '../../src/runner/cleanup.js';
import { runToReport } from '../../src/runner/run-lifecycle.js';
import { latestTarget, pointLatest, RunRecord } from '../../src/runner/run-record.js';
import { pass, type Suite } from '../../src/suite-api/index.js';

const suite = (id: string, checks: string[]): Suite => ({
  id,
  title: `${id} suite`,
  requires: { guests: { count: 1, placement: 'any', sharing: 'shared' } },
  checks: checks.map((c) => ({ id: c, title: `${c} title`, severity: 'must' as const, run: async () => pass('ok') })),
});
const suites = [suite('alpha', ['a-one', 'a-two']), suite('beta', ['b-one'])];

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'imgtest-record-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const readJson = async (dir: string) => JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as RunResult;

describe('RunRecord', () => {
  it('points latest at the new run first, relative, with a provisional error report that replaces an older green one', async () => {
    await writeFile(join(root, 'old-junit.xml'), '<testsuites/>');
    await symlink('some-older-run', join(root, 'latest'));
    const record = new RunRecord(suites, root, '/images/my image.qcow2', '0.1.0');
    await record.open();
    expect(await readlink(join(root, 'latest'))).toBe(record.runId);
    expect(await latestTarget(root)).toBe(record.dir);
    const junit = await readFile(join(record.dir, 'junit.xml'), 'utf8');
    expect(junit).toMatch(/<error[^>]*message="the run did not finish/);
    const json = await readJson(record.dir);
    expect(json.exitCode).toBe(3);
    expect(json.image).toMatchObject({ name: 'my image', format: 'unknown' });
    // Every planned check is listed, skipped, so trend graphs keep their counts.
    expect(json.suites.flatMap((s) => s.cases.map((c) => `${s.suiteId}/${c.checkId}:${c.status}`))).toEqual(['imgtest/run:error', 'alpha/a-one:skipped', 'alpha/a-two:skipped', 'beta/b-one:skipped']);
  });

  it('keeps finished suites and says what was under way when the run ended early', () => {
    const record = new RunRecord(suites, root, 'x.qcow2', '0.1.0');
    record.expect([{ suite: suites[0]!, firmware: 'uefi' }, { suite: suites[0]!, firmware: 'bios' }, { suite: suites[1]! }]);
    record.add({
      suiteId: 'alpha',
      title: 'alpha suite',
      firmware: 'uefi',
      guests: [],
      attachments: [],
      properties: {},
      startedAt: new Date().toISOString(),
      durationMs: 5,
      cases: [{ checkId: 'a-one', title: 't', severity: 'must', status: 'passed', message: 'ok', durationMs: 1, attachments: [] }],
    });
    record.doing('g2', 'booting g2 (bios) on hv2');
    record.doing('g1', 'booting g1 (uefi) on hv1');
    record.doing('g1', undefined);
    expect(record.activity).toBe('booting g2 (bios) on hv2');
    // Two guests of one host wait for the same copy of the image: said once.
    record.doing('g3', 'copying the image to hv1');
    record.doing('g4', 'copying the image to hv1');
    expect(record.activity).toBe('booting g2 (bios) on hv2; copying the image to hv1');
    record.doing('g3', undefined);
    record.doing('g4', undefined);
    const result = record.ended('error', `interrupted by SIGINT while ${record.activity}`, 'E_INTERRUPTED');
    expect(result.suites.map((s) => `${s.suiteId}[${s.firmware ?? ''}]`)).toEqual(['imgtest[]', 'alpha[uefi]', 'alpha[bios]', 'beta[]']);
    expect(result.suites[0]!.cases[0]).toMatchObject({ status: 'error', message: 'interrupted by SIGINT while booting g2 (bios) on hv2 [E_INTERRUPTED]' });
    expect(result.suites[2]!.cases.every((c) => c.status === 'skipped' && c.message.startsWith('not run: interrupted by SIGINT'))).toBe(true);
    expect(result.exitCode).toBe(3);
    expect(record.ended('error', 'bad image', 'E_IMAGE', 2).exitCode).toBe(2);
  });

  it('replaces latest atomically even when it already points elsewhere', async () => {
    await pointLatest(join(root, 'run-1'));
    await pointLatest(join(root, 'run-2'));
    expect(await readlink(join(root, 'latest'))).toBe('run-2');
  });
});

describe('runToReport', () => {
  const lifecycle = (record: RunRecord, signal: AbortSignal, cleanup = new CleanupRegistry(), warnings: string[] = []) => ({
    record,
    cleanup,
    signal,
    stopGraceMs: 200,
    warn: (l: string) => void warnings.push(l),
  });

  it('writes the complete result and cleans up once', async () => {
    const record = new RunRecord(suites, root, 'x.qcow2', '0.1.0');
    await record.open();
    const cleanup = new CleanupRegistry();
    const undone: string[] = [];
    cleanup.add('domain g1', async () => void undone.push('domain g1'));
    const end = await runToReport(lifecycle(record, new AbortController().signal, cleanup), async () => record.completed(suites));
    expect(end.error).toBeUndefined();
    expect(undone).toEqual(['domain g1']);
    expect((await readJson(record.dir)).verdict).toBe('passed');
  });

  it('turns an early error into a report with its code, and hands the error back to be told', async () => {
    const record = new RunRecord(suites, root, 'x.qcow2', '0.1.0');
    await record.open();
    const end = await runToReport(lifecycle(record, new AbortController().signal), async () => {
      throw new InfraError('host hv1 (qemu+ssh://root@hv1/system) does not answer: timeout', { code: 'E_HOST_UNREACHABLE' });
    });
    expect(end.error).toBeInstanceOf(InfraError);
    const json = await readJson(record.dir);
    expect(json.suites[0]!.cases[0]!.message).toBe('host hv1 (qemu+ssh://root@hv1/system) does not answer: timeout [E_HOST_UNREACHABLE]');
    expect(json.exitCode).toBe(3);
    const bad = await runToReport(lifecycle(record, new AbortController().signal), async () => {
      throw new ImageError("'x.qcow2': qemu-img check found corruption");
    });
    expect(bad.result.exitCode).toBe(2);
  });

  it('on a signal: reports what was under way, lets the steps stop, then cleans up', async () => {
    const record = new RunRecord(suites, root, 'x.qcow2', '0.1.0');
    await record.open();
    const abort = new AbortController();
    const cleanup = new CleanupRegistry();
    const events: string[] = [];
    cleanup.add('overlay g1', async () => void events.push('cleanup'));
    const end = await runToReport(lifecycle(record, abort.signal, cleanup), async () => {
      record.doing('g1', 'booting g1 (uefi) on hv1');
      setTimeout(() => abort.abort('SIGINT'), 10);
      // A step that notices the signal a little later, as a virsh call under way would.
      await new Promise((resolve) => setTimeout(resolve, 60));
      events.push('step stopped');
      throw new Error('aborted');
    });
    expect(end.interrupted).toBe('interrupted by SIGINT while booting g1 (uefi) on hv1');
    expect(events).toEqual(['step stopped', 'cleanup']);
    const junit = await readFile(join(record.dir, 'junit.xml'), 'utf8');
    expect(junit).toMatch(/<error[^>]*message="interrupted by SIGINT while booting g1 \(uefi\) on hv1/);
  });

  it('says each cleanup step that failed, and how to remove what is left once the host answers', async () => {
    const record = new RunRecord(suites, root, 'x.qcow2', '0.1.0');
    await record.open();
    const cleanup = new CleanupRegistry();
    const warnings: string[] = [];
    cleanup.add('hv1: volumes of g1', async () => undefined);
    cleanup.add('hv2: domain g2', async () => {
      throw new Error('host hv2 stopped answering');
    });
    await runToReport(lifecycle(record, new AbortController().signal, cleanup, warnings), async () => record.completed(suites));
    expect(warnings).toEqual(['cleanup: hv2: domain g2: host hv2 stopped answering', expect.stringMatching(/once the host answers again, 'imgtest clean' removes it/)]);
    const quiet: string[] = [];
    await runToReport(lifecycle(record, new AbortController().signal, new CleanupRegistry(), quiet), async () => record.completed(suites));
    expect(quiet).toEqual([]);
  });
});
