/**
 * Pure readers for the live-migration suite: domain XML facts, `virsh hypervisor-cpu-compare`,
 * `virsh domjobinfo`, the guest's own reports (state, heartbeat, writer progress, kernel log), gaps
 * in a series of probe replies, and the data the in-guest writer produces. No I/O here.
 */
import { createHash } from 'node:crypto';
import { oneLine } from './api.js';
// The contract's evidence helpers, re-exported for this suite's other files (one wording across suites).
export { oneLine };

const attr = (tag: string, name: string): string | undefined => new RegExp(`\\b${name}=(['"])(.*?)\\1`).exec(tag)?.[2];

// ---------------------------------------------------------------- domain XML

export interface DomainFacts {
  /** `<domain type=...>`: kvm or qemu (TCG). */
  virtType?: string;
  arch?: string;
  machine?: string;
  /** The `<cpu>` element, when the domain has one. */
  cpuXml?: string;
  /** `mode=` of `<cpu>` (custom when absent but a <cpu> exists). */
  cpuMode?: string;
  cpuModel?: string;
  /** `<hostdev>` elements and `<interface type='hostdev'>`, one line each. */
  hostDevices: string[];
  disks: { target: string; device: string; readonly: boolean; cache?: string; source?: string }[];
  macs: string[];
}

