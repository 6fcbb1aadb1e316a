/**
 * The suites' exec channel: one in-process SSH connection (ssh2) per guest, opened on the first command
 * and opened again after it closed (a reboot, a migration that broke it, `close()`). Every command is a
 * channel of its own on that connection.
 *
 * The host key is checked in ssh2's host-verifier callback against the guest's known_hosts file, the
 * one the OpenSSH client uses for logins and boot readiness (`SshTarget.knownHostsFile`), with the same
 * rules as OpenSSH's `StrictHostKeyChecking`:
 *   - pinned (`yes`): the offered key must be one of the file's keys for this address, which are the
 *     keys the guest printed on its serial console (`writeKnownHosts`). Any other key is a
 *     `GuestHostKeyError` (a security event), and nothing runs.
 *   - not pinned yet (`accept-new`, trust on first use): a key of a type already recorded for the
 *     address must be that key; a key of a new type is appended to the file, so `verifyTrustedKey`
 *     (src/runner/guest-boot.ts) later finds it there and compares it with the console, as it does for
 *     OpenSSH's own first use.
 *
 * Errors are kept apart from exit codes: a command's exit status, 255 included, is an `ExecResult`;
 * a connection that cannot be made or drops before the exit status arrives throws `GuestTransportError`,
 * a command that outlives its `timeoutMs` throws `GuestExecTimeoutError` (its channel is closed).
 */
import { createHash } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { Client as SshClient, ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { GuestExecTimeoutError, GuestHostKeyError, GuestTransportError } from '../errors.js';
import type { ExecOptions, ExecResult } from '../suite-api/index.js';
import { shellJoin } from './shell-quote.js';
import type { SshTarget } from './ssh.js';

const { Client } = ssh2;

/** The OpenSSH client's options for guest commands, in ssh2's terms (src/guest/ssh.ts BASE_OPTIONS). */
export const SESSION_DEFAULTS = {
  port: 22,
  /** ConnectTimeout=10: TCP connect, handshake and authentication. */
  readyTimeoutMs: 10_000,
  /** ServerAliveInterval=5, ServerAliveCountMax=6: a connection silent for 30 s is dead. */
  keepaliveIntervalMs: 5_000,
  keepaliveCountMax: 6,
  /** How long `close()` waits for the guest to close its side before it drops the socket. */
  closeGraceMs: 2_000,
  /** `ExecOptions.timeoutMs` when a command sets none. */
  execTimeoutMs: 120_000,
} as const;

export interface GuestSessionOptions {
  port?: number;
  readyTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  closeGraceMs?: number;
}

/** A public key as SSH sends it: its type and its wire-format blob (which starts with the type). */
export interface HostKey {
  type: string;
  blob: Buffer;
}

/** The key type a wire-format public key blob names (its first SSH string), or '' when it is not one. */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return '';
  const length = blob.readUInt32BE(0);
  return length > 0 && 4 + length <= blob.length ? blob.subarray(4, 4 + length).toString('latin1') : '';
}

/** `ssh-ed25519 SHA256:...`, as `ssh-keygen -lf` and OpenSSH's messages name a key. */
export function fingerprint(key: HostKey): string {
  return `${key.type} SHA256:${createHash('sha256').update(key.blob).digest('base64').replace(/=+$/, '')}`;
}

/** How a known_hosts file names a host: the address, or `[address]:port` off port 22 (as OpenSSH writes it). */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/**
 * The keys a known_hosts text holds for `hostName` (plain, comma-separated host patterns as written by
 * `writeKnownHosts` and OpenSSH without HashKnownHosts; marker lines such as @revoked are not ours).
 */
export function knownHostKeys(text: string, hostName: string): HostKey[] {
  const keys: HostKey[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3 || fields[0]!.startsWith('#') || fields[0]!.startsWith('@')) continue;
    if (!fields[0]!.split(',').includes(hostName)) continue;
    const blob = Buffer.from(fields[2]!, 'base64');
    if (keyTypeOf(blob) !== fields[1]) continue;
    keys.push({ type: fields[1]!, blob });
  }
  return keys;
}

/** ssh2's host key algorithms for a key type (an RSA key signs with SHA-2 first, as OpenSSH does). */
function algorithmsOf(type: string): ServerHostKeyAlgorithm[] {
  if (type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  const plain: ServerHostKeyAlgorithm[] = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'];
  return plain.filter((algorithm) => algorithm === type);
}

/** execa's `stripFinalNewline` (what the OpenSSH path returned): one trailing \n or \r\n. */
function stripFinalNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, text.endsWith('\r\n') ? -2 : -1) : text;
}

