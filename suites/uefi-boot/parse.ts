/**
 * Pure readers for the uefi-boot suite: the guest's probe output (EFI variables as hex bytes, lsblk
 * JSON, mokutil), UEFI load options and device paths (UEFI spec 2.10, 3.1.3 and 10.3), and the
 * firmware's boot lines on the serial console. No I/O here; unit-tested.
 */
import { oneLine } from './api.js';
// The contract's evidence helpers, re-exported for this suite's other files (one wording across suites).
export { oneLine };

/** EFI_GLOBAL_VARIABLE: SecureBoot, SetupMode, BootCurrent, BootOrder, Boot####. */
export const EFI_GLOBAL_GUID = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
export const ESP_TYPE_GUID = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';

export interface EfiProbe {
  /** `/sys/firmware/efi` exists: the kernel was started by UEFI firmware (and has EFI support). */
  efi: boolean;
  /** 64 or 32 (`fw_platform_size`). */
  platformSize?: number;
  /** EFI variables by name, data only (efivarfs' 4 attribute bytes removed). */
  variables: Map<string, Uint8Array>;
  /** `mokutil --sb-state` output, or undefined when mokutil is not installed. */
  mokutil?: string;
  /** Kernel log lines about Secure Boot (`secureboot: Secure boot enabled`). */
  kernel: string[];
  /** `lsblk -J` output. */
  lsblk?: string;
}

function hexBytes(text: string): Uint8Array {
  const bytes = text
    .trim()
    .split(/\s+/)
    .filter((b) => /^[0-9a-f]{2}$/i.test(b))
    .map((b) => parseInt(b, 16));
  return Uint8Array.from(bytes);
}

/** Lines of `key=value` as the suite's probe script prints them. */
export function parseEfiProbe(text: string): EfiProbe {
  const probe: EfiProbe = { efi: false, variables: new Map(), kernel: [] };
  for (const raw of text.split(/\r?\n/)) {
    const eq = raw.indexOf('=');
    if (eq < 0) continue;
    const key = raw.slice(0, eq).trim();
    const value = raw.slice(eq + 1);
    if (key === 'efi') probe.efi = value.trim() === 'yes';
    else if (key === 'platform-size') probe.platformSize = Number(value.trim()) || undefined;
    else if (key.startsWith('var.')) {
      const bytes = hexBytes(value);
      // efivarfs prefixes every variable with its 4 attribute bytes.
      if (bytes.length >= 4) probe.variables.set(key.slice(4), bytes.subarray(4));
    } else if (key === 'mokutil') probe.mokutil = value.trim() === '(not installed)' ? undefined : value.trim();
    else if (key === 'kernel') probe.kernel.push(value.trim());
    else if (key === 'lsblk') probe.lsblk = value;
  }
  return probe;
}

/** A one-byte boolean variable (SecureBoot, SetupMode): 0, 1, or undefined when absent or empty. */
export function byteVariable(probe: EfiProbe, name: string): number | undefined {
  const data = probe.variables.get(name);
  return data && data.length >= 1 ? data[0] : undefined;
}

/** A UINT16 variable (BootCurrent) as `Boot####`. */
export function bootCurrent(probe: EfiProbe): string | undefined {
  const data = probe.variables.get('BootCurrent');
  if (!data || data.length < 2) return undefined;
  return `Boot${(data[0]! | (data[1]! << 8)).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** BootOrder as `Boot####` names. */
export function bootOrder(probe: EfiProbe): string[] {
  const data = probe.variables.get('BootOrder');
  const out: string[] = [];
  if (!data) return out;
  for (let i = 0; i + 1 < data.length; i += 2) out.push(`Boot${(data[i]! | (data[i + 1]! << 8)).toString(16).toUpperCase().padStart(4, '0')}`);
  return out;
}

export interface DevicePathNode {
  type: number;
  subtype: number;
  text: string;
}

export interface LoadOption {
  active: boolean;
  description: string;
  nodes: DevicePathNode[];
  /** Device path as text, roughly as the UEFI shell and OVMF print it. */
  path: string;
  /** A file path node (`\EFI\debian\shimx64.efi`): the entry names a loader file, not just a device. */
  file?: string;
  /** A firmware-internal application (FvFile: UiApp, the shell...). */
  firmwareApp: boolean;
  /** A network boot entry (MAC node). */
  network: boolean;
}

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

function guidText(b: Uint8Array): string {
  const h = (from: number, to: number, reverse: boolean) => {
    const part = Array.from(b.subarray(from, to), (x) => x.toString(16).padStart(2, '0'));
    return (reverse ? part.reverse() : part).join('');
  };
  return `${h(0, 4, true)}-${h(4, 6, true)}-${h(6, 8, true)}-${h(8, 10, false)}-${h(10, 16, false)}`.toUpperCase();
}

function ucs2(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    const c = bytes[i]! | (bytes[i + 1]! << 8);
    if (c === 0) break;
    out += String.fromCharCode(c);
  }
  return out;
}

