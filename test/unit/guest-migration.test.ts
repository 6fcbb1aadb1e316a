import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandError, InfraError } from '../../src/errors.js';
import { LibvirtHost } from '../../src/hosts/libvirt-host.js';
import { Virsh } from '../../src/hosts/virsh.js';
import { CleanupRegistry } from '../../src/runner/cleanup.js';
import { RunnerGuestHypervisor, type RunHost } from '../../src/runner/guest-migration.js';
import { BaseVolumes } from '../../src/runner/guest-storage.js';
import type { HostInfo } from '../../src/suite-api/index.js';

/**
 * Two libvirt hosts simulated behind `virsh`: files per host (a folder can be shared by both), dir
 * pools that see a file only after a refresh (as libvirt's do), domains, and `virsh migrate`.
 */
type Files = Map<string, Buffer>;

interface FakeHostState {
  name: string;
  migrationUri: string;
  files: Files;
  shared: Files;
  sharedFolder: string;
  pools: Map<string, { folder: string; known: Set<string> }>;
  domains: Map<string, { xml: string }>;
  vanished: boolean;
}

const NAME = 'imgtest-run1-g1';
const POOL = '/var/lib/imgtest/images';
const SHARED = '/var/lib/imgtest/shared';
const NVRAM = `/var/lib/libvirt/qemu/nvram/${NAME}_VARS.fd`;

const RAWSTATS =
  'Job type: 3\n\noperation: 4\ntime_elapsed: 2100\ndowntime: 180\nsetup_time: 20\ndata_processed: 50000000\nmemory_processed: 50000000\nmemory_total: 1100000000\ndisk_processed: 0\nmemory_iteration: 4\n';

function domainXml(pool: string, poolPath: string, firmware: 'uefi' | 'bios'): string {
  const nvram = firmware === 'uefi' ? `\n    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>${NVRAM}</nvram>` : '';
  return `<domain type='qemu'>
  <name>${NAME}</name>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>${nvram}
  </os>
  <devices>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source pool='${pool}' volume='${NAME}.qcow2'/>
      <backingStore type='file'><format type='qcow2'/><source file='${poolPath}/imgtest-run1-base.qcow2'/><backingStore/></backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='volume' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source pool='${pool}' volume='${NAME}-seed.iso'/>
      <target dev='sda' bus='scsi'/>
      <readonly/>
    </disk>
    <serial type='file'>
      <source path='${poolPath}/${NAME}.serial.log' append='off'/>
      <target port='0'/>
    </serial>
  </devices>
</domain>`;
}

class FakeLab {
  readonly shared: Files = new Map();
  readonly hosts: FakeHostState[];
  readonly calls: string[] = [];
  /** Decides what `virsh migrate` does; default: the move succeeds. */
  onMigrate: (source: FakeHostState, args: readonly string[]) => { exitCode: number; stderr?: string } | Promise<{ exitCode: number; stderr?: string }> = () => ({ exitCode: 0 });
  /** Called when `virsh domjobabort` runs (a move under way may then end). */
  onJobAbort = () => undefined as void;
  migrateXml: string[] = [];

  constructor() {
    this.hosts = ['hv1', 'hv2'].map((name, i) => ({
      name,
      migrationUri: `qemu+tcp://10.77.0.${i + 1}/system`,
      files: new Map(),
      shared: this.shared,
      sharedFolder: SHARED,
      pools: new Map([
        ['imgtest', { folder: POOL, known: new Set<string>() }],
        ['imgtest-shared', { folder: SHARED, known: new Set<string>() }],
      ]),
      domains: new Map(),
      vanished: false,
    }));
  }

  host(name: string): FakeHostState {
    return this.hosts.find((h) => h.name === name)!;
  }

  filesOf(host: FakeHostState, folder: string): Files {
    return folder === SHARED ? host.shared : host.files;
  }

