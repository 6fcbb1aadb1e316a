import { run } from '../util/exec.js';
import { chronydSpec, dnsmasqSpec } from './daemons.js';
import { migrationUri } from './host-config.js';
import { hostMountNsId } from './host-namespace.js';
import {
  DHCP_RANGE,
  DHCP_SERVER_ADDRESS,
  GUEST_CIDR,
  NTP_LOCAL_STRATUM,
  NTP_SERVER_ADDRESS,
  HOST_GUEST_BRIDGE,
  HOST_SPECS,
  POOL_NAME,
  ROOT_GUEST_ADDRESS,
  SHARED_POOL_NAME,
  ROOT_LINKS,
  labPaths,
  netnsPath,
  type HostSpec,
  type LabPaths,
} from './layout.js';
import { parseCapabilitiesHostUuid, parseDomainNames, parseVirshVersion, splitVirshBatch, virshBatch } from './parse.js';
import { namespaceId, runningDaemon } from './processes.js';
import { rootLabLinks } from './network.js';
import { hostSshUri } from './ssh-access.js';

export interface LabHost {
  name: 'hv1' | 'hv2' | string;
  /** How the root namespace reaches the host's libvirtd: qemu+ssh to the host's own sshd. */
  uri: string;
  /** How the peer host's libvirtd reaches this one (`virsh migrate --p2p ... <migrationUri>`); only the peer may connect. */
  migrationUri: string;
  managementAddress: string;
  /** The `dir` storage pool at /var/lib/imgtest/images inside the host. */
  pool: string;
  /** The `dir` pool both hosts share (/var/lib/imgtest/shared, one folder): config `storage.sharedPool`. */
  sharedPool: string;
}

export interface LabHostStatus extends LabHost {
  /** libvirtd runs in the host's namespaces and answered over `uri`. */
  running: boolean;
  hostname?: string;
  hostUuid?: string;
  libvirtVersion?: string;
  qemuVersion?: string;
  /** Running domains (`virsh list --name`). */
  domains: string[];
}

export interface LabStatus {
  up: boolean;
  stateDir: string;
  guestNetwork: {
    cidr: string;
    /** Unset: guests get no default route (DHCP sends no router option). */
    gateway?: string;
    /** The lab namespace's address on the guest network (DHCP server). */
    dhcpServer: string;
    dhcpRange: { first: string; last: string };
    /** The root namespace's address on the guest network: from here the machine reaches guests directly. */
    rootAddress: string;
    /** Bridge to use in domain XML on every host: `<interface type='bridge'><source bridge='brg'/>`. */
    bridge: string;
    /** dnsmasq's leases file (expiry, MAC, IP, hostname per line). */
    leasesFile: string;
    /** dnsmasq (DHCP) runs in the lab namespace. */
    dhcpRunning: boolean;
    /**
     * The lab's NTP server (chronyd in the lab namespace), handed to guests by DHCP: it serves this
     * machine's clock at `ntpStratum`, asks no server outside the lab and never sets the clock.
     */
    ntpServer: string;
    ntpStratum: number;
    ntpRunning: boolean;
  };
  hosts: LabHostStatus[];
}

export function describeHost(host: HostSpec, paths: LabPaths): LabHost {
  return {
    name: host.name,
    uri: hostSshUri(host, paths),
    migrationUri: migrationUri(host.managementAddress),
    managementAddress: host.managementAddress,
    pool: POOL_NAME,
    sharedPool: SHARED_POOL_NAME,
  };
}

async function virsh(uri: string, args: readonly string[]) {
  return run('virsh', ['-c', uri, ...args], { allowFailure: true, timeoutMs: 30_000 }).catch((error: Error) => ({ exitCode: -1, stdout: '', stderr: error.message }));
}

async function libvirtdRuns(host: HostSpec, paths: LabPaths): Promise<boolean> {
  const hostPaths = paths.host(host.name);
  const mntns = await hostMountNsId({ host, paths: hostPaths });
  if (mntns === undefined) return false;
  const pid = await runningDaemon(hostPaths.libvirtdPid, { comm: 'libvirtd', netns: await namespaceId(netnsPath(host.netns)), mntns });
  return pid !== undefined;
}

export async function hostStatus(host: HostSpec, paths: LabPaths): Promise<LabHostStatus> {
  const description = describeHost(host, paths);
  const down: LabHostStatus = { ...description, running: false, domains: [] };
  if (!(await libvirtdRuns(host, paths))) return down;
  // One connection for all four questions: every qemu+ssh connection costs an ssh handshake.
  const result = await virsh(description.uri, [virshBatch(['hostname', 'version', 'list --name', 'capabilities'])]);
  const [hostname, version, list, capabilities] = splitVirshBatch(result.stdout);
  if (result.exitCode !== 0 || !hostname) return down;
  const versions = parseVirshVersion(version ?? '');
  return {
    ...description,
    running: true,
    hostname,
    hostUuid: parseCapabilitiesHostUuid(capabilities ?? ''),
    libvirtVersion: versions.libvirt,
    qemuVersion: versions.qemu,
    domains: parseDomainNames(list ?? ''),
  };
}

export async function readLabStatus(paths: LabPaths = labPaths()): Promise<LabStatus> {
  const [hosts, links, dnsmasq, chronyd] = await Promise.all([
    Promise.all(HOST_SPECS.map((host) => hostStatus(host, paths))),
    rootLabLinks(),
    dnsmasqSpec(paths).then((spec) => runningDaemon(spec.pidFile, spec.expected)),
    chronydSpec(paths).then((spec) => runningDaemon(spec.pidFile, spec.expected)),
  ]);
  const linksUp = Object.values(ROOT_LINKS).every((link) => links.includes(link.root));
  const hostsUp = hosts.every((h, i) => h.running && h.hostname === HOST_SPECS[i]?.name);
  return {
    // A missing chronyd makes the lab not up, like a missing dnsmasq: `lab up` (and a run) repairs it.
    up: hostsUp && linksUp && dnsmasq !== undefined && chronyd !== undefined,
    stateDir: paths.root,
    guestNetwork: {
      cidr: GUEST_CIDR,
      dhcpServer: DHCP_SERVER_ADDRESS,
      dhcpRange: { first: DHCP_RANGE.first, last: DHCP_RANGE.last },
      rootAddress: ROOT_GUEST_ADDRESS,
      bridge: HOST_GUEST_BRIDGE,
      leasesFile: paths.lab.leases,
      dhcpRunning: dnsmasq !== undefined,
      ntpServer: NTP_SERVER_ADDRESS,
      ntpStratum: NTP_LOCAL_STRATUM,
      ntpRunning: chronyd !== undefined,
    },
    hosts,
  };
}
