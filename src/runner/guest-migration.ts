/**
 * The hypervisor side of a booted guest (`GuestHandle.hypervisor`): where it runs, read-only virsh
 * queries, and live migration with the destination prepared first.
 *
 * A move, step by step (see `migrate`):
 * 1. destination prepared: copy mode: the base image (uploaded if the host has none), a fresh empty
 *    overlay of the same name and size on it (a copy left by an earlier leg is stale: replaced), the
 *    seed ISO; shared mode: the destination's pool refreshed so it sees the guest's volumes; UEFI: the
 *    NVRAM file the guest booted with, copied to the same path (libvirt does not migrate it);
 * 2. everything made on the destination registered for cleanup before the move starts, so an
 *    interrupted or failed move leaves nothing either;
 * 3. `virsh migrate --live --p2p --persistent --undefinesource [--copy-storage-inc | --unsafe] --xml`
 *    with the migratable XML rewritten for the destination (see hosts/migration.ts);
 * 4. libvirt's figures read on the destination (`domjobinfo --completed`).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError } from '../errors.js';
import { abortError } from '../util/poll.js';
import type { HypervisorHost } from '../hosts/host.js';
import { virshErrorLines } from '../hosts/parse.js';
import { disksOf, diskVolumeName, isCopiedDisk, migrationXml, nvramPathOf, parseDomJobInfo } from '../hosts/migration.js';
import type { ExecResult, GuestHypervisor, GuestStorage, HostInfo, MigrationOptions, MigrationOutcome, MigrationStorageMode } from '../suite-api/index.js';
import type { CleanupRegistry } from './cleanup.js';

/** One of the run's hosts: the adapter and what suites see of it. */
export interface RunHost {
  host: HypervisorHost;
  info: HostInfo;
}

/** What the run gives a guest so that it can move. */
export interface MigrationSupport {
  hosts: readonly RunHost[];
  /** Makes the image's base volume available on a host (uploads it once; see BaseVolumes). */
  ensureBase(host: HypervisorHost): Promise<void>;
  /** The guest's volumes are in a pool every host shares (config `storage.sharedPool`). */
  shared: boolean;
  /** The run's interrupt: a move under way is aborted through libvirt (`domjobabort`), then the leg rejects. */
  signal?: AbortSignal;
  /** Says what the guest (by key) is doing, for the report of an interrupted run. */
  doing?(key: string, what: string | undefined): void;
}

export interface GuestHypervisorSpec {
  /** Domain name. */
  name: string;
  runId: string;
  key: string;
  boot: RunHost;
  overlay: string;
  seed: string;
  /** The seed ISO on this machine, for destinations that lack it. */
  seedIso: string;
  serialLog: string;
  overlayBytes: number;
  baseVolume: string;
  baseFormat: string;
  cleanup: CleanupRegistry;
  keep: boolean;
  workDir: string;
  /** Absent: the guest cannot move (e.g. booted by a tool outside a run). */
  support?: MigrationSupport;
}

const DEFAULT_TIMEOUT_SECONDS = 600;
const JOB_POLL_MS = 2000;

/** virsh commands a suite may run: they only read. */
const READ_ONLY_COMMANDS = new Set([
  'capabilities',
  'domcapabilities',
  'hostname',
  'version',
  'nodeinfo',
  'list',
  'dominfo',
  'domstate',
  'domjobinfo',
  'domstats',
  'dumpxml',
  'domifaddr',
  'domiflist',
  'domifstat',
  'domblklist',
  'domblkinfo',
  'domblkstat',
  'dommemstat',
  'domtime',
  'vcpuinfo',
  'hypervisor-cpu-compare',
  'hypervisor-cpu-baseline',
  'cpu-compare',
  'cpu-baseline',
  'pool-list',
  'pool-info',
  'vol-list',
  'vol-info',
  'vol-path',
  'qemu-agent-command',
]);
/** Guest agent commands that only read. */
const READ_ONLY_AGENT_COMMANDS = new Set([
  'guest-ping',
  'guest-info',
  'guest-get-time',
  'guest-get-osinfo',
  'guest-get-host-name',
  'guest-get-timezone',
  'guest-network-get-interfaces',
  'guest-get-fsinfo',
  'guest-get-vcpus',
  'guest-get-users',
  'guest-sync',
]);

