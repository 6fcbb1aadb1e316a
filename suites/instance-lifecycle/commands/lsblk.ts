/**
 * `lsblk` (util-linux): the block device tree, to walk from the root filesystem's device to its disk
 * (partition -> disk; LVM logical volume -> physical volume partition -> disk; dm-crypt -> partition).
 */
import type { GuestHandle } from '../api.js';
import { cannotObserve, formatBytes, readFile, run, tryRun } from '../guest.js';
import { jsonNumber } from './findmnt.js';

export const LSBLK_COLUMNS = 'NAME,KNAME,PKNAME,TYPE,SIZE,START,FSTYPE,MOUNTPOINT';
export const lsblkArgv = (columns = LSBLK_COLUMNS): string[] => ['lsblk', '-b', '-J', '-o', columns];

export interface BlockNode {
  name: string;
  kname: string;
  pkname?: string;
  /** disk, part, lvm, crypt, raid1, loop, rom... */
  type: string;
  size: number;
  /** Partition start in 512-byte sectors (lsblk START, or /sys/class/block/KNAME/start). */
  start?: number;
  fstype?: string;
  mountpoint?: string;
  /** The device this one sits on, as lsblk's tree nests it (an LV on two PVs appears twice). */
  parent?: BlockNode;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** lsblk -J: `{"blockdevices": [...]}` with `children` nested; flattened, each node knowing its parent. */
export function parseLsblk(output: string): BlockNode[] {
  let parsed: { blockdevices?: unknown };
  try {
    parsed = JSON.parse(output) as { blockdevices?: unknown };
  } catch {
    return [];
  }
  const nodes: BlockNode[] = [];
  const walk = (items: unknown, parent?: BlockNode): void => {
    if (!Array.isArray(items)) return;
    for (const item of items as Record<string, unknown>[]) {
      const name = str(item.name) ?? '';
      const node: BlockNode = {
        name,
        kname: str(item.kname) ?? name,
        pkname: str(item.pkname),
        type: str(item.type) ?? '',
        size: jsonNumber(item.size) ?? 0,
        start: jsonNumber(item.start),
        fstype: str(item.fstype),
        mountpoint: str(item.mountpoint),
        parent,
      };
      nodes.push(node);
      walk(item.children, node);
    }
  };
  walk(parsed.blockdevices);
  return nodes;
}

export interface RootChain {
  /** The device the root filesystem is on (a partition, an LV, a dm-crypt mapping, or a whole disk). */
  device: BlockNode;
  /** The partition under it (the LV's physical volume partition), if any. */
  partition?: BlockNode;
  disk?: BlockNode;
  /** device -> ... -> disk, for evidence. */
  path: BlockNode[];
}

/**
 * The chain from the root filesystem's device to its disk. The device is found by its mount point `/`,
 * else by the source findmnt named (`/dev/vda2`, `/dev/mapper/vg-root`, `/dev/dm-0`).
 */
export function rootChain(nodes: readonly BlockNode[], source: string): RootChain | undefined {
  const base = source.replace(/^\/dev\/(mapper\/)?/, '');
  const device = nodes.find((n) => n.mountpoint === '/') ?? nodes.find((n) => n.name === base || n.kname === base);
  if (!device) return undefined;
  const path: BlockNode[] = [device];
  let partition: BlockNode | undefined;
  let disk: BlockNode | undefined;
  let at: BlockNode | undefined = device;
  while (at) {
    if (at.type === 'part' && !partition) partition = at;
    if (at.type === 'disk') {
      disk = at;
      break;
    }
    at = at.parent ?? (at.pkname ? nodes.find((n) => n.kname === at!.pkname && n !== at) : undefined);
    if (at) path.push(at);
  }
  return { device, partition, disk, path };
}

export function describeChain(chain: RootChain): string {
  return chain.path.map((n) => `${n.name} (${n.type}, ${formatBytes(n.size)}${n.start !== undefined ? `, starts at sector ${n.start}` : ''})`).join(' on ');
}

/** The whole tree as a small table, for evidence. */
export function describeTree(nodes: readonly BlockNode[]): string {
  const depth = (n: BlockNode): number => (n.parent ? depth(n.parent) + 1 : 0);
  return nodes
    .map(
      (n) =>
        `${'  '.repeat(depth(n))}${n.name.padEnd(12)} ${n.type.padEnd(5)} ${String(n.size).padStart(14)} B  start ${n.start ?? '-'}  ${n.fstype ?? ''}${n.mountpoint ? ` on ${n.mountpoint}` : ''}`,
    )
    .join('\n');
}

export async function readBlockTree(guest: GuestHandle): Promise<{ nodes: BlockNode[]; evidence: string }> {
  const what = 'list block devices';
  let ran = await run(guest, lsblkArgv(), {}, what);
  // util-linux before 2.38 has no START column: ask without it, and read starts from sysfs.
  if (ran.result.exitCode !== 0 && /unknown column/i.test(ran.result.stderr)) {
    const first = ran.evidence;
    ran = await run(guest, lsblkArgv(LSBLK_COLUMNS.replace(',START', '')), {}, what);
    ran = { ...ran, evidence: `${first}\n$ ${ran.argv.join(' ')}   (exit ${ran.result.exitCode})` };
  }
  const nodes = parseLsblk(ran.result.stdout);
  if (ran.result.exitCode !== 0 || !nodes.length) throw cannotObserve(guest, what, ran);
  return { nodes, evidence: `${ran.evidence.split('\n')[0]}\n${describeTree(nodes)}` };
}

/** A partition's start from sysfs (512-byte sectors, whatever the disk's block size). */
export async function readSysfsStart(guest: GuestHandle, kname: string): Promise<{ start?: number; evidence: string }> {
  const read = await readFile(guest, `/sys/class/block/${kname}/start`);
  const start = read.state === 'ok' ? jsonNumber(read.text.trim()) : undefined;
  return { start, evidence: read.evidence };
}

/** `df -h /` for the evidence (never judged). */
export async function dfHuman(guest: GuestHandle): Promise<string> {
  const ran = await tryRun(guest, ['df', '-h', '/']);
  return ran.evidence;
}