  /** Puts a file straight into a host's folder (and its pools' lists). */
  put(host: FakeHostState, folder: string, name: string, content: string): void {
    this.filesOf(host, folder).set(`${folder}/${name}`, Buffer.from(content));
    for (const pool of host.pools.values()) if (pool.folder === folder) pool.known.add(name);
  }

  has(host: FakeHostState, path: string): boolean {
    return this.filesOf(host, path.startsWith(SHARED) ? SHARED : '').has(path) || host.files.has(path);
  }

  libvirtHost(state: FakeHostState, pool: string): LibvirtHost {
    const host = new LibvirtHost({ name: state.name, uri: `fake://${state.name}`, migrationUri: state.migrationUri, pool, network: { bridge: 'brg' } });
    // The real client's text() and answered() over this lab's run().
    const run = (args: readonly string[], options: { allowFailure?: boolean }) => this.run(state, args, options);
    (host as unknown as { virsh: Virsh }).virsh = new (class extends Virsh {
      override run(args: readonly string[], options: { allowFailure?: boolean } = {}) {
        return run(args, options);
      }
    })(`fake://${state.name}`, host.health, state.name);
    return host;
  }

  async run(host: FakeHostState, args: readonly string[], options: { allowFailure?: boolean }) {
    this.calls.push(`${host.name}: ${args.join(' ')}`);
    const result = await this.answer(host, [...args]);
    if (result.exitCode !== 0 && !options.allowFailure) throw new CommandError(['virsh', ...args], result.exitCode, result.stderr);
    return result;
  }

  private async answer(host: FakeHostState, args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const ok = (stdout = '') => ({ stdout, stderr: '', exitCode: 0 });
    const err = (stderr: string) => ({ stdout: '', stderr: `error: ${stderr}\n`, exitCode: 1 });
    if (host.vanished) return { stdout: '', stderr: 'error: failed to connect to the hypervisor', exitCode: 1 };
    const [command, ...rest] = args;
    const positional = rest.filter((a, i) => !a.startsWith('--') && !['--pool', '--format', '--backing-vol', '--backing-vol-format', '--target', '--xml'].includes(rest[i - 1] ?? ''));
    const option = (name: string) => rest[rest.indexOf(name) + 1];
    const pool = (name: string | undefined) => host.pools.get(name ?? '');
    switch (command) {
      case 'hostname':
        return ok(host.name);
      case 'pool-dumpxml': {
        const p = pool(positional[0]);
        return p ? ok(`<pool type='dir'><target><path>${p.folder}</path></target></pool>`) : err('no pool');
      }
      case 'pool-refresh': {
        const p = pool(positional[0])!;
        p.known = new Set([...this.filesOf(host, p.folder).keys()].filter((k) => k.startsWith(`${p.folder}/`)).map((k) => k.slice(p.folder.length + 1)));
        return ok();
      }
      case 'pool-create-as': {
        const [name] = positional;
        if (host.pools.has(name!)) return err(`pool '${name}' already exists`);
        const folder = option('--target')!;
        const known = new Set([...this.filesOf(host, folder).keys()].filter((k) => k.startsWith(`${folder}/`)).map((k) => k.slice(folder.length + 1)));
        host.pools.set(name!, { folder, known });
        return ok();
      }
      case 'pool-destroy':
        host.pools.delete(positional[0]!);
        return ok();
      case 'vol-path': {
        const p = pool(option('--pool'))!;
        return p.known.has(positional[0]!) ? ok(`${p.folder}/${positional[0]}`) : err(`failed to get vol '${positional[0]}'`);
      }
      case 'vol-create-as': {
        const [poolName, name] = positional;
        const p = pool(poolName)!;
        const backing = option('--backing-vol');
        this.put(host, p.folder, name!, backing ? `qcow2 overlay on ${backing}` : '');
        return ok();
      }
      case 'vol-upload': {
        const p = pool(option('--pool'))!;
        const [name, local] = positional;
        if (!p.known.has(name!)) return err('no vol');
        this.filesOf(host, p.folder).set(`${p.folder}/${name}`, await readFile(local!));
        return ok();
      }
      case 'vol-download': {
        const p = pool(option('--pool'))!;
        const [name, local] = positional;
        const content = this.filesOf(host, p.folder).get(`${p.folder}/${name}`);
        if (!content || !p.known.has(name!)) return err(`failed to get vol '${name}'`);
        await writeFile(local!, content);
        return ok();
      }
      case 'vol-delete': {
        const p = pool(option('--pool'))!;
        const name = positional[0]!;
        if (!p.known.has(name)) return err(`failed to get vol '${name}'`);
        this.filesOf(host, p.folder).delete(`${p.folder}/${name}`);
        p.known.delete(name);
        return ok();
      }
      case 'domstate':
        return host.domains.has(positional[0]!) ? ok('running') : err(`failed to get domain '${positional[0]}'`);
      case 'dumpxml':
        return host.domains.has(positional[0]!) ? ok(host.domains.get(positional[0]!)!.xml) : err(`failed to get domain '${positional[0]}'`);
      case 'domjobinfo':
        if (!host.domains.has(positional[0]!)) return err('failed to get domain');
        return ok(rest.includes('--completed') ? RAWSTATS : 'Job type: 2\n\ndisk_processed: 1048576\n');
      case 'domjobabort':
        this.onJobAbort();
        return ok();
      case 'destroy':
        return ok();
      case 'undefine':
        host.domains.delete(positional[0]!);
        return ok();
      case 'migrate': {
        const [name, uri] = positional;
        const destination = this.hosts.find((h) => h.migrationUri === uri)!;
        this.migrateXml.push(await readFile(option('--xml')!, 'utf8'));
        const outcome = await this.onMigrate(host, args);
        if (outcome.exitCode !== 0) return { stdout: '', stderr: outcome.stderr ?? '', exitCode: outcome.exitCode };
        destination.domains.set(name!, { xml: this.migrateXml[this.migrateXml.length - 1]! });
        host.domains.delete(name!);
        return ok();
      }
      default:
        return err(`fake virsh: unscripted ${args.join(' ')}`);
    }
  }
}

