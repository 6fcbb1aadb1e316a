/**
 * A hypervisor host as the runner uses it: what a run asks of each of its hosts, from reading its
 * facts to booting, migrating and removing guests. `LibvirtHost` (libvirt over `virsh`) is the one
 * implementation; unit tests implement it with a fake, so the executor runs without a hypervisor.
 * The lab's hosts are hosts like any other here: libvirt URIs, nothing else known about them.
 */
import type { HostConfig } from '../config/schema.js';
import type { RunResult } from '../util/exec.js';

/** What `facts()` reads of a host. */
export interface HostFactsRead {
  hostname: string;
  libvirtVersion?: string;
  qemuVersion?: string;
  kvmAvailable: boolean;
  /** Logical CPUs (`virsh nodeinfo`); boot deadlines scale with guests per CPU. */
  cpus?: number;
}

export interface HypervisorHost {
  readonly config: HostConfig;
  readonly name: string;
  /** The storage pool guest volumes go to. */
  readonly pool: string;
  /** The URI the other hosts reach this one by (peer-to-peer migration). */
  readonly migrationUri: string;
  /** A read-only virsh query a suite asked for (`GuestHypervisor.virsh`); the runner vets the arguments. */
  readonly virsh: { run(args: readonly string[], options?: { timeoutMs?: number; allowFailure?: boolean }): Promise<RunResult> };

  /** Versions, KVM and CPUs; throws an infrastructure error naming the host when it does not answer. */
  facts(): Promise<HostFactsRead>;
  /** Does the host answer at all? Never throws. */
  answers(): Promise<boolean>;

  poolPath(): Promise<string>;
  refreshPool(): Promise<void>;
  /** Creates volume `name` in the host's pool from a local file; `signal` stops the copy. */
  uploadVolume(name: string, file: string, signal?: AbortSignal): Promise<void>;
  createOverlay(name: string, baseVolume: string, baseFormat: string, capacityBytes: number): Promise<void>;
  volumePath(name: string): Promise<string>;
  volumeExists(name: string): Promise<boolean>;
  /** Quiet when the volume is gone. */
  deleteVolume(name: string): Promise<void>;
  /** A file of the pool folder (e.g. a serial log); '' when it cannot be read. */
  readPoolFile(name: string): Promise<string>;

  defineDomain(xmlFile: string): Promise<void>;
  startDomain(name: string): Promise<void>;
  /** undefined when the domain does not exist. */
  domainState(name: string): Promise<{ state: string; reason?: string } | undefined>;
  agentAddresses(name: string): Promise<{ mac: string; address: string }[]>;
  dumpXml(name: string): Promise<string>;
  /** Stops and forgets a domain with its NVRAM; quiet when it is gone. */
  removeDomain(name: string): Promise<void>;

  migratableXml(name: string): Promise<string>;
  /** A refusal is data (exit code and stderr), not an exception. */
  migrate(name: string, destinationUri: string, flags: readonly string[], xmlFile: string | undefined, timeoutMs: number): Promise<RunResult & { args: string[] }>;
  jobInfo(name: string, completed: boolean): Promise<string>;
  abortJob(name: string): Promise<void>;
  downloadHostFile(path: string, localFile: string, poolName: string): Promise<boolean>;
  uploadHostFile(localFile: string, path: string, poolName: string): Promise<void>;
  deleteHostFile(path: string, poolName: string): Promise<void>;
}
