/**
 * Gathers the snapshot in one libguestfs appliance session: start, inspect, mount read-only, walk the
 * areas the checks look at, read the small files they parse, exit. About 40-60 s under TCG, nearly
 * all of it the appliance booting and libguestfs' inspection; each further command costs ~20 ms.
 */
import { readFileSync, rmSync } from 'node:fs';
import { GuestfishError, GuestfishSession, applianceEnv, firstError, type GuestfishOptions } from './guestfish.js';
import { modeType, redactPasswordFile, type Entry, type EspSnapshot, type HygieneSnapshot, type OsInfo } from './snapshot.js';

/** Directory trees walked completely (every entry lstat'ed). */
export const TREES = [
  '/etc/ssh',
  '/root',
  '/home',
  '/var/lib/cloud',
  '/var/lib/dbus',
  '/var/lib/dhcp',
  '/var/lib/dhclient',
  '/var/lib/dhcpcd',
  '/var/lib/NetworkManager',
  '/var/lib/wicked',
  '/var/lib/systemd/network',
  '/etc/udev/rules.d',
  '/etc/sysconfig/network-scripts',
  '/etc/sysconfig/network',
  '/etc/netplan',
  '/etc/network/interfaces.d',
  '/etc/cloud/cloud.cfg.d',
  '/etc/systemd/network',
  '/etc/NetworkManager/system-connections',
  '/var/cache/apt',
  '/var/lib/apt/lists',
  '/tmp',
  '/var/tmp',
  '/etc/default/grub.d',
] as const;

/** Bootloader configuration in the root filesystem (hyg-headless-console reads them). */
export const BOOT_CONFIGS = [
  '/boot/grub/grub.cfg',
  '/boot/grub2/grub.cfg',
  '/etc/default/grub',
  '/boot/extlinux/extlinux.conf',
  '/extlinux.conf',
  '/boot/syslinux/syslinux.cfg',
  '/syslinux/syslinux.cfg',
] as const;

/** GRUB menus on an EFI system partition: Debian's signed GRUB reads EFI/debian/grub.cfg, others EFI/<vendor>/ or EFI/BOOT/. */
export const ESP_CONFIG_GLOBS = ['/EFI/*/grub.cfg'] as const;
/** Where the removable-media loader lives (FAT looks names up case-insensitively: /EFI/BOOT finds efi/boot too). */
export const ESP_LOADER_GLOBS = ['/EFI/BOOT/*'] as const;
/** The removable-media loader's name (BOOTX64.EFI, BOOTAA64.EFI...): only it may be a standalone GRUB whose memdisk carries a grub.cfg. */
export const ESP_LOADER_NAME = /^boot\w+\.efi$/i;
/** An EFI loader bigger than this is not searched for an embedded grub.cfg. */
const MAX_LOADER_BYTES = 64 * 1024 * 1024;

/** Single paths lstat'ed (and read when `shouldRead` says so). */
export const PATHS = [
  '/etc/machine-id',
  '/etc/shadow',
  '/etc/passwd',
  '/etc/hostname',
  '/etc/hosts',
  '/etc/fstab',
  '/etc/network/interfaces',
  '/swapfile',
  '/swap.img',
  '/swap',
  ...BOOT_CONFIGS,
] as const;

/** Globs expanded in the guest; every match is lstat'ed. */
export const GLOBS = ['/var/log/cloud-init*', '/etc/systemd/system/*.swap', '/etc/systemd/system/*/*.swap'] as const;

/** Entries kept per tree; a bigger tree is cut short (and a note says so). */
export const MAX_TREE_ENTRIES = 20_000;
/** Files up to this size are read whole; bigger ones only by their first lines. */
const MAX_READ_BYTES = 1024 * 1024;
const HEAD_LINES = 5000;

