/** The SSH host keys' fingerprints: `ssh-keygen -lf` of each /etc/ssh/ssh_host_*_key.pub. */
import { createHash } from 'node:crypto';
import type { GuestHandle } from '../api.js';
import { cannotObserve, listFiles, readFile, tryRun } from '../guest.js';

export interface HostKeyFingerprint {
  path: string;
  /** ED25519, RSA, ECDSA... (what ssh-keygen prints in parentheses). */
  type: string;
  bits?: number;
  /** SHA256:... */
  fingerprint: string;
}

/** `ssh-keygen -lf FILE`: "256 SHA256:NOeBEYQ...pRo root@imgtest-1 (ED25519)". */
export function parseKeygenFingerprint(output: string): { bits: number; fingerprint: string; type: string } | undefined {
  const m = /^(\d+)\s+(SHA256:[A-Za-z0-9+/=]+)\s+.*\(([A-Z0-9-]+)\)\s*$/m.exec(output.trim());
  return m ? { bits: Number(m[1]), fingerprint: m[2]!, type: m[3]! } : undefined;
}

const KEY_TYPES: Record<string, string> = { 'ssh-ed25519': 'ED25519', 'ssh-rsa': 'RSA', 'ssh-dss': 'DSA' };

/** An OpenSSH public key line's fingerprint as ssh-keygen computes it: SHA256 of the key blob, base64 without padding. */
export function fingerprintOfPublicKey(line: string): { fingerprint: string; type: string } | undefined {
  const m = /^(\S+)\s+([A-Za-z0-9+/]+={0,2})(\s|$)/.exec(line.trim());
  if (!m) return undefined;
  const digest = createHash('sha256').update(Buffer.from(m[2]!, 'base64')).digest('base64').replace(/=+$/, '');
  const type = KEY_TYPES[m[1]!] ?? (m[1]!.startsWith('ecdsa-') ? 'ECDSA' : m[1]!.toUpperCase());
  return { fingerprint: `SHA256:${digest}`, type };
}

/** Every host key's fingerprint; ssh-keygen missing: computed from the public key files. */
export async function readHostKeyFingerprints(guest: GuestHandle): Promise<{ keys: HostKeyFingerprint[]; evidence: string }> {
  const listing = await listFiles(guest, '/etc/ssh', 'ssh_host_*_key.pub');
  const evidence = [listing.evidence];
  const keys: HostKeyFingerprint[] = [];
  for (const path of listing.paths) {
    const ran = await tryRun(guest, ['ssh-keygen', '-lf', path]);
    if (ran.unobserved && ran.unobserved !== 'missing') throw cannotObserve(guest, `fingerprint ${path}`, ran);
    const parsed = ran.unobserved ? undefined : parseKeygenFingerprint(ran.result.stdout);
    if (parsed) {
      evidence.push(ran.evidence);
      keys.push({ path, ...parsed });
      continue;
    }
    const read = await readFile(guest, path);
    const computed = read.state === 'ok' ? fingerprintOfPublicKey(read.text) : undefined;
    evidence.push(`${ran.evidence}\n${path}: ${computed ? `${computed.fingerprint} (${computed.type}, computed from the file)` : `not a readable public key (${read.state})`}`);
    if (computed) keys.push({ path, ...computed });
  }
  return { keys, evidence: evidence.join('\n') };
}