export function domainFacts(xml: string): DomainFacts {
  const domainTag = /<domain\b[^>]*>/.exec(xml)?.[0] ?? '';
  const typeTag = /<os\b[^>]*>[\s\S]*?(<type\b[^>]*>)/.exec(xml)?.[1] ?? '';
  const cpuXml = /<cpu\b[^>]*\/>|<cpu\b[^>]*>[\s\S]*?<\/cpu>/.exec(xml)?.[0];
  const cpuTag = cpuXml ? /<cpu\b[^>]*>/.exec(cpuXml)![0] : undefined;
  const hostDevices = [
    ...[...xml.matchAll(/<hostdev\b[^>]*>[\s\S]*?<\/hostdev>/g)].map((m) => hostdevLine(m[0])),
    ...[...xml.matchAll(/<interface\b[^>]*\btype=(['"])hostdev\1[^>]*>[\s\S]*?<\/interface>/g)].map((m) => `interface type='hostdev'${pciAddress(m[0])}`),
  ];
  const disks = [...xml.matchAll(/<disk\b[^>]*>[\s\S]*?<\/disk>/g)].map((m) => {
    const block = m[0].replace(/<backingStore\b[\s\S]*?<\/backingStore>/g, '');
    const open = /<disk\b[^>]*>/.exec(block)![0];
    const driver = /<driver\b[^>]*>/.exec(block)?.[0] ?? '';
    const source = /<source\b[^>]*>/.exec(block)?.[0] ?? '';
    const target = /<target\b[^>]*>/.exec(block)?.[0] ?? '';
    return {
      target: attr(target, 'dev') ?? '?',
      device: attr(open, 'device') ?? 'disk',
      readonly: /<readonly\s*\/>/.test(block),
      cache: attr(driver, 'cache'),
      source: attr(source, 'file') ?? attr(source, 'volume') ?? attr(source, 'dev') ?? attr(source, 'name'),
    };
  });
  return {
    virtType: attr(domainTag, 'type'),
    arch: attr(typeTag, 'arch'),
    machine: attr(typeTag, 'machine'),
    cpuXml,
    cpuMode: cpuTag ? (attr(cpuTag, 'mode') ?? 'custom') : undefined,
    cpuModel: cpuXml ? /<model\b[^>]*>([^<]+)<\/model>/.exec(cpuXml)?.[1]?.trim() : undefined,
    hostDevices,
    disks,
    macs: [...xml.matchAll(/<mac\s+address=(['"])([0-9a-fA-F:]{17})\1/g)].map((m) => m[2]!.toLowerCase()),
  };
}

function pciAddress(block: string): string {
  const address = /<source>[\s\S]*?<address\b([^>]*)>/.exec(block)?.[1];
  if (!address) return '';
  const get = (name: string) => attr(address, name)?.replace(/^0x/, '') ?? '?';
  return ` ${get('domain')}:${get('bus')}:${get('slot')}.${get('function')}`;
}

function hostdevLine(block: string): string {
  const open = /<hostdev\b[^>]*>/.exec(block)![0];
  return `hostdev ${attr(open, 'type') ?? '?'}${pciAddress(block)}`;
}

/** The host CPU of `virsh capabilities` (`<host><cpu>...</cpu>`), whitespace-normalised, for comparing hosts. */
export function capabilitiesHostCpu(xml: string): string | undefined {
  const host = /<host>([\s\S]*?)<\/host>/.exec(xml)?.[1];
  const cpu = host ? /<cpu>[\s\S]*?<\/cpu>/.exec(host)?.[0] : undefined;
  return cpu
    ?.replace(/<microcode\b[^>]*\/>/g, '')
    .replace(/<counter\b[^>]*\/>/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

// ---------------------------------------------------------------- virsh

export type CpuComparison = 'identical' | 'superset' | 'incompatible' | 'unknown';

/**
 * `virsh hypervisor-cpu-compare`: "CPU described in F is identical to the CPU provided by hypervisor on
 * the host", "The CPU provided by hypervisor on the host is a superset of CPU described in F",
 * "CPU described in F is incompatible with the CPU provided by hypervisor on the host".
 */
export function parseCpuCompare(output: string): CpuComparison {
  if (/\bincompatible with\b/i.test(output)) return 'incompatible';
  if (/\bis a superset of\b/i.test(output)) return 'superset';
  if (/\bis identical to\b/i.test(output)) return 'identical';
  return 'unknown';
}

/** `virsh domstate` ("running", "shut off", "running (migrated)") -> the state word(s). */
export function parseDomState(output: string): string {
  return output
    .trim()
    .split('\n')[0]!
    .replace(/\s*\(.*\)\s*$/, '')
    .trim();
}

/** virsh's "domain not found" for a name (`failed to get domain`, `Domain not found`). */
export function isNoSuchDomain(stderr: string): boolean {
  return /failed to get domain|domain not found|no domain with matching name/i.test(stderr);
}

/** `virsh qemu-agent-command ... '{"execute":"guest-ping"}'` -> `{"return":{}}`. */
export function agentAnswered(stdout: string): boolean {
  return /"return"\s*:/.test(stdout);
}

/**
 * The IPv4 addresses per interface (not lo) from the guest agent's `guest-network-get-interfaces`
 * reply (qemu-guest-agent's QAPI schema: `{"return":[{"name","hardware-address","ip-addresses":[{"ip-address-type","ip-address","prefix"}]}]}`);
 * undefined when the reply is not that.
 */
export function agentIpv4Addresses(stdout: string): { name: string; mac?: string; addresses: string[] }[] | undefined {
  let reply: unknown;
  try {
    reply = JSON.parse(stdout);
  } catch {
    return undefined;
  }
  const list = (reply as { return?: unknown } | null)?.return;
  if (!Array.isArray(list)) return undefined;
  return list
    .filter((nic): nic is { name: string; 'hardware-address'?: string; 'ip-addresses'?: { 'ip-address-type'?: string; 'ip-address'?: string }[] } => typeof nic?.name === 'string' && nic.name !== 'lo')
    .map((nic) => ({
      name: nic.name,
      mac: nic['hardware-address']?.toLowerCase(),
      addresses: (nic['ip-addresses'] ?? []).filter((a) => a['ip-address-type'] === 'ipv4' && typeof a['ip-address'] === 'string').map((a) => a['ip-address']!),
    }));
}

/**
 * What the guest agent says of the guest's network when SSH could not read the guest after a move:
 * whether the NIC with `mac` still has `expected` (the address it had before). A guest that lost its
 * address did not lose its connection in the move (e.g. its DHCP lease ran out with no client left to
 * renew it), and the message says so; undefined when the reply says nothing useful.
 */
export function describeAgentNetwork(stdout: string, mac: string, expected: readonly string[]): string | undefined {
  const nics = agentIpv4Addresses(stdout);
  if (!nics) return undefined;
  const nic = nics.find((n) => n.mac === mac.toLowerCase());
  if (!nic) return `the guest agent answers but lists no interface with MAC ${mac.toLowerCase()}`;
  const had = expected.length ? ` (it had ${expected.join(', ')} before the move)` : '';
  if (!nic.addresses.length) return `the guest agent answers and reports no IPv4 address on ${nic.name}${had}: the guest lost its address, not only its connection`;
  const same = expected.length > 0 && expected.every((a) => nic.addresses.includes(a));
  return `the guest agent answers and reports ${nic.addresses.join(', ')} on ${nic.name}${same ? ', as before the move' : had}`;
}

// ---------------------------------------------------------------- the guest's reports

export interface GuestState {
  bootId: string;
  uptimeSeconds: number;
  /** Interfaces (not lo) and their MACs. */
  interfaces: { name: string; mac: string }[];
  /** IPv4 addresses per interface (`ip -o -4 addr`), CIDR form. */
  addresses: { name: string; address: string }[];
}

/** The output of STATE_SCRIPT (see guest-scripts.ts). */
export function parseGuestState(output: string): GuestState {
  const lines = output.split('\n').map((l) => l.trim());
  const value = (key: string) =>
    lines
      .find((l) => l.startsWith(`${key} `))
      ?.slice(key.length + 1)
      .trim() ?? '';
  return {
    bootId: value('boot_id'),
    uptimeSeconds: Number(value('uptime')) || 0,
    interfaces: lines
      .filter((l) => l.startsWith('if '))
      .map((l) => {
        const [, name = '', mac = ''] = l.split(/\s+/);
        return { name, mac: mac.toLowerCase() };
      }),
    addresses: lines
      .filter((l) => l.startsWith('addr '))
      .map((l) => {
        const [, name = '', address = ''] = l.split(/\s+/);
        return { name, address: address.split('/')[0]! };
      }),
  };
}

/** The interface with `mac` and its IPv4 addresses. */
export function addressesOfMac(state: GuestState, mac: string): { name?: string; addresses: string[] } {
  const name = state.interfaces.find((i) => i.mac === mac.toLowerCase())?.name;
  return { name, addresses: name ? state.addresses.filter((a) => a.name === name).map((a) => a.address) : [] };
}

export interface Heartbeat {
  /** Guest timestamps (epoch seconds) of each beat. */
  beats: number[];
  /** The loop saw the stop file and said goodbye: the session carried everything to the end. */
  ended: boolean;
  /** Longest pause between two beats as the guest's clock saw it, ms. */
  longestPauseMs: number;
}

/** HEARTBEAT_SCRIPT output: `hb <n> <epoch.ns>` lines, then `hb-end <n>`. */
export function parseHeartbeat(output: string): Heartbeat {
  const beats: number[] = [];
  let ended = false;
  for (const line of output.split('\n')) {
    const beat = /^hb (\d+) (\d+(?:\.\d+)?)\s*$/.exec(line.trim());
    if (beat) beats.push(Number(beat[2]));
    else if (/^hb-end \d+\s*$/.test(line.trim())) ended = true;
  }
  let longest = 0;
  for (let i = 1; i < beats.length; i++) longest = Math.max(longest, (beats[i]! - beats[i - 1]!) * 1000);
  return { beats, ended, longestPauseMs: Math.round(longest) };
}

export interface WriterProgress {
  /** Chunk number -> guest time (epoch s) when its fsync returned. */
  chunks: { index: number; at: number }[];
  /** The writer saw the stop file and finished its last chunk. */
  done: boolean;
}

/** The writer's progress file: `<n> <epoch.ns>` per fsynced chunk, then `done`. */
export function parseWriterProgress(text: string): WriterProgress {
  const chunks: { index: number; at: number }[] = [];
  let done = false;
  for (const line of text.split('\n')) {
    const match = /^(\d+) (\d+(?:\.\d+)?)\s*$/.exec(line.trim());
    if (match) chunks.push({ index: Number(match[1]), at: Number(match[2]) });
    else if (line.trim() === 'done') done = true;
  }
  return { chunks, done };
}

export const CHUNK_BYTES = 65536;

/** Chunk `index` of the writer: `yes "imgtest-<token>-<index, 8 digits>" | head -c 65536`. */
export function writerChunk(token: string, index: number): Buffer {
  const line = `imgtest-${token}-${String(index).padStart(8, '0')}\n`;
  return Buffer.from(line.repeat(Math.ceil(CHUNK_BYTES / line.length)).slice(0, CHUNK_BYTES), 'ascii');
}

/** sha256 of chunks 1..count: what the file must hold after `count` fsynced appends. */
export function expectedWriterSha256(token: string, count: number): string {
  const hash = createHash('sha256');
  for (let i = 1; i <= count; i++) hash.update(writerChunk(token, i));
  return hash.digest('hex');
}

/** `sha256sum FILE` -> the hex digest. */
export function parseSha256sum(output: string): string | undefined {
  return /^([0-9a-f]{64})\b/m.exec(output.trim())?.[1];
}

// ---------------------------------------------------------------- kernel log

/** What the kernel says when a move hurt the guest. */
export const KERNEL_ERROR_PATTERNS: readonly { label: string; pattern: RegExp }[] = [
  { label: 'soft lockup', pattern: /soft lockup/i },
  { label: 'hung task', pattern: /blocked for more than \d+ seconds|hung_task/i },
  { label: 'RCU stall', pattern: /rcu.{0,40}(self-detected stall|detected stalls?)/i },
  // Not "Long readout interval, skipping watchdog check" nor "timekeeping watchdog on CPU0: hpet wd-wd
  // read-back delay ... clock-skew test skipped": the watchdog declining to judge a stalled read (TCG on a
  // busy host). Its verdict, when it has one, is "Marking clocksource ... as unstable".
  { label: 'clocksource', pattern: /Marking clocksource .* as unstable|Marking TSC unstable|clocksource .*skew is too large/i },
  { label: 'I/O error', pattern: /I\/O error|blk_update_request|critical medium error|EXT4-fs error|XFS .*(error|corrupt)|Buffer I\/O/i },
  { label: 'kernel BUG/oops', pattern: /\bBUG:|\bOops\b|general protection fault|Kernel panic/ },
];

/** The kernel log lines after the line containing `marker` (all lines when the marker is not there). */
export function kernelLinesSince(dmesg: string, marker: string): { lines: string[]; markerFound: boolean } {
  const lines = dmesg.split('\n').filter((l) => l.trim());
  const at = lines.findIndex((l) => l.includes(marker));
  return at < 0 ? { lines, markerFound: false } : { lines: lines.slice(at + 1), markerFound: true };
}

/** Lines matching a kernel error pattern, with its label. */
export function kernelErrors(lines: readonly string[]): { label: string; line: string }[] {
  const found: { label: string; line: string }[] = [];
  for (const line of lines) {
    const hit = KERNEL_ERROR_PATTERNS.find((p) => p.pattern.test(line));
    if (hit) found.push({ label: hit.label, line: line.trim() });
  }
  return found;
}

// ---------------------------------------------------------------- probes and clocks

/**
 * The longest stretch without a reply within [start, end] (ms timestamps): between consecutive
 * replies, and from the start to the first reply and from the last reply to the end.
 */
export function longestGap(replies: readonly number[], start: number, end: number): number {
  const inside = [...replies].filter((t) => t >= start && t <= end).sort((a, b) => a - b);
  if (!inside.length) return Math.max(0, end - start);
  let longest = Math.max(inside[0]! - start, end - inside[inside.length - 1]!);
  for (let i = 1; i < inside.length; i++) longest = Math.max(longest, inside[i]! - inside[i - 1]!);
  return Math.round(longest);
}

/** `ping -D` reply lines: `[1700000000.123456] 64 bytes from 10.0.0.5: icmp_seq=3 ttl=64 time=0.41 ms` -> epoch ms. */
export function parsePingReplies(output: string): number[] {
  const replies: number[] = [];
  for (const line of output.split('\n')) {
    const match = /^\[(\d+(?:\.\d+)?)\]\s+\d+ bytes from .*icmp_seq=\d+/.exec(line.trim());
    if (match) replies.push(Math.round(Number(match[1]) * 1000));
  }
  return replies;
}

/** ping's summary: "12 packets transmitted, 11 received". */
export function parsePingSummary(output: string): { transmitted: number; received: number } | undefined {
  const match = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  return match ? { transmitted: Number(match[1]), received: Number(match[2]) } : undefined;
}

/**
 * The guest clock's offset from ours, from `date +%s.%N` run between `sentAt` and `receivedAt` (epoch ms):
 * the guest's time minus our midpoint, with the half round trip as its uncertainty.
 */
export function clockOffset(guestEpochSeconds: number, sentAt: number, receivedAt: number): { offsetMs: number; uncertaintyMs: number } {
  const midpoint = (sentAt + receivedAt) / 2;
  return { offsetMs: Math.round(guestEpochSeconds * 1000 - midpoint), uncertaintyMs: Math.round((receivedAt - sentAt) / 2) };
}

export const MiB = 2 ** 20;
export const formatMiB = (bytes: number | undefined): string => (bytes === undefined ? '?' : `${(bytes / MiB).toFixed(1)} MiB`);