function nodeText(type: number, subtype: number, data: Uint8Array): string {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (type === 1 && subtype === 1 && data.length >= 2) return `Pci(${hex(data[1]!)},${hex(data[0]!)})`;
  if (type === 2 && subtype === 1 && data.length >= 8) {
    const hid = view.getUint32(0, true);
    const uid = view.getUint32(4, true);
    if (hid === 0x0a0341d0) return `PciRoot(${hex(uid)})`;
    if (hid === 0x0a0841d0) return `PcieRoot(${hex(uid)})`;
    return `Acpi(${hex(hid)},${hex(uid)})`;
  }
  if (type === 3 && subtype === 2 && data.length >= 4) return `Scsi(${hex(view.getUint16(0, true))},${hex(view.getUint16(2, true))})`;
  if (type === 3 && subtype === 11 && data.length >= 6) return `MAC(${Array.from(data.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join('')},${hex(data[32] ?? 0)})`;
  if (type === 3 && subtype === 12) return 'IPv4(...)';
  if (type === 3 && subtype === 13) return 'IPv6(...)';
  if (type === 3 && subtype === 18 && data.length >= 6) return `Sata(${hex(view.getUint16(0, true))},${hex(view.getUint16(2, true))},${hex(view.getUint16(4, true))})`;
  if (type === 3 && subtype === 23 && data.length >= 4) return `NVMe(${hex(view.getUint32(0, true))})`;
  if (type === 3 && subtype === 24) return `Uri(${new TextDecoder().decode(data)})`;
  if (type === 4 && subtype === 1 && data.length >= 38) {
    const format = data[36] === 2 ? 'GPT' : data[36] === 1 ? 'MBR' : hex(data[36]!);
    const signature = data[37] === 2 ? guidText(data.subarray(20, 36)) : hex(view.getUint32(20, true));
    return `HD(${view.getUint32(0, true)},${format},${signature},${hex(view.getBigUint64(4, true))},${hex(view.getBigUint64(12, true))})`;
  }
  if (type === 4 && subtype === 2) return 'CDROM(...)';
  if (type === 4 && subtype === 4) return ucs2(data);
  if (type === 4 && subtype === 6 && data.length >= 16) return `FvFile(${guidText(data.subarray(0, 16))})`;
  if (type === 4 && subtype === 7 && data.length >= 16) return `Fv(${guidText(data.subarray(0, 16))})`;
  return `Path(${type},${subtype})`;
}

/** An EFI_LOAD_OPTION (a `Boot####` variable's data, attributes already removed). */
export function parseLoadOption(data: Uint8Array): LoadOption | undefined {
  if (data.length < 6) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const attributes = view.getUint32(0, true);
  const pathLength = view.getUint16(4, true);
  let offset = 6;
  let description = '';
  for (; offset + 1 < data.length; offset += 2) {
    const c = data[offset]! | (data[offset + 1]! << 8);
    if (c === 0) break;
    description += String.fromCharCode(c);
  }
  offset += 2;
  const end = Math.min(data.length, offset + pathLength);
  const nodes: DevicePathNode[] = [];
  while (offset + 4 <= end) {
    const type = data[offset]!;
    const subtype = data[offset + 1]!;
    const length = view.getUint16(offset + 2, true);
    if (type === 0x7f || length < 4 || offset + length > end) break;
    nodes.push({ type, subtype, text: nodeText(type, subtype, data.subarray(offset + 4, offset + length)) });
    offset += length;
  }
  const fileNodes = nodes.filter((n) => n.type === 4 && n.subtype === 4);
  return {
    active: (attributes & 1) === 1,
    description,
    nodes,
    path: nodes.map((n) => n.text).join('/'),
    file: fileNodes.length ? fileNodes.map((n) => n.text).join('') : undefined,
    firmwareApp: nodes.some((n) => n.type === 4 && (n.subtype === 6 || n.subtype === 7)),
    network: nodes.some((n) => n.type === 3 && (n.subtype === 11 || n.subtype === 12 || n.subtype === 13 || n.subtype === 24)),
  };
}