/** A command line as error messages show it: one line, at most 160 characters. */
function shown(command: string): string {
  const line = command.replace(/\s+/g, ' ').trim();
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

/** An error ssh2 or the socket reported, in a few words. */
function describeSocketError(error: Error & { code?: string | number; level?: string }): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'EHOSTUNREACH':
      return 'no route to host';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'ECONNRESET':
      return 'connection reset by the remote host';
    case 'EPIPE':
      return 'broken pipe';
    default:
      return error.message;
  }
}

/** One ssh2 connection and what happened to it. */
class Connection {
  readonly client: SshClient = new Client();
  /** The connect attempt has succeeded or failed. */
  settled = false;
  closed = false;
  /** Set when imgtest itself ended the connection (`close()`). */
  closedByUs = false;
  /** The first error ssh2 reported on this connection. */
  error?: Error & { code?: string | number; level?: string };
  /** Set by the host verifier when it refused the key. */
  hostKeyRefused?: GuestHostKeyError;
}

export class GuestSession {
  private live?: Connection;
  private connecting?: Promise<Connection>;
  private readonly options: Required<GuestSessionOptions>;

  constructor(
    /** Read at each connection: the address and `pinned` change during boot. */
    private readonly target: SshTarget,
    options: GuestSessionOptions = {},
  ) {
    this.options = {
      port: options.port ?? SESSION_DEFAULTS.port,
      readyTimeoutMs: options.readyTimeoutMs ?? SESSION_DEFAULTS.readyTimeoutMs,
      keepaliveIntervalMs: options.keepaliveIntervalMs ?? SESSION_DEFAULTS.keepaliveIntervalMs,
      keepaliveCountMax: options.keepaliveCountMax ?? SESSION_DEFAULTS.keepaliveCountMax,
      closeGraceMs: options.closeGraceMs ?? SESSION_DEFAULTS.closeGraceMs,
    };
  }

