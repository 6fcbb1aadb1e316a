/**
 * Pure helpers for live migration: reading `virsh domjobinfo`, and rewriting a domain's migratable XML
 * for its destination. No I/O here; src/runner/guest-migration.ts does the talking.
 */
import type { MigrationStats } from '../suite-api/index.js';

const UNIT_BYTES: Record<string, number> = { b: 1, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12 };

/** "42.992 MiB" -> bytes; "189 ms" -> 189; a bare number -> itself. */
function quantity(value: string): number | undefined {
  const match = /^\s*(-?\d+(?:\.\d+)?)\s*([A-Za-z/]*)\s*$/.exec(value);
  if (!match) return undefined;
  const number = Number(match[1]);
  const unit = (match[2] ?? '').toLowerCase();
  if (!unit || unit === 'ms' || unit === 'pages/s' || unit === 'bytes') return number;
  const factor = UNIT_BYTES[unit];
  return factor === undefined ? undefined : Math.round(number * factor);
}

/** Human labels of `virsh domjobinfo` (no --rawstats) -> the raw stat names. */
const HUMAN_KEYS: Record<string, string> = {
  'time elapsed': 'time_elapsed',
  'total downtime': 'downtime',
  'setup time': 'setup_time',
  'data processed': 'data_processed',
  'data total': 'data_total',
  'memory processed': 'memory_processed',
  'memory total': 'memory_total',
  'disk processed': 'disk_processed',
  'disk total': 'disk_total',
  iteration: 'memory_iteration',
  'dirty rate': 'memory_dirty_rate',
};

/**
 * `virsh domjobinfo [--completed] --rawstats` (`time_elapsed: 1833`, `downtime: 432`, `data_processed: 45080011`...),
 * or its human form (`Total downtime:   432 ms`, `Data processed:   42.992 MiB`), into figures.
 */
export function parseDomJobInfo(output: string): MigrationStats {
  const raw: Record<string, string> = {};
  const values: Record<string, number> = {};
  for (const line of output.split('\n')) {
    const match = /^\s*([A-Za-z][\w /-]*?)\s*:\s*(.+?)\s*$/.exec(line);
    if (!match) continue;
    const label = match[1]!;
    const value = match[2]!;
    raw[label] = value;
    const key = /\s/.test(label) || /[A-Z]/.test(label) ? HUMAN_KEYS[label.toLowerCase()] : label;
    if (!key) continue;
    const number = quantity(value);
    if (number !== undefined) values[key] = number;
  }
  return {
    timeElapsedMs: values['time_elapsed'],
    downtimeMs: values['downtime'],
    setupTimeMs: values['setup_time'],
    dataProcessedBytes: values['data_processed'],
    memoryProcessedBytes: values['memory_processed'],
    memoryTotalBytes: values['memory_total'],
    diskProcessedBytes: values['disk_processed'],
    memoryIterations: values['memory_iteration'],
    memoryDirtyRatePagesPerSecond: values['memory_dirty_rate'],
    raw,
  };
}

/** The NVRAM file of a UEFI domain (`<os><nvram>PATH</nvram>`), if it has one. */
export function nvramPathOf(domainXml: string): string | undefined {
  return /<nvram\b[^>]*>\s*([^<\s][^<]*?)\s*<\/nvram>/.exec(domainXml)?.[1];
}

const attr = (tag: string, name: string): string | undefined => new RegExp(`\\b${name}=(['"])(.*?)\\1`).exec(tag)?.[2];

export interface DiskInfo {
  /** The whole `<disk>...</disk>` element. */
  xml: string;
  type: string;
  device: string;
  readonly: boolean;
  target?: string;
  /** `cache=` of `<driver>`, undefined when the hypervisor default applies. */
  cache?: string;
  pool?: string;
  volume?: string;
  file?: string;
}

/** Every `<disk>` of a domain XML with what migration cares about. */
export function disksOf(domainXml: string): DiskInfo[] {
  return [...domainXml.matchAll(/<disk\b[^>]*>[\s\S]*?<\/disk>/g)].map((m) => {
    const xml = m[0];
    const open = /<disk\b[^>]*>/.exec(xml)![0];
    const top = stripBackingStores(xml);
    const source = /<source\b[^>]*>/.exec(top)?.[0] ?? '';
    const driver = /<driver\b[^>]*>/.exec(top)?.[0] ?? '';
    const target = /<target\b[^>]*>/.exec(top)?.[0] ?? '';
    return {
      xml,
      type: attr(open, 'type') ?? '',
      device: attr(open, 'device') ?? 'disk',
      readonly: /<readonly\s*\/>/.test(top),
      target: attr(target, 'dev'),
      cache: attr(driver, 'cache'),
      pool: attr(source, 'pool'),
      volume: attr(source, 'volume'),
      file: attr(source, 'file'),
    };
  });
}

