/**
 * Typed reading of a libvirt domain XML (`virsh dumpxml`, `dumpxml --migratable`, what imgtest renders),
 * and the host-side rewrites a migration needs. Built on the parsed tree of ./tree.ts, never on regexes.
 */
import { attr, child, children, el, elementsNamed, parseXml, path, removeElement, replaceElement, rewriteXml, serializeXml, text, type Element } from './tree.js';

export interface DomainDisk {
  /** The whole `<disk>` element as XML. */
  xml: string;
  /** `<disk type=...>`: volume, file, block, network... */
  type: string;
  /** `<disk device=...>`: disk (the default), cdrom, floppy, lun. */
  device: string;
  readonly: boolean;
  /** `<target dev=...>`. */
  target?: string;
  /** `<target bus=...>`. */
  bus?: string;
  /** `type=` of `<driver>` (the image format). */
  driverType?: string;
  /** `cache=` of `<driver>`, undefined when the hypervisor default applies. */
  cache?: string;
  pool?: string;
  volume?: string;
  file?: string;
}

export interface DomainInterface {
  /** `<interface type=...>`: network, bridge, user... */
  type: string;
  mac?: string;
  network?: string;
  bridge?: string;
  model?: string;
}

export interface DomainOs {
  /** `<os firmware=...>`: efi or bios when libvirt autoselects firmware. */
  firmware?: string;
  arch?: string;
  machine?: string;
  /** `<firmware><feature enabled=... name=...>` of firmware autoselection. */
  firmwareFeatures: Record<string, boolean>;
  loader?: { path?: string; readonly?: string; type?: string; secure?: string };
  nvram?: { path?: string; template?: string };
  bootDevices: string[];
  /** `<bios useserial='yes'/>`. */
  biosUseSerial: boolean;
}

export interface DomainSerial {
  /** serial or console. */
  kind: 'serial' | 'console';
  type: string;
  path?: string;
  append?: string;
}

export interface DomainXml {
  /** `<domain type=...>`: kvm or qemu. */
  type?: string;
  name?: string;
  uuid?: string;
  /** The run id imgtest writes into `<metadata>` (`<imgtest:run id=...>`). */
  runId?: string;
  memoryMiB?: number;
  vcpus?: number;
  os: DomainOs;
  /** `<features>` children that are on (an element without `state=`, or `state='on'`). */
  features: string[];
  disks: DomainDisk[];
  interfaces: DomainInterface[];
  serials: DomainSerial[];
  /** `<video><model type=...>` of each adapter. */
  videoModels: string[];
  /** `<sysinfo type='smbios'>`: entries by section (`system`, `bios`, ...) and name. */
  sysinfo?: { type?: string; sections: Record<string, Record<string, string>> };
}

const MEMORY_UNITS: Record<string, number> = {
  b: 1 / 2 ** 20,
  bytes: 1 / 2 ** 20,
  kb: 1e3 / 2 ** 20,
  k: 1 / 2 ** 10,
  kib: 1 / 2 ** 10,
  mb: 1e6 / 2 ** 20,
  m: 1,
  mib: 1,
  gb: 1e9 / 2 ** 20,
  g: 2 ** 10,
  gib: 2 ** 10,
  tb: 1e12 / 2 ** 20,
  t: 2 ** 20,
  tib: 2 ** 20,
};

function memoryMiB(element: Element | undefined): number | undefined {
  const value = text(element);
  if (value === undefined) return undefined;
  const factor = MEMORY_UNITS[(attr(element, 'unit') ?? 'KiB').toLowerCase()];
  return factor === undefined ? undefined : Number(value) * factor;
}

function numberOf(element: Element | undefined): number | undefined {
  const value = text(element);
  return value === undefined ? undefined : Number(value);
}

/** Reads one `<disk>` element. */
export function readDisk(disk: Element): DomainDisk {
  const source = child(disk, 'source');
  const driver = child(disk, 'driver');
  const target = child(disk, 'target');
  return {
    xml: serializeXml(disk),
    type: attr(disk, 'type') ?? '',
    device: attr(disk, 'device') ?? 'disk',
    readonly: child(disk, 'readonly') !== undefined,
    target: attr(target, 'dev'),
    bus: attr(target, 'bus'),
    driverType: attr(driver, 'type'),
    cache: attr(driver, 'cache'),
    pool: attr(source, 'pool'),
    volume: attr(source, 'volume'),
    file: attr(source, 'file'),
  };
}

function readInterface(element: Element): DomainInterface {
  const source = child(element, 'source');
  return {
    type: attr(element, 'type') ?? '',
    mac: attr(child(element, 'mac'), 'address')?.toLowerCase(),
    network: attr(source, 'network'),
    bridge: attr(source, 'bridge'),
    model: attr(child(element, 'model'), 'type'),
  };
}

function readOs(os: Element | undefined): DomainOs {
  const type = child(os, 'type');
  const loader = child(os, 'loader');
  const nvram = child(os, 'nvram');
  const firmwareFeatures: Record<string, boolean> = {};
  for (const feature of children(child(os, 'firmware') ?? el('firmware'), 'feature')) {
    const name = attr(feature, 'name');
    if (name) firmwareFeatures[name] = attr(feature, 'enabled') === 'yes';
  }
  return {
    firmware: attr(os, 'firmware'),
    arch: attr(type, 'arch'),
    machine: attr(type, 'machine'),
    firmwareFeatures,
    loader: loader && { path: text(loader), readonly: attr(loader, 'readonly'), type: attr(loader, 'type'), secure: attr(loader, 'secure') },
    nvram: nvram && { path: text(nvram), template: attr(nvram, 'template') },
    bootDevices: os
      ? children(os, 'boot')
          .map((boot) => attr(boot, 'dev') ?? '')
          .filter(Boolean)
      : [],
    biosUseSerial: attr(child(os, 'bios'), 'useserial') === 'yes',
  };
}

