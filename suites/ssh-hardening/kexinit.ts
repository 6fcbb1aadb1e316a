/**
 * A minimal SSH probe of our own (the fallback when ssh-audit is not installed): connect, exchange
 * identification strings, read the server's SSH_MSG_KEXINIT (RFC 4253 §7.1) and hang up before any
 * key exchange. It sees the offered algorithm lists, not key sizes or group-exchange moduli.
 */
import { Socket } from 'node:net';

export interface Kexinit {
  kex: string[];
  hostKeys: string[];
  ciphersClientToServer: string[];
  ciphersServerToClient: string[];
  macsClientToServer: string[];
  macsServerToClient: string[];
  compressionClientToServer: string[];
  compressionServerToClient: string[];
  firstKexFollows: boolean;
}

export interface ServerHello {
  /** The server's identification string, e.g. `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10`. */
  banner: string;
  /** Lines the server sent before its identification (RFC 4253 allows them). */
  preamble: string[];
  kexinit: Kexinit;
}

const SSH_MSG_KEXINIT = 20;

/** The payload of a KEXINIT packet: message number, 16-byte cookie, ten name-lists, a boolean, a reserved uint32. */
export function parseKexinitPayload(payload: Buffer): Kexinit {
  if (payload[0] !== SSH_MSG_KEXINIT) throw new Error(`expected SSH_MSG_KEXINIT (20), got message ${payload[0]}`);
  let at = 17;
  const lists: string[][] = [];
  for (let i = 0; i < 10; i++) {
    if (at + 4 > payload.length) throw new Error('KEXINIT truncated');
    const length = payload.readUInt32BE(at);
    at += 4;
    if (at + length > payload.length) throw new Error('KEXINIT name-list runs past the packet');
    const text = payload.toString('latin1', at, at + length);
    at += length;
    lists.push(text ? text.split(',') : []);
  }
  const firstKexFollows = payload[at] === 1;
  const [kex, hostKeys, c2s, s2c, macC2s, macS2c, compC2s, compS2c] = lists as [string[], string[], string[], string[], string[], string[], string[], string[]];
  return {
    kex,
    hostKeys,
    ciphersClientToServer: c2s,
    ciphersServerToClient: s2c,
    macsClientToServer: macC2s,
    macsServerToClient: macS2c,
    compressionClientToServer: compC2s,
    compressionServerToClient: compS2c,
    firstKexFollows,
  };
}

/**
 * What the server sent from connect up to its KEXINIT; `undefined` while more bytes are needed.
 * Identification lines end in CRLF (or LF); then binary packets: uint32 length, byte padding, payload.
 */
export function parseServerHello(data: Buffer): ServerHello | undefined {
  const preamble: string[] = [];
  let at = 0;
  let banner: string | undefined;
  while (banner === undefined) {
    const end = data.indexOf(0x0a, at);
    if (end < 0) {
      if (data.length - at > 8192) throw new Error('no SSH identification string in the first 8 KiB');
      return undefined;
    }
    const line = data.toString('latin1', at, end).replace(/\r$/, '');
    at = end + 1;
    if (line.startsWith('SSH-')) banner = line;
    else preamble.push(line);
  }
  if (!/^SSH-(2\.0|1\.99)-/.test(banner)) throw new Error(`server does not speak SSH 2: ${banner}`);
  if (data.length < at + 5) return undefined;
  const packetLength = data.readUInt32BE(at);
  if (packetLength < 5 || packetLength > 256 * 1024) throw new Error(`implausible packet length ${packetLength}`);
  if (data.length < at + 4 + packetLength) return undefined;
  const padding = data[at + 4]!;
  const payload = data.subarray(at + 5, at + 4 + packetLength - padding);
  return { banner, preamble, kexinit: parseKexinitPayload(payload) };
}

export const PROBE_IDENT = 'SSH-2.0-imgtest_probe';

/** Connects, reads the server's identification and KEXINIT, and hangs up. */
export function probeKexinit(host: string, port: number, timeoutMs: number): Promise<ServerHello> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = (error: Error | undefined, hello?: ServerHello) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(hello!);
    };
    const timer = setTimeout(() => finish(new Error(`no KEXINIT from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (error) => finish(new Error(`SSH probe of ${host}:${port}: ${error.message}`)));
    socket.on('close', () => finish(new Error(`${host}:${port} closed the connection before its KEXINIT`)));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      try {
        const hello = parseServerHello(data);
        if (hello) finish(undefined, hello);
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.connect(port, host, () => socket.write(`${PROBE_IDENT}\r\n`));
  });
}

/** Bits of the RSA modulus in an OpenSSH public key blob (`string "ssh-rsa", mpint e, mpint n`). */
export function rsaBitsFromBlob(base64: string): number | undefined {
  const blob = Buffer.from(base64, 'base64');
  let at = 0;
  const field = (): Buffer | undefined => {
    if (at + 4 > blob.length) return undefined;
    const length = blob.readUInt32BE(at);
    at += 4;
    if (at + length > blob.length) return undefined;
    const value = blob.subarray(at, at + length);
    at += length;
    return value;
  };
  const type = field()?.toString('latin1');
  if (type !== 'ssh-rsa') return undefined;
  field(); // e
  const n = field();
  if (!n) return undefined;
  let start = 0;
  while (start < n.length && n[start] === 0) start++;
  if (start === n.length) return 0;
  return (n.length - start - 1) * 8 + (32 - Math.clz32(n[start]!));
}

/** `ssh-keyscan -t rsa` output: `[host]:port ssh-rsa AAAA...` -> the key's bits. */
export function rsaBitsFromKeyscan(text: string): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^\S+\s+ssh-rsa\s+([A-Za-z0-9+/=]+)/.exec(line.trim());
    if (match) return rsaBitsFromBlob(match[1]!);
  }
  return undefined;
}
