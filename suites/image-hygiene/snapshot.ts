/**
 * The snapshot: everything the hygiene checks read from the image, gathered in one appliance session
 * (see collect.ts). The checks are pure functions over it, so they are tested with hand-made snapshots.
 *
 * It is a partial copy of the guest's file tree: `entries` maps absolute paths to what `lstat` said
 * (plus the link target of a symlink and, for the small text files the checks parse, the content).
 * A path that is not in `entries` does not exist in the image, as far as the collected areas go
 * (collect.ts lists the areas; checks only ask about those).
 *
 * Password fields of /etc/shadow and /etc/passwd are redacted while collecting (see
 * `redactPasswordField`): the snapshot may be written as an artifact and must not carry hashes.
 */

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface Entry {
  type: EntryType;
  size: number;
  /** Permission bits and file type as in st_mode. */
  mode?: number;
  uid?: number;
  /** Target of a symlink, as stored. */
  target?: string;
  /** Text content, for the files the checks parse (small config files, keys, leases). */
  content?: string;
  /** The content is only the head of the file. */
  truncated?: boolean;
}

export interface OsInfo {
  /** The root filesystem device libguestfs found, e.g. /dev/sda2. */
  root: string;
  type: string;
  distro: string;
  product: string;
  version: string;
}

/** What was read from one EFI system partition (any FAT filesystem with an EFI/ folder). */
export interface EspSnapshot {
  /** The partition, as libguestfs names it (e.g. /dev/sda1). */
  device: string;
  /** GRUB menus on it (EFI/<dir>/grub.cfg), by their path on the partition, with their text. */
  files: Record<string, Entry>;
  /** grub.cfg files embedded in a loader's memdisk (grub-mkstandalone), by the loader's path. */
  embedded?: Record<string, { member: string; content: string }>;
}

export interface HygieneSnapshot {
  os: OsInfo;
  /** Mountpoint -> device, as mounted (read-only) for the collection. */
  mounts: Array<{ mountpoint: string; device: string }>;
  /** Every filesystem libguestfs saw on the disk, with its type (swap partitions show up here). */
  filesystems: Array<{ device: string; type: string }>;
  entries: Record<string, Entry>;
  /** EFI system partitions and the bootloader configuration on them (absent: no FAT filesystem). */
  esps?: EspSnapshot[];
  /** For each configured forbidden-path glob: the paths it matched in the image. */
  forbidden: Record<string, string[]>;
  /** Things that limited the collection (a tree cut short, a mount that failed), for evidence. */
  notes: string[];
  timings: SnapshotTimings;
}

export interface SnapshotTimings {
  /** Appliance start (`run`). */
  launchMs: number;
  /** Inspection and mounting. */
  inspectMs: number;
  /** Reading the files. */
  collectMs: number;
  /** From spawning guestfish until it exited. */
  totalMs: number;
  commands: number;
}

/** Read-only view with directory queries over a snapshot. */
export class SnapshotView {
  private readonly paths: string[];

  constructor(readonly snapshot: HygieneSnapshot) {
    this.paths = Object.keys(snapshot.entries).sort();
  }

  get(path: string): Entry | undefined {
    return this.snapshot.entries[path];
  }

  /** Absolute paths of the direct children of `dir`, sorted. */
  children(dir: string): string[] {
    const prefix = dir === '/' ? '/' : `${dir}/`;
    return this.paths.filter((p) => p.startsWith(prefix) && p !== prefix && !p.slice(prefix.length).includes('/'));
  }

  /** Absolute paths of everything below `dir`, sorted. */
  descendants(dir: string): string[] {
    const prefix = dir === '/' ? '/' : `${dir}/`;
    return this.paths.filter((p) => p.startsWith(prefix) && p !== prefix);
  }

  /** Paths matching a predicate, sorted. */
  find(predicate: (path: string, entry: Entry) => boolean): string[] {
    return this.paths.filter((p) => predicate(p, this.snapshot.entries[p]!));
  }

  content(path: string): string | undefined {
    return this.snapshot.entries[path]?.content;
  }

  isFile(path: string): boolean {
    return this.snapshot.entries[path]?.type === 'file';
  }

  /** Notes about areas the collection cut short that fall under one of these roots. */
  notesFor(...roots: string[]): string[] {
    return this.snapshot.notes.filter((n) => roots.some((r) => n.includes(r)));
  }
}

