/**
 * A hypervisor host in memory (the runner's `HypervisorHost` seam), for tests of the executor: it
 * records every call that changes something, keeps the volumes and domains it was asked to make, and
 * answers the way a test scripts it (facts, a start that fails, a console, a domain state).
 */
import { readFile } from 'node:fs/promises';
import type { HostConfig } from '../../../src/config/schema.js';
import type { HostFactsRead, HypervisorHost } from '../../../src/hosts/host.js';

export interface FakeHostScript {
  /** What `facts()` answers, or throws (a host that does not answer). */
  facts?: () => HostFactsRead;
  /** Called by `startDomain` with the domain and its virt type (kvm/qemu); throw to refuse the start. */
  start?: (domain: string, virtType: string) => void;
  /** The domain's state while it is defined (default: running). */
  state?: (domain: string) => { state: string; reason?: string } | undefined;
  /** The serial console so far (default: empty). */
  console?: (domain: string) => string;
}

export class FakeHost implements HypervisorHost {
  /** The calls that made or removed something, in order: `upload <volume>`, `define <domain> (<virt type>)`, `remove <domain>`... */
  readonly calls: string[] = [];
  readonly volumes = new Set<string>();
  readonly domains = new Map<string, string>();
  readonly config: HostConfig;

  constructor(
    name: string,
    private readonly script: FakeHostScript = {},
  ) {
    this.config = { name, uri: `qemu+ssh://root@${name}/system`, pool: 'imgtest', network: { bridge: 'br0' } };
  }

  get name(): string {
    return this.config.name;
  }
  get pool(): string {
    return this.config.pool;
  }
  get migrationUri(): string {
    return this.config.uri;
  }
  readonly virsh = { run: async () => ({ exitCode: 0, stdout: '', stderr: '' }) };

  async facts(): Promise<HostFactsRead> {
    return this.script.facts?.() ?? { hostname: this.name, libvirtVersion: '9.0.0', qemuVersion: '7.2.0', kvmAvailable: false, cpus: 4 };
  }
  async answers(): Promise<boolean> {
    return true;
  }

  async poolPath(): Promise<string> {
    return `/var/lib/libvirt/images/${this.pool}`;
  }
  async refreshPool(): Promise<void> {}
  async uploadVolume(name: string): Promise<void> {
    this.calls.push(`upload ${name}`);
    this.volumes.add(name);
  }
  async createOverlay(name: string, baseVolume: string): Promise<void> {
    if (!this.volumes.has(baseVolume)) throw new Error(`error: Storage volume not found: no storage vol with matching name '${baseVolume}'`);
    this.calls.push(`overlay ${name}`);
    this.volumes.add(name);
  }
  async volumePath(name: string): Promise<string> {
    return `${await this.poolPath()}/${name}`;
  }
  async volumeExists(name: string): Promise<boolean> {
    return this.volumes.has(name);
  }
  async deleteVolume(name: string): Promise<void> {
    this.calls.push(`delete ${name}`);
    this.volumes.delete(name);
  }
  async readPoolFile(name: string): Promise<string> {
    const domain = name.replace(/\.serial\.log$/, '');
    return this.domains.has(domain) ? (this.script.console?.(domain) ?? '') : '';
  }

  async defineDomain(xmlFile: string): Promise<void> {
    const xml = await readFile(xmlFile, 'utf8');
    const name = /<name>([^<]+)<\/name>/.exec(xml)?.[1] ?? '?';
    const virtType = /<domain type='([^']+)'/.exec(xml)?.[1] ?? '?';
    this.calls.push(`define ${name} (${virtType})`);
    this.domains.set(name, xml);
  }
  async startDomain(name: string): Promise<void> {
    const virtType = /<domain type='([^']+)'/.exec(this.domains.get(name) ?? '')?.[1] ?? '?';
    this.calls.push(`start ${name}`);
    this.script.start?.(name, virtType);
  }
  async domainState(name: string): Promise<{ state: string; reason?: string } | undefined> {
    if (!this.domains.has(name)) return undefined;
    return this.script.state?.(name) ?? { state: 'running', reason: 'booted' };
  }
  async agentAddresses(): Promise<{ mac: string; address: string }[]> {
    return [];
  }
  async dumpXml(name: string): Promise<string> {
    const xml = this.domains.get(name);
    if (xml === undefined) throw new Error(`error: failed to get domain '${name}'`);
    return xml;
  }
  async removeDomain(name: string): Promise<void> {
    this.calls.push(`remove ${name}`);
    this.domains.delete(name);
  }

  async migratableXml(name: string): Promise<string> {
    return this.dumpXml(name);
  }
  async migrate(name: string, destinationUri: string, flags: readonly string[]): Promise<{ args: string[]; exitCode: number; stdout: string; stderr: string }> {
    return { args: ['migrate', ...flags, name, destinationUri], exitCode: 1, stdout: '', stderr: 'error: migration is not faked' };
  }
  async jobInfo(): Promise<string> {
    return '';
  }
  async abortJob(): Promise<void> {}
  async downloadHostFile(): Promise<boolean> {
    return false;
  }
  async uploadHostFile(): Promise<void> {}
  async deleteHostFile(): Promise<void> {}
}