/** Why a virsh call a suite asked for is refused, or undefined when it may run. */
export function refuseVirsh(args: readonly string[], domain: string): string | undefined {
  const command = args[0];
  if (!command || !READ_ONLY_COMMANDS.has(command)) return `virsh ${command ?? '(nothing)'}: not a read-only query imgtest lets suites run`;
  if (command === 'domtime' && args.some((a) => ['--sync', '--now', '--time', '--pretty=false'].includes(a) || a.startsWith('--time='))) return 'virsh domtime: only reading the time is allowed';
  if (command === 'qemu-agent-command') {
    const positional = args.slice(1).filter((a) => !a.startsWith('--'));
    if (positional[0] !== domain) return `virsh qemu-agent-command: only for this guest (${domain})`;
    let execute: unknown;
    try {
      execute = (JSON.parse(positional[1] ?? '') as { execute?: unknown }).execute;
    } catch {
      return 'virsh qemu-agent-command: the command must be one JSON object';
    }
    if (typeof execute !== 'string' || !READ_ONLY_AGENT_COMMANDS.has(execute)) return `virsh qemu-agent-command: ${String(execute)} is not a read-only agent command`;
  }
  return undefined;
}

/** libvirt's own words from virsh's stderr ("error: ..." lines), one line. */
export function libvirtMessage(stderr: string): string {
  const { errors, lines } = virshErrorLines(stderr);
  return (errors.length ? errors : lines.slice(-2)).join(' | ') || 'virsh migrate failed without a message';
}

export class RunnerGuestHypervisor implements GuestHypervisor {
  private current: RunHost;
  private moves = 0;
  /** What `prepareMigration` made ready, used by the next `migrate` to the same host. */
  private prepared?: { source: string; destination: string; storage: MigrationStorageMode; lines: string[] };
  /** Cleanup steps already registered, by key (each host once). */
  private readonly registered = new Set<string>();

  constructor(private readonly spec: GuestHypervisorSpec) {
    this.current = spec.boot;
    // The boot registered the volumes on its host already.
    this.registered.add(`${spec.boot.info.name}:volumes`);
  }

  currentHost(): HostInfo {
    return this.current.info;
  }

  /** The adapter of the host the guest runs on now (for the runner: serial log, artifacts). */
  currentLibvirtHost(): HypervisorHost {
    return this.current.host;
  }

  storage(): GuestStorage {
    return { kind: this.spec.support?.shared ? 'shared' : 'per-host', pool: this.current.host.pool };
  }

  domainXml(): Promise<string> {
    return this.current.host.dumpXml(this.spec.name);
  }

  async virsh(host: HostInfo, args: readonly string[]): Promise<ExecResult> {
    const refusal = refuseVirsh(args, this.spec.name);
    if (refusal) throw new Error(refusal);
    const target = this.runHost(host);
    const result = await target.host.virsh.run(args, { allowFailure: true, timeoutMs: 120_000 });
    return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
  }

  async prepareMigration(to: HostInfo, options: MigrationOptions): Promise<string[]> {
    const { source, destination } = this.legEnds(to);
    const mismatch = this.storageMismatch(options.storage);
    if (mismatch) return [`not prepared: ${mismatch}`];
    if (await destination.host.domainState(this.spec.name)) {
      throw new InfraError(`${destination.info.name} already has a domain named ${this.spec.name}; not moving onto it`, { code: 'E_MIGRATION' });
    }
    const lines = await this.wrapPreparation(source, destination, () => this.prepareVolumes(source, destination, options.storage));
    this.prepared = { source: source.info.name, destination: destination.info.name, storage: options.storage, lines };
    return lines;
  }

