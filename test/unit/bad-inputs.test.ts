/**
 * The bad-input corpus of issue 13: inputs a new user might give, each refused before anything is
 * hashed, copied or booted, with its error class, exit code and message. Images are made small and
 * sparse in a temp dir with qemu-img and truncate; configs are YAML text.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { checkReportDir } from '../../src/config/report-dir.js';
import { DEFAULT_MAX_VIRTUAL_SIZE_GIB, DEFAULT_MIN_VIRTUAL_SIZE_GIB } from '../../src/config/schema.js';
import { ConfigError, ImageError, UsageError, type ImgtestError } from '../../src/errors.js';
import { inspectImage } from '../../src/image/inspect.js';
import { imageLimitsFrom, validateImageFile } from '../../src/image/validate.js';
import { requireEnoughHosts } from '../../src/runner/preflight.js';
import cloudInitAuth from '../../suites/cloud-init-auth/index.js';
import imageHygiene from '../../suites/image-hygiene/index.js';
import liveMigration from '../../suites/live-migration/index.js';
import packageAudit from '../../suites/package-audit/index.js';
import sshHardening from '../../suites/ssh-hardening/index.js';
import uefiBoot from '../../suites/uefi-boot/index.js';

const builtInSuites = [imageHygiene, cloudInitAuth, sshHardening, packageAudit, uefiBoot, liveMigration];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgtest-bad-inputs-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const qemuImg = (...args: string[]) => execFileSync('qemu-img', args, { stdio: 'pipe' });
const defaultLimits = imageLimitsFrom({ minVirtualSizeGiB: DEFAULT_MIN_VIRTUAL_SIZE_GIB, maxVirtualSizeGiB: DEFAULT_MAX_VIRTUAL_SIZE_GIB });
/** What the CLI runs before a run starts: the config's size bounds (defaults here). */
const preflight = (path: string) => validateImageFile(path, { limits: defaultLimits });

/** A 2 GiB qcow2 with a few MiB of data, so it has L1/L2 tables and refcounts worth breaking. */
function qcow2WithData(name: string, size = '2G'): string {
  const path = join(dir, name);
  qemuImg('create', '-q', '-f', 'qcow2', path, size);
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 0 3M', path], { stdio: 'pipe' });
  return path;
}

/** Overwrites bytes of a file in place. */
async function patch(path: string, offset: number, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'r+');
  await handle.write(bytes, 0, bytes.length, offset);
  await handle.close();
}

