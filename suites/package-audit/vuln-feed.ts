/**
 * Vulnerability feeds and matching installed packages against them.
 *
 * Two formats, both keyed by SOURCE package for Debian (binaries are mapped to their source with
 * dpkg-query's `${source:Package}` / `${source:Version}`):
 * - the Debian security tracker's JSON (https://security-tracker.debian.org/tracker/data/json):
 *   `{ "<source>": { "CVE-…": { "releases": { "bookworm": { "status": "resolved"|"open"|"undetermined",
 *   "fixed_version": "…", "urgency": "…" } } } } }`; `fixed_version` "0" means never affected;
 * - OSV records (https://ossf.github.io/osv-schema/): an array, `{ "vulns": [...] }`, or one record,
 *   with `affected[].package.{ecosystem: "Debian:12", name}` and `ranges[].events`
 *   (`introduced`/`fixed`/`last_affected`) of type ECOSYSTEM, or an explicit `versions` list.
 */
import { compareDebianVersions } from './debian-version.js';
import type { PackageEntry } from './dpkg.js';

export type Urgency = 'unimportant' | 'low' | 'medium' | 'high' | 'critical' | 'unknown';
export const URGENCY_RANK: Record<Exclude<Urgency, 'unknown'>, number> = { unimportant: 0, low: 1, medium: 2, high: 3, critical: 4 };

/** Normalises the tracker's urgencies (`low**`, `not yet assigned`, `end-of-life`) and OSV/GHSA/Ubuntu severities. */
export function normaliseUrgency(raw: unknown): Urgency {
  if (typeof raw !== 'string') return 'unknown';
  const value = raw.toLowerCase().replace(/\*+$/, '').trim();
  if (value === 'unimportant' || value === 'negligible') return 'unimportant';
  if (value === 'low') return 'low';
  if (value === 'medium' || value === 'moderate') return 'medium';
  if (value === 'high' || value === 'important') return 'high';
  if (value === 'critical') return 'critical';
  return 'unknown';
}

/** At or above the threshold; an unknown urgency ('not yet assigned') always counts. */
export function meetsUrgency(urgency: Urgency, minimum: Exclude<Urgency, 'unknown'>): boolean {
  return urgency === 'unknown' || URGENCY_RANK[urgency] >= URGENCY_RANK[minimum];
}

/** One statement of the feed about one source package in the image's release. */
export interface Advisory {
  id: string;
  aliases: string[];
  /** The (source) package name the feed names. */
  package: string;
  /** Affected below this version; absent: no fix released. */
  fixedVersion?: string;
  /** OSV: introduced/last_affected ranges; absent for the tracker (everything below the fix). */
  ranges?: { introduced?: string; fixed?: string; lastAffected?: string }[][];
  /** OSV `versions`: affected versions listed one by one. */
  versions?: string[];
  /** The tracker says never affected (fixed_version "0"), or resolved without a version. */
  notAffected?: boolean;
  urgency: Urgency;
  /** The feed's own status word (tracker), for evidence. */
  status?: string;
  summary?: string;
}

export type FeedFormat = 'debian-tracker' | 'osv';

export interface Feed {
  format: FeedFormat;
  advisories: Advisory[];
  /** What the feed held but did not apply to this release/ecosystem, and why entries were dropped. */
  notes: string[];
}