  async migrate(to: HostInfo, options: MigrationOptions): Promise<MigrationOutcome> {
    const { source, destination } = this.legEnds(to);
    const leg = ++this.moves;
    const started = Date.now();
    const outcome: MigrationOutcome = {
      ok: false,
      from: source.info.name,
      to: destination.info.name,
      storage: options.storage,
      unsafe: false,
      command: [],
      prepared: [],
      startedAt: started,
      finishedAt: started,
    };
    const mismatch = this.storageMismatch(options.storage);
    if (mismatch) return { ...outcome, error: mismatch };

    const ready = this.prepared;
    this.prepared = undefined;
    if (ready && ready.source === source.info.name && ready.destination === destination.info.name && ready.storage === options.storage) outcome.prepared = ready.lines;
    else outcome.prepared = await this.prepareMigration(to, options).finally(() => (this.prepared = undefined));

    const xmlFile = join(this.spec.workDir, `${this.spec.name}.migrate-${leg}.xml`);
    await this.wrapPreparation(source, destination, async () => {
      outcome.prepared.push(...(await this.prepareFirmware(source, destination, leg)));
      const copiedDiskPaths = new Map<string, string>();
      const migratable = await source.host.migratableXml(this.spec.name);
      if (options.storage === 'copy') {
        for (const disk of disksOf(migratable).filter(isCopiedDisk)) {
          const volume = diskVolumeName(disk);
          if (volume) copiedDiskPaths.set(volume, await destination.host.volumePath(volume));
        }
      }
      const xml = migrationXml({
        xml: migratable,
        copiedDiskPaths: options.storage === 'copy' ? copiedDiskPaths : undefined,
        sourcePool: source.host.pool,
        destinationPool: destination.host.pool,
        sourcePoolPath: await source.host.poolPath(),
        destinationPoolPath: await destination.host.poolPath(),
      });
      await writeFile(xmlFile, xml);
    });

    const flags = ['--live', '--p2p', '--persistent', '--undefinesource', ...(options.storage === 'copy' ? ['--copy-storage-inc'] : [])];
    const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    const support = this.spec.support;
    support?.doing?.(this.spec.key, `migrating ${this.spec.key} ${source.info.name} -> ${destination.info.name}`);
    let attempt: Awaited<ReturnType<RunnerGuestHypervisor['runMigration']>>;
    try {
      attempt = await this.runMigration(source, destination, flags, xmlFile, timeoutSeconds);
      if (attempt.exitCode !== 0 && options.storage === 'shared' && /unsafe migration/i.test(attempt.stderr) && options.allowUnsafe) {
        outcome.unsafe = true;
        outcome.unsafeReason = libvirtMessage(attempt.stderr);
        attempt = await this.runMigration(source, destination, [...flags, '--unsafe'], xmlFile, timeoutSeconds);
      }
    } finally {
      support?.doing?.(this.spec.key, undefined);
    }
    outcome.command = attempt.args;
    outcome.startedAt = attempt.startedAt;
    outcome.finishedAt = attempt.finishedAt;

    if (attempt.exitCode !== 0) {
      const message = attempt.timedOut ? `did not finish within ${timeoutSeconds} s and was aborted (${libvirtMessage(attempt.stderr)})` : libvirtMessage(attempt.stderr);
      for (const side of [source, destination]) {
        if (!(await side.host.answers()))
          throw new InfraError(`host ${side.info.name} stopped answering while ${this.spec.name} moved ${source.info.name} -> ${destination.info.name}: ${message}`, { code: 'E_HOST_UNREACHABLE' });
      }
      // Normally still on the source; follow it if libvirt finished the move after all.
      const there = await destination.host.domainState(this.spec.name);
      if (there?.state === 'running' && !(await source.host.domainState(this.spec.name))) this.current = destination;
      return { ...outcome, error: message };
    }
    this.current = destination;
    const stats = parseDomJobInfo(await destination.host.jobInfo(this.spec.name, true));
    // The destination counts memory only; the disk copy is what the source last reported.
    if (stats.diskProcessedBytes === undefined || stats.diskProcessedBytes === 0) stats.diskProcessedBytes = attempt.diskProcessedBytes ?? stats.diskProcessedBytes;
    return { ...outcome, ok: true, stats };
  }

