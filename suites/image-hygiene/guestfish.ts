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
 * Stopping (the run's AbortSignal fired, a command timed out, or guestfish lingers at the end):
 * guestfish is started with execa, as src/util/exec.ts runs programs, but `detached`: it leads its own
 * process group, and the appliance's qemu and libguestfs' recovery process are in that group
 * (libguestfs puts them in a group of their own only with `set-pgroup true`, which guestfish sets
 * when it runs interactively, never on a pipe). So a Ctrl-C in the terminal does not reach them
 * half-way; the session stops them itself, in order (`stopGroup`): stdin closed, the appliance's
 * processes sent SIGTERM first (guestfish's command under way then fails at once, and at the end of
 * its input guestfish exits through its own cleanup, which removes libguestfs' temp and socket
 * folders), then SIGTERM to the whole group, then SIGKILL, each after a grace period, until no
 * process of the group is left. libguestfs' per-handle temp folder (the `--ro` overlay) is put inside
 * the session's own temp folder (`LIBGUESTFS_TMPDIR`, direct backend only), which goes last. Should
 * imgtest exit without stopping the session, a process 'exit' hook SIGKILLs the group and removes
 * the folder.
 *
 * Arguments are never spliced in as text: each one is written as a double-quoted guestfish string in
 * which every byte outside [A-Za-z0-9/._+:@%,=-] is a `\xHH` escape (guestfish's own escape syntax),
 * so a file name cannot end the string, start a new command, or run a local `!` shell command.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, fstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { done, notYet, poll } from './api.js';

export interface GuestfishOptions {
  /** The disk image, opened read-only (`--ro`: qemu gets it read-only, writes go to a throwaway overlay). */
  image: string;
  format: 'qcow2' | 'raw';
  /** Program to run; default `guestfish`. */
  program?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * The run's cancellation. When it fires, the command under way fails ("guestfish stopped: the run was
   * interrupted"), later commands are refused, and the appliance's whole process group is stopped.
   */
  signal?: AbortSignal;
  /** How long each step of stopping the process group waits before the next, harder one; default 5 s. */
  stopGraceMs?: number;
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

type Subprocess = ResultPromise<{ detached: true; buffer: false; reject: false; stdin: 'pipe'; stdout: 'pipe'; stderr: 'ignore' }>;

export class GuestfishSession {
  private readonly child: Subprocess;
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
  private stopped: Error | undefined;
  private stopping: Promise<void> | undefined;
  private readonly graceMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = () => this.abort();
  private readonly onProcessExit = () => this.killNow();
  private closed = false;
  /** Everything guestfish wrote on stderr, for the log artifact. */
  transcript = '';

  constructor(options: GuestfishOptions) {
    this.signal = options.signal;
    this.graceMs = options.stopGraceMs ?? 5000;
    this.tmpDir = mkdtempSync(join(tmpdir(), 'imgtest-hygiene-'));
    this.errFd = openSync(join(this.tmpDir, 'guestfish.stderr'), 'w+');
    const program = options.program ?? 'guestfish';
    const env = { ...(options.env ?? applianceEnv()) };
    // libguestfs' own temp folder (the --ro overlay) inside ours, so it goes with ours whatever happens
    // to guestfish. Not with the libvirt backend: qemu runs as another user there and could not enter
    // our private folder.
    if (env.LIBGUESTFS_TMPDIR === undefined && (env.LIBGUESTFS_BACKEND ?? 'direct').startsWith('direct')) env.LIBGUESTFS_TMPDIR = this.tmpDir;
    this.child = execa(program, ['--ro', `--format=${options.format}`, '-a', options.image], {
      detached: true,
      buffer: false,
      reject: false,
      stdin: 'pipe',
      stdout: 'pipe',
      // stderr straight into the file, not through a pipe (see the file's comment). execa hands a file
      // descriptor number to spawn as it is (a "native" stdio value), though its types list none for stderr.
      stderr: this.errFd as unknown as 'ignore',
      env,
      extendEnv: false,
    });
    // With `reject: false` the result never rejects; exit and spawn errors are read from the events
    // (the result itself waits for stdout to close, which a straggler of the group can hold open).
    void this.child.catch(() => undefined);
    if (this.child.pid !== undefined) process.once('exit', this.onProcessExit);
    this.exitPromise = new Promise((resolve) => {
      this.child.once('error', (error: NodeJS.ErrnoException) => {
        if (this.exited) return;
        this.spawnError =
          error.code === 'ENOENT' ? new GuestfishError(`${program} not found: install libguestfs-tools to inspect images offline`) : new GuestfishError(`cannot start ${program}: ${error.message}`);
        this.exited = { code: null, signal: null };
        this.failPending(this.spawnError);
        resolve();
      });
      this.child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        this.drainStderr();
        this.failPending(this.stopped ?? new GuestfishError(`guestfish exited (${signal ?? `code ${code}`})${this.lastErrorSuffix()}`));
        resolve();
      });
    });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.stdout = Buffer.concat([this.stdout, chunk]);
      this.checkMarker();
    });
    // A closed stdin (guestfish gone) must not crash the process with EPIPE.
    this.child.stdin.on('error', () => undefined);
    if (this.signal?.aborted) this.abort();
    else this.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** The process id of guestfish, which leads the session's process group (undefined when it could not start). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The session's private temp folder (gone after `close`). */
  get folder(): string {
    return this.tmpDir;
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
    if (this.stopped) return Promise.reject(this.stopped);
    if (this.spawnError) return Promise.reject(this.spawnError);
    if (this.exited) return Promise.reject(new GuestfishError(`guestfish is not running${this.lastErrorSuffix()}`));
    const marker = `@@imgtest-${this.nonce}-${++this.seq}@@`;
    const line = commandLine(name, args);
    return new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        const error = new GuestfishError(`guestfish: ${name} did not finish within ${Math.round(timeoutMs / 1000)} s`);
        this.stopped ??= error;
        reject(error);
        void this.stopGroup();
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
    if (this.closed) return '';
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

  /** The run was interrupted: fail what is under way, refuse what comes, stop the process group. */
  private abort(): void {
    const reason = this.signal?.reason;
    const why = typeof reason === 'string' ? ` (${reason})` : reason instanceof Error && reason.message ? ` (${reason.message})` : '';
    this.stopped ??= new GuestfishError(`guestfish stopped: the run was interrupted${why}`);
    this.failPending(this.stopped);
    void this.stopGroup();
  }

  /**
   * Stops guestfish and everything in its process group, gently first (see the file's comment);
   * resolves when no process of the group is left (or after the last step's grace). Never throws.
   */
  stopGroup(): Promise<void> {
    const pgid = this.child.pid;
    if (pgid === undefined) return Promise.resolve();
    this.stopping ??= (async () => {
      this.child.stdin.end();
      signalEach(
        groupMembers(pgid).filter((pid) => pid !== pgid),
        'SIGTERM',
      );
      if (await groupGone(pgid, this.graceMs)) return;
      signalGroup(pgid, 'SIGTERM');
      if (await groupGone(pgid, this.graceMs)) return;
      signalGroup(pgid, 'SIGKILL');
      await groupGone(pgid, this.graceMs);
    })();
    return this.stopping;
  }

  /** Last resort when imgtest exits with the session open: nothing of the group, and no folder, stays. */
  private killNow(): void {
    const pgid = this.child.pid;
    if (pgid !== undefined && !this.closed) signalGroup(pgid, 'SIGKILL');
    rmSync(this.tmpDir, { recursive: true, force: true });
  }

  /**
   * Ends the session: `exit`, then stdin closed; the process group stopped if guestfish lingers past
   * `timeoutMs` or leaves processes behind; then the temp folder removed. Never throws.
   */
  async close(timeoutMs = 60_000): Promise<void> {
    if (this.closed) return;
    if (!this.exited && !this.stopping) {
      this.child.stdin.end('exit\n');
      const timer = setTimeout(() => void this.stopGroup(), timeoutMs);
      await this.exitPromise;
      clearTimeout(timer);
    }
    await this.exitPromise;
    const pgid = this.child.pid;
    // guestfish has exited; anything of its group still there (an appliance it did not take down) goes too.
    if (pgid !== undefined && groupMembers(pgid).length) await this.stopGroup();
    else await this.stopping;
    this.signal?.removeEventListener('abort', this.onAbort);
    process.removeListener('exit', this.onProcessExit);
    this.drainStderr();
    this.closed = true;
    try {
      closeSync(this.errFd);
    } catch {
      /* already closed */
    }
    rmSync(this.tmpDir, { recursive: true, force: true });
  }
}

/**
 * The processes of a process group, from /proc (Linux). A member that is gone between reading the
 * folder and its stat is left out.
 */
export function groupMembers(pgid: number): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return signalGroup(pgid, 0) ? [pgid] : [];
  }
  const members: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(name));
  }
  return members;
}

/** Sends a signal to every process of a group (`kill(-pgid)`); false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

function signalEach(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone already */
    }
  }
}

/** Waits until no live process of the group is left, at most `ms`; true when none is. */
async function groupGone(pgid: number, ms: number): Promise<boolean> {
  const gone = await poll(() => (groupMembers(pgid).length === 0 ? done(true) : notYet()), { intervalMs: 50, timeoutMs: ms });
  return gone.ok;
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
  return line
    .replace(/^\*stdin\*:\d+:\s*/, '')
    .replace(/^libguestfs: error:\s*/, '')
    .trim();
}