describe('RunnerGuestHypervisor.migrate', () => {
  let lab: FakeLab;
  let workDir: string;
  let cleanup: CleanupRegistry;

  beforeEach(async () => {
    lab = new FakeLab();
    workDir = await mkdtemp(join(tmpdir(), 'imgtest-migration-unit-'));
    cleanup = new CleanupRegistry();
  });
  afterEach(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  /** A guest booted on hv1 the way bootGuest leaves it. */
  async function bootedGuest(options: { shared?: boolean; firmware?: 'uefi' | 'bios'; signal?: AbortSignal; doing?: (key: string, what: string | undefined) => void } = {}) {
    const shared = options.shared ?? false;
    const poolName = shared ? 'imgtest-shared' : 'imgtest';
    const folder = shared ? SHARED : POOL;
    const [hv1, hv2] = lab.hosts as [FakeHostState, FakeHostState];
    const hosts: RunHost[] = [hv1, hv2].map((state) => ({
      host: lab.libvirtHost(state, poolName),
      info: { name: state.name, uri: `fake://${state.name}`, migrationUri: state.migrationUri } satisfies HostInfo,
    }));
    const image = join(workDir, 'image.qcow2');
    await writeFile(image, 'the image');
    const seedIso = join(workDir, 'seed.iso');
    await writeFile(seedIso, 'the seed');
    const bases = new BaseVolumes({ name: 'imgtest-run1-base.qcow2', imagePath: image, imageName: 'image', sharedPool: shared ? poolName : undefined, cleanup, keep: false, emit: () => undefined });
    await bases.ensure(hosts[0]!.host);
    lab.put(hv1, folder, `${NAME}.qcow2`, 'overlay with the guest writes');
    lab.put(hv1, folder, `${NAME}-seed.iso`, 'the seed');
    lab.put(hv1, folder, `${NAME}.serial.log`, 'console');
    if ((options.firmware ?? 'uefi') === 'uefi') hv1.files.set(NVRAM, Buffer.from('variables the guest booted with'));
    hv1.domains.set(NAME, { xml: domainXml(poolName, folder, options.firmware ?? 'uefi') });
    const hypervisor = new RunnerGuestHypervisor({
      name: NAME,
      runId: 'run1',
      key: 'g1',
      boot: hosts[0]!,
      overlay: `${NAME}.qcow2`,
      seed: `${NAME}-seed.iso`,
      seedIso,
      serialLog: `${NAME}.serial.log`,
      overlayBytes: 4 * 2 ** 30,
      baseVolume: 'imgtest-run1-base.qcow2',
      baseFormat: 'qcow2',
      cleanup,
      keep: false,
      workDir,
      support: { hosts, ensureBase: (host) => bases.ensure(host), shared, signal: options.signal, doing: options.doing },
    });
    return { hypervisor, hosts, hv1, hv2 };
  }

  it('copy mode: prepares the destination, moves with --copy-storage-inc and a rewritten XML, follows the guest, reads the figures', async () => {
    const { hypervisor, hosts, hv1, hv2 } = await bootedGuest();
    lab.put(hv2, POOL, `${NAME}.qcow2`, 'stale copy from an earlier leg');
    const outcome = await hypervisor.migrate(hosts[1]!.info, { storage: 'copy' });
    expect(outcome.error).toBeUndefined();
    expect(outcome).toMatchObject({ ok: true, from: 'hv1', to: 'hv2', storage: 'copy', unsafe: false });
    expect(outcome.command.slice(0, 6)).toEqual(['migrate', '--live', '--p2p', '--persistent', '--undefinesource', '--copy-storage-inc']);
    expect(outcome.command.slice(-2)).toEqual([NAME, 'qemu+tcp://10.77.0.2/system']);
    expect(outcome.stats).toMatchObject({ downtimeMs: 180, timeElapsedMs: 2100, memoryProcessedBytes: 50000000 });
    expect(outcome.prepared.join('\n')).toMatch(/base imgtest-run1-base.qcow2: uploaded/);
    expect(outcome.prepared.join('\n')).toMatch(/stale copy from an earlier move removed/);
    expect(outcome.prepared.join('\n')).toMatch(/NVRAM .*_VARS.fd: copied from hv1/);
    // The destination has the base, a fresh overlay backed by it, the seed and the booted NVRAM.
    expect(hv2.files.get(`${POOL}/imgtest-run1-base.qcow2`)?.toString()).toBe('the image');
    expect(hv2.files.get(`${POOL}/${NAME}.qcow2`)?.toString()).toBe(`qcow2 overlay on ${POOL}/imgtest-run1-base.qcow2`);
    expect(hv2.files.get(`${POOL}/${NAME}-seed.iso`)?.toString()).toBe('the seed');
    expect(hv2.files.get(NVRAM)?.toString()).toBe('variables the guest booted with');
    const xml = lab.migrateXml[0]!;
    expect(xml).toContain(`<disk type='file' device='disk'>`);
    expect(xml).toContain(`<source file='${POOL}/${NAME}.qcow2'/>`);
    expect(xml).toContain(`append='on'`);
    expect(hypervisor.currentHost().name).toBe('hv2');
    expect(hv2.domains.has(NAME) && !hv1.domains.has(NAME)).toBe(true);
    // The transient NVRAM pools are gone again.
    expect([...hv1.pools.keys(), ...hv2.pools.keys()].filter((p) => p.includes('nvram'))).toEqual([]);

    // Back again: hv1 still has its old overlay, which must be replaced by an empty one.
    const back = await hypervisor.migrate(hosts[0]!.info, { storage: 'copy' });
    expect(back.ok).toBe(true);
    expect(back.prepared.join('\n')).toMatch(/base imgtest-run1-base.qcow2: already in/);
    expect(hv1.files.get(`${POOL}/${NAME}.qcow2`)?.toString()).toMatch(/^qcow2 overlay on/);
    expect(hypervisor.currentHost().name).toBe('hv1');
  });

  it('prepareMigration does the slow part ahead; migrate then only copies the NVRAM and moves', async () => {
    const { hypervisor, hosts, hv2 } = await bootedGuest();
    const lines = await hypervisor.prepareMigration(hosts[1]!.info, { storage: 'copy' });
    expect(lines.join('\n')).toMatch(/base .*: uploaded to pool imgtest/);
    expect(hv2.files.has(`${POOL}/${NAME}.qcow2`)).toBe(true);
    expect(hv2.files.has(NVRAM)).toBe(false);
    const before = lab.calls.length;
    const outcome = await hypervisor.migrate(hosts[1]!.info, { storage: 'copy' });
    expect(outcome.ok).toBe(true);
    expect(outcome.prepared.slice(0, lines.length)).toEqual(lines);
    expect(outcome.prepared[outcome.prepared.length - 1]).toMatch(/^NVRAM/);
    expect(lab.calls.slice(before).filter((c) => /vol-create-as imgtest |vol-upload --pool imgtest /.test(c))).toEqual([]);
    expect(hv2.files.get(NVRAM)?.toString()).toBe('variables the guest booted with');
  });

  it('cleanup removes everything the moves left on both hosts, NVRAM included', async () => {
    const { hypervisor, hosts, hv1, hv2 } = await bootedGuest();
    await hypervisor.migrate(hosts[1]!.info, { storage: 'copy' });
    await hypervisor.migrate(hosts[0]!.info, { storage: 'copy' });
    hv1.files.set(NVRAM, Buffer.from('left by --undefinesource'));
    expect(await cleanup.runAll()).toEqual([]);
    expect([...hv2.files.keys()]).toEqual([]);
    expect(hv2.domains.size + hv1.domains.size).toBe(0);
    expect(hv1.files.has(NVRAM)).toBe(false);
    // (hv1's overlay, seed and serial log belong to the boot's own cleanup, not registered in this test.)
    expect([...hv1.files.keys()].sort()).toEqual([`${POOL}/${NAME}-seed.iso`, `${POOL}/${NAME}.qcow2`, `${POOL}/${NAME}.serial.log`]);
  });

  it('BIOS guests move without any NVRAM step', async () => {
    const { hypervisor, hosts } = await bootedGuest({ firmware: 'bios' });
    const outcome = await hypervisor.migrate(hosts[1]!.info, { storage: 'copy' });
    expect(outcome.ok).toBe(true);
    expect(outcome.prepared.join('\n')).not.toMatch(/NVRAM/);
    expect(lab.calls.filter((c) => c.includes('pool-create-as'))).toEqual([]);
  });

  it('shared mode: nothing copied, the destination pool refreshed; "Unsafe migration" retried with --unsafe when allowed', async () => {
    const { hypervisor, hosts, hv2 } = await bootedGuest({ shared: true });
    lab.onMigrate = (_source, args) => (args.includes('--unsafe') ? { exitCode: 0 } : { exitCode: 1, stderr: 'error: Unsafe migration: Migration without shared storage is unsafe\n' });
    const outcome = await hypervisor.migrate(hosts[1]!.info, { storage: 'shared', allowUnsafe: true });
    expect(outcome).toMatchObject({ ok: true, unsafe: true, unsafeReason: 'Unsafe migration: Migration without shared storage is unsafe' });
    expect(outcome.command).toContain('--unsafe');
    expect(outcome.command).not.toContain('--copy-storage-inc');
    expect(lab.calls).toContain('hv2: pool-refresh imgtest-shared');
    expect(lab.calls.filter((c) => c.startsWith('hv2: vol-create-as imgtest-shared'))).toEqual([]);
    expect(lab.migrateXml[0]).toContain(`<source pool='imgtest-shared' volume='${NAME}.qcow2'/>`);
    expect(hv2.domains.has(NAME)).toBe(true);
  });

  it("shared mode without allowUnsafe: libvirt's refusal is the outcome, the guest stays", async () => {
    const { hypervisor, hosts, hv1 } = await bootedGuest({ shared: true });
    lab.onMigrate = () => ({ exitCode: 1, stderr: 'error: Unsafe migration: Migration without shared storage is unsafe\n' });
    const outcome = await hypervisor.migrate(hosts[1]!.info, { storage: 'shared', allowUnsafe: false });
    expect(outcome).toMatchObject({ ok: false, unsafe: false, error: 'Unsafe migration: Migration without shared storage is unsafe' });
    expect(lab.calls.filter((c) => c.includes(' migrate '))).toHaveLength(1);
    expect(hypervisor.currentHost().name).toBe('hv1');
    expect(hv1.domains.has(NAME)).toBe(true);
  });

  it('a storage mode that does not match where the volumes are is refused before anything happens', async () => {
    const { hypervisor, hosts } = await bootedGuest();
    const before = lab.calls.length;
    const outcome = await hypervisor.migrate(hosts[1]!.info, { storage: 'shared' });
    expect(outcome).toMatchObject({ ok: false, error: expect.stringMatching(/per-host pool 'imgtest'.*storage.sharedPool/) });
    expect(lab.calls.slice(before).some((c) => c.includes('migrate') || c.includes('vol-create-as'))).toBe(false);
    const copyOnShared = await (await bootedGuest({ shared: true })).hypervisor.migrate(hosts[1]!.info, { storage: 'copy' });
    expect(copyOnShared).toMatchObject({ ok: false, error: expect.stringMatching(/shared pool 'imgtest-shared'.*destroy/) });
  });

  it('a host that stops answering during the move is an infrastructure error', async () => {
    const { hypervisor, hosts, hv2 } = await bootedGuest();
    lab.onMigrate = () => {
      hv2.vanished = true;
      return { exitCode: 1, stderr: 'error: operation failed: migration out job: unexpectedly failed\n' };
    };
    await expect(hypervisor.migrate(hosts[1]!.info, { storage: 'copy' })).rejects.toThrow(/host hv2 stopped answering while .* moved hv1 -> hv2: operation failed/);
    // Gone before the move: preparing it fails, naming it.
    await expect(hypervisor.migrate(hosts[1]!.info, { storage: 'copy' })).rejects.toThrow(InfraError);
    await expect(hypervisor.migrate(hosts[1]!.info, { storage: 'copy' })).rejects.toThrow(/hv2/);
  });

  it('an interrupt during the move cancels it through libvirt: the guest stays whole on the source, the leg rejects as interrupted', async () => {
    const interrupt = new AbortController();
    const doing: (string | undefined)[] = [];
    const { hypervisor, hosts, hv1, hv2 } = await bootedGuest({ signal: interrupt.signal, doing: (key, what) => doing.push(what && `${key}: ${what}`) });
    let jobAborted = () => undefined as void;
    const cancelled = new Promise<void>((resolve) => (jobAborted = resolve));
    lab.onJobAbort = () => jobAborted();
    lab.onMigrate = async () => {
      interrupt.abort('SIGINT');
      await cancelled; // libvirt's job runs on until it is aborted, as virsh migrate --p2p does
      return { exitCode: 1, stderr: 'error: operation aborted: migration out job: canceled by client\n' };
    };
    await expect(hypervisor.migrate(hosts[1]!.info, { storage: 'copy' })).rejects.toMatchObject({ code: 'E_INTERRUPTED' });
    expect(lab.calls).toContain(`hv1: domjobabort ${NAME}`);
    expect(hv1.domains.has(NAME) && !hv2.domains.has(NAME)).toBe(true);
    expect(hypervisor.currentHost().name).toBe('hv1');
    expect(doing).toEqual(['g1: migrating g1 hv1 -> hv2', undefined]);
    // Interrupted before the next move: nothing more is started.
    lab.calls.length = 0;
    await expect(hypervisor.migrate(hosts[1]!.info, { storage: 'copy' })).rejects.toMatchObject({ code: 'E_INTERRUPTED' });
    expect(lab.calls.filter((c) => / migrate /.test(c))).toEqual([]);
  });

  it('a shared pool the destination does not see is an infrastructure error naming it', async () => {
    const { hypervisor, hosts, hv2 } = await bootedGuest({ shared: true });
    hv2.shared = new Map();
    await expect(hypervisor.migrate(hosts[1]!.info, { storage: 'shared' })).rejects.toThrow(/not shared/);
  });

  it('virsh(): read-only queries run on the named host, anything else is refused', async () => {
    const { hypervisor, hosts } = await bootedGuest();
    const state = await hypervisor.virsh(hosts[1]!.info, ['domstate', NAME]);
    expect(state).toMatchObject({ exitCode: 1, stderr: expect.stringMatching(/failed to get domain/) });
    await expect(hypervisor.virsh(hosts[0]!.info, ['destroy', NAME])).rejects.toThrow(/not a read-only query/);
    await expect(hypervisor.virsh({ name: 'hv9', uri: 'x', migrationUri: 'x' }, ['domstate', NAME])).rejects.toThrow(/unknown host 'hv9'/);
    expect(hypervisor.storage()).toEqual({ kind: 'per-host', pool: 'imgtest' });
  });
});

describe('BaseVolumes', () => {
  it('shared pool: uploads once, other hosts refresh and must see it', async () => {
    const lab = new FakeLab();
    const dir = await mkdtemp(join(tmpdir(), 'imgtest-bases-unit-'));
    try {
      const image = join(dir, 'image.qcow2');
      await writeFile(image, 'img');
      const cleanup = new CleanupRegistry();
      const [hv1, hv2] = lab.hosts.map((h) => lab.libvirtHost(h, 'imgtest-shared')) as [LibvirtHost, LibvirtHost];
      const bases = new BaseVolumes({ name: 'base.qcow2', imagePath: image, imageName: 'image', sharedPool: 'imgtest-shared', cleanup, keep: false, emit: () => undefined });
      await Promise.all([bases.ensure(hv1), bases.ensure(hv2), bases.ensure(hv1)]);
      expect(lab.calls.filter((c) => c.includes('vol-upload'))).toHaveLength(1);
      expect(lab.calls).toContain('hv2: pool-refresh imgtest-shared');
      expect(cleanup.size).toBe(1);

      const lonely = new FakeLab();
      lonely.hosts[1]!.shared = new Map();
      const [a, b] = lonely.hosts.map((h) => lonely.libvirtHost(h, 'imgtest-shared')) as [LibvirtHost, LibvirtHost];
      const notShared = new BaseVolumes({ name: 'base.qcow2', imagePath: image, imageName: 'image', sharedPool: 'imgtest-shared', cleanup, keep: false, emit: () => undefined });
      await notShared.ensure(a);
      await expect(notShared.ensure(b)).rejects.toThrow(/host hv2 does not see base.qcow2.*not shared/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('per-host pools: one upload per host', async () => {
    const lab = new FakeLab();
    const dir = await mkdtemp(join(tmpdir(), 'imgtest-bases-unit-'));
    try {
      const image = join(dir, 'image.qcow2');
      await writeFile(image, 'img');
      const cleanup = new CleanupRegistry();
      const [hv1, hv2] = lab.hosts.map((h) => lab.libvirtHost(h, 'imgtest')) as [LibvirtHost, LibvirtHost];
      const bases = new BaseVolumes({ name: 'base.qcow2', imagePath: image, imageName: 'image', cleanup, keep: false, emit: () => undefined });
      await Promise.all([bases.ensure(hv1), bases.ensure(hv2), bases.ensure(hv2)]);
      expect(lab.calls.filter((c) => c.includes('vol-upload'))).toEqual(['hv1: vol-upload --pool imgtest base.qcow2 ' + image, 'hv2: vol-upload --pool imgtest base.qcow2 ' + image]);
      expect(cleanup.size).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
