import { isAbsolute, join, resolve } from 'node:path';
import { InfraError } from '../errors.js';

/**
 * The lab's fixed shape: names, addresses and folders. Pure data, no side effects.
 *
 *   root namespace ── itl-m-root 10.77.0.253 ──┐              ┌── itl-g-root 10.78.0.253
 *                                             │ imgtest-lab  │
 *                              bridge itl-mgmt (10.77.0.0/24) bridge itl-guest 10.78.0.1 + dnsmasq (DHCP) + chronyd (NTP)
 *                                 │          │                  │          │
 *                        itl-m-hv1 .1   itl-m-hv2 .2       itl-g-hv1    itl-g-hv2
 *                        imgtest-hv1    imgtest-hv2        └ brg (hv1)  └ brg (hv2)   <- guests attach here
 */

export const NS_PREFIX = 'imgtest-';
export const LINK_PREFIX = 'itl-';
export const LAB_NETNS = 'imgtest-lab';

export const MGMT_BRIDGE = 'itl-mgmt';
export const GUEST_BRIDGE = 'itl-guest';
/** The bridge guests join inside each host; domain XML uses `<source bridge='brg'/>`. */
export const HOST_GUEST_BRIDGE = 'brg';

export const MGMT_CIDR = '10.77.0.0/24';
export const GUEST_CIDR = '10.78.0.0/24';
export const ROOT_MGMT_ADDRESS = '10.77.0.253';
export const ROOT_GUEST_ADDRESS = '10.78.0.253';
/** The lab namespace's address on the guest network; dnsmasq answers DHCP there. */
export const DHCP_SERVER_ADDRESS = '10.78.0.1';
/**
 * The lab's NTP server (chronyd in the lab namespace), at the DHCP server's address; DHCP hands it to
 * guests (option 42). It serves this machine's own clock at this stratum and asks no one upstream.
 */
export const NTP_SERVER_ADDRESS = DHCP_SERVER_ADDRESS;
/**
 * Where every cloud's guests find their metadata service (link-local, RFC 3927), and how the lab's
 * guests reach imgtest's: DHCP gives them a host route to it through the root namespace's address on the
 * guest network (METADATA_GATEWAY), where a redirect per guest MAC sends the request on to the run's own
 * server for that guest (src/lab/metadata-redirect.ts). The root namespace never holds the address, so
 * this machine's own metadata service (when it is a cloud VM) stays reachable to it.
 */
export const METADATA_ADDRESS = '169.254.169.254';
export const METADATA_GATEWAY = ROOT_GUEST_ADDRESS;
export const NTP_LOCAL_STRATUM = 10;
/**
 * 240 addresses with 10-minute leases: a guest renews every 5 minutes while it lives, and the address of
 * a guest that is gone is free again 10 minutes later. (1-hour leases in 100 addresses ran out after about
 * a dozen runs an hour.) `imgtest clean` also drops the leases of dead runs' guests at once.
 */
export const DHCP_RANGE = { first: '10.78.0.10', last: '10.78.0.249', netmask: '255.255.255.0', lease: '10m' } as const;

/** The veth pair joining the root namespace to a lab bridge. */
export const ROOT_LINKS = {
  mgmt: { root: 'itl-m-root', lab: 'itl-m-root-p', bridge: MGMT_BRIDGE, address: `${ROOT_MGMT_ADDRESS}/24` },
  guest: { root: 'itl-g-root', lab: 'itl-g-root-p', bridge: GUEST_BRIDGE, address: `${ROOT_GUEST_ADDRESS}/24` },
} as const;

export const POOL_NAME = 'imgtest';
/** Where each host sees its own image folder, inside its mount namespace. */
export const POOL_TARGET = '/var/lib/imgtest/images';
/**
 * The pool both hosts share: one folder of the lab (`<state>/shared`) bind-mounted at the same path in
 * both hosts' mount namespaces, like an NFS export mounted on two hypervisors. A run uses it with
 * `storage: { sharedPool: imgtest-shared }` in its config. It is a local filesystem, so libvirt calls a
 * migration over it unsafe (`--unsafe` needed).
 */
export const SHARED_POOL_NAME = 'imgtest-shared';
export const SHARED_POOL_TARGET = '/var/lib/imgtest/shared';
export const LIBVIRT_TCP_PORT = 16509;
export const MIGRATION_PORTS = { min: 49152, max: 49215 } as const;

export interface HostSpec {
  name: string;
  /** 1 or 2: the last octet of the management address. */
  index: number;
  netns: string;
  managementAddress: string;
  /** Fixed, distinct libvirt host_uuid. */
  hostUuid: string;
  /** veth in the host namespace (management address) and its peer on the lab's management bridge. */
  mgmtLink: { host: string; lab: string };
  /** veth in the host namespace (port of `brg`) and its peer on the lab's guest bridge. */
  guestLink: { host: string; lab: string };
}

function hostSpec(index: number): HostSpec {
  const name = `hv${index}`;
  return {
    name,
    index,
    netns: `${NS_PREFIX}${name}`,
    managementAddress: `10.77.0.${index}`,
    hostUuid: `6c61622d-696d-6774-6573-74${String(index).padStart(10, '0')}`,
    mgmtLink: { host: `itl-m-${name}`, lab: `itl-m-${name}-p` },
    guestLink: { host: `itl-g-${name}`, lab: `itl-g-${name}-p` },
  };
}

export const HOST_SPECS: readonly HostSpec[] = [hostSpec(1), hostSpec(2)];

