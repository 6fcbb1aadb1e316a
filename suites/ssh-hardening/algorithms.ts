/**
 * The algorithms an SSH server offers, as seen from the outside, and the rules to judge them.
 *
 * Every pattern names the policy rule it breaks (./policy.ts), so a finding carries its own weight
 * under the run's profile: CBC, SHA-1 key exchange or DSA are `must` everywhere (OpenSSH itself dropped
 * them from its defaults), NIST curves, SHA-1 ETM MACs, umac-64 or 2048-bit groups are `should` under
 * baseline (OpenSSH still enables them) and `must` under strict. The strict line follows ssh-audit's
 * policies, Mozilla's modern OpenSSH guideline and dev-sec's ssh-baseline.
 */

export type Category = 'ciphers' | 'macs' | 'kex' | 'hostKeys';

export interface OfferedKex {
  name: string;
  /** Smallest group-exchange modulus the server accepted (ssh-audit measures this). */
  modulusBits?: number;
}

export interface OfferedHostKey {
  name: string;
  /** RSA key size (ssh-audit; the builtin probe gets it from ssh-keyscan). */
  keyBits?: number;
  /** RSA CA key size for certificate algorithms. */
  caBits?: number;
}

export interface OfferedAlgorithms {
  source: 'ssh-audit' | 'builtin';
  banner?: string;
  kex: OfferedKex[];
  hostKeys: OfferedHostKey[];
  ciphers: string[];
  macs: string[];
  /** What the probe could not measure (said in the message, never taken as a pass). */
  unmeasured: Partial<Record<Category, string>>;
  /** ssh-audit's own fail/warn notes per algorithm (ssh-audit >= 3 puts them in its JSON), for evidence. */
  toolNotes: Partial<Record<Category, string[]>>;
}

export interface CategoryPolicy {
  allow?: readonly string[];
  forbid?: readonly string[];
}

export interface AlgorithmPolicy {
  ciphers: CategoryPolicy;
  macs: CategoryPolicy;
  kex: CategoryPolicy;
  hostKeys: CategoryPolicy;
  /** Below this: rule rsa-small (under 2048 bits: rsa-under-2048). */
  minRsaBits: number;
  /** Below this: rule kex-dh-small (under 2048 bits: kex-dh-under-2048). */
  minDhModulusBits: number;
}

interface Rule {
  pattern: RegExp;
  reason: string;
  /** The policy rule (./policy.ts) that gives the finding its severity and source. */
  rule: string;
}

/** The built-in rules: patterns with the reason shown in the message and the policy rule they break. */
export const DEFAULT_RULES: Record<Category, readonly Rule[]> = {
  ciphers: [
    { pattern: /-cbc(@|$)/i, reason: 'CBC mode', rule: 'cipher-cbc' },
    { pattern: /^3des/i, reason: '3DES', rule: 'cipher-3des' },
    { pattern: /^des(-|@|$)/i, reason: 'single DES', rule: 'cipher-never-default' },
    { pattern: /^arcfour/i, reason: 'RC4', rule: 'cipher-arcfour' },
    { pattern: /^(blowfish|cast128|idea)/i, reason: '64-bit block cipher', rule: 'cipher-64bit-block' },
    { pattern: /^(twofish|serpent|seed)/i, reason: 'obsolete cipher', rule: 'cipher-never-default' },
    { pattern: /^none$/i, reason: 'no encryption', rule: 'cipher-never-default' },
  ],
  macs: [
    { pattern: /md5/i, reason: 'MD5', rule: 'mac-md5' },
    { pattern: /-96([-@]|$)/i, reason: '96-bit tag', rule: 'mac-truncated' },
    { pattern: /ripemd/i, reason: 'RIPEMD-160', rule: 'mac-ripemd160' },
    { pattern: /^none$/i, reason: 'no MAC', rule: 'mac-none' },
    { pattern: /^umac-64/i, reason: '64-bit tag', rule: 'mac-64bit-tag' },
    { pattern: /sha1/i, reason: 'SHA-1', rule: 'mac-sha1' },
    { pattern: /^(?!.*-etm@openssh\.com$)(?!none$)/i, reason: 'encrypt-and-MAC, not -etm', rule: 'mac-encrypt-and-mac' },
  ],
  kex: [
    { pattern: /^diffie-hellman-group1-sha1$/i, reason: 'SHA-1', rule: 'kex-group1-sha1' },
    { pattern: /^diffie-hellman-group14-sha1$/i, reason: 'SHA-1', rule: 'kex-group14-sha1' },
    { pattern: /^diffie-hellman-group-exchange-sha1$/i, reason: 'SHA-1', rule: 'kex-gex-sha1' },
    { pattern: /^(?!diffie-hellman-group(1|14|-exchange)-sha1$).*sha1/i, reason: 'SHA-1', rule: 'kex-sha1' },
    { pattern: /^rsa(1024|2048)-/i, reason: 'RSA key exchange', rule: 'kex-rsa' },
    { pattern: /^ecdh-sha2-nistp/i, reason: 'NIST curve', rule: 'kex-nist-curves' },
  ],
  hostKeys: [
    { pattern: /^(ssh-dss|x509v3-ssh-dss)/i, reason: 'DSA', rule: 'hostkey-dsa' },
    { pattern: /^(ssh-rsa|ssh-rsa-cert-v01@openssh\.com|x509v3-(sign|ssh)-rsa)$/i, reason: 'SHA-1 signatures', rule: 'hostkey-ssh-rsa-sha1' },
    { pattern: /^ssh-rsa-cert-v00@/i, reason: 'legacy certificate format', rule: 'hostkey-legacy-cert' },
    { pattern: /^(ecdsa-sha2-nistp|x509v3-ecdsa-sha2-nistp)/i, reason: 'NIST curve', rule: 'hostkey-nist-curves' },
  ],
};

