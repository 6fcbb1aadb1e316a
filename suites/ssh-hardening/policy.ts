/**
 * Policy profiles: every rule a check judges by, its severity under each profile, and where the rule
 * comes from. A check's outcome carries the severity of the worst rule it found broken under the
 * run's profile (or the per-check override from the config), so the check ids never change with the
 * profile, only the weight of a failure does.
 *
 * - `baseline` (default): `must` is what the field agrees is a defect: password-style logins, root
 *   with a password, algorithms and key types OpenSSH itself removed from its defaults or never
 *   enabled. What OpenSSH still enables by default but ssh-audit or CIS criticise is `should`, so an
 *   image on Debian's stock sshd_config (password login off) passes with `should` findings only.
 * - `cis-level1`: CIS Debian Linux 12 Benchmark Level 1 (Server) SSH items become `must` too.
 * - `strict`: everything the suite criticises is `must`, ssh-audit's [warn] items included (the
 *   suite's hardened line before profiles existed).
 *
 * CIS item numbers follow section 5.1 "Configure SSH Server" of the CIS Debian Linux 12 Benchmark.
 * Plain data, exported so `imgtest suites` can print it.
 */
import type { Severity } from './api.js';

export const PROFILES = ['baseline', 'cis-level1', 'strict'] as const;
export type Profile = (typeof PROFILES)[number];

export interface PolicyRule {
  /** Stable rule id, named in failure messages. */
  id: string;
  /** The check that judges by this rule. */
  check: string;
  /** What breaks the rule, in a few words. */
  title: string;
  severity: Record<Profile, Severity>;
  /** Where the rule comes from (release notes, benchmark item, tool rating, documentation). */
  source: string;
}

const all = (s: Severity): Record<Profile, Severity> => ({ baseline: s, 'cis-level1': s, strict: s });
/** `should` under baseline, `must` under cis-level1 and strict: a CIS Level 1 item. */
const cis: Record<Profile, Severity> = { baseline: 'should', 'cis-level1': 'must', strict: 'must' };
/** `must` only under strict: criticised by ssh-audit or the suite's hardened line, not a CIS Level 1 item. */
const strictOnly: Record<Profile, Severity> = { baseline: 'should', 'cis-level1': 'should', strict: 'must' };

