import { execa, type Options } from 'execa';
import { CommandError } from '../errors.js';
import { abortError } from './poll.js';

export interface RunOptions {
  /** Text fed to the command's standard input. */
  input?: string;
  /** Milliseconds before the command is killed. */
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Return the result instead of throwing when the command exits non-zero. */
  allowFailure?: boolean;
  /** Kills the command when aborted (the run was interrupted); the call then rejects with `abortError`. */
  signal?: AbortSignal;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs one program with an argument array (never a shell string) and returns its output.
 * A non-zero exit throws CommandError naming the command and stderr's last lines,
 * unless `allowFailure` is set.
 */
export async function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  // execa starts a command even when its cancel signal has already fired; an interrupted run starts nothing.
  if (options.signal?.aborted) throw abortError(options.signal);
  const execaOptions: Options = {
    reject: false,
    stripFinalNewline: true,
    timeout: options.timeoutMs,
    input: options.input,
    env: options.env,
    cwd: options.cwd,
    extendEnv: true,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  };
  const result = await execa(file, [...args], execaOptions);
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  // Killed because the run was interrupted: the same error as every other step the interrupt stops.
  if (result.isCanceled && options.signal) throw abortError(options.signal);
  if (result.failed && result.exitCode === undefined) {
    // Could not start, or was killed (timeout, signal).
    const reason = result.timedOut ? `timed out after ${options.timeoutMs} ms` : result.cause instanceof Error ? result.cause.message : String(result.shortMessage);
    throw new CommandError([file, ...args], undefined, `${stderr}\n${reason}`, { cause: result.cause });
  }
  const exitCode = result.exitCode ?? 0;
  if (exitCode !== 0 && !options.allowFailure) {
    throw new CommandError([file, ...args], exitCode, stderr || stdout);
  }
  return { stdout, stderr, exitCode };
}

/** True when `file` can be found on PATH. */
export async function commandExists(file: string): Promise<boolean> {
  const result = await execa('sh', ['-c', 'command -v "$1"', 'sh', file], { reject: false });
  return result.exitCode === 0;
}