export interface FeedScope {
  /** Debian tracker release key, e.g. `bookworm`. */
  release?: string;
  /** OSV ecosystem, e.g. `Debian:12` (matched exactly, or a bare `Debian` matches any release). */
  ecosystem?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

export function detectFormat(data: unknown): FeedFormat {
  if (Array.isArray(data)) return 'osv';
  if (isRecord(data) && (Array.isArray(data.vulns) || (typeof data.id === 'string' && Array.isArray(data.affected)))) return 'osv';
  if (isRecord(data)) return 'debian-tracker';
  throw new Error('vulnerability feed is neither Debian security tracker JSON (an object keyed by source package) nor OSV records');
}

export function parseFeed(data: unknown, scope: FeedScope): Feed {
  return detectFormat(data) === 'osv' ? parseOsv(data, scope) : parseTracker(data, scope);
}

/** Debian security tracker JSON, for one release. */
export function parseTracker(data: unknown, scope: FeedScope): Feed {
  const advisories: Advisory[] = [];
  const notes: string[] = [];
  if (!isRecord(data)) throw new Error('Debian security tracker JSON must be an object keyed by source package');
  if (!scope.release) throw new Error('the Debian security tracker feed needs the release codename (VERSION_CODENAME in os-release, or the `release` option)');
  let otherRelease = 0;
  for (const [pkg, issues] of Object.entries(data)) {
    if (!isRecord(issues)) {
      notes.push(`entry '${pkg}' is not an object; ignored`);
      continue;
    }
    for (const [id, issue] of Object.entries(issues)) {
      if (!isRecord(issue) || !isRecord(issue.releases)) continue;
      const release = issue.releases[scope.release];
      if (!isRecord(release)) {
        otherRelease++;
        continue;
      }
      const status = str(release.status) ?? 'unknown';
      const fixed = str(release.fixed_version);
      const urgency = normaliseUrgency(release.urgency);
      const summary = str(issue.description);
      const base = { id, aliases: [], package: pkg, urgency, status, summary };
      if (status === 'resolved') {
        if (!fixed || fixed === '0') advisories.push({ ...base, notAffected: true });
        else advisories.push({ ...base, fixedVersion: fixed });
      } else if (status === 'open' || status === 'undetermined') {
        advisories.push(fixed && fixed !== '0' ? { ...base, fixedVersion: fixed } : base);
      } else {
        notes.push(`${id} (${pkg}): unknown status '${status}' for ${scope.release}; ignored`);
      }
    }
  }
  if (otherRelease) notes.push(`${otherRelease} tracker entries name no ${scope.release} release`);
  return { format: 'debian-tracker', advisories, notes };
}

function ecosystemMatches(ecosystem: string | undefined, wanted: string | undefined): boolean {
  if (!ecosystem || !wanted) return false;
  if (ecosystem === wanted) return true;
  const [distro, release] = wanted.split(':');
  // `Debian` alone (no release) applies to every release; `Ubuntu:22.04:LTS` to `Ubuntu:22.04`.
  return ecosystem === distro || (release !== undefined && ecosystem.startsWith(`${distro}:${release}:`));
}

function osvUrgency(record: Record<string, unknown>, affected: Record<string, unknown>): Urgency {
  const candidates: unknown[] = [];
  if (isRecord(affected.ecosystem_specific)) candidates.push(affected.ecosystem_specific.urgency, affected.ecosystem_specific.severity);
  if (isRecord(affected.database_specific)) candidates.push(affected.database_specific.urgency, affected.database_specific.severity);
  if (isRecord(record.database_specific)) candidates.push(record.database_specific.urgency, record.database_specific.severity);
  if (Array.isArray(record.severity)) for (const s of record.severity) if (isRecord(s) && s.type === 'Ubuntu') candidates.push(s.score);
  for (const c of candidates) {
    const u = normaliseUrgency(c);
    if (u !== 'unknown') return u;
  }
  return 'unknown';
}

/** OSV records, for one ecosystem. */
export function parseOsv(data: unknown, scope: FeedScope): Feed {
  const records: unknown[] = Array.isArray(data) ? data : isRecord(data) && Array.isArray(data.vulns) ? data.vulns : [data];
  const advisories: Advisory[] = [];
  const notes: string[] = [];
  if (!scope.ecosystem) throw new Error('OSV records need the ecosystem (e.g. Debian:12, from os-release, or the `ecosystem` option)');
  let otherEcosystem = 0;
  for (const record of records) {
    if (!isRecord(record) || typeof record.id !== 'string' || !Array.isArray(record.affected)) {
      notes.push('a record without id or affected[]; ignored');
      continue;
    }
    const aliases = Array.isArray(record.aliases) ? record.aliases.filter((a): a is string => typeof a === 'string') : [];
    for (const affected of record.affected) {
      if (!isRecord(affected) || !isRecord(affected.package)) continue;
      const name = str(affected.package.name);
      if (!name) continue;
      if (!ecosystemMatches(str(affected.package.ecosystem), scope.ecosystem)) {
        otherEcosystem++;
        continue;
      }
      const ranges: NonNullable<Advisory['ranges']> = [];
      if (Array.isArray(affected.ranges)) {
        for (const range of affected.ranges) {
          if (!isRecord(range) || !Array.isArray(range.events)) continue;
          if (range.type !== 'ECOSYSTEM') {
            notes.push(`${record.id} (${name}): ${String(range.type)} range ignored (only ECOSYSTEM ranges carry Debian versions)`);
            continue;
          }
          ranges.push(range.events.filter(isRecord).map((e) => ({ introduced: str(e.introduced), fixed: str(e.fixed), lastAffected: str(e.last_affected) })));
        }
      }
      const versions = Array.isArray(affected.versions) ? affected.versions.filter((v): v is string => typeof v === 'string') : undefined;
      const fixes = ranges.flat().flatMap((e) => (e.fixed ? [e.fixed] : []));
      const fixedVersion = fixes.length ? [...fixes].sort(compareDebianVersions).at(-1) : undefined;
      advisories.push({
        id: record.id,
        aliases,
        package: name,
        fixedVersion,
        ranges,
        versions: versions?.length ? versions : undefined,
        urgency: osvUrgency(record, affected),
        summary: str(record.summary) ?? str(record.details),
      });
    }
  }
  if (otherEcosystem) notes.push(`${otherEcosystem} affected[] entries are for other ecosystems than ${scope.ecosystem}`);
  return { format: 'osv', advisories, notes };
}

/** OSV range evaluation (osv-schema "Evaluation"): events in version order; introduced opens, fixed/last_affected closes. */
function inRange(version: string, events: NonNullable<Advisory['ranges']>[number]): boolean {
  const points = events
    .flatMap((e) => [
      ...(e.introduced ? [{ kind: 'introduced' as const, at: e.introduced }] : []),
      ...(e.fixed ? [{ kind: 'fixed' as const, at: e.fixed }] : []),
      ...(e.lastAffected ? [{ kind: 'last_affected' as const, at: e.lastAffected }] : []),
    ])
    .sort((a, b) => cmp(a.at, b.at));
  let affected = false;
  for (const p of points) {
    if (p.kind === 'introduced' && cmp(version, p.at) >= 0) affected = true;
    else if (p.kind === 'fixed' && cmp(version, p.at) >= 0) affected = false;
    else if (p.kind === 'last_affected' && cmp(version, p.at) > 0) affected = false;
  }
  return affected;
}

/** `introduced: "0"` is OSV's "since the beginning"; Debian's smallest version. */
function cmp(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '0') return -1;
  if (b === '0') return 1;
  return compareDebianVersions(a, b);
}