export const POLICY_RULES: readonly PolicyRule[] = [
  // Authentication (sshd -T).
  {
    id: 'password-login',
    check: 'ssh-password-auth',
    title: 'password authentication on',
    severity: all('must'),
    source: 'cloud-init documentation (Set Passwords module, ssh_pwauth): cloud images log in with the seeded keys; a password login exposes every account with a password to guessing',
  },
  {
    id: 'kbdinteractive-login',
    check: 'ssh-kbdinteractive-auth',
    title: 'keyboard-interactive authentication on',
    severity: all('must'),
    source: "sshd_config(5) KbdInteractiveAuthentication: through PAM it is password login by another name; Debian's own sshd_config turns it off",
  },
  {
    id: 'empty-passwords',
    check: 'ssh-empty-passwords',
    title: 'empty passwords accepted',
    severity: all('must'),
    source: 'sshd_config(5) PermitEmptyPasswords (OpenSSH default no); CIS Debian Linux 12 Benchmark 5.1.19 "Ensure sshd PermitEmptyPasswords is disabled"',
  },
  {
    id: 'root-password-login',
    check: 'ssh-root-login',
    title: 'root may log in with a password (PermitRootLogin yes)',
    severity: all('must'),
    source: 'OpenSSH 7.0 release notes: PermitRootLogin defaults to prohibit-password; CIS Debian Linux 12 Benchmark 5.1.20 "Ensure sshd PermitRootLogin is disabled"',
  },
  {
    id: 'root-login',
    check: 'ssh-root-login-no',
    title: 'root may log in at all (PermitRootLogin not no)',
    severity: cis,
    source: 'CIS Debian Linux 12 Benchmark 5.1.20 "Ensure sshd PermitRootLogin is disabled" (Level 1)',
  },
  {
    id: 'pubkey-off',
    check: 'ssh-pubkey-auth',
    title: 'public key authentication off',
    severity: all('must'),
    source: 'cloud-init documentation (ssh_authorized_keys): the seeded keys are the way in; sshd_config(5) PubkeyAuthentication (OpenSSH default yes)',
  },
  {
    id: 'forwarding',
    check: 'ssh-forwarding',
    title: 'X11, agent or TCP forwarding, tunnels or gateway ports allowed',
    severity: strictOnly,
    source: 'CIS Debian Linux 12 Benchmark 5.1.8 "Ensure sshd DisableForwarding is enabled" (a Level 2 item, so not raised by cis-level1); OpenSSH allows agent and TCP forwarding by default',
  },
  {
    id: 'max-auth-tries',
    check: 'ssh-max-auth-tries',
    title: 'MaxAuthTries above the limit',
    severity: cis,
    source: 'CIS Debian Linux 12 Benchmark 5.1.16 "Ensure sshd MaxAuthTries is configured" (4 or less; OpenSSH default 6)',
  },
  {
    id: 'login-grace-time',
    check: 'ssh-login-grace-time',
    title: 'LoginGraceTime above the limit, or 0 (unlimited)',
    severity: cis,
    source: 'CIS Debian Linux 12 Benchmark 5.1.13 "Ensure sshd LoginGraceTime is configured" (1 to 60 s; OpenSSH default 120)',
  },
  {
    id: 'user-environment',
    check: 'ssh-permit-user-environment',
    title: 'users may set environment variables for sshd',
    severity: all('must'),
    source:
      'sshd_config(5) PermitUserEnvironment (OpenSSH default no: "may enable users to bypass access restrictions ... LD_PRELOAD"); CIS Debian Linux 12 Benchmark 5.1.21 "Ensure sshd PermitUserEnvironment is disabled"',
  },
  {
    id: 'hostbased-trust',
    check: 'ssh-hostbased-auth',
    title: 'host-based trust (HostbasedAuthentication yes or IgnoreRhosts no)',
    severity: all('must'),
    source:
      'OpenSSH defaults HostbasedAuthentication no, IgnoreRhosts yes; CIS Debian Linux 12 Benchmark 5.1.10 "Ensure sshd HostbasedAuthentication is disabled", 5.1.11 "Ensure sshd IgnoreRhosts is enabled"',
  },
  {
    id: 'config-rejected',
    check: 'ssh-config-test',
    title: 'sshd -t rejects the configuration',
    severity: all('must'),
    source: 'sshd(8) -t: a configuration sshd rejects keeps sshd from starting or reloading',
  },
  {
    id: 'config-warnings',
    check: 'ssh-config-test',
    title: 'sshd -t warns (deprecated or unsupported options)',
    severity: strictOnly,
    source: 'sshd(8) -t: sshd starts, but the configuration says something it does not do',
  },
  {
    id: 'service-off',
    check: 'ssh-service',
    title: 'the SSH service is not enabled or not running',
    severity: all('must'),
    source: 'a cloud image is reached over SSH: the service must start at boot (Debian enables ssh.service in openssh-server)',
  },

  // Ciphers (offered, seen from outside).
  {
    id: 'cipher-cbc',
    check: 'ssh-weak-ciphers',
    title: 'CBC-mode ciphers',
    severity: all('must'),
    source: 'OpenSSH 6.7 release notes: sshd disabled CBC ciphers and arcfour by default; OpenSSH 7.6 stopped offering CBC in ssh too',
  },
  {
    id: 'cipher-3des',
    check: 'ssh-weak-ciphers',
    title: '3DES',
    severity: all('must'),
    source: "OpenSSH 6.7 release notes (3des-cbc out of sshd's defaults as a CBC cipher); OpenSSH 7.4 release notes: 3des-cbc removed from the client too (64-bit block, SWEET32)",
  },
  {
    id: 'cipher-arcfour',
    check: 'ssh-weak-ciphers',
    title: 'RC4 (arcfour)',
    severity: all('must'),
    source: 'OpenSSH 6.7 release notes: arcfour disabled in sshd by default; OpenSSH 7.6 release notes: arcfour removed',
  },
  {
    id: 'cipher-64bit-block',
    check: 'ssh-weak-ciphers',
    title: 'blowfish, CAST128, IDEA (64-bit blocks)',
    severity: all('must'),
    source: 'OpenSSH 6.7 release notes (CBC ciphers off in sshd); OpenSSH 7.6 release notes: blowfish and CAST removed',
  },
  {
    id: 'cipher-never-default',
    check: 'ssh-weak-ciphers',
    title: 'no encryption, single DES, or ciphers OpenSSH never enabled',
    severity: all('must'),
    source: "never in OpenSSH's default Ciphers (sshd_config(5)); RFC 4253 section 6.3 warns against none",
  },

  // MACs.
  {
    id: 'mac-md5',
    check: 'ssh-weak-macs',
    title: 'MD5-based MACs',
    severity: all('must'),
    source: 'OpenSSH 7.2 release notes: MD5-based and truncated HMACs disabled in ssh, "already disabled by default in sshd" (since 6.7)',
  },
  {
    id: 'mac-truncated',
    check: 'ssh-weak-macs',
    title: 'truncated (96-bit) HMACs',
    severity: all('must'),
    source: 'OpenSSH 7.2 release notes: MD5-based and truncated HMACs disabled in ssh, "already disabled by default in sshd" (since 6.7)',
  },
  { id: 'mac-ripemd160', check: 'ssh-weak-macs', title: 'RIPEMD-160 MACs', severity: all('must'), source: 'OpenSSH 7.6 release notes: hmac-ripemd160 removed' },
  { id: 'mac-none', check: 'ssh-weak-macs', title: 'no MAC', severity: all('must'), source: "never in OpenSSH's default MACs (sshd_config(5))" },
  {
    id: 'mac-64bit-tag',
    check: 'ssh-weak-macs',
    title: 'umac-64 (64-bit tags)',
    severity: cis,
    source:
      'CIS Debian Linux 12 Benchmark 5.1.15 "Ensure sshd MACs are configured" (umac-64 and umac-64-etm listed as weak); ssh-audit 2.5 [warn] using small 64-bit tag size; still an OpenSSH default',
  },
  {
    id: 'mac-sha1',
    check: 'ssh-weak-macs',
    title: 'SHA-1 MACs (hmac-sha1, hmac-sha1-etm)',
    severity: strictOnly,
    source: "ssh-audit 2.5 [warn] using weak hashing algorithm; still an OpenSSH default (sshd_config(5) MACs), not in CIS 5.1.15's weak list",
  },
  {
    id: 'mac-encrypt-and-mac',
    check: 'ssh-weak-macs',
    title: 'encrypt-and-MAC (not -etm) MACs',
    severity: strictOnly,
    source: 'ssh-audit 2.5 [warn] using encrypt-and-MAC mode; still OpenSSH defaults (sshd_config(5) MACs)',
  },

  // Key exchange.
  {
    id: 'kex-group1-sha1',
    check: 'ssh-weak-kex',
    title: 'diffie-hellman-group1-sha1',
    severity: all('must'),
    source: 'OpenSSH 7.0 release notes: the 1024-bit diffie-hellman-group1-sha1 key exchange is disabled by default (openssh.com/legacy.html: within range of Logjam)',
  },
  {
    id: 'kex-group14-sha1',
    check: 'ssh-weak-kex',
    title: 'diffie-hellman-group14-sha1',
    severity: all('must'),
    source: 'OpenSSH 8.2 release notes: diffie-hellman-group14-sha1 removed from the default key exchange proposal of client and server',
  },
  {
    id: 'kex-gex-sha1',
    check: 'ssh-weak-kex',
    title: 'diffie-hellman-group-exchange-sha1',
    severity: all('must'),
    source: "not in sshd's default KexAlgorithms since OpenSSH 7.x (myproposal.h: client proposal only), SHA-1 (openssh.com/legacy.html)",
  },
  {
    id: 'kex-sha1',
    check: 'ssh-weak-kex',
    title: 'other SHA-1 key exchanges',
    severity: all('must'),
    source: "SHA-1 key exchanges are not in sshd's default KexAlgorithms (OpenSSH 8.2 release notes removed the last one)",
  },
  { id: 'kex-rsa', check: 'ssh-weak-kex', title: 'RSA key transport (RFC 4432)', severity: all('must'), source: 'never implemented or enabled by OpenSSH (sshd_config(5) KexAlgorithms)' },
  {
    id: 'kex-dh-under-2048',
    check: 'ssh-weak-kex',
    title: 'Diffie-Hellman groups or moduli under 2048 bits',
    severity: all('must'),
    source: 'OpenSSH 7.2 release notes: the minimum diffie-hellman-group-exchange modulus raised to 2048 bits',
  },
  {
    id: 'kex-dh-small',
    check: 'ssh-weak-kex',
    title: 'Diffie-Hellman groups or moduli under minDhModulusBits (default 3072)',
    severity: strictOnly,
    source:
      "the suite's hardened line (3072 bits, NIST SP 800-57 128-bit strength); OpenSSH still offers diffie-hellman-group14-sha256 and 2048-bit group exchange by default, ssh-audit 2.5 rates them [info]",
  },
  {
    id: 'kex-nist-curves',
    check: 'ssh-weak-kex',
    title: 'ECDH on NIST curves (ecdh-sha2-nistp*)',
    severity: strictOnly,
    source: "ssh-audit 2.5 [fail] using weak elliptic curves; yet an OpenSSH default and accepted by Mozilla's OpenSSH guidelines",
  },

  // Host keys (offered, seen from outside, and the files).
  {
    id: 'hostkey-dsa',
    check: 'ssh-weak-hostkeys',
    title: 'DSA host keys',
    severity: all('must'),
    source: 'OpenSSH 7.0 release notes: ssh-dss disabled by default at run time; OpenSSH 10.0 release notes: DSA support removed',
  },
  {
    id: 'hostkey-ssh-rsa-sha1',
    check: 'ssh-weak-hostkeys',
    title: 'RSA signatures with SHA-1 (ssh-rsa)',
    severity: all('must'),
    source: 'OpenSSH 8.8 release notes: RSA signatures using SHA-1 (ssh-rsa) disabled by default',
  },
  { id: 'hostkey-legacy-cert', check: 'ssh-weak-hostkeys', title: 'legacy v00 certificates', severity: all('must'), source: 'OpenSSH 7.0 release notes: the legacy v00 certificate format removed' },
  {
    id: 'rsa-under-2048',
    check: 'ssh-weak-hostkeys',
    title: 'RSA keys under 2048 bits',
    severity: all('must'),
    source: 'NIST SP 800-131A: RSA under 2048 bits disallowed; ssh-keygen has not made such keys for a decade (3072 by default since OpenSSH 8.0)',
  },
  {
    id: 'rsa-small',
    check: 'ssh-weak-hostkeys',
    title: 'RSA keys under minRsaBits (default 3072)',
    severity: strictOnly,
    source: 'OpenSSH 8.0 release notes: ssh-keygen makes 3072-bit RSA keys by default; ssh-audit [warn] 2048-bit modulus',
  },
  {
    id: 'hostkey-nist-curves',
    check: 'ssh-weak-hostkeys',
    title: 'ECDSA host keys on NIST curves',
    severity: strictOnly,
    source: "ssh-audit 2.5 [fail] using weak elliptic curves; yet an OpenSSH default host key and accepted by Mozilla's OpenSSH guidelines",
  },
  {
    id: 'hostkey-file-dsa',
    check: 'ssh-hostkey-files',
    title: 'a DSA host key file',
    severity: all('must'),
    source: 'OpenSSH 7.0 release notes: ssh-dss disabled by default; OpenSSH 10.0: DSA removed; Debian NEWS (9.1): ssh-keygen -A no longer makes DSA keys',
  },
  { id: 'hostkey-file-rsa-under-2048', check: 'ssh-hostkey-files', title: 'an RSA host key under 2048 bits', severity: all('must'), source: 'NIST SP 800-131A: RSA under 2048 bits disallowed' },
  {
    id: 'hostkey-file-rsa-small',
    check: 'ssh-hostkey-files',
    title: 'an RSA host key under minRsaBits (default 3072)',
    severity: strictOnly,
    source: 'OpenSSH 8.0 release notes: ssh-keygen makes 3072-bit RSA keys by default',
  },
  {
    id: 'hostkey-file-ecdsa-small',
    check: 'ssh-hostkey-files',
    title: 'an ECDSA host key under 256 bits',
    severity: all('must'),
    source: "ssh-keygen(1): ECDSA keys are 256, 384 or 521 bits; anything else is not OpenSSH's",
  },
  {
    id: 'hostkey-file-access',
    check: 'ssh-hostkey-files',
    title: "host key files readable or writable by others, or not root's",
    severity: all('must'),
    source:
      'sshd(8) FILES: private host keys readable by root only; CIS Debian Linux 12 Benchmark 5.1.2 "Ensure access to SSH private host key files is configured", 5.1.3 "... public host key files ..."',
  },
  {
    id: 'hostkey-file-missing',
    check: 'ssh-hostkey-files',
    title: 'no host key file, or one ssh-keygen cannot read',
    severity: all('must'),
    source: 'sshd(8): without a readable host key sshd does not start',
  },
  {
    id: 'config-file-access',
    check: 'ssh-config-perms',
    title: "sshd_config or a drop-in writable by others, or not root's",
    severity: all('must'),
    source: 'CIS Debian Linux 12 Benchmark 5.1.1 "Ensure access to /etc/ssh/sshd_config is configured"; sshd(8) reads it as root',
  },

  // What the run's own config asked for (algorithms.<category>.allow / forbid).
  {
    id: 'configured-policy',
    check: '*',
    title: "an algorithm outside the allow list or matching a forbid pattern of the run's config",
    severity: all('must'),
    source: "the run's config (suites.ssh-hardening.algorithms)",
  },
];