const READ_EXACT = new Set([
  '/etc/machine-id',
  '/var/lib/dbus/machine-id',
  '/etc/shadow',
  '/etc/passwd',
  '/etc/hostname',
  '/etc/hosts',
  '/etc/fstab',
  '/etc/network/interfaces',
  '/var/lib/cloud/data/instance-id',
  ...BOOT_CONFIGS,
]);
const READ_UNDER = [
  '/etc/udev/rules.d/',
  '/etc/sysconfig/network-scripts/ifcfg-',
  '/etc/sysconfig/network/ifcfg-',
  '/etc/netplan/',
  '/etc/network/interfaces.d/',
  '/etc/cloud/cloud.cfg.d/',
  '/etc/systemd/network/',
  '/etc/NetworkManager/system-connections/',
  '/var/lib/dhcp/',
  '/var/lib/dhclient/',
  '/etc/default/grub.d/',
];

/** Whether the collector reads a file's text: only what some check parses. */
export function shouldRead(path: string, entry: Entry): boolean {
  if (entry.type !== 'file') return false;
  if (READ_EXACT.has(path)) return true;
  if (READ_UNDER.some((prefix) => path.startsWith(prefix))) return true;
  if (/^\/var\/lib\/NetworkManager\/.*\.lease$/.test(path)) return true;
  return path.split('/').some((part) => part.startsWith('authorized_keys'));
}

export interface CollectOptions {
  image: string;
  format: 'qcow2' | 'raw';
  forbiddenPaths: readonly string[];
  log?: (line: string) => void;
  /** For tests: another program than `guestfish`, another environment. */
  program?: string;
  env?: NodeJS.ProcessEnv;
  launchTimeoutMs?: number;
  /** The run's cancellation: stops the appliance's whole process group and fails the collection (see guestfish.ts). */
  signal?: AbortSignal;
  /** For tests: the grace of each step of stopping the appliance (default 5 s). */
  stopGraceMs?: number;
}

export interface CollectResult {
  snapshot: HygieneSnapshot;
  /** guestfish's stderr, for a log artifact. */
  transcript: string;
}

export class CollectError extends Error {
  constructor(
    message: string,
    readonly transcript: string,
  ) {
    super(message);
  }
}