function readSysinfo(sysinfo: Element | undefined): DomainXml['sysinfo'] {
  if (!sysinfo) return undefined;
  const sections: Record<string, Record<string, string>> = {};
  for (const section of children(sysinfo)) {
    const entries = (sections[section.tagName] ??= {});
    for (const entry of children(section, 'entry')) {
      const name = attr(entry, 'name');
      if (name) entries[name] = entry.textContent ?? '';
    }
  }
  return { type: attr(sysinfo, 'type'), sections };
}

/** A domain XML, read. Throws LibvirtXmlError when the text is not well-formed XML. */
export function readDomain(xml: string): DomainXml {
  const domain = parseXml(xml);
  const devices = child(domain, 'devices');
  const features = child(domain, 'features');
  const run = children(child(domain, 'metadata') ?? el('metadata')).find((element) => element.localName === 'run' && element.namespaceURI === 'https://imgtest.dev/xmlns/domain/1');
  return {
    type: attr(domain, 'type'),
    name: text(child(domain, 'name')),
    uuid: text(child(domain, 'uuid')),
    runId: attr(run, 'id'),
    memoryMiB: memoryMiB(child(domain, 'memory')),
    vcpus: numberOf(child(domain, 'vcpu')),
    os: readOs(child(domain, 'os')),
    features: features
      ? children(features)
          .filter((f) => (attr(f, 'state') ?? 'on') === 'on')
          .map((f) => f.tagName)
      : [],
    disks: devices ? children(devices, 'disk').map(readDisk) : [],
    interfaces: devices ? children(devices, 'interface').map(readInterface) : [],
    serials: devices
      ? [...children(devices, 'serial'), ...children(devices, 'console')].map((s) => ({
          kind: s.tagName as 'serial' | 'console',
          type: attr(s, 'type') ?? '',
          path: attr(child(s, 'source'), 'path'),
          append: attr(child(s, 'source'), 'append'),
        }))
      : [],
    videoModels: devices ? children(devices, 'video').map((video) => attr(child(video, 'model'), 'type') ?? '') : [],
    sysinfo: readSysinfo(child(domain, 'sysinfo')),
  };
}

/** The NVRAM file of a UEFI domain (`<os><nvram>PATH</nvram>`), if it has one. */
export function nvramPathOf(domainXml: string): string | undefined {
  return text(path(parseXml(domainXml), 'os', 'nvram'));
}

/** Every `<disk>` of a domain XML (or of a lone `<disk>` element) with what migration cares about. */
export function disksOf(domainXml: string): DomainDisk[] {
  return elementsNamed(parseXml(domainXml), 'disk').map(readDisk);
}

/** Removes `<backingStore>` elements (nested chains go with them): the destination reads the chain from the image itself. */
function removeBackingStores(element: Element): void {
  for (const store of elementsNamed(element, 'backingStore').filter((s) => s.parentNode && (s.parentNode as Element).tagName !== 'backingStore')) removeElement(store);
}

/** `stripBackingStores` on XML text. */
export function stripBackingStores(xml: string): string {
  return rewriteXml(xml, removeBackingStores);
}

/** The name of the volume a disk uses (`volume=`, or the file name of `file=`). */
export function diskVolumeName(disk: DomainDisk): string | undefined {
  if (disk.volume) return disk.volume;
  return disk.file?.split('/').pop() || undefined;
}

/** A disk libvirt copies with `--copy-storage-*`: a writable disk with a source. */
export function isCopiedDisk(disk: DomainDisk): boolean {
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
 * Only host-side details change: libvirt checks that the guest-visible ABI is the same. Everything
 * else is written back as it was read.
 */
export function migrationXml(input: MigrationXmlInput): string {
  const withSlash = (p: string) => (p.endsWith('/') ? p : `${p}/`);
  const prefix = withSlash(input.sourcePoolPath);
  const destinationPrefix = withSlash(input.destinationPoolPath);
  return rewriteXml(input.xml, (root) => {
    for (const element of elementsNamed(root, 'disk')) {
      const disk = readDisk(element);
      const name = diskVolumeName(disk);
      const destinationPath = name ? input.copiedDiskPaths?.get(name) : undefined;
      if (input.copiedDiskPaths && isCopiedDisk(disk) && destinationPath) {
        removeBackingStores(element);
        element.setAttribute('type', 'file');
        const source = child(element, 'source');
        if (source) replaceElement(source, el('source', { file: destinationPath }));
        continue;
      }
      if (disk.type === 'volume' && disk.pool === input.sourcePool && input.sourcePool !== input.destinationPool) {
        child(element, 'source')!.setAttribute('pool', input.destinationPool);
      }
    }
    for (const device of [...elementsNamed(root, 'serial'), ...elementsNamed(root, 'console')]) {
      const source = child(device, 'source');
      if (attr(device, 'type') !== 'file' || !source) continue;
      source.setAttribute('append', 'on');
      const logPath = attr(source, 'path');
      if (prefix !== destinationPrefix && logPath?.startsWith(prefix)) source.setAttribute('path', destinationPrefix + logPath.slice(prefix.length));
    }
  });
}