  private legEnds(to: HostInfo): { source: RunHost; destination: RunHost } {
    if (!this.spec.support) throw new InfraError(`${this.spec.name}: this guest was booted without migration support`, { code: 'E_MIGRATION' });
    const source = this.current;
    const destination = this.runHost(to);
    if (destination.info.name === source.info.name) throw new InfraError(`${this.spec.name}: already runs on ${to.name}`, { code: 'E_MIGRATION' });
    return { source, destination };
  }

  /** Why `storage` cannot work for where the guest's volumes are, or undefined. */
  private storageMismatch(storage: MigrationStorageMode): string | undefined {
    const shared = this.spec.support?.shared ?? false;
    if (storage === 'copy' && shared)
      return `storage mode 'copy', but the guest's volumes are in the shared pool '${this.current.host.pool}': copying them onto themselves would destroy them (use storage mode 'shared')`;
    if (storage === 'shared' && !shared)
      return `storage mode 'shared', but the guest's volumes are in the per-host pool '${this.current.host.pool}' (set storage.sharedPool in the run config to a pool every host shares)`;
    return undefined;
  }

  /** A failing virsh call while preparing names the move it was for. */
  private async wrapPreparation<T>(source: RunHost, destination: RunHost, task: () => Promise<T>): Promise<T> {
    try {
      return await task();
    } catch (error) {
      if (error instanceof InfraError && error.code !== 'E_COMMAND') throw error;
      throw new InfraError(`preparing ${destination.info.name} for ${this.spec.name} (${source.info.name} -> ${destination.info.name}): ${(error as Error).message}`, {
        cause: error,
        code: 'E_MIGRATION',
      });
    }
  }

  private runHost(info: HostInfo): RunHost {
    const hosts = this.spec.support?.hosts ?? [this.spec.boot];
    const found = hosts.find((h) => h.info.name === info.name);
    if (!found) throw new Error(`unknown host '${info.name}' (this run's hosts: ${hosts.map((h) => h.info.name).join(', ')})`);
    return found;
  }

  private register(key: string, label: string, undo: () => Promise<void>): void {
    if (this.spec.keep || this.registered.has(key)) return;
    this.registered.add(key);
    this.spec.cleanup.add(label, undo);
  }

  /** Step 1 for the disks; returns what it did, one line each. Cleanup is registered before anything is made. */
  private async prepareVolumes(source: RunHost, destination: RunHost, storage: MigrationStorageMode): Promise<string[]> {
    const { host } = destination;
    const name = this.spec.name;
    const done: string[] = [];
    if (storage === 'copy') {
      // Volumes first: their cleanup runs after the domain's (the registry undoes newest first).
      this.register(`${host.name}:volumes`, `${host.name}: volumes of ${name}`, async () => {
        await host.deleteVolume(this.spec.overlay);
        await host.deleteVolume(this.spec.seed);
        await host.refreshPool();
        await host.deleteVolume(this.spec.serialLog);
      });
      const hadBase = await host.volumeExists(this.spec.baseVolume);
      await this.spec.support!.ensureBase(host);
      done.push(`base ${this.spec.baseVolume}: ${hadBase ? 'already in' : 'uploaded to'} pool ${host.pool}`);
      if (await host.volumeExists(this.spec.overlay)) {
        await host.deleteVolume(this.spec.overlay);
        done.push(`overlay ${this.spec.overlay}: stale copy from an earlier move removed`);
      }
      await host.createOverlay(this.spec.overlay, this.spec.baseVolume, this.spec.baseFormat, this.spec.overlayBytes);
      done.push(`overlay ${this.spec.overlay}: created empty, ${this.spec.overlayBytes} bytes, backed by ${this.spec.baseVolume} (libvirt copies the guest's writes)`);
      if (await host.volumeExists(this.spec.seed)) done.push(`seed ${this.spec.seed}: already there`);
      else {
        await host.uploadVolume(this.spec.seed, this.spec.seedIso);
        done.push(`seed ${this.spec.seed}: uploaded`);
      }
    } else {
      await host.refreshPool();
      for (const volume of [this.spec.overlay, this.spec.seed]) {
        if (!(await host.volumeExists(volume))) {
          throw new InfraError(`shared pool '${host.pool}': ${destination.info.name} does not see ${volume}, which ${source.info.name} runs the guest from: the pool is not shared`, {
            code: 'E_POOL',
          });
        }
      }
      done.push(`shared pool ${host.pool}: ${this.spec.overlay} and ${this.spec.seed} visible on ${destination.info.name}`);
    }
    return done;
  }

