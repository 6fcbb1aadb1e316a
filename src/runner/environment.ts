/**
 * What a run takes from outside the runner: its hosts, its SSH key, the clock, and what the hosts'
 * network offers the guests. The CLI builds the real one (`src/cli/run-environment.ts`: the config's
 * hosts, or else the local lab's, over libvirt); unit tests pass fakes. The runner never knows whether
 * its hosts are the lab's: they are libvirt hosts like any other.
 */
import type { HostConfig } from '../config/schema.js';
import type { HypervisorHost } from '../hosts/host.js';

/** The run's SSH key pair, on this machine. */
export interface RunKey {
  /** The private key file (its public half is `<keyFile>.pub`). */
  keyFile: string;
  /** The public key, one OpenSSH line: seeded into every guest. */
  publicKey: string;
}

export interface RunEnvironment {
  /**
   * The run's hosts, asked for when the run contacts them (after the image is read). May take a while:
   * the local lab is started here when it is not up.
   */
  hosts(log: (line: string) => void): Promise<HostConfig[]>;
  /** The adapter for one host (the CLI's: `LibvirtHost`, over virsh). */
  connect(config: HostConfig): HypervisorHost;
  /** Makes the run's SSH key pair in `workDir` (it lives there only; guests get it through their seed). */
  generateKey(workDir: string, runId: string): Promise<RunKey>;
  /** Now, in milliseconds since the epoch: when suites start, how long they and failed boots took. */
  now(): number;
  /** The NTP servers the run's guests are offered (`CheckContext.timeServers`). */
  timeServers: readonly string[];
  /**
   * Before anything is uploaded or booted: fails (one line) when the hosts' network cannot give `guests`
   * guests an address at once; else returns a line for the log. Absent when that is not ours to see
   * (configured hosts: their network's DHCP is someone else's).
   */
  checkAddresses?(guests: number): Promise<string>;
  /**
   * How guests reach imgtest's metadata service at 169.254.169.254 (the HTTP datasources: openstack,
   * ec2, exoscale). Absent when the run cannot bring them there (configured hosts: their network is
   * not imgtest's to redirect); such datasources are refused before anything boots.
   */
  metadataNetwork?: MetadataNetwork;
}

export interface MetadataNetwork {
  /** An address of this machine the guests' network reaches: where the run's per-guest servers listen. */
  listenAddress: string;
  /**
   * Sends the guest's (by its MAC) requests for 169.254.169.254 port 80, and 8080 when `password` is
   * given, to these ports on `listenAddress`. Returns what undoes it.
   */
  redirect(input: { mac: string; ports: { metadata: number; password?: number }; runId: string }): Promise<() => Promise<void>>;
}