/**
 * Replaces a password field by what a check needs to know about it: '' stays '' (no password),
 * a locked field keeps its `!`/`*` prefix, and a hash becomes `<hash-SCHEME>` (`$6$` -> sha512crypt...).
 * (No `:` in the token: it stays one field of the line.)
 */
export function redactPasswordField(field: string): string {
  // '' is no password; 'x' (in /etc/passwd) means "see /etc/shadow".
  if (field === '' || field === 'x') return field;
  const lock = /^[!*]+/.exec(field)?.[0] ?? '';
  const rest = field.slice(lock.length);
  if (rest === '' || /^<hash-[\w-]+>$/.test(rest)) return field;
  return `${lock}<hash-${hashScheme(rest)}>`;
}

const SCHEMES: Record<string, string> = {
  '1': 'md5crypt',
  '2a': 'bcrypt',
  '2b': 'bcrypt',
  '2y': 'bcrypt',
  '5': 'sha256crypt',
  '6': 'sha512crypt',
  y: 'yescrypt',
  gy: 'gost-yescrypt',
  '7': 'scrypt',
  sha1: 'sha1crypt',
};

/** The crypt scheme of a hash, by its `$id$` prefix; a bare 13-character hash is DES. */
export function hashScheme(hash: string): string {
  const tagged = /^<hash-([\w-]+)>$/.exec(hash);
  if (tagged) return tagged[1]!;
  const id = /^\$([^$]+)\$/.exec(hash)?.[1];
  if (id !== undefined) return SCHEMES[id] ?? `$${id}$`;
  return hash.length === 13 ? 'descrypt' : 'unknown';
}

/** Redacts the second field of every line of an /etc/shadow or /etc/passwd text. */
export function redactPasswordFile(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const fields = line.split(':');
      if (fields.length < 2 || line.trimStart().startsWith('#')) return line;
      fields[1] = redactPasswordField(fields[1]!);
      return fields.join(':');
    })
    .join('\n');
}

export function modeType(mode: number): EntryType {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}

// ---------------------------------------------------------------------------------------------
// hand-made snapshots (unit tests; also handy for a third party writing checks against this suite)

export type FakeEntry = string | { file: string; mode?: number; uid?: number } | { size: number } | { link: string } | { dir: true } | { other: true };

/**
 * Builds a snapshot from a compact description: `'/etc/hostname': 'vm1\n'` is a file with that content,
 * `{ size: 100 }` a file of that size whose content was not read, `{ link: '/etc/machine-id' }` a symlink,
 * `{ dir: true }` a directory. Parent directories are added.
 */
export function fakeSnapshot(files: Record<string, FakeEntry>, extra: Partial<HygieneSnapshot> = {}): HygieneSnapshot {
  const entries: Record<string, Entry> = {};
  const addParents = (path: string) => {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const dir = `/${parts.slice(0, i).join('/')}`;
      entries[dir] ??= { type: 'dir', size: 4096, mode: 0o40755, uid: 0 };
    }
  };
  for (const [path, spec] of Object.entries(files)) {
    addParents(path);
    if (typeof spec === 'string') entries[path] = { type: 'file', size: Buffer.byteLength(spec), mode: 0o100644, uid: 0, content: spec };
    else if ('file' in spec) entries[path] = { type: 'file', size: Buffer.byteLength(spec.file), mode: spec.mode ?? 0o100644, uid: spec.uid ?? 0, content: spec.file };
    else if ('size' in spec) entries[path] = { type: 'file', size: spec.size, mode: 0o100644, uid: 0 };
    else if ('link' in spec) entries[path] = { type: 'symlink', size: spec.link.length, mode: 0o120777, uid: 0, target: spec.link };
    else if ('dir' in spec) entries[path] = { type: 'dir', size: 4096, mode: 0o40755, uid: 0 };
    else entries[path] = { type: 'other', size: 0, mode: 0o20666, uid: 0 };
  }
  return {
    os: { root: '/dev/sda2', type: 'linux', distro: 'debian', product: 'Debian GNU/Linux 12 (bookworm)', version: '12.0' },
    mounts: [{ mountpoint: '/', device: '/dev/sda2' }],
    filesystems: [{ device: '/dev/sda2', type: 'ext4' }],
    forbidden: {},
    notes: [],
    timings: { launchMs: 0, inspectMs: 0, collectMs: 0, totalMs: 0, commands: 0 },
    ...extra,
    entries: { ...entries, ...(extra.entries ?? {}) },
  };
}