/** Runs the appliance session. Always stops the appliance and removes its temp folder, also on failure or interrupt. */
export async function collectSnapshot(options: CollectOptions): Promise<CollectResult> {
  if (options.signal?.aborted) throw new CollectError('not started: the run was interrupted', '');
  const started = Date.now();
  const gfOptions: GuestfishOptions = {
    image: options.image,
    format: options.format,
    program: options.program,
    env: options.env ?? applianceEnv(),
    signal: options.signal,
    stopGraceMs: options.stopGraceMs,
  };
  const session = new GuestfishSession(gfOptions);
  let commands = 0;
  const fullNotes: string[] = [];
  const run = (name: string, args: readonly string[] = [], timeoutMs?: number) => {
    commands++;
    return session.run(name, args, timeoutMs);
  };
  const ok = (name: string, args: readonly string[] = [], timeoutMs?: number) => {
    commands++;
    return session.ok(name, args, timeoutMs);
  };
  try {
    options.log?.('image-hygiene: starting a read-only libguestfs appliance on the image');
    const launch = await run('run', [], options.launchTimeoutMs ?? 15 * 60_000);
    if (launch.error) throw new GuestfishError(`libguestfs could not start its appliance: ${firstError(launch.error)}`);
    const launched = Date.now();

    const filesystems = parseListFilesystems(await ok('list-filesystems', [], 5 * 60_000));
    const notes: string[] = [];
    // Fast path: find the root and its mounts ourselves (a few commands); libguestfs' full
    // inspection (inspect-os) costs 10-25 s under TCG and is the fallback for anything unusual
    // (LVM-only layouts, btrfs subvolumes, fstab entries we cannot resolve, non-Linux disks).
    const quick = await quickInspect(filesystems);
    const { os, mounts } = quick ?? (await fullInspect(filesystems));
    if (quick) notes.push(...quick.notes);
    else notes.push(...fullNotes);
    const inspected = Date.now();
    options.log?.(`image-hygiene: inspecting ${os.product || os.distro} on ${os.root} (appliance up in ${Math.round((launched - started) / 1000)} s)`);

    const entries: Record<string, Entry> = {};
    // Single paths and tree roots: one lstatnslist per parent directory.
    const probes = await statPaths([...PATHS, ...TREES]);
    for (const [path, entry] of probes) entries[path] = entry;
    const forbidden: Record<string, string[]> = {};
    for (const pattern of [...GLOBS, ...options.forbiddenPaths]) {
      const matches = lines((await run('glob-expand-opts', [pattern, 'directoryslash:false'])).stdout);
      if (options.forbiddenPaths.includes(pattern)) forbidden[pattern] = matches;
      const missing = matches.filter((m) => !entries[m]);
      for (const [path, entry] of await statPaths(missing)) entries[path] = entry;
    }

    // Trees: one find each, then one lstatnslist per directory in it.
    for (const tree of TREES) {
      if (entries[tree]?.type !== 'dir') continue;
      // find0 streams NUL-separated names into a local file: no size limit, newlines in names survive.
      const listing = session.localFile(`find-${commands}`);
      const found = await run('find0', [tree, listing], 5 * 60_000);
      if (found.error) {
        notes.push(`${tree}: cannot list (${firstError(found.error)})`);
        continue;
      }
      let relative: string[];
      try {
        relative = readFileSync(listing, 'utf8').split('\0').filter(Boolean);
      } catch (error) {
        notes.push(`${tree}: cannot read the listing (${(error as Error).message})`);
        continue;
      } finally {
        rmSync(listing, { force: true });
      }
      if (relative.length > MAX_TREE_ENTRIES) {
        notes.push(`${tree}: ${relative.length} entries, only the first ${MAX_TREE_ENTRIES} inspected`);
        relative = relative.slice(0, MAX_TREE_ENTRIES);
      }
      const byDir = new Map<string, string[]>();
      for (const rel of relative) {
        // guestfs' find0 gives names relative to the directory (with a leading / below the root).
        const { dir, name } = splitPath(`${tree}/${rel.replace(/^\/+/, '')}`);
        if (!name) continue;
        let names = byDir.get(dir);
        if (!names) byDir.set(dir, (names = []));
        names.push(name);
      }
      for (const [dir, names] of byDir) {
        const stats = await statNames(dir, names, true);
        for (const [name, entry] of stats) entries[joinPath(dir, name)] = entry;
      }
    }

    // Swap files named in fstab.
    const fstab = entries['/etc/fstab']?.type === 'file' ? await readText('/etc/fstab', entries['/etc/fstab']) : undefined;
    if (fstab !== undefined) {
      const sources = swapSources(fstab.content).filter((s) => s.startsWith('/') && !s.startsWith('/dev/') && !entries[s]);
      for (const [path, entry] of await statPaths(sources)) entries[path] = entry;
    }

    // Symlink targets (one readlinklist per directory) and contents.
    const links = new Map<string, string[]>();
    for (const [path, entry] of Object.entries(entries)) {
      if (entry.type !== 'symlink') continue;
      const { dir, name } = splitPath(path);
      let names = links.get(dir);
      if (!names) links.set(dir, (names = []));
      names.push(name);
    }
    for (const [dir, names] of links) {
      const targets = await readlinks(dir, names);
      for (const [name, target] of targets) entries[joinPath(dir, name)]!.target = target;
    }
    for (const [path, entry] of Object.entries(entries)) {
      if (shouldRead(path, entry)) {
        const read = path === '/etc/fstab' && fstab ? fstab : await readText(path, entry);
        entry.content = path === '/etc/shadow' || path === '/etc/passwd' ? redactPasswordFile(read.content) : read.content;
        if (read.truncated) entry.truncated = true;
      }
    }
    // EFI system partitions last: the root is unmounted and each ESP mounted read-only on / in turn.
    const esps = await collectEsps(filesystems, notes);
    const collected = Date.now();
    await session.close();
    return {
      snapshot: {
        os,
        mounts,
        filesystems,
        entries: sortKeys(entries),
        ...(esps.length ? { esps } : {}),
        forbidden,
        notes,
        timings: {
          launchMs: launched - started,
          inspectMs: inspected - launched,
          collectMs: collected - inspected,
          totalMs: Date.now() - started,
          commands,
        },
      },
      transcript: session.transcript,
    };
  } catch (error) {
    await session.close();
    const message = error instanceof Error ? error.message : String(error);
    throw new CollectError(message.split('\n')[0]!, session.transcript);
  }

  async function exists(kind: 'is-dir' | 'is-file' | 'exists', path: string): Promise<boolean> {
    const result = await run(kind, [path]);
    return !result.error && result.stdout.trim() === 'true';
  }

  /** Our own inspection for the plain case: a Linux root on one filesystem, other mounts by UUID/LABEL. */
  async function quickInspect(filesystems: Array<{ device: string; type: string }>): Promise<Inspection | undefined> {
    const candidates = filesystems.filter((f) => ROOT_FS_TYPES.has(f.type));
    for (const { device } of candidates) {
      const mounted = await run('mount-ro', [device, '/']);
      if (mounted.error) continue;
      if ((await exists('is-dir', '/etc')) && (await exists('is-file', '/etc/passwd'))) {
        const osRelease = parseOsRelease((await run('cat', ['/etc/os-release'])).stdout || (await run('cat', ['/usr/lib/os-release'])).stdout);
        const os: OsInfo = {
          root: device,
          type: 'linux',
          distro: osRelease.ID ?? 'unknown',
          product: osRelease.PRETTY_NAME ?? osRelease.NAME ?? '',
          version: osRelease.VERSION_ID ?? '',
        };
        const mounts = [{ mountpoint: '/', device }];
        const notes: string[] = [];
        const fstab = (await run('cat', ['/etc/fstab'])).stdout;
        const byDepth = fstabLines(fstab).sort((a, b) => depth(a.mountpoint) - depth(b.mountpoint));
        for (const line of byDepth) {
          if (line.mountpoint === '/' || !line.mountpoint.startsWith('/') || IGNORED_FS_TYPES.has(line.type)) continue;
          if (!affectsCollection(line.mountpoint)) continue;
          if (/\bsubvol(id)?=/.test(line.options)) {
            await run('umount-all');
            return undefined; // btrfs subvolumes: libguestfs' inspection knows how to mount them
          }
          const by = /^(UUID|LABEL)=(.+)$/.exec(line.source);
          const found = by ? await run(by[1] === 'UUID' ? 'findfs-uuid' : 'findfs-label', [by[2]!.replace(/^"(.*)"$/, '$1')]) : undefined;
          const dev = found && !found.error ? found.stdout.trim() : '';
          if (!dev) {
            if (/\bnofail\b|\bnoauto\b/.test(line.options) && by) {
              notes.push(`${line.mountpoint}: ${line.source} (nofail) is not on this disk; not inspected`);
              continue;
            }
            await run('umount-all');
            return undefined; // let libguestfs work it out
          }
          const sub = await run('mount-ro', [dev, line.mountpoint]);
          if (sub.error) {
            notes.push(`${line.mountpoint}: ${dev} could not be mounted (${firstError(sub.error)}); its files are not inspected`);
            continue;
          }
          mounts.push({ mountpoint: line.mountpoint, device: dev });
        }
        return { os, mounts, notes };
      }
      await run('umount-all');
    }
    return undefined;
  }

  async function fullInspect(filesystems: Array<{ device: string; type: string }>): Promise<Inspection> {
    const roots = lines(await ok('inspect-os', [], 10 * 60_000));
    if (roots.length === 0) {
      const seen = filesystems.length ? filesystems.map((f) => `${f.device}: ${f.type}`).join(', ') : 'none';
      throw new GuestfishError(`no operating system found in the image (libguestfs inspection found no root filesystem; filesystems: ${seen})`);
    }
    const root = roots[0]!;
    const text = async (cmd: string) => (await run(cmd, [root])).stdout.trim();
    const os: OsInfo = {
      root,
      type: await text('inspect-get-type'),
      distro: await text('inspect-get-distro'),
      product: await text('inspect-get-product-name'),
      version: `${await text('inspect-get-major-version')}.${await text('inspect-get-minor-version')}`,
    };
    if (os.type !== 'linux') {
      throw new GuestfishError(`not a Linux image: libguestfs found a ${os.type || 'unknown'} root on ${root} (${os.product || os.distro || 'no product name'})`);
    }
    if (roots.length > 1) fullNotes.push(`several operating systems found (${roots.join(', ')}); inspected the one on ${root}`);
    const mountpoints = parseMountpoints(await ok('inspect-get-mountpoints', [root]));
    const mounts: HygieneSnapshot['mounts'] = [];
    for (const { mountpoint, device } of mountpoints) {
      const result = await run('mount-ro', [device, mountpoint]);
      if (!result.error) {
        mounts.push({ mountpoint, device });
        continue;
      }
      if (mountpoint === '/') throw new GuestfishError(`cannot mount the root filesystem ${device} read-only: ${firstError(result.error)}`);
      fullNotes.push(`${mountpoint}: ${device} could not be mounted (${firstError(result.error)}); its files are not inspected`);
    }
    return { os, mounts, notes: fullNotes };
  }

  /** lstat of absolute paths, one lstatnslist per parent directory; absent paths are left out. */
  async function statPaths(paths: readonly string[]): Promise<Map<string, Entry>> {
    const byDir = new Map<string, string[]>();
    for (const path of new Set(paths)) {
      const { dir, name } = splitPath(path);
      if (!name) continue;
      let names = byDir.get(dir);
      if (!names) byDir.set(dir, (names = []));
      names.push(name);
    }
    const out = new Map<string, Entry>();
    for (const [dir, names] of byDir) {
      for (const [name, entry] of await statNames(dir, names, false)) out.set(joinPath(dir, name), entry);
    }
    return out;
  }

  /**
   * lstat of names in one directory. `listed`: the names came from listing the directory, so one that
   * cannot be stat'ed is still kept, as type `other`.
   */
  async function statNames(dir: string, names: readonly string[], listed: boolean): Promise<Map<string, Entry>> {
    const out = new Map<string, Entry>();
    const simple = names.filter((n) => SIMPLE_NAME.test(n));
    const odd = names.filter((n) => !SIMPLE_NAME.test(n));
    for (let i = 0; i < simple.length; i += 100) {
      const chunk = simple.slice(i, i + 100);
      const result = await run('lstatnslist', [dir, chunk.join(' ')]);
      const stats = result.error ? [] : parseStatList(result.stdout);
      if (stats.length === chunk.length) {
        chunk.forEach((name, k) => {
          const stat = stats[k]!;
          if (stat.st_ino !== -1) out.set(name, toEntry(stat));
          else if (listed) out.set(name, { type: 'other', size: 0 });
        });
      } else if (!listed && !(await exists('is-dir', dir))) {
        continue; // the parent does not exist: none of the names do
      } else odd.push(...chunk);
    }
    for (const name of odd) {
      const result = await run('lstatns', [joinPath(dir, name)]);
      const stat = result.error ? undefined : parseStat(result.stdout);
      if (stat) out.set(name, toEntry(stat));
      else if (listed) out.set(name, { type: 'other', size: 0 });
    }
    return out;
  }

  async function readlinks(dir: string, names: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const simple = names.filter((n) => SIMPLE_NAME.test(n));
    const odd = names.filter((n) => !SIMPLE_NAME.test(n));
    for (let i = 0; i < simple.length; i += 100) {
      const chunk = simple.slice(i, i + 100);
      const result = await run('readlinklist', [dir, chunk.join(' ')]);
      const targets = result.error ? [] : result.stdout.split('\n').slice(0, -1);
      if (targets.length !== chunk.length) {
        odd.push(...chunk);
        continue;
      }
      chunk.forEach((name, k) => out.set(name, targets[k]!));
    }
    for (const name of odd) {
      const result = await run('readlink', [joinPath(dir, name)]);
      if (!result.error) out.set(name, stripOneNewline(result.stdout));
    }
    return out;
  }

  /** The bootloader configuration of every FAT filesystem on the disk (ESPs are FAT; others have no EFI/). */
  async function collectEsps(filesystems: Array<{ device: string; type: string }>, notes: string[]): Promise<EspSnapshot[]> {
    const out: EspSnapshot[] = [];
    const fats = filesystems.filter((f) => f.type === 'vfat' || f.type === 'msdos');
    if (fats.length === 0) return out;
    await run('umount-all');
    for (const { device } of fats) {
      const mounted = await run('mount-ro', [device, '/']);
      if (mounted.error) {
        notes.push(`${device}: FAT filesystem could not be mounted (${firstError(mounted.error)}); its bootloader files are not read`);
        continue;
      }
      const esp: EspSnapshot = { device, files: {} };
      if (await exists('is-dir', '/EFI')) {
        const configs = new Set<string>();
        for (const pattern of ESP_CONFIG_GLOBS) for (const m of lines((await run('glob-expand-opts', [pattern, 'directoryslash:false'])).stdout)) configs.add(m);
        for (const [path, entry] of await statPaths(uniqueFold([...configs]))) {
          if (entry.type !== 'file') continue;
          const read = await readText(path, entry);
          esp.files[path] = { ...entry, content: read.content, ...(read.truncated ? { truncated: true } : {}) };
        }
        const loaders = new Set<string>();
        for (const pattern of ESP_LOADER_GLOBS) for (const m of lines((await run('glob-expand-opts', [pattern, 'directoryslash:false'])).stdout)) loaders.add(m);
        const named = uniqueFold([...loaders].filter((p) => ESP_LOADER_NAME.test(p.slice(p.lastIndexOf('/') + 1))));
        for (const [path, entry] of await statPaths(named)) {
          if (entry.type !== 'file' || entry.size > MAX_LOADER_BYTES) continue;
          const local = session.localFile(`loader-${commands}`);
          const got = await run('download', [path, local], 5 * 60_000);
          try {
            if (got.error) {
              notes.push(`${device}:${path}: cannot read (${firstError(got.error)})`);
              continue;
            }
            const embedded = memdiskFile(readFileSync(local), 'boot/grub/grub.cfg');
            if (embedded !== undefined) esp.embedded = { ...esp.embedded, [path]: { member: '/boot/grub/grub.cfg', content: embedded } };
          } finally {
            rmSync(local, { force: true });
          }
        }
        out.push(esp);
      }
      await run('umount-all');
    }
    return out;
  }

  async function readText(path: string, entry: Entry): Promise<{ content: string; truncated: boolean }> {
    if (entry.size > MAX_READ_BYTES) {
      const head = await run('head-n', [String(HEAD_LINES), path]);
      return { content: head.error ? '' : head.stdout, truncated: true };
    }
    const result = await run('cat', [path]);
    return { content: result.error ? '' : stripOneNewline(result.stdout), truncated: false };
  }
}

