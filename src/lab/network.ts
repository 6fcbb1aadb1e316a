import { writeFile } from 'node:fs/promises';
import { run } from '../util/exec.js';
import {
  DHCP_SERVER_ADDRESS,
  GUEST_BRIDGE,
  HOST_GUEST_BRIDGE,
  HOST_SPECS,
  LAB_NETNS,
  LIBVIRT_TCP_PORT,
  LINK_PREFIX,
  MGMT_BRIDGE,
  MIGRATION_PORTS,
  ROOT_LINKS,
  netnsPath,
  peerOf,
  type HostSpec,
} from './layout.js';
import { hostFirewallRules } from './host-config.js';
import { parseLinkNames, parseNetnsNames } from './parse.js';

/**
 * Network namespaces, bridges and veth pairs of the lab. Every function here is idempotent:
 * it checks what exists, adds what is missing and (re)applies settings that are cheap to repeat.
 * Nothing routes: the lab namespace and the hosts have forwarding off, the root namespace's two
 * lab links have forwarding and IPv6 off, and guests get no default route from DHCP.
 */

type Log = (line: string) => void;

/** `ip`, optionally inside a named network namespace (`ip -n NAME ...`). */
async function ip(netns: string | undefined, args: readonly string[], allowFailure = false) {
  return run('ip', netns ? ['-n', netns, ...args] : args, { allowFailure, timeoutMs: 30_000 });
}

/** A command run inside a network namespace only (no mount namespace games, unlike `ip netns exec`). */
async function inNetns(netns: string, file: string, args: readonly string[], input?: string) {
  return run('nsenter', [`--net=${netnsPath(netns)}`, '--', file, ...args], { input, timeoutMs: 30_000 });
}

export async function netnsNames(): Promise<string[]> {
  return parseNetnsNames((await run('ip', ['netns', 'list'], { allowFailure: true })).stdout);
}

/** Makes sure a named network namespace exists and works; returns true when it had to be (re)made. */
export async function ensureNetns(name: string, log: Log): Promise<boolean> {
  if ((await ip(name, ['link', 'show', 'lo'], true)).exitCode === 0) return false;
  if ((await netnsNames()).includes(name)) await ip(undefined, ['netns', 'delete', name], true);
  log(`network namespace ${name}: creating`);
  await ip(undefined, ['netns', 'add', name]);
  await ip(name, ['link', 'set', 'lo', 'up']);
  // IPv4 settings of a new namespace are copied from the root namespace: turn routing off explicitly.
  // (/proc/sys/net shows the namespace of the process that opens it.)
  for (const setting of ['ipv4/ip_forward', 'ipv6/conf/all/forwarding']) await inNetns(name, 'tee', [`/proc/sys/net/${setting}`], '0\n');
  return true;
}

async function linkExists(netns: string | undefined, name: string): Promise<boolean> {
  return (await ip(netns, ['link', 'show', 'dev', name], true)).exitCode === 0;
}

interface LinkEnd {
  netns?: string;
  name: string;
}

/** A veth pair between two namespaces; a pair with one end missing (its namespace was rebuilt) is remade. */
async function ensureVeth(a: LinkEnd, b: LinkEnd & { netns: string }, log: Log): Promise<boolean> {
  const [hasA, hasB] = await Promise.all([linkExists(a.netns, a.name), linkExists(b.netns, b.name)]);
  if (hasA && hasB) return false;
  if (hasA) await ip(a.netns, ['link', 'del', 'dev', a.name], true);
  if (hasB) await ip(b.netns, ['link', 'del', 'dev', b.name], true);
  log(`veth ${a.name} (${a.netns ?? 'root namespace'}) <-> ${b.name} (${b.netns}): creating`);
  await ip(a.netns, ['link', 'add', 'name', a.name, 'type', 'veth', 'peer', 'name', b.name, 'netns', b.netns]);
  return true;
}

