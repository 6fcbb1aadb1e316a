/**
 * How big the root filesystem says it is, by its own tools: ext2/3/4 `dumpe2fs -h` (Block count x Block
 * size), XFS `xfs_info` (data blocks x bsize), btrfs `btrfs filesystem usage -b` (Device size). Anything
 * else, or a missing tool: `df -B1` (statfs), which leaves out the filesystem's own metadata.
 */
import type { GuestHandle } from '../api.js';
import { cannotObserve, run, tryRun } from '../guest.js';

/** Allowed gap between the filesystem and its device when the filesystem's own tool measured it, percent. */
export const FS_SLACK_PERCENT = 1;
/**
 * Allowed gap with the statfs fallback, percent. statfs counts the blocks left after the filesystem's own
 * overhead: a fresh 1.8 GiB ext4 (mke2fs 1.47 defaults, Debian 12) reports "Overhead clusters: 17045" of
 * 475136 blocks, 3.6% (inode tables, journal, group descriptors), so 1% would fail every healthy ext4.
 */
export const STATFS_SLACK_PERCENT = 5;

/** `dumpe2fs -h`: "Block count:              475136" and "Block size:               4096". */
export function parseDumpe2fs(output: string): number | undefined {
  const count = /^Block count:\s+(\d+)/m.exec(output)?.[1];
  const size = /^Block size:\s+(\d+)/m.exec(output)?.[1];
  return count && size ? Number(count) * Number(size) : undefined;
}

/** `xfs_info`: "data     =                       bsize=4096   blocks=524032, imaxpct=25". */
export function parseXfsInfo(output: string): number | undefined {
  const m = /^data\s+=\s+bsize=(\d+)\s+blocks=(\d+)/m.exec(output);
  return m ? Number(m[1]) * Number(m[2]) : undefined;
}

/** `btrfs filesystem usage -b`: "    Device size:\t\t  4294967296" (the devices' total). */
export function parseBtrfsUsage(output: string): number | undefined {
  const m = /^\s*Device size:\s+(\d+)/m.exec(output);
  return m ? Number(m[1]) : undefined;
}

/** `df -B1 --output=size /`: a header ("1B-blocks") and the size. */
export function parseDfSize(output: string): number | undefined {
  const line = output
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /^\d+$/.test(l));
  return line ? Number(line) : undefined;
}

export interface FsSize {
  bytes: number;
  /** How it was measured, for the message. */
  method: string;
  slackPercent: number;
  evidence: string;
  /** Why the filesystem's own tool was not used. */
  note?: string;
}

interface Tool {
  argv: (device: string) => string[];
  parse: (output: string) => number | undefined;
  method: string;
}

const TOOLS: Record<string, Tool> = {
  ext2: { argv: (d) => ['dumpe2fs', '-h', d], parse: parseDumpe2fs, method: 'dumpe2fs Block count x Block size' },
  xfs: { argv: () => ['xfs_info', '/'], parse: parseXfsInfo, method: 'xfs_info data blocks x bsize' },
  btrfs: { argv: () => ['btrfs', 'filesystem', 'usage', '-b', '/'], parse: parseBtrfsUsage, method: 'btrfs Device size' },
};
TOOLS.ext3 = TOOLS.ext2!;
TOOLS.ext4 = TOOLS.ext2!;

export async function readFilesystemSize(guest: GuestHandle, fstype: string, device: string): Promise<FsSize> {
  const tool = TOOLS[fstype];
  const notes: string[] = [];
  const shown: string[] = [];
  if (tool) {
    const ran = await tryRun(guest, tool.argv(device), { sudo: true });
    if (ran.unobserved && ran.unobserved !== 'missing') throw cannotObserve(guest, `measure the ${fstype} filesystem`, ran);
    const bytes = ran.result.exitCode === 0 ? tool.parse(ran.result.stdout) : undefined;
    // dumpe2fs prints its whole header; keep the lines that were used.
    const evidence = fstype.startsWith('ext')
      ? ran.evidence
          .split('\n')
          .filter((l, i) => i === 0 || /^(Block count|Block size|Filesystem volume name|\[stderr\])/.test(l))
          .join('\n')
      : ran.evidence;
    if (bytes !== undefined) return { bytes, method: tool.method, slackPercent: FS_SLACK_PERCENT, evidence };
    shown.push(evidence);
    notes.push(ran.unobserved === 'missing' ? `${tool.argv(device)[0]} is not installed` : `${tool.argv(device)[0]} gave no size (exit ${ran.result.exitCode})`);
  } else {
    notes.push(`no size tool for ${fstype || 'this filesystem'}`);
  }
  const df = await run(guest, ['df', '-B1', '--output=size', '/'], {}, 'measure the root filesystem');
  const bytes = df.result.exitCode === 0 ? parseDfSize(df.result.stdout) : undefined;
  if (bytes === undefined) throw cannotObserve(guest, 'measure the root filesystem', df);
  return {
    bytes,
    method: 'statfs (df -B1)',
    slackPercent: STATFS_SLACK_PERCENT,
    evidence: [...shown, df.evidence].join('\n'),
    note: `${notes.join('; ')}: statfs used, allowing ${STATFS_SLACK_PERCENT}%`,
  };
}