interface Inspection {
  os: OsInfo;
  mounts: HygieneSnapshot['mounts'];
  notes: string[];
}

/**
 * A file of the memdisk a standalone GRUB carries (grub-mkstandalone puts its files, grub.cfg
 * included, into an uncompressed tar archive inside the EFI binary): the content of the tar member
 * named `name` (or `./name`), found by its ustar header; undefined when there is none.
 */
export function memdiskFile(data: Buffer, name: string): string | undefined {
  for (const candidate of [name, `./${name}`]) {
    const needle = Buffer.from(`${candidate}\0`, 'latin1');
    for (let at = data.indexOf(needle); at >= 0; at = data.indexOf(needle, at + 1)) {
      if (at + 512 > data.length || data.toString('latin1', at + 257, at + 262) !== 'ustar') continue;
      const size = parseInt(
        data
          .toString('latin1', at + 124, at + 136)
          .replace(/\0.*$/s, '')
          .trim(),
        8,
      );
      if (!Number.isFinite(size) || size < 0 || at + 512 + size > data.length) continue;
      return data.toString('utf8', at + 512, at + 512 + size);
    }
  }
  return undefined;
}

/** Paths without case-only duplicates (FAT names one file by any case), sorted. */
export function uniqueFold(paths: string[]): string[] {
  const seen = new Map<string, string>();
  for (const p of [...paths].sort()) if (!seen.has(p.toLowerCase())) seen.set(p.toLowerCase(), p);
  return [...seen.values()];
}