const byId = new Map(POLICY_RULES.map((r) => [r.id, r]));

export function ruleById(id: string): PolicyRule {
  const rule = byId.get(id);
  if (!rule) throw new Error(`ssh-hardening: no policy rule ${id}`);
  return rule;
}

const rank = (s: Severity): number => (s === 'must' ? 2 : 1);
export const worst = (severities: readonly Severity[]): Severity => (severities.some((s) => s === 'must') ? 'must' : 'should');

/** The ids of every check that has rules, in table order. */
export const POLICY_CHECK_IDS: readonly string[] = [...new Set(POLICY_RULES.map((r) => r.check).filter((c) => c !== '*'))];

/** A check's severity under a profile when nothing was found: its heaviest rule (what a failure could weigh). */
export function checkSeverity(checkId: string, profile: Profile): Severity {
  const rules = POLICY_RULES.filter((r) => r.check === checkId);
  return rules.length ? worst(rules.map((r) => r.severity[profile])) : 'must';
}

export interface SeverityChoice {
  profile: Profile;
  /** Per-check overrides from the config (`severity: { <check-id>: must|should }`). */
  overrides: Readonly<Record<string, Severity>>;
}

/** The severity a failure weighs: the config's override for the check, else the heaviest broken rule under the profile. */
export function failureSeverity(checkId: string, ruleIds: readonly string[], choice: SeverityChoice): Severity {
  const override = choice.overrides[checkId];
  if (override) return override;
  if (!ruleIds.length) return checkSeverity(checkId, choice.profile);
  return ruleIds.map((id) => ruleById(id).severity[choice.profile]).reduce((a, b) => (rank(a) >= rank(b) ? a : b));
}