  /**
   * Step 1 for the firmware, right before the move (the variables as they are now), and step 2 for the
   * domain on both sides: --undefinesource leaves the source's NVRAM file behind.
   */
  private async prepareFirmware(source: RunHost, destination: RunHost, leg: number): Promise<string[]> {
    const name = this.spec.name;
    const nvram = nvramPathOf(await source.host.dumpXml(name));
    const pool = `imgtest-${this.spec.runId}-${this.spec.key}-nvram`;
    for (const side of [source, destination]) {
      this.register(`${side.info.name}:domain`, `${side.info.name}: domain ${name}${nvram ? ' and its NVRAM' : ''}`, async () => {
        await side.host.removeDomain(name);
        if (nvram) await side.host.deleteHostFile(nvram, pool);
      });
    }
    if (!nvram) return [];
    const local = join(this.spec.workDir, `${name}.leg${leg}.nvram`);
    if (!(await source.host.downloadHostFile(nvram, local, pool))) throw new InfraError(`${source.info.name}: cannot read the NVRAM file ${nvram} of ${name}`, { code: 'E_MIGRATION' });
    await destination.host.uploadHostFile(local, nvram, pool);
    return [`NVRAM ${nvram}: copied from ${source.info.name} (the variables the guest runs with; libvirt does not migrate them)`];
  }

  private async runMigration(source: RunHost, destination: RunHost, flags: readonly string[], xmlFile: string, timeoutSeconds: number) {
    const startedAt = Date.now();
    let diskProcessedBytes: number | undefined;
    let timedOut = false;
    let finished = false;
    let wake = () => undefined as void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const signal = this.spec.support?.signal;
    if (signal?.aborted) throw abortError(signal);
    const running = source.host.migrate(this.spec.name, destination.info.migrationUri, flags, xmlFile, (timeoutSeconds + 120) * 1000);
    const abort = setTimeout(() => {
      timedOut = true;
      void source.host.abortJob(this.spec.name);
    }, timeoutSeconds * 1000);
    // Interrupted: libvirt cancels the move (killing virsh would leave the job running in libvirtd), so
    // the guest stays whole on the source and cleanup finds each domain where libvirt says it is.
    const onInterrupt = () => void source.host.abortJob(this.spec.name);
    signal?.addEventListener('abort', onInterrupt, { once: true });
    // Not src/util/poll.ts: this samples the job while virsh migrate runs, ending with it (cut short
    // mid-interval by `wake`); it waits for nothing, and the migration's own timeout is `abort` above.
    const poll = (async () => {
      // The source's running job reports the disk copy; the destination's completed job does not.
      while (!finished) {
        await Promise.race([new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS).unref()), woken]);
        if (finished) break;
        const disk = parseDomJobInfo(await source.host.jobInfo(this.spec.name, false)).diskProcessedBytes;
        if (disk !== undefined && disk > (diskProcessedBytes ?? 0)) diskProcessedBytes = disk;
      }
    })();
    try {
      const result = await running;
      if (signal?.aborted) throw abortError(signal);
      return { ...result, startedAt, finishedAt: Date.now(), timedOut, diskProcessedBytes };
    } finally {
      finished = true;
      wake();
      clearTimeout(abort);
      signal?.removeEventListener('abort', onInterrupt);
      await poll.catch(() => undefined);
    }
  }
}
