/**
 * Reads from the guest that several checks share (computed once per guest through `context.memo`),
 * and running a check on every planned guest. Every read keeps the command and its raw output as evidence.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fail, pass, skip, type CheckContext, type CheckOutcome, type ExecOptions, type ExecResult, type GuestHandle } from './api.js';
import { INVENTORY_ARGV, parseInventory, type Inventory } from './dpkg.js';
import { isDpkgFamily, parseOsRelease, describeOs, type OsRelease } from './os-release.js';
import { parseOptions, type PackageAuditOptions } from './options.js';
import { parseFeed, type Feed } from './vuln-feed.js';
import { oneLine, transcript, withoutSudoNoise } from './api.js';
// The contract's evidence helpers, re-exported for this suite's other files (one wording across suites).
export { oneLine, transcript, withoutSudoNoise };

export const SUITE = 'package-audit';

export interface Ran {
  argv: readonly string[];
  result: ExecResult;
  evidence: string;
}

export async function run(guest: GuestHandle, argv: readonly string[], options: ExecOptions = {}): Promise<Ran> {
  const result = await guest.exec(argv, options);
  return { argv, result, evidence: transcript(argv, result, options) };
}

export function options(context: CheckContext): PackageAuditOptions {
  return parseOptions(context.options);
}

const key = (name: string, guest: GuestHandle): string => `${SUITE}:${name}:${guest.name}`;

export interface OsRead {
  os?: OsRelease;
  evidence: string;
}

/** /etc/os-release, else /usr/lib/os-release. */
export function osRelease(context: CheckContext, guest: GuestHandle): Promise<OsRead> {
  return context.memo(key('os-release', guest), async () => {
    const evidence: string[] = [];
    for (const path of ['/etc/os-release', '/usr/lib/os-release']) {
      const read = await run(guest, ['cat', path]);
      evidence.push(read.evidence);
      if (read.result.exitCode === 0 && read.result.stdout.trim()) return { os: parseOsRelease(read.result.stdout), evidence: evidence.join('\n') };
    }
    return { evidence: evidence.join('\n') };
  });
}

export type DpkgGate = { ok: true; os: OsRelease; evidence: string } | { ok: false; outcome: CheckOutcome };

/** The dpkg checks apply to Debian, Ubuntu and derivatives; elsewhere they skip, saying why. */
export async function dpkgFamily(context: CheckContext, guest: GuestHandle): Promise<DpkgGate> {
  const read = await osRelease(context, guest);
  if (!read.os) return { ok: false, outcome: skip('no /etc/os-release or /usr/lib/os-release: cannot tell the distribution, dpkg checks not run', read.evidence) };
  if (!isDpkgFamily(read.os)) {
    return { ok: false, outcome: skip(`${describeOs(read.os)} is not Debian/Ubuntu-based: dpkg checks do not apply`, read.evidence) };
  }
  return { ok: true, os: read.os, evidence: read.evidence };
}

export interface InventoryRead {
  inventory: Inventory;
  ran: Ran;
  /** The command line and a count, for evidence (the whole listing is long). */
  summary: string;
}

export function inventory(context: CheckContext, guest: GuestHandle): Promise<InventoryRead> {
  return context.memo(key('inventory', guest), async () => {
    const ran = await run(guest, INVENTORY_ARGV);
    if (ran.result.exitCode !== 0 && !ran.result.stdout.trim()) {
      throw new Error(`dpkg-query -W failed (exit ${ran.result.exitCode}): ${oneLine(ran.result.stderr, 200)}`);
    }
    const parsed = parseInventory(ran.result.stdout);
    const summary = `$ ${INVENTORY_ARGV.join(' ')}   (exit ${ran.result.exitCode}, ${parsed.packages.length} packages${parsed.unparsed.length ? `, ${parsed.unparsed.length} unparsed lines` : ''})`;
    return { inventory: parsed, ran, summary };
  });
}

/** The lines of the dpkg-query listing for some packages, under the command line. */
export function inventoryExcerpt(read: InventoryRead, names: Iterable<string>): string {
  const wanted = new Set(names);
  const lines = read.inventory.packages.filter((p) => wanted.has(p.name)).map((p) => p.line);
  return [read.summary, ...lines].join('\n');
}

export interface FeedRead {
  feed: Feed;
  source: string;
  bytes: number;
}

/** The feed named by `vulnerabilityFeed`: a file (relative to the working directory) or an http(s) URL. */
export function loadFeed(context: CheckContext, location: string, scope: { release?: string; ecosystem?: string }, timeoutSeconds: number): Promise<FeedRead> {
  return context.memo(`${SUITE}:feed:${location}:${scope.release ?? ''}:${scope.ecosystem ?? ''}`, async () => {
    let text: string;
    let source: string;
    if (/^https?:\/\//i.test(location)) {
      source = location;
      const response = await fetch(location, { signal: AbortSignal.timeout(timeoutSeconds * 1000) }).catch((error: Error) => {
        throw new Error(`vulnerability feed ${location}: ${error.message}`);
      });
      if (!response.ok) throw new Error(`vulnerability feed ${location}: HTTP ${response.status} ${response.statusText}`);
      text = await response.text();
    } else {
      source = resolve(location.replace(/^file:\/\//, ''));
      text = await readFile(source, 'utf8').catch((error: Error) => {
        throw new Error(`vulnerability feed ${source}: ${error.message}`);
      });
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new Error(`vulnerability feed ${source} is not JSON: ${(error as Error).message}`, { cause: error });
    }
    return { feed: parseFeed(data, scope), source, bytes: Buffer.byteLength(text) };
  });
}

export interface GuestVerdict {
  status: 'pass' | 'fail' | 'skip';
  message: string;
  evidence: string;
}

/** Runs `check` on every guest the runner planned (one, for this suite); any failing guest fails the check. */
export async function onEveryGuest(context: CheckContext, check: (guest: GuestHandle) => Promise<GuestVerdict | CheckOutcome>): Promise<CheckOutcome> {
  const guests = context.guests;
  if (!guests.length) throw new Error(`${SUITE}: the runner planned no guest for this suite`);
  const verdicts = await Promise.all(guests.map(async (g) => normalise(await check(g))));
  if (guests.length === 1) {
    const v = verdicts[0]!;
    return { status: v.status, message: oneLine(v.message, 400), evidence: v.evidence };
  }
  const evidence = verdicts.map((v, i) => `=== ${guests[i]!.name} (${guests[i]!.address}) ===\n${v.evidence}`).join('\n\n');
  const pick = (status: GuestVerdict['status']) => verdicts.map((v, i) => ({ v, g: guests[i]! })).filter(({ v }) => v.status === status);
  const failing = pick('fail');
  if (failing.length) return fail(oneLine(failing.map(({ v, g }) => `${g.name}: ${v.message}`).join('; '), 400), evidence);
  if (pick('skip').length === verdicts.length) return skip(oneLine(verdicts[0]!.message, 400), evidence);
  return pass(oneLine([...new Set(verdicts.map((v) => v.message))].join('; '), 400), evidence);
}

function normalise(v: GuestVerdict | CheckOutcome): GuestVerdict {
  return { status: v.status, message: v.message, evidence: v.evidence ?? '' };
}

export const verdict = (ok: boolean, message: string, evidence: string): GuestVerdict => ({ status: ok ? 'pass' : 'fail', message, evidence });

/** `a, b, c (+2 more)` */
export function listSome(items: readonly string[], max = 5): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} (+${items.length - max} more)`;
}