/** 512 bytes: an MBR with one Linux partition and boot code, the smallest thing that looks like a disk. */
function mbrSector(): Uint8Array {
  const sector = new Uint8Array(512);
  sector.set([0xeb, 0x63, 0x90], 0);
  sector.set([0x80, 0, 0, 0, 0x83, 0, 0, 0, 0x00, 0x08, 0, 0, 0x00, 0x00, 0x10, 0], 446);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

interface BadInput {
  name: string;
  /** Makes the input and feeds it to the code that must refuse it. */
  attempt: () => Promise<unknown>;
  error: new (...args: never[]) => ImgtestError;
  exitCode: number;
  message: RegExp;
}

const config = (text: string) => async () => parseConfig(text, 'imgtest.yaml');

const imageCases: BadInput[] = [
  {
    name: 'a qcow2 cut to its first 1 MiB',
    attempt: async () => {
      const path = qcow2WithData('cut.qcow2');
      execFileSync('truncate', ['-s', '1M', path]);
      return preflight(path);
    },
    error: ImageError,
    exitCode: 2,
    message: /cut\.qcow2: the qcow2 is corrupt \(qemu-img check found \d+ corruptions; truncated or overwritten\?\); see: qemu-img check -f qcow2 \S+cut\.qcow2$/,
  },
  {
    name: 'a qcow2 whose L1 table offset is zeroed',
    attempt: async () => {
      const path = qcow2WithData('no-l1.qcow2');
      await patch(path, 40, new Uint8Array(8)); // header field l1_table_offset
      return preflight(path);
    },
    error: ImageError,
    exitCode: 2,
    message: /no-l1\.qcow2: the qcow2 is corrupt/,
  },
  {
    name: 'a 100 TiB virtual size',
    attempt: async () => {
      const path = join(dir, 'huge.qcow2');
      qemuImg('create', '-q', '-f', 'qcow2', path, '100T');
      return preflight(path);
    },
    error: ImageError,
    exitCode: 2,
    message: /huge\.qcow2: virtual size 100 TiB is above the maximum of 2 TiB \(config image\.maxVirtualSizeGiB\)/,
  },
  {
    name: 'a 512-byte raw disk with an MBR',
    attempt: async () => {
      const path = join(dir, 'mbr.raw');
      await writeFile(path, mbrSector());
      return preflight(path);
    },
    error: ImageError,
    exitCode: 2,
    message: /mbr\.raw: virtual size 512 B is below the minimum of 1 GiB \(config image\.minVirtualSizeGiB\)/,
  },
  {
    name: 'a 64 MiB qcow2 (below the default minimum)',
    attempt: async () => {
      const path = join(dir, 'small.qcow2');
      qemuImg('create', '-q', '-f', 'qcow2', path, '64M');
      return preflight(path);
    },
    error: ImageError,
    exitCode: 2,
    message: /small\.qcow2: virtual size 64 MiB is below the minimum of 1 GiB/,
  },
  {
    name: 'a 3 GiB qcow2 above a configured maximum of 2 GiB',
    attempt: async () => {
      const path = join(dir, 'three.qcow2');
      qemuImg('create', '-q', '-f', 'qcow2', path, '3G');
      return validateImageFile(path, { limits: imageLimitsFrom(parseConfig('image:\n  maxVirtualSizeGiB: 2\n', 'c.yaml').image) });
    },
    error: ImageError,
    exitCode: 2,
    message: /three\.qcow2: virtual size 3 GiB is above the maximum of 2 GiB/,
  },
  {
    name: 'a backing file, in a file name that is shell syntax',
    attempt: async () => {
      qemuImg('create', '-q', '-f', 'qcow2', join(dir, 'base.qcow2'), '2G');
      const path = join(dir, '$(touch x) y.qcow2');
      qemuImg('create', '-q', '-f', 'qcow2', '-b', join(dir, 'base.qcow2'), '-F', 'qcow2', path);
      return preflight(path);
    },
    error: ImageError,
    exitCode: 2,
    message: /has a backing file \(.*base\.qcow2\); flatten it first: qemu-img convert -O qcow2 '[^']*\/\$\(touch x\) y\.qcow2' flat\.qcow2$/,
  },
  {
    name: 'a missing file',
    attempt: () => preflight(join(dir, 'nothing-here.qcow2')),
    error: ImageError,
    exitCode: 2,
    message: /nothing-here\.qcow2: no such file$/,
  },
  {
    name: 'a folder',
    attempt: async () => {
      await mkdir(join(dir, 'a-folder.qcow2'), { recursive: true });
      return preflight(join(dir, 'a-folder.qcow2'));
    },
    error: ImageError,
    exitCode: 2,
    message: /a-folder\.qcow2: not a regular file$/,
  },
  {
    name: 'a VMDK',
    attempt: async () => {
      const path = join(dir, 'disk.vmdk');
      qemuImg('create', '-q', '-f', 'vmdk', path, '2G');
      return preflight(path);
    },
    error: ImageError,
    exitCode: 2,
    message: /disk\.vmdk: format vmdk is not supported \(qcow2 or raw\)$/,
  },
  {
    name: 'an encrypted qcow2',
    attempt: async () => {
      const path = join(dir, 'luks.qcow2');
      qemuImg('create', '-q', '--object', 'secret,id=sec0,data=imgtest', '-f', 'qcow2', '-o', 'encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10', path, '2G');
      return preflight(path);
    },
    error: ImageError,
    exitCode: 2,
    message: /luks\.qcow2: encrypted images are not supported$/,
  },
  {
    name: 'a 2 GiB sparse raw file with no partition table',
    attempt: async () => {
      const path = join(dir, 'zeros.raw');
      execFileSync('truncate', ['-s', '2G', path]);
      return preflight(path);
    },
    error: ImageError,
    exitCode: 2,
    message: /zeros\.raw: not a disk image/,
  },
  {
    name: 'a text file (called what it is, not "too small")',
    attempt: async () => {
      const path = join(dir, 'notes.txt');
      await writeFile(path, 'this is not a disk image\n');
      return preflight(path);
    },
    error: ImageError,
    exitCode: 2,
    message: /notes\.txt: not a disk image/,
  },
  {
    name: 'a text file given to inspection alone (no bounds)',
    attempt: async () => {
      const path = join(dir, 'notes2.txt');
      await writeFile(path, 'x'.repeat(4096));
      return inspectImage(path);
    },
    error: ImageError,
    exitCode: 2,
    message: /notes2\.txt: not a disk image/,
  },
];

