/** Pure parsers of the command output and kernel files the lab reads. */

import { readCapabilitiesHostUuid } from '../hosts/libvirt-xml/index.js';

export { parseVirshVersion } from '../hosts/parse.js';

/** The `<host><uuid>` of `virsh capabilities` (the daemon's host_uuid). */
export function parseCapabilitiesHostUuid(xml: string): string | undefined {
  return readCapabilitiesHostUuid(xml);
}

/** `virsh list --name` (one name a line, blank lines between). */
export function parseDomainNames(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

export interface MountInfoEntry {
  id: number;
  parentId: number;
  /** The mounted folder or file, inside its filesystem. */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  /** Optional fields, e.g. `shared:1`, `master:2`; empty when private. */
  propagation: string[];
}

/** Octal escapes (`\040` for a space) as the kernel writes them in mountinfo. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** /proc/<pid>/mountinfo, in order (a later entry on the same mountpoint is on top). */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const entries: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0 || fields.length < separator + 3) continue;
    entries.push({
      id: Number(fields[0]),
      parentId: Number(fields[1]),
      root: unescapeMountField(fields[3] ?? ''),
      mountPoint: unescapeMountField(fields[4] ?? ''),
      propagation: fields.slice(6, separator),
      fsType: fields[separator + 1] ?? '',
      source: unescapeMountField(fields[separator + 2] ?? ''),
    });
  }
  return entries;
}

/** Mountpoints at or below `dir`, deepest first: the order to unmount them in. */
export function mountPointsUnder(entries: readonly MountInfoEntry[], dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = entries.map((e) => e.mountPoint).filter((p) => p === dir || p.startsWith(prefix));
  // Newest first (a later mount may sit on an earlier one), then deepest first (the sort is stable).
  return points.reverse().sort((a, b) => b.split('/').length - a.split('/').length);
}

export interface DnsmasqLease {
  expires: number;
  mac: string;
  address: string;
  hostname?: string;
}

/** dnsmasq's leases file: `<expiry> <mac> <ip> <hostname|*> <client-id|*>` a line. */
export function parseDnsmasqLeases(text: string): DnsmasqLease[] {
  const leases: DnsmasqLease[] = [];
  for (const line of text.split('\n')) {
    const [expires, mac, address, hostname] = line.trim().split(/\s+/);
    if (!expires || !mac || !address || !/^\d+$/.test(expires)) continue;
    leases.push({ expires: Number(expires), mac: mac.toLowerCase(), address, hostname: hostname && hostname !== '*' ? hostname : undefined });
  }
  return leases;
}

/** The interface names in `ip -o link` output (`3: name@peer: <...>`), without the `@peer` part. */
export function parseLinkNames(output: string): string[] {
  const names: string[] = [];
  for (const line of output.split('\n')) {
    const name = /^\d+:\s+([^:@\s]+)(?:@[^:\s]+)?:/.exec(line)?.[1];
    if (name) names.push(name);
  }
  return names;
}

/** `ip netns list` lines (`name` or `name (id: 3)`). */
export function parseNetnsNames(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

export interface PoolInfo {
  state?: string;
  autostart?: boolean;
}

/** `virsh pool-info NAME`: "State:          running", "Autostart:      yes". */
export function parsePoolInfo(output: string): PoolInfo {
  const state = /^State:\s*(.+?)\s*$/m.exec(output)?.[1];
  const autostart = /^Autostart:\s*(\S+)/m.exec(output)?.[1];
  return { state, autostart: autostart === undefined ? undefined : autostart === 'yes' };
}

const BATCH_MARKER = '@@imgtest-lab@@';

/**
 * One virsh argument running several commands in one connection (virsh's own `;` syntax, no shell),
 * with a marker line between their outputs: `hostname; echo MARK; version`.
 */
export function virshBatch(commands: readonly string[]): string {
  return commands.join(`; echo ${BATCH_MARKER}; `);
}

/** The outputs of a `virshBatch` run, one per command (fewer when virsh stopped early). */
export function splitVirshBatch(output: string): string[] {
  return output.split(new RegExp(`^${BATCH_MARKER}$`, 'm')).map((part) => part.trim());
}

/** Mountpoints a host keeps from the machine's tree: the root, the kernel's pseudo filesystems, the usual system partitions. */
const KEPT_MOUNT_TREES = ['/proc', '/sys', '/dev'];
const KEPT_MOUNTS = ['/', '/run', '/usr', '/boot', '/boot/efi', '/etc', '/var', '/var/lib', '/var/log', '/var/cache', '/var/tmp', '/tmp', '/home', '/opt', '/srv'];

/**
 * The mounts a new host mount namespace should drop from its copy of the machine's tree, top-most
 * only (each is unmounted with everything below it). Everything else someone mounted (a chroot
 * being built, a loop device, /run/netns, the lab's own namespace files) would otherwise stay
 * mounted in the host for as long as the lab lives, although the machine unmounted it long ago.
 */
export function mountsToDrop(entries: readonly MountInfoEntry[]): string[] {
  const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);
  const kept = (point: string) => KEPT_MOUNTS.includes(point) || KEPT_MOUNT_TREES.some((tree) => under(point, tree));
  const drop: string[] = [];
  for (const point of [...new Set(entries.map((e) => e.mountPoint))].sort()) {
    if (kept(point) || drop.some((dropped) => under(point, dropped))) continue;
    drop.push(point);
  }
  return drop;
}
