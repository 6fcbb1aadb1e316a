/**
 * dpkg's views of the package database, parsed and judged. Pure functions over command output.
 */
import { compareDebianVersions } from './debian-version.js';

/**
 * One dpkg-query run gives everything the checks need: state, name, architecture, version, and the
 * source package with its version (the vulnerability feeds are keyed by source).
 */
export const INVENTORY_FORMAT = '${Status}\\t${Package}\\t${Architecture}\\t${Version}\\t${source:Package}\\t${source:Version}\\n';
export const INVENTORY_ARGV = ['dpkg-query', '-W', `-f=${INVENTORY_FORMAT}`] as const;

export interface PackageEntry {
  name: string;
  arch: string;
  version: string;
  source: string;
  sourceVersion: string;
  /** `${Status}`: want, error flag, state, e.g. `install ok installed`. */
  want: string;
  flag: string;
  state: string;
  /** The line as dpkg-query printed it. */
  line: string;
}

/** States in which the package's files are (at least partly) on disk. */
const PRESENT_STATES = new Set(['installed', 'half-installed', 'unpacked', 'half-configured', 'triggers-awaited', 'triggers-pending']);
/** States that mean an installation or configuration did not finish. */
export const BROKEN_STATES = new Set(['half-installed', 'unpacked', 'half-configured', 'triggers-awaited', 'triggers-pending']);

export function isPresent(entry: PackageEntry): boolean {
  return PRESENT_STATES.has(entry.state);
}

export interface Inventory {
  packages: PackageEntry[];
  /** Lines that did not have the expected fields. */
  unparsed: string[];
}

export function parseInventory(text: string): Inventory {
  const packages: PackageEntry[] = [];
  const unparsed: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const fields = line.split('\t');
    const status = (fields[0] ?? '').trim().split(/\s+/);
    const name = fields[1]?.trim();
    if (fields.length < 4 || status.length !== 3 || !name) {
      unparsed.push(line);
      continue;
    }
    const version = fields[3]!.trim();
    const source = fields[4]?.trim() || name;
    packages.push({
      name,
      arch: fields[2]!.trim(),
      version,
      source,
      sourceVersion: fields[5]?.trim() || version,
      want: status[0]!,
      flag: status[1]!,
      state: status[2]!,
      line,
    });
  }
  return { packages, unparsed };
}

export interface DatabaseHealth {
  ok: boolean;
  /** Packages in a state where an install or configure did not finish, or with an error flag. */
  broken: PackageEntry[];
  /** `dpkg --audit` printed something. */
  auditText: string;
}

/** `dpkg --audit` must print nothing, and no package may be half-done or carry an error flag (`reinstreq`). */
export function judgeDatabase(auditOutput: string, inventory: Inventory): DatabaseHealth {
  const broken = inventory.packages.filter((p) => BROKEN_STATES.has(p.state) || p.flag !== 'ok');
  const auditText = auditOutput.trim();
  return { ok: broken.length === 0 && auditText === '', broken, auditText };
}

export interface VerifyLine {
  /** The 9 result characters (`??5??????`), or `missing`. */
  result: string;
  conffile: boolean;
  path: string;
  /** The digest column is `5`: the contents changed. */
  digestChanged: boolean;
  missing: boolean;
}

/**
 * `dpkg --verify` lines: `??5?????? c /etc/ssh/moduli`, `??5??????   /usr/sbin/service`,
 * `missing     /usr/share/doc/sudo/copyright` (dpkg(1), --verify-format rpm).
 */
export function parseVerify(text: string): { lines: VerifyLine[]; other: string[] } {
  const lines: VerifyLine[] = [];
  const other: string[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    const match = /^(missing {2}|[?.0-9A-Za-z]{9}) ([c ]) (\/.*)$/.exec(raw);
    if (!match) {
      other.push(raw);
      continue;
    }
    const result = match[1]!.trim();
    const missing = result === 'missing';
    lines.push({ result, conffile: match[2] === 'c', path: match[3]!, digestChanged: !missing && result[2] === '5', missing });
  }
  return { lines, other };
}