const configCases: BadInput[] = [
  {
    name: 'duplicate host names',
    attempt: config('hosts:\n  - name: hv1\n    uri: qemu+ssh://root@hv1/system\n  - name: hv1\n    uri: qemu+ssh://root@hv2/system\n'),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:4: hosts\[1\]\.name: duplicate host name 'hv1' \(already hosts\[0\]\)$/,
  },
  {
    name: 'uri: "not a uri"',
    attempt: config('hosts:\n  - name: hv1\n    uri: "not a uri"\n'),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:3: hosts\[0\]\.uri: .*expected a libvirt URI/,
  },
  {
    name: 'a URI without a scheme',
    attempt: config('hosts:\n  - name: hv1\n    uri: hv1.example.com\n'),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:3: hosts\[0\]\.uri: "hv1\.example\.com" is not a URI/,
  },
  {
    name: 'an ssh URI without a host',
    attempt: config('hosts:\n  - name: hv1\n    uri: qemu+ssh:///system\n'),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:3: hosts\[0\]\.uri: transport 'ssh' needs a host/,
  },
  {
    name: 'a misspelt QEMU path',
    attempt: config('hosts:\n  - name: hv1\n    uri: qemu:///sytem\n'),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:3: hosts\[0\]\.uri: path '\/sytem'/,
  },
  {
    name: 'a migration URI that is a bare host name',
    attempt: config('hosts:\n  - name: hv1\n    uri: qemu:///system\n    migrationUri: hv2\n'),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:4: hosts\[0\]\.migrationUri: "hv2" is not a URI/,
  },
  {
    name: 'a boot timeout that overflows the timer',
    attempt: config('guest:\n  bootTimeoutSeconds: 99999999999\n'),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:2: guest\.bootTimeoutSeconds: .*86400/,
  },
  {
    name: 'image size bounds the wrong way round',
    attempt: config('image:\n  minVirtualSizeGiB: 10\n  maxVirtualSizeGiB: 5\n'),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:3: image\.maxVirtualSizeGiB: must not be below minVirtualSizeGiB$/,
  },
  {
    name: 'a negative image size bound',
    attempt: config('image:\n  maxVirtualSizeGiB: -1\n'),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:2: image\.maxVirtualSizeGiB: /,
  },
  {
    name: 'YAML: bad indentation',
    attempt: config('hosts:\n  - name: hv1\n   uri: qemu:///system\n'),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:3: invalid YAML: /,
  },
  {
    name: 'YAML: a mapping indented under a value',
    attempt: config('guest:\n  memoryMiB: 1024\n    vcpus: 2\n'),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:2: invalid YAML: /,
  },
  {
    name: 'YAML: an unclosed double quote names the line it opens on',
    attempt: config('firmware: auto\nreportDir: "reports\naccel: kvm\n'),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:2: invalid YAML: Missing closing "quote/,
  },
  {
    name: 'YAML: an unclosed single quote after an escaped one',
    attempt: config("firmware: auto\naccel: auto\nreportDir: 'it''s\n\n"),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:3: invalid YAML: Missing closing 'quote/,
  },
  {
    name: 'YAML: tab indentation',
    attempt: config('guest:\n\tmemoryMiB: 1024\n'),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:2: invalid YAML: Tabs are not allowed/,
  },
  {
    name: 'YAML: a duplicate key',
    attempt: config('firmware: auto\naccel: kvm\nfirmware: bios\n'),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:3: invalid YAML: Map keys must be unique/,
  },
  {
    name: 'an unknown field in image',
    attempt: config('image:\n  maxSize: 10\n'),
    error: ConfigError,
    exitCode: 2,
    message: /^imgtest\.yaml:2: image: unknown field\(s\) maxSize$/,
  },
];

const runCases: BadInput[] = [
  {
    name: 'one host and a suite that needs two',
    attempt: async () =>
      requireEnoughHosts(
        builtInSuites.filter((s) => s.id === 'live-migration'),
        1,
      ),
    error: UsageError,
    exitCode: 2,
    message: /^live-migration needs 2 hosts, the config has 1: /,
  },
  {
    name: '--report-dir on a file',
    attempt: async () => {
      await writeFile(join(dir, 'a-file'), '');
      return checkReportDir(join(dir, 'a-file'), '--report-dir');
    },
    error: ConfigError,
    exitCode: 2,
    message: /^--report-dir \S+a-file: is not a folder$/,
  },
  {
    name: '--report-dir below a file',
    attempt: async () => {
      await writeFile(join(dir, 'b-file'), '');
      return checkReportDir(join(dir, 'b-file', 'reports'), '--report-dir');
    },
    error: ConfigError,
    exitCode: 2,
    message: /^--report-dir \S+b-file\/reports: \S+b-file is not a folder$/,
  },
  {
    name: '--report-dir where nothing can be created (even by root)',
    attempt: () => checkReportDir('/proc/imgtest-reports', '--report-dir'),
    error: ConfigError,
    exitCode: 2,
    message: /^--report-dir \/proc\/imgtest-reports: cannot create it in \/proc \(E[A-Z]+\)$/,
  },
];

