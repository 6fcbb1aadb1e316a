/**
 * Pure helpers for live migration: reading `virsh domjobinfo`, and rewriting a domain's migratable XML
 * for its destination (through ./libvirt-xml). No I/O here; src/runner/guest-migration.ts does the talking.
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

// The domain XML side of a move lives in the typed libvirt XML module (a parsed tree, never regexes).
export { diskVolumeName, disksOf, isCopiedDisk, migrationXml, nvramPathOf, stripBackingStores } from './libvirt-xml/index.js';
export type { DomainDisk as DiskInfo, MigrationXmlInput } from './libvirt-xml/index.js';