  /** Runs argv in the guest. The remote shell sees a quoted string, built from the array, never from text. */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const command = options.sudo ? ['sudo', '-n', '--', ...argv] : [...argv];
    return this.run(shellJoin(command), options.input, options.timeoutMs ?? SESSION_DEFAULTS.execTimeoutMs);
  }

  /** Runs a fixed script with `sh -s`, data passed as positional arguments. */
  script(text: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    const argv = options.sudo ? ['sudo', '-n', '--', 'sh', '-s', '--', ...args] : ['sh', '-s', '--', ...args];
    return this.run(shellJoin(argv), text, options.timeoutMs ?? SESSION_DEFAULTS.execTimeoutMs);
  }

  /**
   * Ends the connection (commands still running on it end with a `GuestTransportError`); the next
   * command connects anew. Waits a little for the guest to close its side, then drops the socket.
   */
  async close(): Promise<void> {
    const live = this.live;
    const pending = this.connecting;
    this.live = undefined;
    this.connecting = undefined;
    await Promise.all([live ? this.end(live) : undefined, pending?.catch(() => undefined)]);
  }

  private get address(): string {
    return this.target.address;
  }

  private get who(): string {
    return `SSH to ${this.target.user}@${this.address}${this.options.port === 22 ? '' : `:${this.options.port}`}`;
  }

  private async run(command: string, input: string | undefined, timeoutMs: number): Promise<ExecResult> {
    let timer: NodeJS.Timeout | undefined;
    let channel: ClientChannel | undefined;
    let timedOut = false;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        channel?.close();
        reject(new GuestExecTimeoutError(`${this.who}: \`${shown(command)}\` did not finish within ${timeoutMs / 1000} s; its channel was closed`, this.address, timeoutMs));
      }, timeoutMs);
    });
    const ran = this.attempt(command, input, (opened) => {
      channel = opened;
      if (timedOut) opened.close();
    });
    ran.catch(() => undefined); // after a timeout, what the channel ends with is no one's concern
    try {
      return await Promise.race([ran, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Opens a channel for the command and collects its output and exit status. */
  private async attempt(command: string, input: string | undefined, opened: (channel: ClientChannel) => void): Promise<ExecResult> {
    for (let retry = false; ; retry = true) {
      const { connection, fresh } = await this.connection();
      let started: { channel: ClientChannel; result: Promise<ExecResult> };
      try {
        started = await new Promise((resolve, reject) => {
          try {
            connection.client.exec(command, (error, channel) => {
              if (error) return reject(error);
              // Listen before giving the event loop back: ssh2 handles the rest of what arrived in the same
              // read synchronously, so a quick command's exit status can be emitted before an await
              // resumes. It was, whenever ssh2 runs without its optional native crypto binding.
              resolve({ channel, result: this.collect(connection, channel, command, input) });
            });
          } catch (error) {
            reject(error);
          }
        });
      } catch (error) {
        // A connection that died unnoticed (the guest went away without closing it): the command never
        // started, so it is safe to ask once more on a new connection, as ControlMaster=auto falls back.
        if (connection.closed && !fresh && !retry) continue;
        throw this.channelError(connection, command, error as Error);
      }
      opened(started.channel);
      return started.result;
    }
  }

  private collect(connection: Connection, channel: ClientChannel, command: string, input: string | undefined): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let exit: { code?: number | null; signal?: string; dump?: boolean; description?: string } = {};
      channel.on('data', (chunk: Buffer) => stdout.push(chunk));
      channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      channel.on('exit', (code: number | null, signal?: string, dump?: boolean, description?: string) => {
        exit = { code, signal, dump, description };
      });
      channel.on('error', (error: Error) => {
        connection.error ??= error;
      });
      const stderrDone = new Promise<void>((done) => {
        if (channel.stderr.readableEnded) done();
        channel.stderr.once('end', done);
        channel.stderr.once('close', done);
      });
      channel.once('close', () => {
        void stderrDone.then(() => {
          const output = { stdout: stripFinalNewline(Buffer.concat(stdout).toString('utf8')), stderr: stripFinalNewline(Buffer.concat(stderr).toString('utf8')) };
          if (typeof exit.code === 'number') return resolve({ ...output, exitCode: exit.code });
          if (exit.signal) {
            const how = `${exit.signal}${exit.dump ? ' (core dumped)' : ''}${exit.description ? `: ${exit.description}` : ''}`;
            return reject(new GuestTransportError(`${this.who}: \`${shown(command)}\` was ended by ${how}, without an exit status`, this.address, 'signal', { output, signal: exit.signal }));
          }
          reject(
            new GuestTransportError(`${this.who}: ${this.whyDropped(connection)} before \`${shown(command)}\` returned its exit status`, this.address, 'closed', { output, cause: connection.error }),
          );
        });
      });
      if (input !== undefined) channel.end(input);
      else channel.end();
    });
  }

  /** Why a connection ended, as the rest of a sentence about it. */
  private whyDropped(connection: Connection): string {
    if (connection.closedByUs) return 'the connection was closed by imgtest';
    if (!connection.closed) return 'the guest closed the channel';
    const error = connection.error;
    if (!error) return 'the connection was closed by the remote host';
    if (error.level === 'client-timeout') return `the connection stopped answering (${this.options.keepaliveCountMax} keepalives ${this.options.keepaliveIntervalMs / 1000} s apart unanswered)`;
    return `the connection was lost (${describeSocketError(error)})`;
  }

  private channelError(connection: Connection, command: string, error: Error): GuestTransportError {
    if (connection.closed) return new GuestTransportError(`${this.who}: ${this.whyDropped(connection)} before \`${shown(command)}\` could start`, this.address, 'closed', { cause: error });
    return new GuestTransportError(`${this.who}: the guest refused a channel for \`${shown(command)}\`: ${error.message}`, this.address, 'channel', { cause: error });
  }

  /** The open connection, or a new one (`fresh`). */
  private async connection(): Promise<{ connection: Connection; fresh: boolean }> {
    if (this.live && !this.live.closed) return { connection: this.live, fresh: false };
    if (!this.connecting) {
      const pending: Promise<Connection> = this.open().then(
        async (connection) => {
          if (this.connecting !== pending) {
            // close() was called while it connected: nobody is to use it.
            await this.end(connection);
            throw new GuestTransportError(`${this.who}: the connection was closed by imgtest while it was being made`, this.address, 'closed');
          }
          this.connecting = undefined;
          this.live = connection;
          return connection;
        },
        (error: unknown) => {
          if (this.connecting === pending) this.connecting = undefined;
          throw error;
        },
      );
      this.connecting = pending;
    }
    return { connection: await this.connecting, fresh: true };
  }

  private async open(): Promise<Connection> {
    const { target } = this;
    if (!target.address) throw new GuestTransportError('SSH to the guest: it has no address yet', '', 'connect');
    const privateKey = await readFile(target.keyFile).catch((error: Error) => {
      throw new GuestTransportError(`${this.who}: cannot read the run's private key ${target.keyFile}: ${error.message}`, this.address, 'auth', { cause: error });
    });
    const preferred = [...new Set((await this.knownKeys()).flatMap((key) => algorithmsOf(key.type)))];
    const connection = new Connection();
    const { client } = connection;
    const config: ConnectConfig = {
      host: target.address,
      port: this.options.port,
      username: target.user,
      privateKey,
      readyTimeout: this.options.readyTimeoutMs,
      keepaliveInterval: this.options.keepaliveIntervalMs,
      keepaliveCountMax: this.options.keepaliveCountMax,
      // The key types we know for this guest first, as OpenSSH orders them (others are still verified).
      algorithms: preferred.length ? { serverHostKey: { remove: preferred, prepend: preferred, append: [] } } : undefined,
      hostVerifier: (blob: Buffer, verify: (valid: boolean) => void) => {
        this.verifyHostKey(blob).then(
          (refusal) => {
            if (refusal) connection.hostKeyRefused = refusal;
            verify(!refusal);
          },
          (error: Error) => {
            connection.error ??= error;
            verify(false);
          },
        );
      },
    };
    return new Promise<Connection>((resolve, reject) => {
      const fail = (error: () => Error) => {
        if (connection.settled) return;
        connection.settled = true;
        reject(error());
      };
      client.on('ready', () => {
        if (connection.settled) return;
        connection.settled = true;
        resolve(connection);
      });
      client.on('error', (error: Error & { code?: string | number; level?: string }) => {
        connection.error ??= error;
        fail(() => this.connectError(connection));
      });
      client.on('close', () => {
        connection.closed = true;
        if (this.live === connection) this.live = undefined;
        fail(() => this.connectError(connection));
      });
      try {
        client.connect(config);
      } catch (error) {
        connection.closed = true;
        fail(() => new GuestTransportError(`${this.who}: cannot use the run's private key ${target.keyFile}: ${(error as Error).message}`, this.address, 'auth', { cause: error }));
      }
    });
  }

  /** Why a connection could not be made. */
  private connectError(connection: Connection): Error {
    if (connection.hostKeyRefused) return connection.hostKeyRefused;
    const error = connection.error;
    if (!error) return new GuestTransportError(`${this.who}: cannot connect: the remote host closed the connection before the SSH handshake finished`, this.address, 'connect');
    if (error.level === 'client-authentication') {
      return new GuestTransportError(`${this.who}: cannot connect: the guest refused the run's key (${error.message})`, this.address, 'auth', { cause: error });
    }
    if (error.level === 'client-timeout') {
      return new GuestTransportError(`${this.who}: cannot connect: no SSH handshake within ${this.options.readyTimeoutMs / 1000} s (connect timeout)`, this.address, 'connect', { cause: error });
    }
    return new GuestTransportError(`${this.who}: cannot connect: ${describeSocketError(error)}`, this.address, 'connect', { cause: error });
  }

  private async knownKeys(): Promise<HostKey[]> {
    const text = await readFile(this.target.knownHostsFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    return knownHostKeys(text, knownHostsName(this.address, this.options.port));
  }

  /** Undefined when the key is acceptable (recorded, when trusted on first use); the refusal otherwise. */
  private async verifyHostKey(blob: Buffer): Promise<GuestHostKeyError | undefined> {
    const offered: HostKey = { type: keyTypeOf(blob), blob };
    const pinned = this.target.pinned;
    const known = await this.knownKeys();
    if (known.some((key) => key.type === offered.type && key.blob.equals(blob))) return undefined;
    const sameType = known.filter((key) => key.type === offered.type);
    if (!pinned && !sameType.length && offered.type) {
      // First use of this key type (OpenSSH's accept-new): recorded for verifyTrustedKey to judge.
      await appendFile(this.target.knownHostsFile, `${knownHostsName(this.address, this.options.port)} ${offered.type} ${blob.toString('base64')}\n`, { mode: 0o600 });
      return undefined;
    }
    const against = pinned
      ? known.length
        ? `one of the ${known.length} key(s) pinned from its serial console (${known.map(fingerprint).join(', ')})`
        : `a pinned key: none is pinned for ${this.address} in ${this.target.knownHostsFile}`
      : `the ${offered.type} key it offered when first trusted (${sameType.map(fingerprint).join(', ')})`;
    return new GuestHostKeyError(
      `SECURITY: ${this.who}: host key mismatch: the guest answered with ${fingerprint(offered)}, which is not ${against}; someone else may be answering at this address, or its host keys were replaced; nothing was run`,
      this.address,
      fingerprint(offered),
      known.map(fingerprint),
    );
  }

  /** Ends a connection: a polite disconnect, then the socket is dropped if the guest does not close. */
  private async end(connection: Connection): Promise<void> {
    if (this.live === connection) this.live = undefined;
    if (connection.closed) return;
    connection.closedByUs = true;
    await new Promise<void>((done) => {
      const timer = setTimeout(() => {
        connection.client.destroy();
        done();
      }, this.options.closeGraceMs);
      connection.client.once('close', () => {
        clearTimeout(timer);
        done();
      });
      connection.client.end();
    });
  }
}