describe('the bad-input corpus', () => {
  it('has at least 25 cases', () => {
    expect(imageCases.length + configCases.length + runCases.length).toBeGreaterThanOrEqual(25);
  });

  for (const [group, cases] of [
    ['image', imageCases],
    ['config', configCases],
    ['run', runCases],
  ] as const) {
    describe(group, () => {
      for (const c of cases) {
        it(`${c.name}: ${c.error.name}, exit ${c.exitCode}`, async () => {
          const error = await c.attempt().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error, 'accepted, should be refused').toBeInstanceOf(c.error);
          const refused = error as ImgtestError;
          expect(refused.exitCode).toBe(c.exitCode);
          expect(refused.message).toMatch(c.message);
          expect(refused.message).not.toContain('\n');
        });
      }
    });
  }
});

describe('what the checks still accept', () => {
  it('a sound 2 GiB qcow2 with data, at the default bounds', async () => {
    const path = qcow2WithData('good.qcow2');
    await expect(preflight(path)).resolves.toMatchObject({ info: { format: 'qcow2', virtualSize: 2 * 2 ** 30 } });
  });

  it('exactly the bounds: 1 GiB and (configured) 3 GiB', async () => {
    qemuImg('create', '-q', '-f', 'qcow2', join(dir, 'one.qcow2'), '1G');
    await expect(preflight(join(dir, 'one.qcow2'))).resolves.toBeDefined();
    qemuImg('create', '-q', '-f', 'qcow2', join(dir, 'three-ok.qcow2'), '3G');
    await expect(validateImageFile(join(dir, 'three-ok.qcow2'), { limits: imageLimitsFrom({ minVirtualSizeGiB: 1, maxVirtualSizeGiB: 3 }) })).resolves.toBeDefined();
  });

  it('a qcow2 with leaked clusters only (wasted space, no data at risk)', async () => {
    const path = qcow2WithData('leaky.qcow2');
    // Zeroing the first L2 entry unmaps a data cluster whose refcount stays 1: a leak, nothing corrupt.
    const head = await readFile(path);
    const l1 = Number(head.readBigUInt64BE(40));
    const l2 = Number(head.readBigUInt64BE(l1) & 0x00fffffffffffe00n);
    await patch(path, l2, new Uint8Array(8));
    expect(spawnSync('qemu-img', ['check', path]).status, 'qemu-img check: leaks only').toBe(3);
    await expect(preflight(path)).resolves.toBeDefined();
  });

  it('no bounds unless asked: inspection alone takes a 64 MiB qcow2', async () => {
    const path = join(dir, 'small-ok.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', path, '64M');
    await expect(validateImageFile(path)).resolves.toMatchObject({ info: { virtualSize: 64 * 2 ** 20 } });
  });

  it('the quoted hint is one word to the shell and runs nothing', async () => {
    const error = (await preflight(join(dir, '$(touch x) y.qcow2')).catch((e: unknown) => e)) as Error;
    const word = / qemu-img convert -O qcow2 (.*) flat\.qcow2$/.exec(error.message)?.[1];
    expect(word).toBeDefined();
    const echoed = execFileSync('sh', ['-c', `printf '%s' ${word}`], { cwd: dir, encoding: 'utf8' });
    expect(echoed).toBe(join(dir, '$(touch x) y.qcow2'));
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('two hosts for live migration; any host count for suites that need one', () => {
    expect(() => requireEnoughHosts(builtInSuites, 2)).not.toThrow();
    expect(() =>
      requireEnoughHosts(
        builtInSuites.filter((s) => s.id !== 'live-migration'),
        1,
      ),
    ).not.toThrow();
  });

  it('a report dir that exists, or can be made, and leaves nothing behind', async () => {
    await mkdir(join(dir, 'reports'), { recursive: true });
    await checkReportDir(join(dir, 'reports'), '--report-dir');
    await checkReportDir(join(dir, 'new', 'deeper'), '--report-dir');
    expect(await readdir(join(dir, 'reports'))).toEqual([]);
    expect(existsSync(join(dir, 'new'))).toBe(false);
    expect((await readdir(dir)).filter((f) => f.startsWith('.imgtest-write-test-'))).toEqual([]);
  });
});