export function peerOf(host: HostSpec): HostSpec {
  const peer = HOST_SPECS.find((h) => h.name !== host.name);
  if (!peer) throw new Error('the lab has two hosts');
  return peer;
}

const MAX_STATE_DIR_BYTES = 70;

/** `/var/lib/imgtest-lab`, or $IMGTEST_LAB_DIR (absolute, not a system folder). */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env['IMGTEST_LAB_DIR'];
  if (!configured) return '/var/lib/imgtest-lab';
  if (!isAbsolute(configured)) throw new InfraError(`IMGTEST_LAB_DIR must be an absolute path, got '${configured}'`, { code: 'E_LAB' });
  const dir = resolve(configured);
  if (dir.split('/').filter(Boolean).length < 2) throw new InfraError(`IMGTEST_LAB_DIR '${dir}' is too close to / to be a lab folder`, { code: 'E_LAB' });
  // libvirtd's socket lives at <dir>/hvN/run/libvirt/libvirt-sock; a UNIX socket path has at most 107 bytes.
  if (Buffer.byteLength(dir) > MAX_STATE_DIR_BYTES) throw new InfraError(`IMGTEST_LAB_DIR '${dir}' is longer than ${MAX_STATE_DIR_BYTES} bytes`, { code: 'E_LAB' });
  return dir;
}

/** The in-namespace path each per-host folder is bind-mounted over. */
export const HOST_BIND_TARGETS = ['/etc/libvirt', '/run/libvirt', '/var/lib/libvirt', '/var/log/libvirt', '/var/cache/libvirt'] as const;

/** Every file and folder the lab keeps, below one state folder. */
export interface LabPaths {
  root: string;
  /** Present while the state folder belongs to the lab; labDown refuses to delete a folder without it. */
  marker: string;
  /** What up made that is not a file here (namespaces, links, processes, mountpoint folders). */
  manifest: string;
  /** A private bind mount of itself holding the persistent mount and UTS namespace files. */
  nsDir: string;
  lab: { dir: string; dnsmasqPid: string; leases: string; dnsmasqLog: string; chrony: ChronyPaths };
  ssh: { dir: string; clientKey: string; authorizedKeys: string; knownHosts: string; wrapper: string };
  host(name: string): HostPaths;
}

/** The lab's chronyd: its own config, pid file and message log (nothing of the chrony package's /etc, /run or /var). */
export interface ChronyPaths {
  dir: string;
  config: string;
  pid: string;
  log: string;
}

export interface HostPaths {
  dir: string;
  mountNs: string;
  utsNs: string;
  /** Written once the mount namespace is fully set up; a namespace without it is rebuilt. */
  mountNsReady: string;
  /** Per-host folder for each of HOST_BIND_TARGETS, same order. */
  binds: { source: string; target: string }[];
  etcLibvirt: string;
  runLibvirt: string;
  images: string;
  /** The lab's one shared image folder (the same for every host), bind-mounted at SHARED_POOL_TARGET. */
  sharedImages: string;
  libvirtdPid: string;
  virtlogdPid: string;
  libvirtSocket: string;
  sshd: { dir: string; config: string; hostKey: string; pid: string; log: string };
}

export function labPaths(root: string = stateDir()): LabPaths {
  const nsDir = join(root, 'ns');
  const sshDir = join(root, 'ssh');
  const labDir = join(root, 'lab');
  return {
    root,
    marker: join(root, '.imgtest-lab'),
    manifest: join(root, 'manifest.json'),
    nsDir,
    lab: {
      dir: labDir,
      dnsmasqPid: join(labDir, 'dnsmasq.pid'),
      leases: join(labDir, 'dnsmasq.leases'),
      dnsmasqLog: join(labDir, 'dnsmasq.log'),
      chrony: { dir: join(labDir, 'chrony'), config: join(labDir, 'chrony/chrony.conf'), pid: join(labDir, 'chrony/chronyd.pid'), log: join(labDir, 'chrony/chronyd.log') },
    },
    ssh: {
      dir: sshDir,
      clientKey: join(sshDir, 'id_ed25519'),
      authorizedKeys: join(sshDir, 'authorized_keys'),
      knownHosts: join(sshDir, 'known_hosts'),
      wrapper: join(sshDir, 'ssh'),
    },
    host(name: string): HostPaths {
      const dir = join(root, name);
      const binds = HOST_BIND_TARGETS.map((target) => ({ source: join(dir, target), target }));
      const runLibvirt = join(dir, 'run/libvirt');
      const sshdDir = join(dir, 'sshd');
      return {
        dir,
        mountNs: join(nsDir, `${name}.mnt`),
        utsNs: join(nsDir, `${name}.uts`),
        mountNsReady: join(nsDir, `${name}.ready`),
        binds,
        etcLibvirt: join(dir, 'etc/libvirt'),
        runLibvirt,
        images: join(dir, 'images'),
        sharedImages: join(root, 'shared'),
        libvirtdPid: join(runLibvirt, 'libvirtd.pid'),
        virtlogdPid: join(runLibvirt, 'virtlogd.pid'),
        libvirtSocket: join(runLibvirt, 'libvirt-sock'),
        sshd: {
          dir: sshdDir,
          config: join(sshdDir, 'sshd_config'),
          hostKey: join(sshdDir, 'ssh_host_ed25519_key'),
          pid: join(sshdDir, 'sshd.pid'),
          log: join(sshdDir, 'sshd.log'),
        },
      };
    },
  };
}

/** The path of a named network namespace (what `ip netns add` creates). */
export function netnsPath(name: string): string {
  return join('/run/netns', name);
}
