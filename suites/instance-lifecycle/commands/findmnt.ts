/** `findmnt` (util-linux): the root filesystem, what fstab asks for, what is mounted. JSON output (-J). */
import type { GuestHandle } from '../api.js';
import { cannotObserve, run } from '../guest.js';

export const ROOT_ARGV = ['findmnt', '-n', '-b', '-J', '-o', 'SOURCE,FSTYPE,SIZE,TARGET', '/'] as const;
export const FSTAB_ARGV = ['findmnt', '--fstab', '-J', '-o', 'TARGET,SOURCE,FSTYPE,OPTIONS'] as const;
export const MOUNTED_ARGV = ['findmnt', '-J', '-l', '-o', 'TARGET,SOURCE,FSTYPE'] as const;

/** util-linux 2.38 prints `-b` sizes as JSON numbers; older releases as strings. */
export function jsonNumber(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

export interface Mount {
  target: string;
  source: string;
  fstype: string;
  /** Filesystem size in bytes (statfs), when asked for. */
  size?: number;
  options?: string;
}

/** findmnt -J: `{"filesystems": [{...}, ...]}`; a tree (without -l) nests mounts under `children`. */
export function parseFindmnt(output: string): Mount[] {
  let parsed: { filesystems?: unknown };
  try {
    parsed = JSON.parse(output) as { filesystems?: unknown };
  } catch {
    return [];
  }
  const mounts: Mount[] = [];
  const walk = (items: unknown): void => {
    if (!Array.isArray(items)) return;
    for (const item of items as Record<string, unknown>[]) {
      mounts.push({
        target: str(item.target) ?? '',
        // A btrfs subvolume is shown as /dev/vda2[/@rootfs]: the device is the part before the bracket.
        source: (str(item.source) ?? '').replace(/\[.*\]$/, ''),
        fstype: str(item.fstype) ?? '',
        size: jsonNumber(item.size),
        options: str(item.options),
      });
      walk(item.children);
    }
  };
  walk(parsed.filesystems);
  return mounts;
}

export async function readRootMount(guest: GuestHandle): Promise<{ mount: Mount; evidence: string }> {
  const what = 'find the root filesystem';
  const ran = await run(guest, ROOT_ARGV, {}, what);
  const mount = parseFindmnt(ran.result.stdout).find((m) => m.target === '/');
  if (ran.result.exitCode !== 0 || !mount) throw cannotObserve(guest, what, ran);
  return { mount, evidence: ran.evidence };
}

export interface FstabEntry extends Mount {
  /** Mounted at boot: not `noauto`, not swap. */
  automatic: boolean;
  nofail: boolean;
}

export function fstabEntries(mounts: readonly Mount[]): FstabEntry[] {
  return mounts.map((m) => {
    const options = (m.options ?? '').split(',');
    const swap = m.fstype === 'swap' || m.target === 'swap' || m.target === 'none';
    return { ...m, automatic: !swap && !options.includes('noauto'), nofail: options.includes('nofail') };
  });
}

/** The fstab entries (`findmnt --fstab`: /etc/fstab as util-linux reads it); an empty fstab is an answer. */
export async function readFstab(guest: GuestHandle): Promise<{ entries: FstabEntry[]; evidence: string }> {
  const what = 'read /etc/fstab';
  const ran = await run(guest, FSTAB_ARGV, {}, what);
  // findmnt exits 1 with no output when fstab has no entry.
  if (ran.result.exitCode !== 0 && ran.result.stdout.trim()) throw cannotObserve(guest, what, ran);
  return { entries: fstabEntries(parseFindmnt(ran.result.stdout)), evidence: ran.evidence };
}

/** Every mount point now (`findmnt -l`: a flat list). */
export async function readMounted(guest: GuestHandle): Promise<{ targets: Set<string>; evidence: string }> {
  const what = 'list mounted filesystems';
  const ran = await run(guest, MOUNTED_ARGV, {}, what);
  const mounts = parseFindmnt(ran.result.stdout);
  if (ran.result.exitCode !== 0 || !mounts.length) throw cannotObserve(guest, what, ran);
  return { targets: new Set(mounts.map((m) => m.target)), evidence: `$ ${MOUNTED_ARGV.join(' ')}   (exit 0, ${mounts.length} mounts)` };
}