/** The severity a pass is reported with: the override, else the check's heaviest rule under the profile. */
export function passSeverity(checkId: string, choice: SeverityChoice): Severity {
  return choice.overrides[checkId] ?? checkSeverity(checkId, choice.profile);
}

/** `rule mac-sha1 (should under baseline: ssh-audit 2.5 [warn] ...)`, for failure messages. */
export function describeRules(ruleIds: readonly string[], profile: Profile): string {
  // The heaviest first: when a long message is cut, what decides the severity is still in it.
  const ordered = [...new Set(ruleIds)].sort((x, y) => rank(ruleById(y).severity[profile]) - rank(ruleById(x).severity[profile]));
  return ordered
    .map((id) => {
      const rule = ruleById(id);
      return `rule ${rule.id} (${rule.severity[profile]} under ${profile}): ${rule.source}`;
    })
    .join('; ');
}

/** One row per check and rule, for `imgtest suites` and the README: plain data. */
export interface PolicyTableRow {
  check: string;
  rule: string;
  title: string;
  baseline: Severity;
  'cis-level1': Severity;
  strict: Severity;
  source: string;
}

export const POLICY_TABLE: readonly PolicyTableRow[] = POLICY_RULES.map((r) => ({
  check: r.check,
  rule: r.id,
  title: r.title,
  baseline: r.severity.baseline,
  'cis-level1': r.severity['cis-level1'],
  strict: r.severity.strict,
  source: r.source,
}));

