/**
 * Host keys made at this boot: newer than the boot, different between two guests of one image, and
 * the same as the guest printed on its serial console. (Flawed images that bake host keys still pass
 * here, because cloud-init's ssh_deletekeys regenerates them; the offline hygiene suite catches those.)
 */
import type { Check, CheckContext, CheckOutcome, GuestHandle } from '../api.js';
import { fail, pass } from '../api.js';
import { readText, run } from '../guest-data.js';
import { guestHeader, requireGuests } from '../per-guest.js';
import { describeKey, fingerprint, keyId, oneLine, parseBtime, parseFindMtimes, parseOpenSshKeyLine, type OpenSshKey } from '../parse.js';

export const FIND_HOST_KEYS = ['find', '/etc/ssh', '-maxdepth', '1', '-name', 'ssh_host_*_key.pub', '-printf', '%T@ %p\\n'];

interface GuestHostKeys {
  guest: GuestHandle;
  btime?: number;
  files: { path: string; mtime: number; key?: OpenSshKey }[];
  evidence: string[];
  problems: string[];
  notes: string[];
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

async function readHostKeys(guest: GuestHandle): Promise<GuestHostKeys> {
  const out: GuestHostKeys = { guest, files: [], evidence: [], problems: [], notes: [] };
  const stat = await run(guest, ['cat', '/proc/stat']);
  out.btime = parseBtime(stat.result.stdout);
  const btimeLine = stat.result.stdout.split('\n').find((l) => l.startsWith('btime')) ?? '(no btime line)';
  out.evidence.push(`$ cat /proc/stat | grep btime   (exit ${stat.result.exitCode})\n${btimeLine}${out.btime ? `   = ${iso(out.btime)}` : ''}`);
  if (out.btime === undefined) out.problems.push('boot time unreadable (/proc/stat has no btime)');

  const listing = await run(guest, FIND_HOST_KEYS);
  out.evidence.push(listing.evidence);
  const files = parseFindMtimes(listing.result.stdout).sort((a, b) => a.path.localeCompare(b.path));
  if (!files.length) {
    out.problems.push('no /etc/ssh/ssh_host_*_key.pub host keys');
    return out;
  }
  for (const file of files) {
    const read = await readText(guest, file.path);
    out.evidence.push(read.evidence);
    const key = read.state === 'ok' ? parseOpenSshKeyLine(read.text.trim().split('\n')[0] ?? '') : undefined;
    if (!key) out.problems.push(`${file.path} is not a readable public key`);
    out.files.push({ ...file, key });
  }

  if (out.btime !== undefined) {
    const btime = out.btime;
    const stale = files.filter((f) => f.mtime <= btime);
    out.evidence.push(files.map((f) => `${f.path}: mtime ${iso(Math.floor(f.mtime))} ${f.mtime > btime ? '>' : '<='} boot ${iso(btime)}`).join('\n'));
    if (stale.length) out.problems.push(`${stale.map((f) => f.path.replace('/etc/ssh/', '')).join(', ')} older than this boot (mtime ${iso(Math.floor(stale[0]!.mtime))}, boot ${iso(btime)})`);
  }

  // What the guest printed on its serial console at boot must be what is on disk now.
  if (!guest.consoleHostKeys.length) {
    out.notes.push('the serial console showed no host keys (no BEGIN SSH HOST KEY KEYS block): console comparison skipped');
  } else {
    const onDisk = new Map(out.files.filter((f) => f.key).map((f) => [keyId(f.key!), f.key!]));
    const consoleKeys = guest.consoleHostKeys.map((line) => ({ line, key: parseOpenSshKeyLine(line) }));
    out.evidence.push(`serial console host keys:\n${consoleKeys.map((c) => `  ${c.key ? describeKey(c.key) : `(unparsed) ${oneLine(c.line, 80)}`}`).join('\n')}`);
    const differing = consoleKeys.filter((c) => !c.key || !onDisk.has(keyId(c.key)));
    if (differing.length) {
      const first = differing[0]!;
      out.problems.push(`host key printed on the serial console is not in /etc/ssh: ${first.key ? describeKey(first.key) : oneLine(first.line, 60)}`);
    } else {
      out.notes.push(`all ${consoleKeys.length} host keys printed on the serial console match /etc/ssh`);
    }
  }
  return out;
}

/** The key used to tell guests apart: ed25519 when both have it, else the first type both have. */
export function comparableKeys(a: readonly OpenSshKey[], b: readonly OpenSshKey[]): { type: string; a: OpenSshKey; b: OpenSshKey } | undefined {
  const types = ['ssh-ed25519', ...a.map((k) => k.type)];
  for (const type of types) {
    const ka = a.find((k) => k.type === type);
    const kb = b.find((k) => k.type === type);
    if (ka && kb) return { type, a: ka, b: kb };
  }
  return undefined;
}

export async function hostKeysFresh(context: CheckContext): Promise<CheckOutcome> {
  const guests = requireGuests(context);
  const perGuest = await Promise.all(guests.map((g) => readHostKeys(g)));
  const evidence = perGuest.map((g, i) => [guestHeader(g.guest, i), ...g.evidence, ...g.notes.map((n) => `note: ${n}`)].join('\n'));
  const problems = perGuest.flatMap((g) => g.problems.map((p) => (guests.length > 1 ? `${g.guest.name}: ${p}` : p)));

  let across: string;
  if (guests.length < 2) {
    across = 'only one guest: nothing compared across guests';
    evidence.push(`note: ${across}`);
  } else {
    const [first, second] = perGuest as [GuestHostKeys, GuestHostKeys];
    const pair = comparableKeys(
      first.files.flatMap((f) => (f.key ? [f.key] : [])),
      second.files.flatMap((f) => (f.key ? [f.key] : [])),
    );
    if (!pair) {
      across = 'no host key type common to both guests';
      problems.push(`cannot compare host keys across guests: ${across}`);
    } else {
      const fa = fingerprint(pair.a.base64);
      const fb = fingerprint(pair.b.base64);
      evidence.push(`${pair.type}: ${first.guest.name} ${fa}\n${pair.type}: ${second.guest.name} ${fb}`);
      if (keyId(pair.a) === keyId(pair.b)) problems.unshift(`${first.guest.name} and ${second.guest.name} share the ${pair.type} host key ${fa}`);
      across = `${pair.type} ${fa} differs from ${fb}`;
    }
  }

  const allEvidence = evidence.join('\n\n');
  if (problems.length) return fail(oneLine(`${problems[0]}${problems.length > 1 ? ` (+${problems.length - 1} more)` : ''}`, 300), allEvidence);
  const printed = perGuest.filter((g) => g.guest.consoleHostKeys.length).length;
  const console =
    printed === perGuest.length
      ? '; match the serial console'
      : printed === 0
        ? '; console comparison skipped (no keys printed)'
        : `; match the serial console on ${printed} of ${perGuest.length} guests`;
  return pass(oneLine(`host keys generated this boot${guests.length > 1 ? ` on all ${guests.length} guests` : ''}; ${across}${console}`, 300), allEvidence);
}

export const hostKeysCheck: Check = {
  id: 'ci-hostkeys-fresh',
  title: 'SSH host keys were generated at this boot and differ between guests',
  severity: 'must',
  tags: ['ssh', 'security'],
  run: hostKeysFresh,
};
