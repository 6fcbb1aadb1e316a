/**
 * The run's environment as the CLI wires it (see src/runner/environment.ts): libvirt hosts over virsh,
 * a key from ssh-keygen, the system clock. Whether the run uses the local lab is decided here, at the
 * edge, and only here: with no `hosts` in the config the lab's hosts are used (the lab is started if
 * needed), its NTP server is offered to the guests and its DHCP pool is checked before anything boots.
 * From then on the runner sees libvirt URIs and plain values, never the lab.
 */
import type { HostConfig, ImgtestConfig } from '../config/schema.js';
import { generateRunKey } from '../guest/run-key.js';
import { LibvirtHost } from '../hosts/libvirt-host.js';
import { labHosts, labIsUp, labUp } from '../lab/index.js';
import { DHCP_RANGE, labPaths, METADATA_GATEWAY, NTP_SERVER_ADDRESS, type LabPaths } from '../lab/layout.js';
import { addMetadataRedirect } from '../lab/metadata-redirect.js';
import { readLabLeases } from '../lab/leases.js';
import type { RunEnvironment } from '../runner/environment.js';
import { dhcpPoolState, requireDhcpAddresses, type DhcpPoolState } from '../runner/preflight.js';

export function runEnvironment(config: Pick<ImgtestConfig, 'hosts' | 'network'>): RunEnvironment {
  const configured = config.hosts?.length ? [...config.hosts] : undefined;
  return {
    hosts: configured ? async () => configured : labRunHosts,
    connect: (host) => new LibvirtHost(host),
    generateKey: generateRunKey,
    now: () => Date.now(),
    timeServers: runTimeServers(config),
    checkAddresses: configured
      ? undefined
      : async (guests) => {
          const pool = await checkLabDhcpPool(guests);
          return `lab DHCP pool: ${pool.free} of ${pool.size} addresses free, this run needs ${guests}`;
        },
    // The lab's guests reach 169.254.169.254 through the root namespace, where each is redirected to its own server.
    metadataNetwork: configured ? undefined : { listenAddress: METADATA_GATEWAY, redirect: addMetadataRedirect },
  };
}

/** The local lab's hosts (the lab started if it is not up), as plain libvirt hosts. */
export async function labRunHosts(log: (line: string) => void): Promise<HostConfig[]> {
  if (!(await labIsUp())) {
    log('no hosts configured: starting the local lab (imgtest lab up)');
    await labUp({ log });
  }
  return labHosts().map((host) => ({
    name: host.name,
    uri: host.uri,
    migrationUri: host.migrationUri,
    pool: host.pool,
    network: { bridge: 'brg' },
  }));
}

/**
 * The NTP servers the run's guests are offered (CheckContext.timeServers): the config's
 * `network.timeServers` when set (even empty), else the lab's NTP server when the run uses the lab's
 * hosts (no `hosts` in the config), else none.
 */
export function runTimeServers(config: Pick<ImgtestConfig, 'hosts' | 'network'>): string[] {
  if (config.network.timeServers) return [...config.network.timeServers];
  return config.hosts?.length ? [] : [NTP_SERVER_ADDRESS];
}

/**
 * For a run on the local lab: reads the lab's leases file (dnsmasq's own) and fails when the pool
 * cannot hold this run's guests beside the leases other runs hold. Not for configured hosts: their
 * network's DHCP is not imgtest's to see.
 */
export async function checkLabDhcpPool(guests: number, paths: LabPaths = labPaths(), nowSeconds = Math.floor(Date.now() / 1000)): Promise<DhcpPoolState> {
  const state = dhcpPoolState(DHCP_RANGE, await readLabLeases(paths), nowSeconds);
  requireDhcpAddresses(guests, DHCP_RANGE, state);
  return state;
}
