/**
 * The suites' exec channel (src/guest/ssh-session.ts) against a real ssh2 server on 127.0.0.1: host
 * keys made by ssh-keygen, the client key checked by signature, commands answered by a small table.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import type { Connection as ServerConnection, ServerChannel } from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GuestExecTimeoutError, GuestHostKeyError, GuestTransportError } from '../../src/errors.js';
import { GuestSession, fingerprint, keyTypeOf, knownHostKeys } from '../../src/guest/ssh-session.js';
import { writeKnownHosts, type SshTarget } from '../../src/guest/ssh.js';
import { GuestTransportError as ContractTransportError } from '../../src/suite-api/index.js';

const { Server, utils } = ssh2;
const execFileAsync = promisify(execFile);

let dir: string;
/** Private key files and their public lines (`ssh-ed25519 AAAA...`). */
const keys: Record<'host' | 'impostor' | 'user' | 'stranger', { file: string; line: string }> = {} as never;

async function keygen(name: string): Promise<{ file: string; line: string }> {
  const file = join(dir, name);
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  const line = (await readFile(`${file}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  return { file, line };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgtest-ssh-session-'));
  for (const name of ['host', 'impostor', 'user', 'stranger'] as const) keys[name] = await keygen(name);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Handler = (stream: ServerChannel, io: { stdin: () => Promise<string>; connection: ServerConnection }) => void;

interface FakeServer {
  port: number;
  /** Commands as the server received them, in order. */
  commands: string[];
  /** Connections accepted (TCP), and those that authenticated. */
  connections: number;
  authenticated: number;
  /** Ends every open connection from the server's side. */
  dropAll(): void;
  close(): Promise<void>;
}

const servers: FakeServer[] = [];
const sessions: GuestSession[] = [];

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** An SSH server with `hostKey` that lets in the `user` key and runs commands from `handlers`. */
async function startServer(handlers: Record<string, Handler>, options: { hostKey?: 'host' | 'impostor' } = {}): Promise<FakeServer> {
  const hostKey = await readFile(keys[options.hostKey ?? 'host'].file);
  const allowed = utils.parseKey(Buffer.from(keys.user.line));
  if (allowed instanceof Error) throw allowed;
  const open = new Set<ServerConnection>();
  const state = { commands: [] as string[], connections: 0, authenticated: 0 };
  const server = new Server({ hostKeys: [hostKey] }, (connection) => {
    state.connections++;
    open.add(connection);
    connection.on('close', () => open.delete(connection));
    connection.on('error', () => undefined);
    connection.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.key.algo !== allowed.type || !ctx.key.data.equals(allowed.getPublicSSH())) return ctx.reject(['publickey']);
      if (ctx.signature && !allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo)) return ctx.reject(['publickey']);
      ctx.accept();
    });
    connection.on('ready', () => {
      state.authenticated++;
      connection.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('exec', (accept, _reject, info) => {
          state.commands.push(info.command);
          const stream = accept();
          const stdin = () =>
            new Promise<string>((resolve) => {
              const chunks: Buffer[] = [];
              stream.on('data', (c: Buffer) => chunks.push(c));
              stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
            });
          const handler = handlers[info.command] ?? handlers['*'];
          if (!handler) {
            stream.stderr.write(`sh: 1: ${info.command}: not found\n`);
            stream.exit(127);
            stream.end();
            return;
          }
          handler(stream, { stdin, connection });
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const fake: FakeServer = {
    port,
    commands: state.commands,
    get connections() {
      return state.connections;
    },
    get authenticated() {
      return state.authenticated;
    },
    dropAll: () => {
      for (const connection of open) connection.end();
    },
    close: async () => {
      for (const connection of open) connection.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  servers.push(fake);
  return fake;
}

/** A target for 127.0.0.1 with the host key pinned (or nothing known, for first use). */
async function target(server: FakeServer, how: { pinned?: string[]; firstUse?: string[] } = { pinned: [keys.host.line] }): Promise<SshTarget> {
  const knownHostsFile = join(dir, `known_hosts-${server.port}-${Math.random().toString(36).slice(2)}`);
  const known = how.pinned ?? how.firstUse ?? [];
  if (known.length) await writeKnownHosts(knownHostsFile, `[127.0.0.1]:${server.port}`, known);
  return { address: '127.0.0.1', user: 'imgtest', keyFile: keys.user.file, knownHostsFile, pinned: how.pinned !== undefined };
}

function session(ssh: SshTarget, server: { port: number }, options: { readyTimeoutMs?: number } = {}): GuestSession {
  const s = new GuestSession(ssh, { port: server.port, closeGraceMs: 200, ...options });
  sessions.push(s);
  return s;
}

const answer =
  (stdout: string, stderr: string, code: number): Handler =>
  (stream) => {
    if (stderr) stream.stderr.write(stderr);
    if (stdout) stream.write(stdout);
    stream.exit(code);
    stream.end();
  };

describe('GuestSession (ssh2 exec channel)', () => {
  it('returns stdout, stderr and the exit code; the command is the quoted argv, with sudo -n -- when asked', async () => {
    const server = await startServer({ "printf '%s\\n' 'a b'": answer('a b\n', 'warning\n', 3), 'sudo -n -- id -u': answer('0\n', '', 0) });
    const s = session(await target(server), server);
    expect(await s.exec(['printf', '%s\\n', 'a b'])).toEqual({ stdout: 'a b', stderr: 'warning', exitCode: 3 });
    expect(await s.exec(['id', '-u'], { sudo: true })).toEqual({ stdout: '0', stderr: '', exitCode: 0 });
    expect(server.commands).toEqual(["printf '%s\\n' 'a b'", 'sudo -n -- id -u']);
    // Both commands shared one connection.
    expect(server.connections).toBe(1);
  });

  it("a program's own exit 255 is a result, not an error", async () => {
    const server = await startServer({ 'sshd -t': answer('', '/etc/ssh/sshd_config line 3: Bad configuration option: Foo\n', 255) });
    const result = await session(await target(server), server).exec(['sshd', '-t']);
    expect(result).toEqual({ stdout: '', stderr: '/etc/ssh/sshd_config line 3: Bad configuration option: Foo', exitCode: 255 });
  });

  it('passes options.input on stdin, and a script to sh -s with its arguments', async () => {
    const echo: Handler = (stream, { stdin }) => {
      void stdin().then((text) => {
        stream.write(`got ${Buffer.byteLength(text)} bytes: ${text}`);
        stream.exit(0);
        stream.end();
      });
    };
    const server = await startServer({ cat: echo, "sudo -n -- sh -s -- x 'y z'": echo });
    const s = session(await target(server), server);
    expect((await s.exec(['cat'], { input: 'héllo\n' })).stdout).toBe('got 7 bytes: héllo');
    expect((await s.script('echo "$1"\n', ['x', 'y z'], { sudo: true })).stdout).toBe('got 10 bytes: echo "$1"');
  });

  it('throws GuestTransportError (with what was printed) when the server closes the connection mid-command', async () => {
    const server = await startServer({
      heartbeat: (stream, { connection }) => {
        stream.write('hb 1\nhb 2\n');
        setTimeout(() => connection.end(), 50);
      },
    });
    const error = await session(await target(server), server)
      .exec(['heartbeat'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuestTransportError);
    // The contract exports the same class, so a suite can tell it apart with instanceof.
    expect(error).toBeInstanceOf(ContractTransportError);
    const transport = error as GuestTransportError;
    expect(transport.code).toBe('E_GUEST_TRANSPORT');
    expect(transport.reason).toBe('closed');
    expect(transport.address).toBe('127.0.0.1');
    expect(transport.message).toBe(`SSH to imgtest@127.0.0.1:${server.port}: the connection was closed by the remote host before \`heartbeat\` returned its exit status`);
    expect(transport.output).toEqual({ stdout: 'hb 1\nhb 2', stderr: '' });
  });

  it('reports a command ended by a signal without an exit status', async () => {
    const server = await startServer({
      'sleep 600': (stream) => {
        stream.exit('KILL');
        stream.end();
      },
    });
    const error = (await session(await target(server), server)
      .exec(['sleep', '600'])
      .catch((e: unknown) => e)) as GuestTransportError;
    expect(error).toBeInstanceOf(GuestTransportError);
    expect(error).toMatchObject({ reason: 'signal', details: { signal: 'SIGKILL' } });
    expect(error.message).toMatch(/`sleep 600` was ended by SIGKILL, without an exit status$/);
  });

  it('refuses a host key that is not pinned, as a security event, and runs nothing', async () => {
    const server = await startServer({ '*': answer('ran\n', '', 0) }, { hostKey: 'impostor' });
    const error = await session(await target(server), server)
      .exec(['id'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuestHostKeyError);
    expect(error).not.toBeInstanceOf(GuestTransportError);
    const mismatch = error as GuestHostKeyError;
    expect(mismatch.code).toBe('E_GUEST_HOST_KEY');
    const offered = fingerprint({ type: 'ssh-ed25519', blob: Buffer.from(keys.impostor.line.split(' ')[1]!, 'base64') });
    const pinned = fingerprint({ type: 'ssh-ed25519', blob: Buffer.from(keys.host.line.split(' ')[1]!, 'base64') });
    expect(mismatch.offered).toBe(offered);
    expect(mismatch.pinned).toEqual([pinned]);
    expect(mismatch.message).toMatch(/^SECURITY: SSH to imgtest@127\.0\.0\.1:\d+: host key mismatch: the guest answered with ssh-ed25519 SHA256:/);
    expect(mismatch.message).toContain(`which is not one of the 1 key(s) pinned from its serial console (${pinned})`);
    expect(mismatch.message).toMatch(/nothing was run$/);
    expect(server.commands).toEqual([]);
    expect(server.authenticated).toBe(0);
  });

  it('trusts the first key seen while not pinned, recording it in known_hosts as OpenSSH would', async () => {
    const server = await startServer({ id: answer('1000\n', '', 0) });
    const ssh = await target(server, {});
    expect((await session(ssh, server).exec(['id'])).stdout).toBe('1000');
    const recorded = await readFile(ssh.knownHostsFile, 'utf8');
    expect(recorded).toBe(`[127.0.0.1]:${server.port} ${keys.host.line}\n`);
    // verifyTrustedKey reads the file this way (`line.split(/\s+/).slice(1, 3)`).
    expect(recorded.split('\n')[0]!.split(/\s+/).slice(1, 3).join(' ')).toBe(keys.host.line);
    expect(knownHostKeys(recorded, `[127.0.0.1]:${server.port}`).map((k) => k.type)).toEqual(['ssh-ed25519']);
  });

  it('while not pinned, still refuses another key of a type already recorded (accept-new, not accept-any)', async () => {
    const server = await startServer({ id: answer('1000\n', '', 0) }, { hostKey: 'impostor' });
    const ssh = await target(server, { firstUse: [keys.host.line] });
    const error = await session(ssh, server)
      .exec(['id'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuestHostKeyError);
    expect((error as Error).message).toContain('the ssh-ed25519 key it offered when first trusted');
    expect(await readFile(ssh.knownHostsFile, 'utf8')).toBe(`[127.0.0.1]:${server.port} ${keys.host.line}\n`);
  });

  it('connects again after the connection closed (a reboot), and after close()', async () => {
    const server = await startServer({ 'cat /proc/sys/kernel/random/boot_id': answer('b1\n', '', 0) });
    const s = session(await target(server), server);
    expect((await s.exec(['cat', '/proc/sys/kernel/random/boot_id'])).stdout).toBe('b1');
    server.dropAll();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await s.exec(['cat', '/proc/sys/kernel/random/boot_id'])).stdout).toBe('b1');
    expect(server.connections).toBe(2);
    await s.close();
    expect((await s.exec(['cat', '/proc/sys/kernel/random/boot_id'])).exitCode).toBe(0);
    expect(server.connections).toBe(3);
    // A command asked for while the drop is still on its way: the old connection dies under it before
    // the command started, so it runs on a new one.
    server.dropAll();
    expect((await s.exec(['cat', '/proc/sys/kernel/random/boot_id'])).stdout).toBe('b1');
    expect(server.connections).toBe(4);
  });

  it('a command running when close() ends the connection throws, saying imgtest closed it', async () => {
    const server = await startServer({ 'sleep 600': () => undefined });
    const s = session(await target(server), server);
    const running = s.exec(['sleep', '600']).catch((e: unknown) => e);
    while (!server.commands.length) await new Promise((resolve) => setTimeout(resolve, 10));
    await s.close();
    const error = (await running) as GuestTransportError;
    expect(error).toBeInstanceOf(GuestTransportError);
    expect(error.message).toMatch(/the connection was closed by imgtest before `sleep 600` returned its exit status$/);
  });

  it('a command that outlives its timeoutMs throws GuestExecTimeoutError and its channel is closed', async () => {
    let closed = false;
    const server = await startServer({
      'sleep 600': (stream) => {
        stream.resume();
        stream.on('close', () => {
          closed = true;
        });
      },
      true: answer('', '', 0),
    });
    const s = session(await target(server), server);
    const error = await s.exec(['sleep', '600'], { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuestExecTimeoutError);
    expect(error).toMatchObject({ code: 'E_GUEST_EXEC_TIMEOUT', timeoutMs: 300 });
    expect((error as Error).message).toMatch(/`sleep 600` did not finish within 0\.3 s; its channel was closed$/);
    for (let i = 0; i < 50 && !closed; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(closed).toBe(true);
    // The connection is still good for the next command.
    expect((await s.exec(['true'])).exitCode).toBe(0);
    expect(server.connections).toBe(1);
  });

  it('throws GuestTransportError naming the address when nothing listens, or the key is refused', async () => {
    const server = await startServer({});
    const ssh = await target(server);
    const port = server.port;
    await server.close();
    servers.splice(0);
    const refused = (await session(ssh, { port })
      .exec(['true'])
      .catch((e: unknown) => e)) as GuestTransportError;
    expect(refused).toBeInstanceOf(GuestTransportError);
    expect(refused).toMatchObject({ reason: 'connect', address: '127.0.0.1' });
    expect(refused.message).toBe(`SSH to imgtest@127.0.0.1:${port}: cannot connect: connection refused`);

    const other = await startServer({});
    const stranger = { ...(await target(other)), keyFile: keys.stranger.file };
    const denied = (await session(stranger, other)
      .exec(['true'])
      .catch((e: unknown) => e)) as GuestTransportError;
    expect(denied).toBeInstanceOf(GuestTransportError);
    expect(denied.reason).toBe('auth');
    expect(denied.message).toMatch(/cannot connect: the guest refused the run's key \(All configured authentication methods failed\)$/);
  });

  it('times out a connection that never speaks SSH (connect timeout)', async () => {
    const net = await import('node:net');
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const server = { port } as FakeServer;
      const ssh: SshTarget = { address: '127.0.0.1', user: 'imgtest', keyFile: keys.user.file, knownHostsFile: join(dir, 'none'), pinned: true };
      const error = (await session(ssh, server, { readyTimeoutMs: 300 })
        .exec(['true'])
        .catch((e: unknown) => e)) as GuestTransportError;
      expect(error).toBeInstanceOf(GuestTransportError);
      expect(error.message).toBe(`SSH to imgtest@127.0.0.1:${port}: cannot connect: no SSH handshake within 0.3 s (connect timeout)`);
    } finally {
      silent.close();
    }
  });
});

describe('known_hosts reading', () => {
  it('takes the keys of one host name, and the key type from the blob', () => {
    const [type, base64] = keys.host.line.split(' ') as [string, string];
    expect(keyTypeOf(Buffer.from(base64, 'base64'))).toBe(type);
    const text = `10.78.0.11 ${keys.host.line}\n[10.78.0.11]:2222 ${keys.impostor.line}\n10.78.0.12,10.78.0.11 ${keys.user.line} comment\n# 10.78.0.11 ${keys.stranger.line}\n@revoked 10.78.0.11 ${keys.stranger.line}\n10.78.0.11 ssh-rsa ${base64}\n`;
    expect(knownHostKeys(text, '10.78.0.11').map((k) => k.blob.toString('base64'))).toEqual([base64, keys.user.line.split(' ')[1]]);
    expect(knownHostKeys(text, '[10.78.0.11]:2222')).toHaveLength(1);
  });
});
