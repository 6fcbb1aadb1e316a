import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfraError } from '../errors.js';
import { retry, type RetryBudget } from '../util/retry.js';
import { DEFAULT_CONNECT_TIMEOUT_SECONDS, type HostConfig } from '../config/schema.js';
import { startDomainArgs } from './domain-xml.js';
import type { HostFactsRead, HypervisorHost } from './host.js';
import { ConnectionHealth } from './connection-health.js';
import { Virsh } from './virsh.js';
import { parseDomState, parseDomIfAddr, parseDomIfListMacs, libvirtUriEndpoint, parseNameList, parseNodeInfoCpus, parsePoolTargetPath, parseVirshVersion, parseVolList } from './parse.js';

/**
 * A hypervisor host as imgtest sees it: a libvirt URI and a storage pool, nothing else assumed.
 * Every operation goes through libvirt, so local, qemu+ssh:// and qemu+tcp:// hosts behave alike.
 */
export class LibvirtHost implements HypervisorHost {
  readonly virsh: Virsh;
  /** Whether this host's libvirt answers, over every call made to it (connection-health.ts). */
  readonly health = new ConnectionHealth();
  private poolPathCache?: string;

  constructor(readonly config: HostConfig) {
    this.virsh = new Virsh(config.uri, this.health, config.name);
  }

  get name(): string {
    return this.config.name;
  }
  get pool(): string {
    return this.config.pool;
  }
  get migrationUri(): string {
    return this.config.migrationUri ?? this.config.uri;
  }

  /** How long the first connection may take before the host counts as down (config `connectTimeoutSeconds`, default 10 s). */
  get connectTimeoutMs(): number {
    return (this.config.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS) * 1000;
  }

  /**
   * Does the host answer? First a TCP connection to the URI's endpoint (ssh or libvirtd's port) within the
   * connect timeout: an unreachable host is declared down after that long, not after ssh's own minutes.
   * Then `virsh hostname` with a generous bound (an ssh handshake on a loaded machine takes seconds).
   */
  async reach(): Promise<{ ok: true; hostname: string } | { ok: false; error: string }> {
    const endpoint = libvirtUriEndpoint(this.config.uri);
    if (endpoint) {
      const problem = await tcpConnectProblem(endpoint.host, endpoint.port, this.connectTimeoutMs);
      if (problem) return { ok: false, error: `${endpoint.host}:${endpoint.port}: ${problem}` };
    }
    const result = await this.virsh.run(['hostname'], { allowFailure: true, timeoutMs: 60_000 }).catch((error: Error) => ({ exitCode: -1, stdout: '', stderr: error.message }));
    if (result.exitCode !== 0) return { ok: false, error: result.stderr.trim().split('\n').filter(Boolean).slice(-2).join(' | ') || `virsh exit ${result.exitCode}` };
    return { ok: true, hostname: result.stdout.trim() };
  }

  async facts(): Promise<HostFactsRead> {
    const reached = await this.reach();
    if (!reached.ok) throw new InfraError(`host ${this.name} (${this.config.uri}) does not answer: ${reached.error}`, { code: 'E_HOST_UNREACHABLE' });
    const hostname = reached.hostname;
    const version = parseVirshVersion(await this.virsh.text(['version']));
    const kvm = await this.virsh.run(['domcapabilities', '--virttype', 'kvm', '--arch', 'x86_64'], { allowFailure: true });
    const nodeInfo = await this.virsh.run(['nodeinfo'], { allowFailure: true });
    return { hostname, libvirtVersion: version.libvirt, qemuVersion: version.qemu, kvmAvailable: kvm.exitCode === 0, cpus: parseNodeInfoCpus(nodeInfo.stdout) };
  }

  async poolPath(): Promise<string> {
    if (this.poolPathCache) return this.poolPathCache;
    const result = await this.virsh.run(['pool-dumpxml', this.pool], { allowFailure: true });
    const path = result.exitCode === 0 ? parsePoolTargetPath(result.stdout) : undefined;
    if (!path) throw new InfraError(`host ${this.name}: storage pool '${this.pool}' not found or not a directory pool (${result.stderr.trim()})`, { code: 'E_POOL' });
    this.poolPathCache = path;
    return path;
  }

