/**
 * One libguestfs appliance, driven command by command.
 *
 * Design: a single `guestfish --ro` child process reads commands on its stdin. After every command
 * the session writes `echo <marker>`; guestfish flushes its stdout per command, so everything before
 * the marker is that command's output. Every command is sent with guestfish's `-` prefix, so an error
 * does not end the session; the error text goes to guestfish's stderr, which is a *file* (not a pipe):
 * guestfish writes it synchronously before it runs the `echo`, so when the marker arrives the file
 * already holds the command's error, and the bytes added since the previous command are its error.
 *
 * Why not `guestfish --listen` + `--remote`: the listener daemonises, so it outlives this process if
 * imgtest is killed, and remote commands report errors only on the listener's stderr anyway. A child
 * on a pipe ends (and shuts its appliance down) when its stdin closes, whatever happens to us.
 *
 * Arguments are never spliced in as text: each one is written as a double-quoted guestfish string in
 * which every byte outside [A-Za-z0-9/._+:@%,=-] is a `\xHH` escape (guestfish's own escape syntax),
 * so a file name cannot end the string, start a new command, or run a local `!` shell command.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, fstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

export interface GuestfishOptions {
  /** The disk image, opened read-only (`--ro`: qemu gets it read-only, writes go to a throwaway overlay). */
  image: string;
  format: 'qcow2' | 'raw';
  /** Program to run; default `guestfish`. */
  program?: string;
  env?: NodeJS.ProcessEnv;
}

export interface CommandResult {
  /** What the command printed on stdout (guestfish's trailing newline kept). */
  stdout: string;
  /** `libguestfs: error: ...` text the command produced, or '' when it succeeded. */
  error: string;
}

export class GuestfishError extends Error {}

/** Environment for libguestfs on this kind of machine: see `applianceEnv`. */
export function applianceEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base };
  // The libvirt backend needs a running libvirtd of its own and a usable KVM; here /dev/kvm exists but
  // crashes guests (the appliance too), so boot the appliance directly with QEMU under TCG. Users who
  // know better for their machine set these variables themselves, and then we leave them alone.
  if (env.LIBGUESTFS_BACKEND === undefined) env.LIBGUESTFS_BACKEND = 'direct';
  if (env.LIBGUESTFS_BACKEND_SETTINGS === undefined) env.LIBGUESTFS_BACKEND_SETTINGS = 'force_tcg';
  // Progress bars and colours would end up in our output.
  env.TERM = 'dumb';
  return env;
}

const SAFE_BYTE = /^[A-Za-z0-9/._+:@%,=-]$/;

