/** The seeded user: exists, has passwordless sudo, and holds exactly the seeded keys. */
import type { Check, CheckContext, GuestHandle } from '../api.js';
import { readText, run, sshdEffective, type FileRead } from '../guest-data.js';
import { onEveryGuest, verdict, type GuestVerdict } from '../per-guest.js';
import { describeKey, keyId, oneLine, parseAuthorizedKeys, parseId, parseOpenSshKeyLine, parsePasswdHome, type OpenSshKey } from '../parse.js';

const SUDO_GROUPS = ['sudo', 'wheel', 'admin'];

async function userOn(guest: GuestHandle): Promise<GuestVerdict> {
  const user = guest.seed.user;
  const id = await run(guest, ['id', user]);
  const info = id.result.exitCode === 0 ? parseId(id.result.stdout) : undefined;
  if (!info) return verdict(false, `user '${user}' does not exist (id: ${oneLine(id.result.stderr || id.result.stdout, 100)})`, id.evidence);
  const sudo = await run(guest, ['sudo', '-n', 'true']);
  const rules = await run(guest, ['sudo', '-n', '-l']);
  const evidence = [id.evidence, sudo.evidence, rules.evidence].join('\n');
  const groups = info.groups.map((g) => g.name);
  if (sudo.result.exitCode !== 0) {
    return verdict(false, `passwordless sudo fails for '${user}': ${oneLine(sudo.result.stderr || `exit ${sudo.result.exitCode}`, 120)}`, evidence);
  }
  const group = groups.find((g) => SUDO_GROUPS.includes(g));
  const rule = rules.result.stdout
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /NOPASSWD/.test(l));
  if (!group && !rule) return verdict(false, `sudo -n true works for '${user}' but no sudo group membership or NOPASSWD rule explains it`, evidence);
  const why = [group ? `group ${group}` : '', rule ? `rule '${oneLine(rule, 60)}'` : ''].filter(Boolean).join(', ');
  return verdict(true, `user '${user}' exists (uid ${info.uid}) with passwordless sudo (${why})`, evidence);
}

export const userCheck: Check = {
  id: 'ci-user',
  title: 'the seeded user exists and has passwordless sudo',
  severity: 'must',
  run: (context) => onEveryGuest(context, (guest) => userOn(guest)),
};

/** AuthorizedKeysFile entries (sshd -T) as absolute paths for this user. */
export function expandAuthorizedKeysFiles(patterns: readonly string[], home: string, user: string, uid?: number): string[] {
  const out: string[] = [];
  for (const pattern of patterns) {
    if (pattern === 'none') continue;
    const expanded = pattern.replace(/%(.)/g, (whole, c: string) => (c === '%' ? '%' : c === 'h' ? home : c === 'u' ? user : c === 'U' && uid !== undefined ? String(uid) : whole));
    out.push(expanded.startsWith('/') ? expanded : `${home.replace(/\/$/, '')}/${expanded}`);
  }
  return [...new Set(out)];
}

/** Compares keys found against the seeded ones by type + base64. Pure, for tests. */
export function compareKeys(found: readonly OpenSshKey[], seeded: readonly OpenSshKey[]): { extra: OpenSshKey[]; missing: OpenSshKey[] } {
  const seededIds = new Set(seeded.map(keyId));
  const foundIds = new Set(found.map(keyId));
  const extra = found.filter((k, i) => !seededIds.has(keyId(k)) && found.findIndex((o) => keyId(o) === keyId(k)) === i);
  const missing = seeded.filter((k) => !foundIds.has(keyId(k)));
  return { extra, missing };
}

