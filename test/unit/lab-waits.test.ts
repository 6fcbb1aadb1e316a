/**
 * The lab's waits on the poll helper, where they end by running out of time: a run joining a lab that
 * a `lab down` keeps holding, and a process that ignores SIGTERM.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { joinLab } from '../../src/lab/lab-share.js';
import { withLabLock } from '../../src/lab/lock.js';
import { stopProcesses } from '../../src/lab/processes.js';
import { labShareHolders } from '../../src/lab/run-registry.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = '';
});

describe('lab waits', () => {
  it('a run joining gives up after its timeout while lab down holds the lab, naming its pid, and leaves the lab', async () => {
    dir = await mkdtemp(join(tmpdir(), 'imgtest-lab-waits-'));
    await mkdir(dir, { recursive: true });
    const state = join(dir, 'lab');
    const logs: string[] = [];
    await withLabLock(
      state,
      () => undefined,
      async () => {
        const started = Date.now();
        const refused = await joinLab('20261130T050000-abcd', state, { log: (l) => logs.push(l), registry: { dir }, timeoutMs: 700 }).catch((e: Error) => e);
        expect(refused).toMatchObject({ code: 'E_LAB', message: `the lab is being taken down by pid ${process.pid}; try again when it is done` });
        expect(Date.now() - started).toBeGreaterThanOrEqual(650);
      },
      undefined,
      'down',
    );
    expect(logs).toEqual([`waiting for 'imgtest lab down' (pid ${process.pid}) to finish`]);
    expect(await labShareHolders({ dir })).toEqual([]);
  });

  it('stopProcesses sends SIGKILL after the grace time to a process that ignores SIGTERM', async () => {
    const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); console.log('ready')"], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const started = Date.now();
    await stopProcesses([child.pid!], 400);
    expect(await exited).toBe('SIGKILL');
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
  });
});
