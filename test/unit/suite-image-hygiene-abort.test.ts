/**
 * image-hygiene's appliance and the run's AbortSignal: a fake `guestfish` that never answers (as one
 * busy starting its appliance) and starts long-running children (`sleep`, standing in for qemu and
 * libguestfs' recovery process) in its process group. Aborting must fail the command under way, stop
 * every process of the group (gently, or with SIGKILL when they ignore SIGTERM) and remove the
 * session's temp folder; a signal that fired before the start spawns nothing.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectSnapshot, CollectError } from '../../suites/image-hygiene/collect.js';
import { GuestfishSession, groupMembers } from '../../suites/image-hygiene/guestfish.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hyg-abort-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A fake guestfish: records its environment's LIBGUESTFS_TMPDIR, starts two `sleep 300` children,
 * writes every pid of the group (its own last) to `pids`, and waits for its children, reading no
 * input. With `stubborn`, it and its children ignore SIGTERM and it outlives them in a loop.
 */
function fakeGuestfish(name: string, stubborn: boolean): { program: string; pids: string; env: string } {
  const pids = join(dir, `${name}.pids`);
  const env = join(dir, `${name}.env`);
  const program = join(dir, `${name}.sh`);
  writeFileSync(
    program,
    [
      '#!/bin/sh',
      stubborn ? "trap '' TERM" : '',
      `printf '%s\\n' "$LIBGUESTFS_TMPDIR" > '${env}'`,
      'sleep 300 &',
      `echo $! >> '${pids}'`,
      'sleep 300 &',
      `echo $! >> '${pids}'`,
      `echo $$ >> '${pids}'`,
      stubborn ? 'while :; do sleep 1; done' : 'wait',
      '',
    ].join('\n'),
  );
  chmodSync(program, 0o755);
  return { program, pids, env };
}

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The process runs (a zombie waiting for init to reap it has ended: it is not counted). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

const pidsOf = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : []);

describe('GuestfishSession: the run is interrupted', () => {
  it('fails the command under way, stops the whole process group and removes its temp folder', async () => {
    const fake = fakeGuestfish('gentle', false);
    const abort = new AbortController();
    const session = new GuestfishSession({ image: '/x.qcow2', format: 'qcow2', program: fake.program, env: { PATH: process.env.PATH }, signal: abort.signal, stopGraceMs: 2000 });
    const launch = session.run('run');
    launch.catch(() => undefined);
    await until(() => pidsOf(fake.pids).length === 3);
    const pids = pidsOf(fake.pids);
    expect(groupMembers(session.pid!).sort()).toEqual([...pids].sort());
    // libguestfs' own temp folder (the --ro overlay) goes inside the session's.
    expect(readFileSync(fake.env, 'utf8').trim()).toBe(session.folder);

    const started = Date.now();
    abort.abort('SIGINT');
    await expect(launch).rejects.toThrow('guestfish stopped: the run was interrupted (SIGINT)');
    await expect(session.run('list-filesystems')).rejects.toThrow(/interrupted/);
    await session.close();
    // The children got SIGTERM first and the fake guestfish ended with them: no escalation needed.
    expect(Date.now() - started).toBeLessThan(1900);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(groupMembers(session.pid!)).toEqual([]);
    expect(existsSync(session.folder)).toBe(false);
  });

  it('escalates to SIGKILL for processes that ignore SIGTERM', async () => {
    const fake = fakeGuestfish('stubborn', true);
    const abort = new AbortController();
    const session = new GuestfishSession({ image: '/x.qcow2', format: 'qcow2', program: fake.program, env: { PATH: process.env.PATH }, signal: abort.signal, stopGraceMs: 300 });
    const launch = session.run('run');
    launch.catch(() => undefined);
    await until(() => pidsOf(fake.pids).length === 3);
    const pids = pidsOf(fake.pids);
    abort.abort(new Error('SIGTERM'));
    await expect(launch).rejects.toThrow('guestfish stopped: the run was interrupted (SIGTERM)');
    await session.close();
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(groupMembers(session.pid!)).toEqual([]);
    expect(existsSync(session.folder)).toBe(false);
  });

  it('a command that times out stops the group the same way', async () => {
    const fake = fakeGuestfish('timeout', false);
    const session = new GuestfishSession({ image: '/x.qcow2', format: 'qcow2', program: fake.program, env: { PATH: process.env.PATH }, stopGraceMs: 2000 });
    await until(() => pidsOf(fake.pids).length === 3);
    const pids = pidsOf(fake.pids);
    await expect(session.run('run', [], 200)).rejects.toThrow('guestfish: run did not finish within 0 s');
    await session.close();
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(session.folder)).toBe(false);
  });

  it('leaves LIBGUESTFS_TMPDIR alone with the libvirt backend (qemu runs as another user there)', async () => {
    const fake = fakeGuestfish('libvirt', false);
    const session = new GuestfishSession({ image: '/x.qcow2', format: 'qcow2', program: fake.program, env: { PATH: process.env.PATH, LIBGUESTFS_BACKEND: 'libvirt' }, stopGraceMs: 2000 });
    await until(() => existsSync(fake.env));
    expect(readFileSync(fake.env, 'utf8').trim()).toBe('');
    await session.stopGroup();
    await session.close();
    expect(existsSync(session.folder)).toBe(false);
  });
});

describe('collectSnapshot: the run is interrupted', () => {
  it('during the appliance start: fails in one line, nothing of the group and no temp folder left', async () => {
    const fake = fakeGuestfish('collect', false);
    const abort = new AbortController();
    const collecting = collectSnapshot({ image: '/x.qcow2', format: 'qcow2', forbiddenPaths: [], program: fake.program, env: { PATH: process.env.PATH }, signal: abort.signal, stopGraceMs: 2000 });
    collecting.catch(() => undefined);
    await until(() => pidsOf(fake.pids).length === 3);
    const pids = pidsOf(fake.pids);
    const folder = readFileSync(fake.env, 'utf8').trim();
    expect(existsSync(folder)).toBe(true);
    abort.abort('SIGHUP');
    const error = await collecting.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CollectError);
    expect((error as Error).message).toBe('guestfish stopped: the run was interrupted (SIGHUP)');
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(folder)).toBe(false);
  });

  it('before it starts: spawns nothing', async () => {
    const fake = fakeGuestfish('early', false);
    const abort = new AbortController();
    abort.abort('SIGINT');
    await expect(collectSnapshot({ image: '/x.qcow2', format: 'qcow2', forbiddenPaths: [], program: fake.program, signal: abort.signal })).rejects.toThrow('not started: the run was interrupted');
    expect(existsSync(fake.pids)).toBe(false);
  });
});