/** Names in KEXINIT that are protocol markers, not key exchange methods (RFC 8308, OpenSSH strict KEX). */
export const KEX_MARKERS = /^(ext-info-[cs]|kex-strict-[cs](-v00@openssh\.com)?)$/i;

/** Fixed Diffie-Hellman groups (RFC 4253, 8268) and their modulus sizes. */
const FIXED_GROUP_BITS: Record<string, number> = { '1': 1024, '14': 2048, '15': 3072, '16': 4096, '17': 6144, '18': 8192 };

export interface WeakAlgorithm {
  name: string;
  reasons: string[];
  /** The policy rules broken (./policy.ts), for severity and source. */
  rules: string[];
}

export interface CategoryVerdict {
  category: Category;
  offered: string[];
  weak: WeakAlgorithm[];
  /** Said beside the verdict: what the probe could not measure, markers ignored. */
  notes: string[];
}

const RSA_FAMILY = /^(ssh-rsa|rsa-sha2-(256|512))(-cert-v01@openssh\.com)?$/i;

/** With an allow or forbid list in the config, that list is the policy (rule configured-policy). */
function rulesFor(category: Category, policy: CategoryPolicy): Rule[] {
  const forbid = policy.forbid ?? (policy.allow ? [] : undefined);
  if (!forbid) return [...DEFAULT_RULES[category]];
  return forbid.map((source) => ({ pattern: new RegExp(source, 'i'), reason: `forbidden by /${source}/`, rule: 'configured-policy' }));
}

interface Finding {
  reason: string;
  rule: string;
}

/** Key and group sizes: under 2048 bits is below what OpenSSH itself accepts; under the configured minimum is the hardened line. */
function sizeFinding(bits: number, min: number, what: string, under2048: string, small: string): Finding | undefined {
  if (bits < 2048) return { reason: what, rule: under2048 };
  if (bits < min) return { reason: what, rule: small };
  return undefined;
}

