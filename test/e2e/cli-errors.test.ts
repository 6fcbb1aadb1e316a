import { existsSync } from 'node:fs';
import { mkdtemp, open, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imgtest, repoRoot, sh } from './helpers.js';

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

  /** A 2 GiB qcow2 with 3 MiB of data: it has tables and refcounts to break. */
  const qcow2WithData = async (dir: string, name: string) => {
    const path = join(dir, name);
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', path, '2G']);
    await sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 0 3M', path]);
    return path;
  };

  it('a qcow2 cut to its first 1 MiB, and one whose L1 table offset is zeroed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imgtest-e2e-'));
    const cut = await qcow2WithData(dir, 'cut.qcow2');
    await sh('truncate', ['-s', '1M', cut]);
    const cutRun = await imgtest(['run', cut]);
    expect(cutRun.exitCode).toBe(2);
    expect(oneLine(cutRun.stderr)).toMatch(/cut\.qcow2: the qcow2 is corrupt \(qemu-img check found \d+ corruptions/);
    const noL1 = await qcow2WithData(dir, 'no-l1.qcow2');
    const file = await open(noL1, 'r+');
    await file.write(new Uint8Array(8), 0, 8, 40);
    await file.close();
    const noL1Run = await imgtest(['run', noL1]);
    expect(noL1Run.exitCode).toBe(2);
    expect(oneLine(noL1Run.stderr)).toMatch(/no-l1\.qcow2: the qcow2 is corrupt/);
  });

  it('virtual sizes outside the bounds: 100 TiB, a 512-byte MBR disk, and a configured maximum', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imgtest-e2e-'));
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'huge.qcow2'), '100T']);
    const huge = await imgtest(['run', join(dir, 'huge.qcow2')]);
    expect(huge.exitCode).toBe(2);
    expect(oneLine(huge.stderr)).toMatch(/huge\.qcow2: virtual size 100 TiB is above the maximum of 2 TiB/);
    const sector = new Uint8Array(512);
    sector.set([0xeb, 0x63, 0x90], 0);
    sector.set([0x80, 0, 0, 0, 0x83, 0, 0, 0, 0x00, 0x08, 0, 0, 0x00, 0x00, 0x10, 0], 446);
    sector.set([0x55, 0xaa], 510);
    await writeFile(join(dir, 'mbr.raw'), sector);
    const tiny = await imgtest(['run', join(dir, 'mbr.raw')]);
    expect(tiny.exitCode).toBe(2);
    expect(oneLine(tiny.stderr)).toMatch(/mbr\.raw: virtual size 512 B is below the minimum of 1 GiB/);
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'three.qcow2'), '3G']);
    await writeFile(join(dir, 'small.yaml'), 'image:\n  maxVirtualSizeGiB: 2\n');
    const capped = await imgtest(['run', join(dir, 'three.qcow2'), '--config', join(dir, 'small.yaml')]);
    expect(capped.exitCode).toBe(2);
    expect(oneLine(capped.stderr)).toMatch(/three\.qcow2: virtual size 3 GiB is above the maximum of 2 GiB \(config image\.maxVirtualSizeGiB\)/);
  });

  it('the backing-file hint quotes a file name that is shell syntax', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imgtest-e2e-'));
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'base.qcow2'), '2G']);
    const top = join(dir, '$(touch x) y.qcow2');
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(dir, 'base.qcow2'), '-F', 'qcow2', top]);
    const result = await imgtest(['run', top]);
    expect(result.exitCode).toBe(2);
    const line = oneLine(result.stderr);
    expect(line).toContain(`flatten it first: qemu-img convert -O qcow2 '${top}' flat.qcow2`);
    expect(existsSync(join(dir, 'x'))).toBe(false);
    expect(existsSync(join(repoRoot, 'x'))).toBe(false);
  });

  it('config and options refused before the image is read: --timeout, one host for live-migration, a bad URI, --report-dir on a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imgtest-e2e-'));
    // The image is corrupt, so each refusal below must come before the image is looked at.
    const cut = await qcow2WithData(dir, 'cut.qcow2');
    await sh('truncate', ['-s', '1M', cut]);

    const timeout = await imgtest(['run', cut, '--timeout', '99999999999']);
    expect(timeout.exitCode).toBe(2);
    expect(oneLine(timeout.stderr)).toMatch(/--timeout 99999999999: at most 86400 seconds/);

    await writeFile(join(dir, 'one-host.yaml'), 'hosts:\n  - name: hv1\n    uri: qemu+tcp://127.0.0.1:9/system\n');
    const oneHost = await imgtest(['run', cut, '--config', join(dir, 'one-host.yaml'), '--suite', 'live-migration']);
    expect(oneHost.exitCode).toBe(2);
    expect(oneLine(oneHost.stderr)).toMatch(/live-migration needs 2 hosts, the config has 1/);

    await writeFile(join(dir, 'bad-uri.yaml'), 'hosts:\n  - name: hv1\n    uri: "not a uri"\n');
    const badUri = await imgtest(['run', cut, '--config', join(dir, 'bad-uri.yaml')]);
    expect(badUri.exitCode).toBe(2);
    expect(oneLine(badUri.stderr)).toMatch(/bad-uri\.yaml:3: hosts\[0\]\.uri: /);

    await writeFile(join(dir, 'a-file'), '');
    const reportDir = await imgtest(['run', cut, '--report-dir', join(dir, 'a-file')]);
    expect(reportDir.exitCode).toBe(2);
    expect(oneLine(reportDir.stderr)).toMatch(/--report-dir \S+a-file: is not a folder/);
    expect((await readdir(dir)).sort()).toEqual(['a-file', 'bad-uri.yaml', 'cut.qcow2', 'one-host.yaml']);
  });
});