/** `dpkg -S PATH...`: `pkg1, pkg2: /path` (package names may carry `:arch`); diversion lines are skipped. */
export function parseDpkgSearch(text: string): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (!line.trim() || /^(local )?diversion by /.test(line) || line.startsWith('dpkg-query:')) continue;
    const at = line.indexOf(': /');
    if (at < 0) continue;
    const path = line.slice(at + 2);
    const packages = line
      .slice(0, at)
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    owners.set(path, [...(owners.get(path) ?? []), ...packages]);
  }
  return owners;
}

/** Shell-style globs (`*`, `?`) for package names and paths. */
export function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/** Packages matching one policy entry: a name, `name:arch`, or a glob. */
export function matchPackages(entry: string, packages: readonly PackageEntry[]): PackageEntry[] {
  const [namePart, archPart] = entry.includes(':') ? (entry.split(':', 2) as [string, string]) : [entry, undefined];
  const name = globToRegExp(namePart);
  return packages.filter((p) => name.test(p.name) && (archPart === undefined || archPart === p.arch));
}

export interface PolicyResult {
  /** Per policy entry, the present packages it matched. */
  matches: { entry: string; found: PackageEntry[] }[];
}

export function checkPolicy(entries: readonly string[], inventory: Inventory): PolicyResult {
  const present = inventory.packages.filter(isPresent);
  return { matches: entries.map((entry) => ({ entry, found: matchPackages(entry, present) })) };
}

export const describePackage = (p: PackageEntry): string => `${p.name} ${p.version}${p.state === 'installed' ? '' : ` (${p.state})`}`;

export interface KernelPackage {
  entry: PackageEntry;
  /** The kernel release the package installs, e.g. `6.1.0-56-cloud-amd64`. */
  release: string;
}

/**
 * Kernel image packages (not the meta packages like `linux-image-cloud-amd64`, nor `-dbg`): the
 * name carries the release, which starts with a digit: `linux-image-6.1.0-56-cloud-amd64`,
 * Ubuntu's `linux-image-6.8.0-45-generic` and `linux-image-unsigned-6.8.0-45-generic`.
 */
export function kernelPackages(inventory: Inventory): KernelPackage[] {
  const out: KernelPackage[] = [];
  for (const entry of inventory.packages) {
    if (!isPresent(entry)) continue;
    const match = /^linux-image-(?:unsigned-)?(\d[^\s]*)$/.exec(entry.name);
    if (!match || match[1]!.endsWith('-dbg')) continue;
    out.push({ entry, release: match[1]! });
  }
  return out;
}

export interface KernelVerdict {
  ok: boolean;
  message: string;
  newest?: KernelPackage;
  running?: KernelPackage;
  installed: KernelPackage[];
}

/** The running kernel (`uname -r`) must come from the newest installed kernel package, by Debian version order. */
export function judgeKernel(runningRelease: string, inventory: Inventory): KernelVerdict {
  const installed = kernelPackages(inventory).sort((a, b) => compareDebianVersions(b.entry.version, a.entry.version));
  const running = installed.find((k) => k.release === runningRelease);
  const newest = installed[0];
  const list = installed.map((k) => `${k.entry.name} ${k.entry.version}`).join(', ');
  if (!newest) return { ok: false, message: `no linux-image package is installed (running ${runningRelease})`, installed };
  if (!running) return { ok: false, message: `running kernel ${runningRelease} is not from an installed package; installed: ${list}`, newest, installed };
  if (compareDebianVersions(running.entry.version, newest.entry.version) < 0) {
    return { ok: false, message: `running kernel ${runningRelease} (${running.entry.version}) is older than installed ${newest.entry.name} ${newest.entry.version}`, newest, running, installed };
  }
  const others = installed.length > 1 ? ` (newest of ${installed.length}: ${list})` : '';
  return { ok: true, message: `running kernel ${runningRelease} is the newest installed, ${running.entry.name} ${running.entry.version}${others}`, newest, running, installed };
}