  /** Copies a local file into the pool as a new volume, byte for byte. */
  async uploadVolume(name: string, file: string, signal?: AbortSignal): Promise<void> {
    const { size } = await stat(file);
    await this.virsh.run(['vol-create-as', this.pool, name, String(size), '--format', 'raw'], { signal });
    // The image's copy can take minutes (a large raw image, a remote host): an interrupt stops it at once.
    await this.virsh.run(['vol-upload', '--pool', this.pool, name, file], { timeoutMs: 30 * 60_000, signal });
  }

  /** A qcow2 overlay on top of a base volume in the same pool: the guest writes only here. */
  async createOverlay(name: string, baseVolume: string, baseFormat: string, capacityBytes: number): Promise<void> {
    const basePath = await this.volumePath(baseVolume);
    await this.virsh.run(['vol-create-as', this.pool, name, String(capacityBytes), '--format', 'qcow2', '--backing-vol', basePath, '--backing-vol-format', baseFormat]);
  }

  async volumePath(name: string): Promise<string> {
    return (await this.virsh.text(['vol-path', '--pool', this.pool, name])).trim();
  }

  async deleteVolume(name: string): Promise<void> {
    await this.virsh.answered(['vol-delete', '--pool', this.pool, name]);
  }

  async refreshPool(): Promise<void> {
    await this.virsh.run(['pool-refresh', this.pool], { allowFailure: true });
  }