/** Filesystem types a Linux root can be on (the quick inspection tries these). */
const ROOT_FS_TYPES = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'f2fs', 'jfs', 'reiserfs']);
/** fstab types that hold nothing of the image (pseudo and network filesystems, swap). */
const IGNORED_FS_TYPES = new Set(['swap', 'tmpfs', 'proc', 'sysfs', 'devpts', 'devtmpfs', 'nfs', 'nfs4', 'cifs', 'none', 'bind', 'efivarfs', 'securityfs', 'vfat']);

/** Whether a mountpoint holds (or is a parent of) an area the collection reads. */
export function affectsCollection(mountpoint: string): boolean {
  const areas = [...TREES, ...PATHS, '/var/log'];
  return areas.some((a) => a === mountpoint || a.startsWith(`${mountpoint}/`) || mountpoint.startsWith(`${a}/`));
}

/** KEY=value lines of os-release(5). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

const SIMPLE_NAME = /^[A-Za-z0-9._+:@%,=-]+$/;

export type Stat = Record<string, number>;

/** Parses one `lstatns` struct (`st_mode: 33188` lines). */
export function parseStat(text: string): Stat | undefined {
  const stat: Stat = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(st_\w+):\s*(-?\d+)\s*$/.exec(line);
    if (m) stat[m[1]!] = Number(m[2]);
  }
  return 'st_mode' in stat ? stat : undefined;
}

