/**
 * The host-side probe against a real sshd: one started here on 127.0.0.1 with its own host keys and a
 * weak algorithm set, probed with the real ssh-audit and with the builtin KEXINIT probe. Needs root
 * (sshd's privilege separation), /usr/sbin/sshd, ssh-keygen, and ssh-audit for the ssh-audit half.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate, type AlgorithmPolicy } from '../../suites/ssh-hardening/algorithms.js';
import { parseKexinitPayload, parseServerHello, probeKexinit, rsaBitsFromBlob } from '../../suites/ssh-hardening/kexinit.js';
import { probeServer, realHostTools } from '../../suites/ssh-hardening/probe.js';

const has = (file: string, args: string[]): boolean => {
  try {
    execFileSync(file, args, { stdio: 'ignore' });
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
};
const canRunSshd = process.getuid?.() === 0 && existsSync('/usr/sbin/sshd') && has('ssh-keygen', ['-?']);
const hasSshAudit = has('ssh-audit', ['--help']);

const POLICY: AlgorithmPolicy = { ciphers: {}, macs: {}, kex: {}, hostKeys: {}, minRsaBits: 3072, minDhModulusBits: 3072 };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForPort(port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not listen on ${port}`);
}

describe('the builtin probe parses what OpenSSH sends', () => {
  it('waits for the whole packet and reads the ten name-lists', () => {
    // Identification and KEXINIT as built by hand: one name per list.
    const names = ['curve25519-sha256', 'ssh-ed25519', 'aes128-ctr', 'aes256-ctr', 'hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'none', 'none', '', ''];
    const lists = names.map((n) => Buffer.concat([Buffer.from([0, 0, 0, n.length]), Buffer.from(n)]));
    const payload = Buffer.concat([Buffer.from([20]), Buffer.alloc(16, 7), ...lists, Buffer.from([0, 0, 0, 0, 0])]);
    const padding = 8 - ((payload.length + 5) % 8) + 4;
    const packet = Buffer.concat([Buffer.alloc(4), Buffer.from([padding]), payload, Buffer.alloc(padding)]);
    packet.writeUInt32BE(packet.length - 4, 0);
    const wire = Buffer.concat([Buffer.from('a banner line\r\nSSH-2.0-Test_1.0\r\n'), packet]);
    expect(parseServerHello(wire.subarray(0, wire.length - 3))).toBeUndefined();
    const hello = parseServerHello(wire)!;
    expect(hello.banner).toBe('SSH-2.0-Test_1.0');
    expect(hello.preamble).toEqual(['a banner line']);
    expect(hello.kexinit).toMatchObject({
      kex: ['curve25519-sha256'],
      hostKeys: ['ssh-ed25519'],
      ciphersClientToServer: ['aes128-ctr'],
      ciphersServerToClient: ['aes256-ctr'],
      firstKexFollows: false,
    });
    expect(() => parseKexinitPayload(Buffer.from([21]))).toThrow(/expected SSH_MSG_KEXINIT/);
    expect(() => parseServerHello(Buffer.from('SSH-1.5-Old\r\n\0\0\0\0\0'))).toThrow(/does not speak SSH 2/);
  });
  it('reads an RSA modulus size from a key blob', () => {
    const e = Buffer.from([1, 0, 1]);
    const n = Buffer.concat([Buffer.from([0]), Buffer.alloc(256, 0xff)]);
    const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, (b.length >> 8) & 0xff, b.length & 0xff]), b]);
    const blob = Buffer.concat([field(Buffer.from('ssh-rsa')), field(e), field(n)]).toString('base64');
    expect(rsaBitsFromBlob(blob)).toBe(2048);
  });
});

describe.skipIf(!canRunSshd)('probing a real sshd on 127.0.0.1', () => {
  let dir = '';
  let port = 0;
  let sshd: ChildProcess | undefined;
  let log = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imgtest-sshd-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_ed25519')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', join(dir, 'host_rsa')]);
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `HostKey ${join(dir, 'host_ed25519')}`,
        `HostKey ${join(dir, 'host_rsa')}`,
        'PidFile none',
        'UsePAM no',
        'StrictModes no',
        'Ciphers aes128-cbc,3des-cbc,aes128-ctr,chacha20-poly1305@openssh.com',
        'MACs hmac-sha1,hmac-sha2-256-etm@openssh.com',
        'KexAlgorithms diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha256,curve25519-sha256',
        'HostKeyAlgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256',
        '',
      ].join('\n'),
    );
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    port = await freePort();
    sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config'), '-p', String(port), '-o', 'ListenAddress=127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    sshd.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    await waitForPort(port, Date.now() + 10_000).catch((error: Error) => {
      throw new Error(`${error.message}: ${log}`);
    });
  });

  afterAll(() => {
    sshd?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('builtin: reads the offered lists over TCP and the RSA size with ssh-keyscan', async () => {
    const hello = await probeKexinit('127.0.0.1', port, 5000);
    expect(hello.banner).toMatch(/^SSH-2\.0-OpenSSH_/);
    expect(hello.kexinit.ciphersServerToClient).toEqual(['aes128-cbc', '3des-cbc', 'aes128-ctr', 'chacha20-poly1305@openssh.com']);
    const result = await probeServer('127.0.0.1', { probe: 'builtin', sshAuditCommand: 'ssh-audit', port, probeTimeoutSeconds: 5 }, realHostTools);
    expect(result.offered.source).toBe('builtin');
    expect(evaluate('ciphers', result.offered, POLICY).weak.map((w) => w.name)).toEqual(['aes128-cbc', '3des-cbc']);
    expect(evaluate('macs', result.offered, POLICY).weak.map((w) => w.name)).toEqual(['hmac-sha1']);
    const kex = evaluate('kex', result.offered, POLICY);
    expect(kex.weak.map((w) => w.name)).toEqual(['diffie-hellman-group14-sha1']);
    expect(kex.notes.join(' ')).toContain('group-exchange modulus sizes not measured');
    expect(result.offered.hostKeys.find((k) => k.name === 'rsa-sha2-512')?.keyBits).toBe(2048);
    expect(evaluate('hostKeys', result.offered, POLICY).weak.map((w) => w.name)).toEqual(['rsa-sha2-512', 'rsa-sha2-256']);
  });

  it.skipIf(!hasSshAudit)('ssh-audit: the same verdicts from its JSON, group-exchange modulus included', async () => {
    const result = await probeServer('127.0.0.1', { probe: 'ssh-audit', sshAuditCommand: 'ssh-audit', port, probeTimeoutSeconds: 5 }, realHostTools);
    expect(result.offered.source).toBe('ssh-audit');
    expect(result.evidence).toMatch(new RegExp(`^\\$ ssh-audit -j -p ${port} -t 5 127\\.0\\.0\\.1 {3}\\(exit [1-3];`));
    expect(evaluate('ciphers', result.offered, POLICY).weak.map((w) => w.name)).toEqual(['aes128-cbc', '3des-cbc']);
    expect(evaluate('macs', result.offered, POLICY).weak.map((w) => w.name)).toEqual(['hmac-sha1']);
    const gex = result.offered.kex.find((k) => k.name === 'diffie-hellman-group-exchange-sha256');
    expect(gex?.modulusBits).toBeGreaterThanOrEqual(1024);
    expect(evaluate('hostKeys', result.offered, POLICY).weak.map((w) => `${w.name}: ${w.reasons.join()}`)).toEqual(['rsa-sha2-512: 2048-bit RSA key', 'rsa-sha2-256: 2048-bit RSA key']);
    expect(JSON.parse(result.rawJson!)).toHaveProperty('banner');
  });

  it.skipIf(!hasSshAudit)('ssh-audit against a closed port is an error, not a verdict', async () => {
    const closed = await freePort();
    await expect(probeServer('127.0.0.1', { probe: 'ssh-audit', sshAuditCommand: 'ssh-audit', port: closed, probeTimeoutSeconds: 2 }, realHostTools)).rejects.toThrow(
      /could not audit 127\.0\.0\.1:\d+ \(exit 1\): ssh-audit printed no JSON: \[exception\] cannot connect/,
    );
  });

  it('a missing ssh-audit falls back under probe auto', async () => {
    const result = await probeServer('127.0.0.1', { probe: 'auto', sshAuditCommand: 'imgtest-no-such-ssh-audit', port, probeTimeoutSeconds: 5 }, realHostTools);
    expect(result.offered.source).toBe('builtin');
    expect(result.evidence).toContain('imgtest-no-such-ssh-audit is not installed on this machine');
  });
});