  async listVolumes(): Promise<string[]> {
    const out = await this.virsh.text(['vol-list', '--pool', this.pool]);
    return out
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[0] ?? '')
      .filter((name) => name && name !== 'Name' && !name.startsWith('-'));
  }

  /** Reads a file that lives in the pool folder (e.g. a serial log) through libvirt's volume API. */
  async readPoolFile(name: string): Promise<string> {
    await this.refreshPool();
    // Into a local file: Node's child stdout is a socket, which virsh cannot open as /dev/stdout.
    const dir = await mkdtemp(join(tmpdir(), 'imgtest-download-'));
    try {
      const file = join(dir, 'volume');
      const result = await this.virsh.run(['vol-download', '--pool', this.pool, name, file], { allowFailure: true, timeoutMs: 60_000 });
      return result.exitCode === 0 ? await readFile(file, 'utf8') : '';
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async defineDomain(xmlFile: string): Promise<void> {
    await this.virsh.run(['define', xmlFile]);
  }

  async startDomain(name: string): Promise<void> {
    await this.virsh.run(startDomainArgs(name), { timeoutMs: 180_000 });
  }

  async domainState(name: string): Promise<{ state: string; reason?: string } | undefined> {
    const result = await this.virsh.run(['domstate', '--reason', name], { allowFailure: true });
    if (result.exitCode === 0) return parseDomState(result.stdout);
    // No such domain, or a passing failure; but a host whose libvirt has gone is said, naming it.
    this.assertAnswering();
    return undefined;
  }

  /** Throws E_HOST_UNREACHABLE once this host's libvirt has stopped answering for good (connection-health.ts). */
  private assertAnswering(): void {
    const lost = this.health.lost();
    if (lost) throw new InfraError(`host ${this.name} stopped answering: ${lost}`, { code: 'E_HOST_UNREACHABLE' });
  }

  async listDomains(): Promise<string[]> {
    const out = await this.virsh.text(['list', '--all', '--name']);
    return out
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /**
   * IPv4 addresses libvirt can see for a domain's MAC, via the guest agent (if the image has one). Never
   * throws: while the guest boots, its agent may hold the call past the timeout (libvirt waits on an agent
   * that has opened its channel but not answered yet), which only means "no address from the agent yet".
   */
  async agentAddresses(name: string): Promise<{ mac: string; address: string }[]> {
    const result = await this.virsh.run(['domifaddr', name, '--source', 'agent'], { allowFailure: true, timeoutMs: 15_000 }).catch(() => undefined);
    return result?.exitCode === 0 ? parseDomIfAddr(result.stdout) : [];
  }

  async dumpXml(name: string): Promise<string> {
    return this.virsh.text(['dumpxml', name]);
  }

  /** Does the host answer at all (`virsh hostname`)? Never throws. */
  async answers(): Promise<boolean> {
    const result = await this.virsh.run(['hostname'], { allowFailure: true, timeoutMs: 30_000 }).catch(() => undefined);
    return result?.exitCode === 0;
  }

  async volumeExists(name: string): Promise<boolean> {
    const result = await this.virsh.run(['vol-path', '--pool', this.pool, name], { allowFailure: true });
    return result.exitCode === 0;
  }

  /** The domain XML a destination may start the guest from (`dumpxml --migratable`). */
  async migratableXml(name: string): Promise<string> {
    return this.virsh.text(['dumpxml', '--migratable', name]);
  }

  /**
   * `virsh migrate` from this host, peer to peer (this host's libvirtd talks to `destinationUri` itself).
   * Returns virsh's result: a refusal is data, not an exception.
   */
  async migrate(name: string, destinationUri: string, flags: readonly string[], xmlFile: string | undefined, timeoutMs: number) {
    const args = ['migrate', ...flags, ...(xmlFile ? ['--xml', xmlFile] : []), name, destinationUri];
    const result = await this.virsh.run(args, { allowFailure: true, timeoutMs }).catch((error: Error) => ({ exitCode: -1, stdout: '', stderr: error.message }));
    return { args, ...result };
  }

  /** `domjobinfo --rawstats` (with `--completed --keep-completed` for the last finished job); '' when there is none. */
  async jobInfo(name: string, completed: boolean): Promise<string> {
    const args = ['domjobinfo', name, '--rawstats', ...(completed ? ['--completed', '--keep-completed'] : [])];
    const result = await this.virsh.run(args, { allowFailure: true, timeoutMs: 30_000 }).catch(() => undefined);
    return result?.exitCode === 0 ? result.stdout : '';
  }

  async abortJob(name: string): Promise<void> {
    await this.virsh.run(['domjobabort', name], { allowFailure: true, timeoutMs: 30_000 }).catch(() => undefined);
  }

  /**
   * Runs `task` with a transient `dir` pool over a folder of the host (e.g. the NVRAM folder), so files
   * outside any pool can be read and written through libvirt alone. libvirt refuses two pools over one
   * folder, so a pool another run holds there right now is waited for: that conflict is the one failure
   * retried, every 2 s for a minute (FOLDER_POOL_CONFLICT_RETRY). `signal` stops the waiting; cleanup
   * passes none, as it must finish after the run was cancelled.
   */
  async withFolderPool<T>(folder: string, poolName: string, task: (pool: string) => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
    let takenOver = 0;
    await retry(
      async () => {
        const created = await this.virsh.run(['pool-create-as', poolName, 'dir', '--target', folder, '--build'], { allowFailure: true });
        if (created.exitCode === 0) return;
        const refused = `host ${this.name}: cannot open ${folder} through a transient pool: ${created.stderr.trim()}`;
        if (/already exists/i.test(created.stderr) && takenOver < 3) {
          // Our own pool left by an interrupted step: take it over, and try again at once.
          takenOver++;
          await this.virsh.run(['pool-destroy', poolName], { allowFailure: true });
          throw new FolderPoolTakenOver(refused);
        }
        if (/conflict|already in use|duplicate/i.test(created.stderr)) throw new FolderPoolConflict(refused);
        throw new InfraError(refused, { code: 'E_POOL' });
      },
      {
        ...FOLDER_POOL_CONFLICT_RETRY,
        signal: options.signal,
        shouldRetry: (error) => error instanceof FolderPoolConflict || error instanceof FolderPoolTakenOver,
        retryAtOnce: (error) => error instanceof FolderPoolTakenOver,
      },
    );
    try {
      return await task(poolName);
    } finally {
      await this.virsh.run(['pool-destroy', poolName], { allowFailure: true }).catch(() => undefined);
    }
  }

  /** Copies a file of this host (any folder libvirt may open) to a local file. Returns false when it does not exist. */
  async downloadHostFile(path: string, localFile: string, poolName: string): Promise<boolean> {
    const { folder, file } = splitPath(path);
    return this.withFolderPool(folder, poolName, async (pool) => {
      const result = await this.virsh.run(['vol-download', '--pool', pool, file, localFile], { allowFailure: true, timeoutMs: 10 * 60_000 });
      return result.exitCode === 0;
    });
  }

  /** Writes a local file to a path on this host (replacing what is there). */
  async uploadHostFile(localFile: string, path: string, poolName: string): Promise<void> {
    const { folder, file } = splitPath(path);
    const { size } = await stat(localFile);
    await this.withFolderPool(folder, poolName, async (pool) => {
      await this.virsh.run(['vol-delete', '--pool', pool, file], { allowFailure: true });
      await this.virsh.run(['vol-create-as', pool, file, String(size), '--format', 'raw']);
      await this.virsh.run(['vol-upload', '--pool', pool, file, localFile], { timeoutMs: 10 * 60_000 });
    });
  }

  /** Deletes a file of this host if it is there; quiet when it is not. */
  async deleteHostFile(path: string, poolName: string): Promise<void> {
    const { folder, file } = splitPath(path);
    await this.withFolderPool(folder, poolName, async (pool) => {
      await this.virsh.run(['vol-delete', '--pool', pool, file], { allowFailure: true });
    });
  }

  /** Every storage pool the host has (`pool-list --all`), active or not, transient ones included. */
  async listPools(): Promise<string[]> {
    return parseNameList(await this.virsh.text(['pool-list', '--all', '--name']));
  }

  /** The volumes of any pool (undefined when the pool cannot be listed, e.g. it is not running). */
  async listPoolVolumes(pool: string): Promise<{ name: string; path?: string }[] | undefined> {
    await this.virsh.run(['pool-refresh', pool], { allowFailure: true });
    const result = await this.virsh.run(['vol-list', '--pool', pool], { allowFailure: true });
    return result.exitCode === 0 ? parseVolList(result.stdout) : undefined;
  }

  /** Deletes a volume of any pool; throws when libvirt refuses. */
  async deletePoolVolume(pool: string, name: string): Promise<void> {
    await this.virsh.run(['vol-delete', '--pool', pool, name]);
  }

  /** Stops a pool and forgets it if it was persistent (its folder and files stay). */
  async removePool(pool: string): Promise<void> {
    await this.virsh.run(['pool-destroy', pool], { allowFailure: true });
    await this.virsh.run(['pool-undefine', pool], { allowFailure: true });
  }

  /** The MACs of a domain's interfaces (`domiflist`); [] when it is gone. */
  async domainMacs(name: string): Promise<string[]> {
    const result = await this.virsh.run(['domiflist', name], { allowFailure: true });
    return result.exitCode === 0 ? parseDomIfListMacs(result.stdout) : [];
  }

  /** Stops and forgets a domain, with its NVRAM; quiet when it is already gone. */
  async removeDomain(name: string): Promise<void> {
    await this.virsh.answered(['destroy', name]);
    const undefine = await this.virsh.answered(['undefine', '--nvram', name]);
    if (undefine.exitCode !== 0 && /nvram/i.test(undefine.stderr)) await this.virsh.answered(['undefine', name]);
  }
}

/**
 * How long a folder pool waits for another run's pool over the same folder: 30 retries 2 s apart, about
 * a minute, as before p-retry. The other run's pool lives for one file copy (an NVRAM file, seconds).
 */
export const FOLDER_POOL_CONFLICT_RETRY: RetryBudget = { retries: 30, minTimeout: 2000, factor: 1 };

/** libvirt refused the pool because another pool (another run's) is over the folder now: transient. */
class FolderPoolConflict extends InfraError {
  constructor(message: string) {
    super(message, { code: 'E_POOL' });
  }
}

/** Our own pool of that name was left by an interrupted step and has just been destroyed: try again at once. */
class FolderPoolTakenOver extends InfraError {
  constructor(message: string) {
    super(message, { code: 'E_POOL' });
  }
}

/** Opens and closes a TCP connection; undefined when it connected within `timeoutMs`, else why not. */
function tcpConnectProblem(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`no connection within ${timeoutMs / 1000} s (hosts[].connectTimeoutSeconds)`);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(error.message);
    });
  });
}

function splitPath(path: string): { folder: string; file: string } {
  const slash = path.lastIndexOf('/');
  if (slash <= 0 || slash === path.length - 1) throw new InfraError(`not a file path: ${path}`, { code: 'E_POOL' });
  return { folder: path.slice(0, slash), file: path.slice(slash + 1) };
}