/** Every `Boot####` variable of the probe, parsed, in name order. */
export function bootEntries(probe: EfiProbe): Map<string, LoadOption> {
  const entries = new Map<string, LoadOption>();
  for (const name of [...probe.variables.keys()].filter((n) => /^Boot[0-9A-F]{4}$/.test(n)).sort()) {
    const option = parseLoadOption(probe.variables.get(name)!);
    if (option) entries.set(name, option);
  }
  return entries;
}

/** `Boot0001* "UEFI Misc Device" PciRoot(0x0)/Pci(0x3,0x0)` lines for evidence (efibootmgr-like). */
export function describeBootEntries(probe: EfiProbe): string {
  const current = bootCurrent(probe);
  const lines = [`BootCurrent: ${current ?? '(none)'}`, `BootOrder: ${bootOrder(probe).join(',') || '(none)'}`];
  for (const [name, option] of bootEntries(probe)) lines.push(`${name}${option.active ? '*' : ' '} "${option.description}" ${option.path}`);
  return lines.join('\n');
}

export interface ConsoleBootLine {
  event: 'loading' | 'starting' | 'failed';
  option: string;
  description: string;
  path: string;
  /** The rest of a `failed to load` line (e.g. `Access Denied`). */
  detail?: string;
  line: string;
}

/** OVMF's BdsDxe lines: `BdsDxe: loading Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0)`. */
export function consoleBootLines(log: string): ConsoleBootLine[] {
  const clean = log.replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, '').replace(/\r/g, '');
  const out: ConsoleBootLine[] = [];
  const pattern = /BdsDxe: (loading|starting|failed to load) (Boot[0-9A-Fa-f]{4}) "([^"]*)" from (\S+?)(?::\s*([^\n]*))?$/gm;
  for (const match of clean.matchAll(pattern)) {
    const event = match[1] === 'failed to load' ? 'failed' : (match[1] as 'loading' | 'starting');
    out.push({ event, option: match[2]!, description: match[3]!, path: match[4]!, detail: match[5]?.trim() || undefined, line: match[0].trim() });
  }
  return out;
}

/** A device path text that names a file (OVMF prints file nodes as `\EFI\...`). */
export const namesFile = (path: string): boolean => path.includes('\\') || /File\(/.test(path);

export interface LsblkDevice {
  name: string;
  path?: string;
  type?: string;
  pttype?: string | null;
  parttype?: string | null;
  fstype?: string | null;
  pkname?: string | null;
  mountpoint?: string | null;
  children?: LsblkDevice[];
}

/** `lsblk -J` -> every disk with its partitions (flattened). */
export function parseLsblk(text: string | undefined): { disk: LsblkDevice; partitions: LsblkDevice[] }[] {
  if (!text?.trim()) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const devices = (parsed as { blockdevices?: LsblkDevice[] }).blockdevices ?? [];
  return devices.filter((d) => d.type === 'disk').map((disk) => ({ disk, partitions: (disk.children ?? []).filter((c) => c.type === 'part') }));
}

/** The disks that carry ESP-type partitions, and those partitions. */
export function espPartitionsSeen(text: string | undefined): { disk: string; partitions: LsblkDevice[]; pttype?: string | null }[] {
  return parseLsblk(text)
    .map(({ disk, partitions }) => ({ disk: disk.path ?? `/dev/${disk.name}`, pttype: disk.pttype, partitions: partitions.filter((p) => (p.parttype ?? '').toLowerCase() === ESP_TYPE_GUID) }))
    .filter((d) => d.partitions.length);
}

/** `mokutil --sb-state` -> on/off/unknown. */
export function mokutilState(text: string | undefined): 'enabled' | 'disabled' | 'unsupported' | undefined {
  if (!text) return undefined;
  if (/SecureBoot enabled/i.test(text)) return 'enabled';
  if (/SecureBoot disabled/i.test(text)) return 'disabled';
  if (/(doesn't|does not|not) support|not supported/i.test(text)) return 'unsupported';
  return undefined;
}