export function evaluate(category: Category, offered: OfferedAlgorithms, policy: AlgorithmPolicy): CategoryVerdict {
  const own = policy[category];
  const rules = rulesFor(category, own);
  const notes: string[] = [];
  const entries: { name: string; extra: Finding[] }[] = [];
  if (category === 'kex') {
    for (const k of offered.kex) {
      if (KEX_MARKERS.test(k.name)) continue;
      const extra: Finding[] = [];
      const group = /group(\d+)-/i.exec(k.name);
      const fixedBits = group && !/group-exchange/i.test(k.name) ? FIXED_GROUP_BITS[group[1]!] : undefined;
      const fixed = fixedBits === undefined ? undefined : sizeFinding(fixedBits, policy.minDhModulusBits, `${fixedBits}-bit group`, 'kex-dh-under-2048', 'kex-dh-small');
      if (fixed) extra.push(fixed);
      const measured = k.modulusBits === undefined ? undefined : sizeFinding(k.modulusBits, policy.minDhModulusBits, `accepts a ${k.modulusBits}-bit modulus`, 'kex-dh-under-2048', 'kex-dh-small');
      if (measured) extra.push(measured);
      entries.push({ name: k.name, extra });
    }
    const markers = offered.kex.filter((k) => KEX_MARKERS.test(k.name)).map((k) => k.name);
    if (markers.length) notes.push(`protocol markers not judged: ${markers.join(', ')}`);
  } else if (category === 'hostKeys') {
    for (const k of offered.hostKeys) {
      const extra: Finding[] = [];
      if (RSA_FAMILY.test(k.name) && k.keyBits !== undefined) {
        const f = sizeFinding(k.keyBits, policy.minRsaBits, `${k.keyBits}-bit RSA key`, 'rsa-under-2048', 'rsa-small');
        if (f) extra.push(f);
      }
      if (RSA_FAMILY.test(k.name) && k.caBits !== undefined) {
        const f = sizeFinding(k.caBits, policy.minRsaBits, `${k.caBits}-bit RSA CA key`, 'rsa-under-2048', 'rsa-small');
        if (f) extra.push(f);
      }
      entries.push({ name: k.name, extra });
    }
  } else {
    for (const name of offered[category]) entries.push({ name, extra: [] });
  }
  const weak: WeakAlgorithm[] = [];
  for (const { name, extra } of entries) {
    const findings: Finding[] = [...rules.filter((r) => r.pattern.test(name)).map((r) => ({ reason: r.reason, rule: r.rule })), ...extra];
    if (own.allow && !own.allow.includes(name)) findings.unshift({ reason: 'not in the allowed list', rule: 'configured-policy' });
    if (findings.length) weak.push({ name, reasons: [...new Set(findings.map((f) => f.reason))], rules: [...new Set(findings.map((f) => f.rule))] });
  }
  const unmeasured = offered.unmeasured[category];
  if (unmeasured) notes.push(unmeasured);
  return { category, offered: entries.map((e) => e.name), weak, notes };
}

/** `aes128-cbc (CBC mode), 3des-cbc (3DES, CBC mode)` */
export function describeWeak(weak: readonly WeakAlgorithm[]): string {
  return weak.map((w) => `${w.name} (${w.reasons.join(', ')})`).join(', ');
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

interface AuditEntry {
  algorithm: string;
  keysize?: number;
  casize?: number;
  notes?: string[];
}

function entries(value: unknown, field: string): AuditEntry[] {
  if (!Array.isArray(value)) throw new Error(`ssh-audit JSON has no '${field}' list (did the key exchange complete?)`);
  return value.flatMap((item): AuditEntry[] => {
    if (typeof item === 'string') return [{ algorithm: item }];
    if (!isRecord(item) || typeof item.algorithm !== 'string') return [];
    const notes: string[] = [];
    if (isRecord(item.notes)) {
      for (const level of ['fail', 'warn'] as const) {
        const list = item.notes[level];
        if (Array.isArray(list)) for (const n of list) if (typeof n === 'string') notes.push(`${item.algorithm}: ${level}: ${n}`);
      }
    }
    return [{ algorithm: item.algorithm, keysize: typeof item.keysize === 'number' ? item.keysize : undefined, casize: typeof item.casize === 'number' ? item.casize : undefined, notes }];
  });
}

/**
 * `ssh-audit -j` output. ssh-audit 2.5 (Debian 12): `kex` and `key` are lists of
 * `{algorithm, keysize?, casize?}` (keysize: smallest accepted group-exchange modulus, or the RSA key
 * size), `enc` and `mac` lists of names; ssh-audit 3 makes every entry an object with `notes`.
 */
export function parseSshAuditJson(text: string): OfferedAlgorithms {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(
      `ssh-audit printed no JSON: ${
        text
          .replace(/\x1b\[[0-9;]*m/g, '')
          .trim()
          .slice(0, 200) || '(nothing)'
      }`,
    );
  }
  if (!isRecord(data)) throw new Error('ssh-audit JSON is not an object');
  const kex = entries(data.kex, 'kex');
  const key = entries(data.key, 'key');
  const enc = entries(data.enc, 'enc');
  const mac = entries(data.mac, 'mac');
  const banner = isRecord(data.banner) && typeof data.banner.raw === 'string' ? data.banner.raw : undefined;
  const toolNotes: OfferedAlgorithms['toolNotes'] = {};
  const collect = (category: Category, list: AuditEntry[]) => {
    const notes = list.flatMap((e) => e.notes ?? []);
    if (notes.length) toolNotes[category] = notes;
  };
  collect('kex', kex);
  collect('hostKeys', key);
  collect('ciphers', enc);
  collect('macs', mac);
  return {
    source: 'ssh-audit',
    banner,
    kex: kex.map((e) => ({ name: e.algorithm, modulusBits: e.keysize })),
    hostKeys: key.map((e) => ({ name: e.algorithm, keyBits: e.keysize, caBits: e.casize })),
    ciphers: enc.map((e) => e.algorithm),
    macs: mac.map((e) => e.algorithm),
    unmeasured: {},
    toolNotes,
  };
}
