/** Host key files and sshd's configuration files: types, sizes, modes and owners. Pure functions, for tests. */

export interface FileStat {
  /** Permission bits, e.g. 0o600. */
  mode: number;
  owner: string;
  group: string;
  /** `f` regular file, `d` directory, `l` symbolic link... (find's %y), when known. */
  type?: string;
  path: string;
}

/** `stat -c '%a %U %G %n' PATH...` lines (missing files go to stderr). */
export function parseStat(text: string): Map<string, FileStat> {
  const out = new Map<string, FileStat>();
  for (const line of text.split('\n')) {
    const match = /^([0-7]{3,4}) (\S+) (\S+) (\/.*)$/.exec(line.trim());
    if (match) out.set(match[4]!, { mode: parseInt(match[1]!, 8), owner: match[2]!, group: match[3]!, path: match[4]! });
  }
  return out;
}

/** `find -L ... -printf '%m %u %g %y %p\n'` lines. */
export function parseFindPrintf(text: string): FileStat[] {
  const out: FileStat[] = [];
  for (const line of text.split('\n')) {
    const match = /^([0-7]{1,4}) (\S+) (\S+) (\S) (\/.*)$/.exec(line.trim());
    if (match) out.push({ mode: parseInt(match[1]!, 8), owner: match[2]!, group: match[3]!, type: match[4]!, path: match[5]! });
  }
  return out;
}

export interface KeyFingerprint {
  bits: number;
  fingerprint: string;
  comment: string;
  /** RSA, ECDSA, ED25519, DSA, ECDSA-SK, ED25519-SK */
  type: string;
}

/** `ssh-keygen -l -f FILE`: `3072 SHA256:GNXQ... root@host (RSA)`. */
export function parseKeygenList(text: string): KeyFingerprint | undefined {
  const match = /^(\d+)\s+(\S+)\s+(.*?)\s*\(([A-Z0-9-]+)\)\s*$/.exec(text.trim().split('\n')[0] ?? '');
  if (!match) return undefined;
  return { bits: Number(match[1]), fingerprint: match[2]!, comment: match[3]!, type: match[4]! };
}

const octal = (mode: number): string => mode.toString(8).padStart(4, '0');

export interface HostKeyFile {
  path: string;
  privateStat?: FileStat;
  publicStat?: FileStat;
  key?: KeyFingerprint;
}

export interface FileProblem {
  path: string;
  problem: string;
  /** The policy rule (./policy.ts) the problem breaks. */
  rule: string;
}

/**
 * A private host key must be owned by root and readable by root only (0600 or stricter), or, as
 * Fedora/RHEL ship them, 0640 with group ssh_keys. Public halves: root's, not group/world writable.
 * Types and sizes: no DSA, RSA >= 2048 (must) and >= minRsaBits (the hardened line), ECDSA >= 256.
 */
export function judgeHostKeyFiles(files: readonly HostKeyFile[], minRsaBits: number): FileProblem[] {
  const problems: FileProblem[] = [];
  const access = 'hostkey-file-access';
  for (const f of files) {
    const priv = f.privateStat;
    if (priv) {
      if (priv.owner !== 'root') problems.push({ path: f.path, problem: `owned by ${priv.owner}, not root`, rule: access });
      const groupOk = priv.group === 'ssh_keys' && (priv.mode & 0o037) === 0;
      if ((priv.mode & 0o077) !== 0 && !groupOk) problems.push({ path: f.path, problem: `mode ${octal(priv.mode)} (group ${priv.group}), want 0600 or 0640 group ssh_keys`, rule: access });
      if (priv.mode & 0o7000) problems.push({ path: f.path, problem: `setuid/setgid/sticky bits in mode ${octal(priv.mode)}`, rule: access });
    }
    const pub = f.publicStat;
    if (pub) {
      if (pub.owner !== 'root') problems.push({ path: pub.path, problem: `owned by ${pub.owner}, not root`, rule: access });
      if (pub.mode & 0o022) problems.push({ path: pub.path, problem: `group/world writable (mode ${octal(pub.mode)})`, rule: access });
    }
    if (f.key) {
      const { type, bits } = f.key;
      if (type === 'DSA') problems.push({ path: f.path, problem: `DSA key (${bits} bits)`, rule: 'hostkey-file-dsa' });
      else if (type === 'RSA' && bits < 2048) problems.push({ path: f.path, problem: `RSA key of ${bits} bits (< 2048)`, rule: 'hostkey-file-rsa-under-2048' });
      else if (type === 'RSA' && bits < minRsaBits) problems.push({ path: f.path, problem: `RSA key of ${bits} bits (< ${minRsaBits})`, rule: 'hostkey-file-rsa-small' });
      else if (type === 'ECDSA' && bits < 256) problems.push({ path: f.path, problem: `ECDSA key of ${bits} bits`, rule: 'hostkey-file-ecdsa-small' });
    }
  }
  return problems;
}

/** sshd_config, sshd_config.d and the drop-ins: owned by root, not writable by group or others. */
export function judgeConfigFiles(stats: readonly FileStat[]): FileProblem[] {
  const problems: FileProblem[] = [];
  for (const s of stats) {
    if (s.owner !== 'root') problems.push({ path: s.path, problem: `owned by ${s.owner}, not root`, rule: 'config-file-access' });
    if (s.mode & 0o022) problems.push({ path: s.path, problem: `${s.mode & 0o002 ? 'world' : 'group'} writable (mode ${octal(s.mode)})`, rule: 'config-file-access' });
  }
  return problems;
}

export function describeProblems(problems: readonly FileProblem[], max = 4): string {
  const parts = problems.slice(0, max).map((p) => `${p.path}: ${p.problem}`);
  return `${parts.join('; ')}${problems.length > max ? ` (+${problems.length - max} more)` : ''}`;
}

export const describeStat = (s: FileStat): string => `${octal(s.mode)} ${s.owner}:${s.group} ${s.path}`;