/** A guestfish double-quoted string that means exactly `value`, whatever bytes it holds (except NUL). */
export function quoteArg(value: string): string {
  if (value.includes('\0')) throw new GuestfishError('guestfish arguments cannot contain NUL bytes');
  let out = '"';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && SAFE_BYTE.test(ch) ? ch : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

/** One script line: the command with the `-` prefix (errors do not end the session) and quoted arguments. */
export function commandLine(name: string, args: readonly string[]): string {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new GuestfishError(`not a guestfish command name: ${name}`);
  return [`-${name}`, ...args.map(quoteArg)].join(' ');
}

interface Pending {
  marker: string;
  resolve(result: CommandResult): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  command: string;
}

export class GuestfishSession {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly tmpDir: string;
  private readonly errFd: number;
  private errOffset = 0;
  private stdout = Buffer.alloc(0);
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly nonce = randomBytes(12).toString('hex');
  private seq = 0;
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitPromise: Promise<void>;
  private spawnError: Error | undefined;
  /** Everything guestfish wrote on stderr, for the log artifact. */
  transcript = '';

  constructor(options: GuestfishOptions) {
    this.tmpDir = mkdtempSync(join(tmpdir(), 'imgtest-hygiene-'));
    this.errFd = openSync(join(this.tmpDir, 'guestfish.stderr'), 'w+');
    const program = options.program ?? 'guestfish';
    this.child = spawn(program, ['--ro', `--format=${options.format}`, '-a', options.image], {
      stdio: ['pipe', 'pipe', this.errFd],
      env: options.env ?? applianceEnv(),
    }) as ChildProcessByStdio<Writable, Readable, null>;
    this.exitPromise = new Promise((resolve) => {
      this.child.once('error', (error: NodeJS.ErrnoException) => {
        this.spawnError =
          error.code === 'ENOENT'
            ? new GuestfishError(`${program} not found: install libguestfs-tools to inspect images offline`)
            : new GuestfishError(`cannot start ${program}: ${error.message}`);
        this.exited = { code: null, signal: null };
        this.failPending(this.spawnError);
        resolve();
      });
      this.child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        this.drainStderr();
        this.failPending(new GuestfishError(`guestfish exited (${signal ?? `code ${code}`})${this.lastErrorSuffix()}`));
        resolve();
      });
    });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.stdout = Buffer.concat([this.stdout, chunk]);
      this.checkMarker();
    });
    // A closed stdin (guestfish gone) must not crash the process with EPIPE.
    this.child.stdin.on('error', () => undefined);
  }

  /** Runs one command; resolves with its output and error text. Throws only if the session broke. */
  run(name: string, args: readonly string[] = [], timeoutMs = 120_000): Promise<CommandResult> {
    const next = this.queue.then(() => this.send(name, args, timeoutMs));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * A path in this session's private temp folder, for commands that write a local file (`find0`):
   * guestfish runs as this user on this machine, and the folder goes away with the session.
   */
  localFile(name: string): string {
    if (!/^[\w.-]+$/.test(name)) throw new GuestfishError(`bad local file name ${name}`);
    return join(this.tmpDir, name);
  }

  /** Like `run`, but an error becomes an exception naming the command. */
  async ok(name: string, args: readonly string[] = [], timeoutMs?: number): Promise<string> {
    const result = await this.run(name, args, timeoutMs);
    if (result.error) throw new GuestfishError(`${name} ${args.join(' ')}: ${firstError(result.error)}`.replace(/\s+:/, ':'));
    return result.stdout;
  }

  private send(name: string, args: readonly string[], timeoutMs: number): Promise<CommandResult> {
    if (this.spawnError) return Promise.reject(this.spawnError);
    if (this.exited) return Promise.reject(new GuestfishError(`guestfish is not running${this.lastErrorSuffix()}`));
    const marker = `@@imgtest-${this.nonce}-${++this.seq}@@`;
    const line = commandLine(name, args);
    return new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(new GuestfishError(`guestfish: ${name} did not finish within ${Math.round(timeoutMs / 1000)} s`));
        this.kill();
      }, timeoutMs);
      this.pending = { marker, resolve, reject, timer, command: name };
      this.child.stdin.write(`${line}\necho ${marker}\n`);
      this.checkMarker();
    });
  }

  private checkMarker(): void {
    const pending = this.pending;
    if (!pending) return;
    const needle = Buffer.from(`${pending.marker}\n`);
    const at = this.stdout.indexOf(needle);
    if (at < 0) return;
    const output = this.stdout.subarray(0, at).toString('utf8');
    this.stdout = this.stdout.subarray(at + needle.length);
    clearTimeout(pending.timer);
    this.pending = undefined;
    const error = this.drainStderr();
    pending.resolve({ stdout: output, error: errorLines(error) });
  }

  /** New bytes guestfish wrote to its stderr file since the last call. */
  private drainStderr(): string {
    let size: number;
    try {
      size = fstatSync(this.errFd).size;
    } catch {
      return '';
    }
    if (size <= this.errOffset) return '';
    const buffer = Buffer.alloc(size - this.errOffset);
    const read = readSync(this.errFd, buffer, 0, buffer.length, this.errOffset);
    this.errOffset += read;
    const text = buffer.subarray(0, read).toString('utf8');
    this.transcript += text;
    return text;
  }

  private lastErrorSuffix(): string {
    const lines = this.transcript.trim().split('\n').filter(Boolean);
    const last = lines.filter((l) => /error/i.test(l)).pop() ?? lines.pop();
    return last ? `: ${last.trim()}` : '';
  }

  private failPending(error: Error): void {
    const pending = this.pending;
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pending = undefined;
    pending.reject(error);
  }

  private kill(): void {
    if (this.exited || this.child.pid === undefined) return;
    this.child.kill('SIGTERM');
    const hard = setTimeout(() => {
      if (!this.exited) this.child.kill('SIGKILL');
    }, 10_000);
    hard.unref();
  }

  /** Ends the session: `exit`, then stdin closed; SIGTERM/SIGKILL if guestfish lingers. Never throws. */
  async close(timeoutMs = 60_000): Promise<void> {
    if (!this.exited) {
      this.child.stdin.end('exit\n');
      const timer = setTimeout(() => this.kill(), timeoutMs);
      await this.exitPromise;
      clearTimeout(timer);
    }
    this.drainStderr();
    try {
      closeSync(this.errFd);
    } catch {
      /* already closed */
    }
    rmSync(this.tmpDir, { recursive: true, force: true });
  }
}

/** The error lines of a stretch of guestfish stderr, without the `*stdin*:N:` script position. */
export function errorLines(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => l.replace(/^\*stdin\*:\d+:\s*/, '').trim())
    .filter((l) => /\berror\b/i.test(l))
    .join('\n');
}

/** The first `libguestfs: error:` line without its prefix. */
export function firstError(text: string): string {
  const line = text.split('\n').find((l) => /error/i.test(l)) ?? text.split('\n')[0] ?? '';
  return line.replace(/^\*stdin\*:\d+:\s*/, '').replace(/^libguestfs: error:\s*/, '').trim();
}