export type FindingKind = 'fixed' | 'unfixed';

export interface Finding {
  kind: FindingKind;
  advisory: Advisory;
  /** The installed binaries of the package, with the version compared. */
  binaries: PackageEntry[];
  installedVersion: string;
}

export interface Assessment {
  /** A fix exists in a version newer than the one installed. */
  fixed: Finding[];
  /** Affected and no fix released. */
  unfixed: Finding[];
  /** Matching advisories whose urgency is below the threshold. */
  belowThreshold: Finding[];
  /** Matching advisories that were ignored by id. */
  ignored: Finding[];
  /** Advisories for installed packages that do not affect the installed version. */
  notAffected: { advisory: Advisory; installedVersion: string; reason: string }[];
  /** Advisories whose versions could not be compared. */
  problems: string[];
  /** Distinct installed source packages. */
  sourcesChecked: number;
}

export interface AssessOptions {
  minUrgency: Exclude<Urgency, 'unknown'>;
  ignore: readonly string[];
}

/**
 * Matches advisories to installed packages: by source package name (comparing the source version),
 * or, for a feed that names a binary package, by binary name (comparing the binary version).
 */
export function assess(feed: Feed, installed: readonly PackageEntry[], options: AssessOptions): Assessment {
  const bySource = new Map<string, PackageEntry[]>();
  const byBinary = new Map<string, PackageEntry[]>();
  for (const p of installed) {
    bySource.set(p.source, [...(bySource.get(p.source) ?? []), p]);
    byBinary.set(p.name, [...(byBinary.get(p.name) ?? []), p]);
  }
  const result: Assessment = { fixed: [], unfixed: [], belowThreshold: [], ignored: [], notAffected: [], problems: [], sourcesChecked: bySource.size };
  const seen = new Set<string>();
  for (const advisory of feed.advisories) {
    const viaSource = bySource.get(advisory.package);
    const binaries = viaSource ?? byBinary.get(advisory.package);
    if (!binaries?.length) continue;
    // Several binaries of one source may carry different versions (binNMUs, partial upgrades): judge each version once.
    const versions = [...new Set(binaries.map((b) => (viaSource ? b.sourceVersion : b.version)))];
    for (const installedVersion of versions) {
      const key = `${advisory.id}\0${advisory.package}\0${installedVersion}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const ofVersion = binaries.filter((b) => (viaSource ? b.sourceVersion : b.version) === installedVersion);
      let verdict: { affected: boolean; reason: string };
      try {
        verdict = affects(advisory, installedVersion);
      } catch (error) {
        result.problems.push(`${advisory.id} (${advisory.package} ${installedVersion}): ${(error as Error).message}`);
        continue;
      }
      if (!verdict.affected) {
        result.notAffected.push({ advisory, installedVersion, reason: verdict.reason });
        continue;
      }
      const finding: Finding = { kind: advisory.fixedVersion ? 'fixed' : 'unfixed', advisory, binaries: ofVersion, installedVersion };
      const ids = [advisory.id, ...advisory.aliases];
      if (ids.some((id) => options.ignore.includes(id))) result.ignored.push(finding);
      else if (!meetsUrgency(advisory.urgency, options.minUrgency)) result.belowThreshold.push(finding);
      else result[finding.kind].push(finding);
    }
  }
  return result;
}

export function affects(advisory: Advisory, version: string): { affected: boolean; reason: string } {
  if (advisory.notAffected) return { affected: false, reason: 'the feed marks this release as never affected' };
  if (advisory.versions?.includes(version)) return { affected: true, reason: 'listed in versions' };
  if (advisory.ranges) {
    if (advisory.ranges.some((events) => inRange(version, events))) return { affected: true, reason: 'inside an affected range' };
    return { affected: false, reason: advisory.fixedVersion ? `${version} >= fixed ${advisory.fixedVersion}` : 'outside every affected range' };
  }
  if (!advisory.fixedVersion) return { affected: true, reason: 'no fixed version' };
  return compareDebianVersions(version, advisory.fixedVersion) < 0
    ? { affected: true, reason: `${version} < fixed ${advisory.fixedVersion}` }
    : { affected: false, reason: `${version} >= fixed ${advisory.fixedVersion}` };
}

/** `CVE-2099-0001 sudo 1.9.13p3-1+deb12u4 < 1.9.13p3-1+deb12u5 (high; binaries: sudo)` */
export function describeFinding(f: Finding): string {
  const fix = f.advisory.fixedVersion ? ` < ${f.advisory.fixedVersion}` : ', no fix';
  const binaries = f.binaries.map((b) => b.name).join(', ');
  return `${f.advisory.id} ${f.advisory.package} ${f.installedVersion}${fix} (${f.advisory.urgency}; ${binaries})`;
}

export function shortFinding(f: Finding): string {
  return `${f.advisory.id} (${f.advisory.package}${f.advisory.fixedVersion ? ` ${f.installedVersion} < ${f.advisory.fixedVersion}` : ''})`;
}
