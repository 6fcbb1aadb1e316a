import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decideLabDown, gateLabDown, joinLab } from '../../src/lab/lab-share.js';
import { labLockOwner, withLabLock } from '../../src/lab/lock.js';
import { acquireLabShare, labShareHolders, parseStamp, parseStatStartTime, processStartTime, registeredRuns, registerRun, runDir, runningRunIds, unregisterRun } from '../../src/lab/run-registry.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = '';
});
const fresh = async () => (dir = await mkdtemp(join(tmpdir(), 'imgtest-registry-')));

describe('run registry', () => {
  it('registers and unregisters a run; a dead pid or a reused pid is not running', async () => {
    await fresh();
    await registerRun('20261130T030131-3c3a', { dir });
    await registerRun('20261130T030131-dead', { dir, pid: 999_999_999 });
    expect(await readdir(join(dir, 'runs'))).toEqual(['20261130T030131-3c3a', '20261130T030131-dead']);
    expect([...(await runningRunIds({ dir }))]).toEqual(['20261130T030131-3c3a']);
    // Same pid, other start time: the pid was reused by another process.
    await writeFile(join(dir, 'runs', '20261130T030131-reus'), `${process.pid} 1\n`);
    expect((await registeredRuns({ dir })).find((r) => r.runId === '20261130T030131-reus')?.alive).toBe(false);
    await unregisterRun('20261130T030131-3c3a', { dir });
    expect(await runningRunIds({ dir })).toEqual(new Set());
    await expect(registerRun('../etc', { dir })).rejects.toThrow(/not a run id/);
  });

  it('parses stat lines (names with spaces and parentheses) and stamps', async () => {
    expect(parseStatStartTime('42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10')).toBe(123456);
    expect(parseStatStartTime('garbage')).toBeUndefined();
    expect(await processStartTime(process.pid)).toBeGreaterThan(0);
    expect(parseStamp('123 456\n')).toEqual({ pid: 123, startTime: 456 });
    expect(parseStamp('123\n')).toEqual({ pid: 123, startTime: undefined });
    expect(parseStamp('x')).toBeUndefined();
    expect(runDir({}, 0)).toBe('/run/imgtest');
    expect(runDir({ IMGTEST_RUN_DIR: '/tmp/r' }, 0)).toBe('/tmp/r');
    expect(runDir({}, 1000)).toMatch(/imgtest-1000$/);
  });
});

describe('lab shared lock and lab down', () => {
  it('decides: proceed without live holders, refuse naming runs and pids, stop them with force', () => {
    const live = { runId: 'r1', pid: 10, alive: true };
    expect(decideLabDown([{ runId: 'r0', pid: 9, alive: false }], false)).toEqual({ action: 'proceed' });
    expect(decideLabDown([live, { runId: 'r2', pid: 11, alive: true }], false)).toEqual({
      action: 'refuse',
      message: "lab down: the lab is in use by run r1 (pid 10), run r2 (pid 11); wait for them to end, or 'imgtest lab down --force' stops them first",
    });
    expect(decideLabDown([live], true)).toEqual({ action: 'stop-runs', holders: [live] });
  });

  it('refuses while a live run holds the lab (exit 3), and --force stops that run and says so', async () => {
    await fresh();
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await acquireLabShare('20261130T040000-f00d', { dir, pid: child.pid! });
      await acquireLabShare('20261130T040000-dead', { dir, pid: 999_999_999 });
      expect((await labShareHolders({ dir })).map((h) => h.runId)).toEqual(['20261130T040000-f00d']);
      const refused = await gateLabDown({ log: () => undefined, registry: { dir } }).catch((error: Error & { exitCode?: number }) => error);
      expect(refused).toMatchObject({
        exitCode: 3,
        message: `lab down: the lab is in use by run 20261130T040000-f00d (pid ${child.pid}); wait for it to end, or 'imgtest lab down --force' stops it first`,
      });
      const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      const log: string[] = [];
      await gateLabDown({ force: true, log: (line) => log.push(line), registry: { dir }, graceMs: 5_000 });
      expect(log).toEqual([`lab down --force: stopping run 20261130T040000-f00d (pid ${child.pid}), which is using the lab`]);
      expect(await exited).toBe('SIGTERM');
      expect(await labShareHolders({ dir })).toEqual([]);
      await gateLabDown({ log: () => undefined, registry: { dir } });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a run joining waits while a lab down holds the exclusive lock, not while lab up does', async () => {
    await fresh();
    const state = join(dir, 'lab');
    await mkdir(dir, { recursive: true });
    let joined = false;
    const logs: string[] = [];
    await withLabLock(
      state,
      () => undefined,
      async () => {
        expect(await labLockOwner(state)).toEqual({ pid: process.pid, purpose: 'down' });
        const joining = joinLab('20261130T040000-abcd', state, { log: (l) => logs.push(l), registry: { dir } }).then(() => (joined = true));
        await new Promise((r) => setTimeout(r, 1_200));
        expect(joined).toBe(false);
        void joining;
      },
      undefined,
      'down',
    );
    await new Promise((r) => setTimeout(r, 800));
    expect(joined).toBe(true);
    expect(logs).toEqual([`waiting for 'imgtest lab down' (pid ${process.pid}) to finish`]);
    await withLabLock(
      state,
      () => undefined,
      async () => {
        await joinLab('20261130T040000-abce', state, { log: () => undefined, registry: { dir } });
      },
      undefined,
      'up',
    );
    expect((await labShareHolders({ dir })).map((h) => h.runId)).toEqual(['20261130T040000-abcd', '20261130T040000-abce']);
  });
});
