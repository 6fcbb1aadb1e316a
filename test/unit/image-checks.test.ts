import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InterruptedError } from '../../src/errors.js';
import { progressLine, sha256File } from '../../src/image/hash.js';
import { qemuImgCheckVerdict } from '../../src/image/qemu-img-check.js';
import { formatSize, printable, shellArg } from '../../src/image/validate.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgtest-image-checks-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('sha256File', () => {
  it('is the sha256 of every byte, as sha256sum prints it', async () => {
    const path = join(dir, 'data.raw');
    const bytes = Buffer.alloc(3 * 2 ** 20 + 123);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff;
    await writeFile(path, bytes);
    const expected = createHash('sha256').update(bytes).digest('hex');
    expect(await sha256File(path)).toBe(expected);
    expect(execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0]).toBe(expected);
  });

  it("hashes the holes of a sparse file as zeros (the digest stays the file's)", async () => {
    const path = join(dir, 'sparse.raw');
    execFileSync('truncate', ['-s', '8M', path]);
    expect(await sha256File(path)).toBe(
      createHash('sha256')
        .update(Buffer.alloc(8 * 2 ** 20))
        .digest('hex'),
    );
  });

  it('reports progress on a big file at most once per interval, and not on a small one', async () => {
    const path = join(dir, 'big.raw');
    execFileSync('truncate', ['-s', '16M', path]);
    let clock = 0;
    // Each read of the clock moves it 1 s: with 1 MiB chunks and a 4 s interval, lines come every few chunks.
    const now = () => (clock += 1000);
    const lines: string[] = [];
    await sha256File(path, { onProgress: (line) => lines.push(line), minBytes: 2 ** 20, intervalMs: 4000, now, label: 'big.raw' });
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.length).toBeLessThan(16);
    expect(lines[0]).toMatch(/^hashing big\.raw: 0\.0 of 0\.0 GiB \(\d+%\), about \d+ min left$/);
    const quiet: string[] = [];
    await sha256File(path, { onProgress: (line) => quiet.push(line), minBytes: 32 * 2 ** 20, intervalMs: 0, now });
    expect(quiet).toEqual([]);
  });

  it('stops reading when the run is interrupted (a 4 GiB sparse file is not read to its end)', async () => {
    const path = join(dir, 'huge.raw');
    execFileSync('truncate', ['-s', '4G', path]);
    const controller = new AbortController();
    let lines = 0;
    const hashing = sha256File(path, { onProgress: () => ++lines === 1 && controller.abort(new Error('SIGINT')), minBytes: 2 ** 20, intervalMs: 0, signal: controller.signal });
    await expect(hashing).rejects.toBeInstanceOf(InterruptedError);
    expect(lines).toBeLessThan(100);
  });

  it('progress lines say how far and how long', () => {
    expect(progressLine('x.raw', 2 ** 40, 4 * 2 ** 40, 600_000)).toBe('hashing x.raw: 1024.0 of 4096.0 GiB (25%), about 30 min left');
    expect(progressLine('x.raw', 2 ** 30, 4 * 2 ** 40, 60_000)).toBe('hashing x.raw: 1.0 of 4096.0 GiB (0%), about 68 h 15 min left');
  });
});

describe('qemuImgCheckVerdict', () => {
  const json = (o: object) => JSON.stringify(o);
  it('clean (0) and leaks only (3) are usable', () => {
    expect(qemuImgCheckVerdict(0, json({ corruptions: 0 }), '')).toEqual({ ok: true, leaks: 0 });
    expect(qemuImgCheckVerdict(3, json({ leaks: 5 }), 'Leaked cluster 3 refcount=1 reference=0')).toEqual({ ok: true, leaks: 5 });
  });
  it('corrupt (2) counts the corruptions', () => {
    expect(qemuImgCheckVerdict(2, json({ corruptions: 37 }), 'ERROR ...')).toEqual({ ok: false, reason: expect.stringMatching(/^the qcow2 is corrupt \(qemu-img check found 37 corruptions;/) });
    expect(qemuImgCheckVerdict(2, json({ corruptions: 1 }), '')).toMatchObject({ reason: expect.stringMatching(/found 1 corruption;/) });
    expect(qemuImgCheckVerdict(2, 'not json', '')).toMatchObject({ reason: expect.stringMatching(/found corruption;/) });
  });
  it("an unfinished check (1) or anything else is refused with qemu-img's last words", () => {
    expect(qemuImgCheckVerdict(1, '', 'first\nCould not read L1 table\n')).toMatchObject({ ok: false, reason: expect.stringMatching(/could not finish.*: Could not read L1 table$/) });
    expect(qemuImgCheckVerdict(63, '', 'not supported')).toMatchObject({ ok: false, reason: 'qemu-img check failed (exit 63): not supported' });
  });
});

describe('file names in messages and hints', () => {
  it('shellArg quotes for the shell and keeps a leading dash from being an option', () => {
    expect(shellArg('plain.qcow2')).toBe('plain.qcow2');
    expect(shellArg('$(touch x) y.qcow2')).toBe("'$(touch x) y.qcow2'");
    expect(shellArg("it's.qcow2")).toBe("'it'\\''s.qcow2'");
    expect(shellArg('-o.qcow2')).toBe('./-o.qcow2');
    expect(shellArg('a\nb.qcow2')).toBe("$'a\\x0ab.qcow2'");
  });

  it("the $'...' form reads back as the same name in bash", () => {
    const name = "new\nline 'and' \\ $(x).qcow2";
    expect(execFileSync('bash', ['-c', `printf '%s' ${shellArg(name)}`], { encoding: 'utf8' })).toBe(name);
  });

  it('printable keeps a message on one line', () => {
    expect(printable('a\nb\tc')).toBe('a\\x0ab\\x09c');
  });

  it('formatSize', () => {
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(64 * 2 ** 20)).toBe('64 MiB');
    expect(formatSize(1.5 * 2 ** 30)).toBe('1.5 GiB');
    expect(formatSize(100 * 2 ** 40)).toBe('100 TiB');
  });
});
