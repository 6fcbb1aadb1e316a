/** Pure parsers of `virsh` and `qemu-img` output. XML output is read by ./libvirt-xml (a parsed tree). */
import { readDomainCapabilities, readNetworkIp, readPool, type DomainCapabilities } from './libvirt-xml/index.js';

export type { DomainCapabilities } from './libvirt-xml/index.js';

export interface VirshVersion {
  libvirt?: string;
  qemu?: string;
}

/** `virsh version`: "Running hypervisor: QEMU 7.2.0" and "Using library: libvirt 9.0.0" (or "Running against daemon: 9.0.0"). */
export function parseVirshVersion(output: string): VirshVersion {
  const daemon = /Running against daemon:\s*([\d.]+)/.exec(output)?.[1];
  const library = /Using library:\s*libvirt\s*([\d.]+)/.exec(output)?.[1];
  const qemu = /Running hypervisor:\s*QEMU\s*([\d.]+)/i.exec(output)?.[1];
  return { libvirt: daemon ?? library, qemu };
}

/** `virsh domstate --reason`: "running (booted)" -> { state: 'running', reason: 'booted' }. */
export function parseDomState(output: string): { state: string; reason?: string } {
  const match = /^\s*([a-z ]+?)\s*(?:\(([^)]*)\))?\s*$/m.exec(output.trim());
  return { state: match?.[1]?.trim() ?? output.trim(), reason: match?.[2] };
}

/** The <target><path> of a pool from `virsh pool-dumpxml`. */
export function parsePoolTargetPath(xml: string): string | undefined {
  return readPool(xml).targetPath;
}

export interface QemuImgInfo {
  format: string;
  virtualSize: number;
  actualSize: number;
  backingFile?: string;
  encrypted: boolean;
}

/** `qemu-img info --output json`. */
export function parseQemuImgInfo(json: string): QemuImgInfo {
  const data = JSON.parse(json) as Record<string, unknown>;
  return {
    format: String(data['format'] ?? ''),
    virtualSize: Number(data['virtual-size'] ?? 0),
    actualSize: Number(data['actual-size'] ?? 0),
    backingFile: typeof data['backing-filename'] === 'string' ? data['backing-filename'] : undefined,
    encrypted: data['encrypted'] === true,
  };
}

/** `virsh domifaddr` table rows -> IPv4 addresses per MAC. */
export function parseDomIfAddr(output: string): { mac: string; address: string }[] {
  const rows: { mac: string; address: string }[] = [];
  for (const line of output.split('\n')) {
    const match = /([0-9a-f]{2}(?::[0-9a-f]{2}){5})\s+ipv4\s+(\d+\.\d+\.\d+\.\d+)/i.exec(line);
    if (match) rows.push({ mac: match[1]!.toLowerCase(), address: match[2]! });
  }
  return rows;
}

/** `virsh nodeinfo`'s "CPU(s):  8" line: the host's logical CPUs. */
export function parseNodeInfoCpus(output: string): number | undefined {
  const match = /^CPU\(s\):\s*(\d+)\s*$/m.exec(output);
  return match ? Number(match[1]) : undefined;
}

/** `virsh ... --name` lists (`list --all --name`, `pool-list --all --name`): one name a line. */
export function parseNameList(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

/** `virsh --quiet vol-list --pool P`: ` name   path` rows (a header and rule without --quiet are skipped). */
export function parseVolList(output: string): { name: string; path?: string }[] {
  const rows: { name: string; path?: string }[] = [];
  for (const line of output.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || /^-+$/.test(trimmed) || /^Name\s+Path$/.test(trimmed)) continue;
    // Names carry no spaces here (imgtest's never do); the path is the last field.
    const fields = trimmed.split(/\s+/);
    rows.push({ name: fields[0]!, path: fields.length > 1 ? fields[fields.length - 1] : undefined });
  }
  return rows;
}

/** `virsh domiflist DOMAIN`: the MAC of every interface, lower case. */
export function parseDomIfListMacs(output: string): string[] {
  const macs: string[] = [];
  for (const line of output.split('\n')) {
    const mac = /\b([0-9a-f]{2}(?::[0-9a-f]{2}){5})\b/i.exec(line)?.[1];
    if (mac) macs.push(mac.toLowerCase());
  }
  return macs;
}

/** `virsh domcapabilities`: the domain type, and what it says about UEFI firmware. */
export function parseDomainCapabilities(xml: string): DomainCapabilities {
  return readDomainCapabilities(xml);
}

/** `virsh pool-dumpxml`: the pool's type (`<pool type='dir'>`). */
export function parsePoolType(xml: string): string | undefined {
  return readPool(xml).type;
}

/** `virsh iface-list --all`: ` name  state  MAC` rows. */
export function parseIfaceList(output: string): { name: string; state: string; mac?: string }[] {
  const rows: { name: string; state: string; mac?: string }[] = [];
  for (const line of output.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 2 || fields[0] === 'Name' || /^-+$/.test(fields[0] ?? '')) continue;
    rows.push({ name: fields[0]!, state: fields[1]!, mac: fields[2] });
  }
  return rows;
}

/** `virsh net-info NAME`: "Active:         yes", "Bridge:         virbr0". */
export function parseNetInfo(output: string): { active?: boolean; bridge?: string } {
  const active = /^Active:\s*(\S+)/m.exec(output)?.[1];
  return { active: active === undefined ? undefined : active === 'yes', bridge: /^Bridge:\s*(\S+)/m.exec(output)?.[1] };
}

/** `virsh net-dumpxml NAME`: the network's own `<ip address=... prefix|netmask=...>`, if it has one. */
export function parseNetworkIp(xml: string): { address: string; prefix?: number; netmask?: string } | undefined {
  return readNetworkIp(xml);
}

/** `virsh pool-info NAME`: "State:          running", "Available:      227.54 GiB". */
export function parsePoolInfoDetails(output: string): { state?: string; available?: string } {
  return { state: /^State:\s*(.+?)\s*$/m.exec(output)?.[1], available: /^Available:\s*(.+?)\s*$/m.exec(output)?.[1] };
}

/**
 * The TCP endpoint a remote libvirt URI connects to first (ssh or libvirtd's port), or undefined for
 * local URIs (`qemu:///system`, `qemu+unix://`). Default ports: ssh 22, tcp 16509, tls (and no transport) 16514.
 */
export function libvirtUriEndpoint(uri: string): { host: string; port: number } | undefined {
  const match = /^([a-z0-9]+)(?:\+([a-z0-9]+))?:\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/?]*)(?::(\d+))?/i.exec(uri);
  if (!match || !match[3]) return undefined;
  const transport = (match[2] ?? 'tls').toLowerCase();
  const defaults: Record<string, number> = { ssh: 22, libssh: 22, libssh2: 22, tcp: 16509, tls: 16514 };
  if (!(transport in defaults)) return undefined;
  return { host: match[3].replace(/^\[|\]$/g, ''), port: match[4] ? Number(match[4]) : defaults[transport]! };
}

/** virsh's stderr: libvirt's own messages ("error: ..." lines, the prefix dropped) and every non-empty line. */
export function virshErrorLines(stderr: string): { errors: string[]; lines: string[] } {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return { errors: lines.filter((l) => l.startsWith('error:')).map((l) => l.replace(/^error:\s*/, '')), lines };
}
