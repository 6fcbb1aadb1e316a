/**
 * The algorithms an SSH server offers, as seen from the outside, and a policy to judge them.
 *
 * The hardened default follows ssh-audit's policies, Mozilla's modern OpenSSH guideline and dev-sec's
 * ssh-baseline: KEX sntrup761x25519 / curve25519 / DH group16+; ciphers chacha20-poly1305, AES-GCM,
 * AES-CTR; MACs only `-etm` SHA-2 (and umac-128-etm); no CBC, no SHA-1, no DSA host keys, RSA >= 3072.
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
  minRsaBits: number;
  minDhModulusBits: number;
}

interface Rule {
  pattern: RegExp;
  reason: string;
}

/** The hardened default: patterns that are never acceptable, with the reason shown in the message. */
export const DEFAULT_RULES: Record<Category, readonly Rule[]> = {
  ciphers: [
    { pattern: /-cbc(@|$)/i, reason: 'CBC mode' },
    { pattern: /^3des/i, reason: '3DES' },
    { pattern: /^des(-|@|$)/i, reason: 'single DES' },
    { pattern: /^arcfour/i, reason: 'RC4' },
    { pattern: /^(blowfish|cast128|idea)/i, reason: '64-bit block cipher' },
    { pattern: /^(twofish|serpent|seed)/i, reason: 'obsolete cipher' },
    { pattern: /^none$/i, reason: 'no encryption' },
  ],
  macs: [
    { pattern: /sha1/i, reason: 'SHA-1' },
    { pattern: /md5/i, reason: 'MD5' },
    { pattern: /-96([-@]|$)/i, reason: '96-bit tag' },
    { pattern: /^umac-64/i, reason: '64-bit tag' },
    { pattern: /ripemd/i, reason: 'RIPEMD-160' },
    { pattern: /^none$/i, reason: 'no MAC' },
    { pattern: /^(?!.*-etm@openssh\.com$)/i, reason: 'encrypt-and-MAC, not -etm' },
  ],
  kex: [
    { pattern: /sha1/i, reason: 'SHA-1' },
    { pattern: /^rsa(1024|2048)-/i, reason: 'RSA key exchange' },
  ],
  hostKeys: [
    { pattern: /^(ssh-dss|x509v3-ssh-dss)/i, reason: 'DSA' },
    { pattern: /^x509v3-(sign|ssh)-rsa$/i, reason: 'SHA-1 signatures' },
    { pattern: /^ssh-rsa-cert-v00@/i, reason: 'legacy certificate format' },
  ],
};

/** Names in KEXINIT that are protocol markers, not key exchange methods (RFC 8308, OpenSSH strict KEX). */
export const KEX_MARKERS = /^(ext-info-[cs]|kex-strict-[cs](-v00@openssh\.com)?)$/i;

/** Fixed Diffie-Hellman groups (RFC 4253, 8268) and their modulus sizes. */
const FIXED_GROUP_BITS: Record<string, number> = { '1': 1024, '14': 2048, '15': 3072, '16': 4096, '17': 6144, '18': 8192 };

export interface WeakAlgorithm {
  name: string;
  reasons: string[];
}

export interface CategoryVerdict {
  category: Category;
  offered: string[];
  weak: WeakAlgorithm[];
  /** Said beside the verdict: what the probe could not measure, markers ignored. */
  notes: string[];
}

const RSA_FAMILY = /^(ssh-rsa|rsa-sha2-(256|512))(-cert-v01@openssh\.com)?$/i;

function rulesFor(category: Category, policy: CategoryPolicy): Rule[] {
  const forbid = policy.forbid ?? (policy.allow ? [] : undefined);
  if (!forbid) return [...DEFAULT_RULES[category]];
  return forbid.map((source) => ({ pattern: new RegExp(source, 'i'), reason: `forbidden by /${source}/` }));
}

export function evaluate(category: Category, offered: OfferedAlgorithms, policy: AlgorithmPolicy): CategoryVerdict {
  const own = policy[category];
  const rules = rulesFor(category, own);
  const notes: string[] = [];
  const entries: { name: string; extra: string[] }[] = [];
  if (category === 'kex') {
    for (const k of offered.kex) {
      if (KEX_MARKERS.test(k.name)) continue;
      const extra: string[] = [];
      const group = /group(\d+)-/i.exec(k.name);
      const fixedBits = group && !/group-exchange/i.test(k.name) ? FIXED_GROUP_BITS[group[1]!] : undefined;
      if (fixedBits !== undefined && fixedBits < policy.minDhModulusBits) extra.push(`${fixedBits}-bit group`);
      if (k.modulusBits !== undefined && k.modulusBits < policy.minDhModulusBits) extra.push(`accepts a ${k.modulusBits}-bit modulus`);
      entries.push({ name: k.name, extra });
    }
    const markers = offered.kex.filter((k) => KEX_MARKERS.test(k.name)).map((k) => k.name);
    if (markers.length) notes.push(`protocol markers not judged: ${markers.join(', ')}`);
  } else if (category === 'hostKeys') {
    const names = offered.hostKeys.map((k) => k.name);
    const sha2 = names.some((n) => /^rsa-sha2-(256|512)/i.test(n));
    for (const k of offered.hostKeys) {
      const extra: string[] = [];
      if (/^ssh-rsa$/i.test(k.name) && !sha2) extra.push('RSA with SHA-1 signatures only');
      if (RSA_FAMILY.test(k.name) && k.keyBits !== undefined && k.keyBits < policy.minRsaBits) extra.push(`${k.keyBits}-bit RSA key`);
      if (RSA_FAMILY.test(k.name) && k.caBits !== undefined && k.caBits < policy.minRsaBits) extra.push(`${k.caBits}-bit RSA CA key`);
      entries.push({ name: k.name, extra });
    }
  } else {
    for (const name of offered[category]) entries.push({ name, extra: [] });
  }
  const weak: WeakAlgorithm[] = [];
  for (const { name, extra } of entries) {
    const reasons = [...rules.filter((r) => r.pattern.test(name)).map((r) => r.reason), ...extra];
    if (own.allow && !own.allow.includes(name)) reasons.unshift('not in the allowed list');
    if (reasons.length) weak.push({ name, reasons: [...new Set(reasons)] });
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
    throw new Error(`ssh-audit printed no JSON: ${text.replace(/\x1b\[[0-9;]*m/g, '').trim().slice(0, 200) || '(nothing)'}`);
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
