import { CommandError } from '../errors.js';
import { run, type RunResult } from '../util/exec.js';
import { ConnectionHealth, hostDidNotAnswer, isConnectionFailure } from './connection-health.js';

/** One libvirt connection, driven through the `virsh` client (no maintained libvirt binding exists on npm). */
export class Virsh {
  constructor(
    readonly uri: string,
    /** Told whether libvirt answered each call made through this client (see connection-health.ts). */
    readonly health = new ConnectionHealth(),
    /** The host's name, for errors that say which host did not answer. */
    readonly hostName?: string,
  ) {}

  async run(args: readonly string[], options: { timeoutMs?: number; allowFailure?: boolean; input?: string; signal?: AbortSignal } = {}): Promise<RunResult> {
    try {
      const result = await run('virsh', ['--quiet', '-c', this.uri, ...args], {
        timeoutMs: options.timeoutMs ?? 120_000,
        allowFailure: options.allowFailure,
        input: options.input,
        signal: options.signal,
      });
      this.observe(result.exitCode, result.stderr);
      return result;
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      this.observe(error.exitStatus, error.stderr);
      // Said as the host not answering, not as a command that failed with a page of virsh's words.
      if (isConnectionFailure(error.stderr)) throw hostDidNotAnswer(this.hostName ?? this.uri, args[0] ?? '', error.stderr, error);
      throw error;
    }
  }

  /**
   * A command whose own refusal is an answer (nothing to remove, no such domain) but whose host must
   * answer: a connection failure throws, so cleanup says what it could not remove instead of nothing.
   */
  async answered(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<RunResult> {
    const result = await this.run(args, { ...options, allowFailure: true });
    if (result.exitCode !== 0 && isConnectionFailure(result.stderr)) throw hostDidNotAnswer(this.hostName ?? this.uri, args[0] ?? '', result.stderr);
    return result;
  }

  async text(args: readonly string[], options?: { timeoutMs?: number }): Promise<string> {
    return (await this.run(args, options)).stdout;
  }

  /** A timed-out or killed call says nothing about the connection (a guest agent can hold a call). */
  private observe(exitCode: number | undefined, stderr: string): void {
    if (exitCode === 0) this.health.answered();
    else if (isConnectionFailure(stderr)) this.health.failed(stderr);
    else if (exitCode !== undefined) this.health.answered();
  }
}