/**
 * The table as plain text for `imgtest suites` (the suite's `details`): one line per rule with its
 * check and its severity under each profile, in table order; sources are in README (too long for a
 * terminal line).
 */
export function policyTableText(rows: readonly PolicyTableRow[] = POLICY_TABLE): string {
  const header = { check: 'check', rule: 'rule', baseline: 'baseline', 'cis-level1': 'cis-level1', strict: 'strict', title: 'what breaks it' };
  const width = (key: 'check' | 'rule') => Math.max(header[key].length, ...rows.map((r) => r[key].length));
  const [wc, wr] = [width('check'), width('rule')];
  const line = (r: typeof header) => `  ${r.check.padEnd(wc)}  ${r.rule.padEnd(wr)}  ${r.baseline.padEnd(8)}  ${r['cis-level1'].padEnd(10)}  ${r.strict.padEnd(6)}  ${r.title}`.trimEnd();
  return [
    `Severity per policy profile (suites.ssh-hardening.policy: ${PROFILES.join(' | ')}; default baseline).`,
    'A failed check weighs what its heaviest broken rule weighs; suites.ssh-hardening.severity.<check-id>',
    'overrides that. Where each rule comes from: README, "SSH hardening".',
    line(header),
    ...rows.map((r) => line({ check: r.check, rule: r.rule, baseline: r.baseline, 'cis-level1': r['cis-level1'], strict: r.strict, title: r.title })),
  ].join('\n');
}