async function ensureBridge(netns: string, name: string, log: Log): Promise<void> {
  if (!(await linkExists(netns, name))) {
    log(`bridge ${name} in ${netns}: creating`);
    await ip(netns, ['link', 'add', 'name', name, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  }
  await ip(netns, ['link', 'set', 'dev', name, 'up']);
}

async function attach(netns: string, name: string, bridge: string): Promise<void> {
  await ip(netns, ['link', 'set', 'dev', name, 'master', bridge]);
  await ip(netns, ['link', 'set', 'dev', name, 'up']);
}

async function setAddress(netns: string | undefined, name: string, cidr: string): Promise<void> {
  await ip(netns, ['address', 'replace', cidr, 'dev', name]);
  await ip(netns, ['link', 'set', 'dev', name, 'up']);
}

/** Root-namespace end of a lab link: reachable, but never a router into or out of the lab. */
async function isolateRootLink(name: string): Promise<void> {
  await writeFile(`/proc/sys/net/ipv4/conf/${name}/forwarding`, '0');
  await writeFile(`/proc/sys/net/ipv6/conf/${name}/disable_ipv6`, '1');
}

/** The lab namespace, its two bridges, and the root namespace's links into them. Returns true when a link was (re)made. */
export async function ensureLabNetwork(log: Log): Promise<boolean> {
  let changed = await ensureNetns(LAB_NETNS, log);
  await ensureBridge(LAB_NETNS, MGMT_BRIDGE, log);
  await ensureBridge(LAB_NETNS, GUEST_BRIDGE, log);
  await setAddress(LAB_NETNS, GUEST_BRIDGE, `${DHCP_SERVER_ADDRESS}/24`);
  for (const link of Object.values(ROOT_LINKS)) {
    if (await ensureVeth({ name: link.root }, { netns: LAB_NETNS, name: link.lab }, log)) changed = true;
    await attach(LAB_NETNS, link.lab, link.bridge);
    await isolateRootLink(link.root);
    await setAddress(undefined, link.root, link.address);
  }
  return changed;
}

/**
 * A host's network namespace: its management address, its `brg` on the guest segment, its firewall.
 * `netnsRemade`: the namespace itself is new; `changed`: some link of it was (re)made.
 */
export async function ensureHostNetwork(host: HostSpec, log: Log): Promise<{ netnsRemade: boolean; changed: boolean }> {
  const netnsRemade = await ensureNetns(host.netns, log);
  let changed = await ensureVeth({ netns: host.netns, name: host.mgmtLink.host }, { netns: LAB_NETNS, name: host.mgmtLink.lab }, log);
  await attach(LAB_NETNS, host.mgmtLink.lab, MGMT_BRIDGE);
  await setAddress(host.netns, host.mgmtLink.host, `${host.managementAddress}/24`);

  await ensureBridge(host.netns, HOST_GUEST_BRIDGE, log);
  if (await ensureVeth({ netns: host.netns, name: host.guestLink.host }, { netns: LAB_NETNS, name: host.guestLink.lab }, log)) changed = true;
  await attach(LAB_NETNS, host.guestLink.lab, GUEST_BRIDGE);
  await attach(host.netns, host.guestLink.host, HOST_GUEST_BRIDGE);

  const rules = hostFirewallRules({
    peerAddress: peerOf(host).managementAddress,
    libvirtPort: LIBVIRT_TCP_PORT,
    migrationPortMin: MIGRATION_PORTS.min,
    migrationPortMax: MIGRATION_PORTS.max,
  });
  await inNetns(host.netns, 'iptables-restore', [], rules);
  return { netnsRemade, changed: changed || netnsRemade };
}

/**
 * Forgets the management network's neighbour (ARP) entries in the root namespace and the hosts.
 * After a link was remade, an address answers from a new MAC; a stale entry would black-hole
 * traffic to it until the kernel gives up on it (tens of seconds).
 */
export async function flushManagementNeighbours(): Promise<void> {
  await ip(undefined, ['neigh', 'flush', 'dev', ROOT_LINKS.mgmt.root], true);
  for (const host of HOST_SPECS) await ip(host.netns, ['neigh', 'flush', 'dev', host.mgmtLink.host], true);
}

/** The lab's network namespaces that exist now. */
export async function existingLabNetns(): Promise<string[]> {
  const ours = new Set([LAB_NETNS, ...HOST_SPECS.map((h) => h.netns)]);
  return (await netnsNames()).filter((name) => ours.has(name));
}

/** The root namespace's links with the lab's prefix. */
export async function rootLabLinks(): Promise<string[]> {
  return parseLinkNames((await ip(undefined, ['-o', 'link', 'show'], true)).stdout).filter((name) => name.startsWith(LINK_PREFIX));
}

/**
 * Deletes the root namespace's lab links and the lab's network namespaces. Run after the processes in
 * them are gone: a namespace whose name is deleted lives on while a process (or mount) holds it.
 */
export async function removeLabNetwork(log: Log): Promise<void> {
  for (const name of await rootLabLinks()) {
    log(`link ${name}: deleting`);
    await ip(undefined, ['link', 'del', 'dev', name], true);
  }
  for (const name of await existingLabNetns()) {
    log(`network namespace ${name}: deleting`);
    await ip(undefined, ['netns', 'delete', name], true);
  }
}