/** Removes `<backingStore>` elements (nested chains too): the destination reads the chain from the image itself. */
export function stripBackingStores(xml: string): string {
  let out = xml.replace(/\s*<backingStore\s*\/>/g, '');
  for (let previous = ''; previous !== out; ) {
    previous = out;
    out = out.replace(/\s*<backingStore\b[^>]*>(?:(?!<backingStore\b)[\s\S])*?<\/backingStore>/g, '');
  }
  return out;
}

/** The name of the volume a disk uses (`volume=`, or the file name of `file=`). */
export function diskVolumeName(disk: DiskInfo): string | undefined {
  if (disk.volume) return disk.volume;
  return disk.file?.split('/').pop() || undefined;
}

/** A disk libvirt copies with `--copy-storage-*`: a writable disk with a source. */
export function isCopiedDisk(disk: DiskInfo): boolean {
  return disk.device === 'disk' && !disk.readonly && (disk.type === 'volume' || disk.type === 'file');
}

export interface MigrationXmlInput {
  /** `virsh dumpxml --migratable` on the source. */
  xml: string;
  /** Copy mode: destination paths of the copied disks' volumes, by volume name. */
  copiedDiskPaths?: ReadonlyMap<string, string>;
  /** Pool names on the source and the destination (differ only with per-host pools of different names). */
  sourcePool: string;
  destinationPool: string;
  /** Folder of the pool on each side, for file paths into the pool (serial log). */
  sourcePoolPath: string;
  destinationPoolPath: string;
}

/**
 * The domain XML the destination starts the guest with (`virsh migrate --xml`):
 * - copied disks become `type='file'` on the destination's volume path, without `<backingStore>`:
 *   libvirt 9 refuses `--copy-storage-inc` for `type='volume'` disks ("pre-creation of storage targets
 *   for incremental storage migration is not supported", it cannot see that the volume exists);
 * - other volume disks (the seed CD-ROM) name the destination's pool;
 * - file consoles append instead of truncating (`append='on'`), so a guest moving back to a host
 *   keeps the console it wrote there, and a shared log file is continued, not cut;
 * - paths into the source's pool folder point into the destination's.
 * Only host-side details change: libvirt checks that the guest-visible ABI is the same.
 */
export function migrationXml(input: MigrationXmlInput): string {
  const samePoolPath = input.sourcePoolPath === input.destinationPoolPath;
  const prefix = input.sourcePoolPath.endsWith('/') ? input.sourcePoolPath : `${input.sourcePoolPath}/`;
  const destinationPrefix = input.destinationPoolPath.endsWith('/') ? input.destinationPoolPath : `${input.destinationPoolPath}/`;
  let xml = input.xml.replace(/<disk\b[^>]*>[\s\S]*?<\/disk>/g, (block) => {
    const [disk] = disksOf(block);
    if (!disk) return block;
    const name = diskVolumeName(disk);
    const path = name ? input.copiedDiskPaths?.get(name) : undefined;
    if (input.copiedDiskPaths && isCopiedDisk(disk) && path) {
      let out = stripBackingStores(block).replace(/<disk\b[^>]*>/, (open) => open.replace(/\btype=(['"])(?:volume|file)\1/, "type='file'"));
      out = out.replace(/<source\b[^>]*?(?:\/>|>[\s\S]*?<\/source>)/, `<source file='${escapeAttr(path)}'/>`);
      return out;
    }
    if (disk.type === 'volume' && disk.pool === input.sourcePool && input.sourcePool !== input.destinationPool) {
      return block.replace(/(<source\b[^>]*\bpool=)(['"])[^'"]*\2/, `$1'${escapeAttr(input.destinationPool)}'`);
    }
    return block;
  });
  xml = xml.replace(/<(serial|console)\b[^>]*\btype=(['"])file\2[^>]*>[\s\S]*?<\/\1>/g, (block) =>
    block.replace(/<source\b[^>]*>/, (source) => {
      let out = source.replace(/\bappend=(['"])off\1/, "append='on'");
      if (!/\bappend=/.test(out)) out = out.replace(/\s*(\/?>)$/, " append='on'$1");
      if (!samePoolPath) out = out.replace(/\bpath=(['"])(.*?)\1/, (whole, _q: string, path: string) => (path.startsWith(prefix) ? `path='${escapeAttr(destinationPrefix + path.slice(prefix.length))}'` : whole));
      return out;
    }),
  );
  return xml;
}

function escapeAttr(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}