/** Parses an `lstatnslist` answer: `[0] = {` ... `}` blocks, in order. */
export function parseStatList(text: string): Stat[] {
  const out: Stat[] = [];
  const blocks = text.split(/^\[\d+\] = \{$/m).slice(1);
  for (const block of blocks) {
    const stat = parseStat(block);
    out.push(stat ?? { st_ino: -1, st_mode: 0 });
  }
  return out;
}

function toEntry(stat: Stat): Entry {
  const mode = stat.st_mode ?? 0;
  return { type: modeType(mode), size: stat.st_size ?? 0, mode, uid: stat.st_uid ?? 0 };
}

/** `list-filesystems`: `/dev/sda1: vfat` lines. */
export function parseListFilesystems(text: string): Array<{ device: string; type: string }> {
  return lines(text).flatMap((line) => {
    const at = line.lastIndexOf(': ');
    return at < 0 ? [] : [{ device: line.slice(0, at), type: line.slice(at + 2) }];
  });
}

/** `inspect-get-mountpoints`: `/boot/efi: /dev/sda1` lines, sorted so that parents mount first. */
export function parseMountpoints(text: string): Array<{ mountpoint: string; device: string }> {
  return lines(text)
    .flatMap((line) => {
      const at = line.indexOf(': ');
      return at < 0 ? [] : [{ mountpoint: line.slice(0, at), device: line.slice(at + 2) }];
    })
    .sort((a, b) => depth(a.mountpoint) - depth(b.mountpoint) || a.mountpoint.localeCompare(b.mountpoint));
}

const depth = (mountpoint: string) => (mountpoint === '/' ? 0 : mountpoint.split('/').length - 1);

/** Sources of the swap lines of an fstab text. */
export function swapSources(fstab: string): string[] {
  return fstabLines(fstab)
    .filter((f) => f.type === 'swap')
    .map((f) => f.source);
}

export interface FstabLine {
  source: string;
  mountpoint: string;
  type: string;
  options: string;
  line: string;
}

export function fstabLines(fstab: string): FstabLine[] {
  return fstab.split('\n').flatMap((line) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return [];
    const [source = '', mountpoint = '', type = '', options = ''] = t.split(/\s+/);
    return [{ source, mountpoint, type, options, line: t }];
  });
}

export function splitPath(path: string): { dir: string; name: string } {
  const slash = path.lastIndexOf('/');
  return { dir: path.slice(0, slash) || '/', name: path.slice(slash + 1) };
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0);
}

/** guestfish prints a string result followed by a newline. */
function stripOneNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
