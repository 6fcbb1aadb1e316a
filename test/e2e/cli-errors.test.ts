import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imgtest, sh } from './helpers.js';

/** Bad input: one clear line on stderr, exit 2, never a stack trace; nothing is booted. */
describe('imgtest run refuses bad input before anything boots', () => {
  const oneLine = (stderr: string) => {
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /);
    return lines[0]!;
  };

  it('a file that is not an image', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imgtest-e2e-'));
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'this is not a disk image\n');
    const result = await imgtest(['run', file]);
    expect(result.exitCode).toBe(2);
    expect(oneLine(result.stderr)).toMatch(/notes\.txt: not a disk image/);
  });

  it('a missing file', async () => {
    const result = await imgtest(['run', '/nonexistent/image.qcow2']);
    expect(result.exitCode).toBe(2);
    expect(oneLine(result.stderr)).toMatch(/no such file/);
  });

  it('an image with a backing file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imgtest-e2e-'));
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'base.qcow2'), '64M']);
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(dir, 'base.qcow2'), '-F', 'qcow2', join(dir, 'top.qcow2')]);
    const result = await imgtest(['run', join(dir, 'top.qcow2')]);
    expect(result.exitCode).toBe(2);
    expect(oneLine(result.stderr)).toMatch(/has a backing file/);
  });

  it('a config with a wrong field names file and line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imgtest-e2e-'));
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'blank.qcow2'), '64M']);
    const config = join(dir, 'imgtest.yaml');
    await writeFile(config, 'hosts:\n  - name: hv1\n    uri: 42\n');
    const result = await imgtest(['run', join(dir, 'blank.qcow2'), '--config', config]);
    expect(result.exitCode).toBe(2);
    expect(oneLine(result.stderr)).toMatch(/imgtest\.yaml:3: hosts\[0\]\.uri: /);
  });

  it('an unknown suite and an unknown option', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imgtest-e2e-'));
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'blank.qcow2'), '64M']);
    const unknownSuite = await imgtest(['run', join(dir, 'blank.qcow2'), '--suite', 'no-such-suite']);
    expect(unknownSuite.exitCode).toBe(2);
    expect(oneLine(unknownSuite.stderr)).toMatch(/unknown suite 'no-such-suite'/);
    const badFirmware = await imgtest(['run', join(dir, 'blank.qcow2'), '--firmware', 'coreboot']);
    expect(badFirmware.exitCode).toBe(2);
  });
});
