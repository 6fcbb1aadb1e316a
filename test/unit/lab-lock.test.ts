import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { withLabLock } from '../../src/lab/lock.js';

describe('lab lock', () => {
  let dir: string;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs one task at a time and removes the lock afterwards', async () => {
    dir = await mkdtemp(join(tmpdir(), 'imgtest-lab-lock-'));
    const state = join(dir, 'lab');
    const events: string[] = [];
    const task = (name: string) => async () => {
      events.push(`${name} start`);
      await new Promise((r) => setTimeout(r, 200));
      events.push(`${name} end`);
      return name;
    };
    const results = await Promise.all([withLabLock(state, () => undefined, task('a')), withLabLock(state, () => undefined, task('b'))]);
    expect(results).toEqual(['a', 'b']);
    expect(events[1]).toMatch(/ end$/);
    expect(events[3]).toMatch(/ end$/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes over a lock whose owner is gone', async () => {
    dir = await mkdtemp(join(tmpdir(), 'imgtest-lab-lock-'));
    const state = join(dir, 'lab');
    await mkdir(`${state}.lock`);
    await writeFile(`${state}.lock/pid`, '999999999\n');
    expect(
      await withLabLock(
        state,
        () => undefined,
        async () => 'ran',
        5_000,
      ),
    ).toBe('ran');
  });

  it('gives up on a live owner after its timeout', async () => {
    dir = await mkdtemp(join(tmpdir(), 'imgtest-lab-lock-'));
    const state = join(dir, 'lab');
    await mkdir(`${state}.lock`);
    await writeFile(`${state}.lock/pid`, `${process.ppid}\n`);
    const lines: string[] = [];
    await expect(
      withLabLock(
        state,
        (l) => lines.push(l),
        async () => 'ran',
        600,
      ),
    ).rejects.toThrow(/locked by pid/);
    expect(lines[0]).toMatch(/waiting for pid/);
  });
});