async function authorizedKeysOn(context: CheckContext, guest: GuestHandle): Promise<GuestVerdict> {
  const user = guest.seed.user;
  const seeded = guest.seed.authorizedKeys.map((line, i) => parseOpenSshKeyLine(line, i + 1));
  if (seeded.some((k) => !k)) throw new Error(`cloud-init-auth: the run's seed holds a key line that is not an OpenSSH public key: ${guest.seed.authorizedKeys.join(' | ')}`);
  const seededKeys = seeded as OpenSshKey[];

  const passwd = await run(guest, ['getent', 'passwd', user]);
  const home = parsePasswdHome(passwd.result.stdout) ?? `/home/${user}`;
  const evidence: string[] = [passwd.evidence];
  const primaryPath = `${home.replace(/\/$/, '')}/.ssh/authorized_keys`;

  // Every file sshd consults for this user counts: a key in authorized_keys2 logs in just as well.
  const sshd = await sshdEffective(context, guest, user);
  const patterns = sshd.settings.get('authorizedkeysfile')?.flatMap((v) => v.split(/\s+/)) ?? ['.ssh/authorized_keys', '.ssh/authorized_keys2'];
  const paths = [primaryPath, ...expandAuthorizedKeysFiles(patterns, home, user).filter((p) => p !== primaryPath)];
  evidence.push(sshd.ok ? `sshd -T authorizedkeysfile: ${patterns.join(' ')}` : `(sshd -T unreadable: ${sshd.problem}; assuming .ssh/authorized_keys .ssh/authorized_keys2)`);
  const command = sshd.settings.get('authorizedkeyscommand')?.[0];
  if (command && command !== 'none') evidence.push(`note: sshd also runs AuthorizedKeysCommand ${command} (not checked)`);

  const reads: FileRead[] = [];
  for (const path of paths) reads.push(await readText(guest, path));
  for (const read of reads) evidence.push(read.evidence);
  evidence.push('seeded keys:', ...seededKeys.map((k) => `  ${describeKey(k)}`));

  const primary = reads[0]!;
  if (primary.state !== 'ok') return verdict(false, `${primaryPath} is ${primary.state}`, evidence.join('\n'));
  const primaryKeys = parseAuthorizedKeys(primary.text);
  const { extra, missing } = compareKeys(primaryKeys.keys, seededKeys);
  const withOptions = primaryKeys.keys.filter((k) => k.options);
  if (withOptions.length) evidence.push(`note: options on ${withOptions.map((k) => `line ${k.line}: ${k.options}`).join('; ')}`);
  if (primaryKeys.invalid.length) evidence.push(`note: lines that are not keys: ${primaryKeys.invalid.map((l) => l.line).join(', ')}`);

  if (missing.length) {
    return verdict(
      false,
      `${primaryPath} lacks ${missing.length} seeded key${missing.length > 1 ? 's' : ''}: ${describeKey(missing[0]!)}${extra.length ? `; and has ${extra.length} extra` : ''}`,
      evidence.join('\n'),
    );
  }
  if (extra.length) {
    return verdict(false, `${primaryPath} has ${extra.length} key${extra.length > 1 ? 's that were' : ' that was'} not seeded: ${describeKey(extra[0]!)}`, evidence.join('\n'));
  }
  for (const read of reads.slice(1)) {
    if (read.state !== 'ok') continue;
    const other = compareKeys(parseAuthorizedKeys(read.text).keys, seededKeys).extra;
    if (other.length)
      return verdict(false, `${read.path} (also read by sshd) holds ${other.length} key${other.length > 1 ? 's that were' : ' that was'} not seeded: ${describeKey(other[0]!)}`, evidence.join('\n'));
  }
  return verdict(true, `${primaryPath} holds exactly the ${seededKeys.length} seeded key${seededKeys.length > 1 ? 's' : ''}`, evidence.join('\n'));
}

export const authorizedKeysCheck: Check = {
  id: 'ci-authorized-keys',
  title: "the user's authorized_keys holds exactly the seeded keys",
  severity: 'must',
  tags: ['ssh', 'security'],
  run: (context) => onEveryGuest(context, (guest) => authorizedKeysOn(context, guest)),
};
