import { run, type RunResult } from '../util/exec.js';

/** One libvirt connection, driven through the `virsh` client (no maintained libvirt binding exists on npm). */
export class Virsh {
  constructor(readonly uri: string) {}

  async run(args: readonly string[], options: { timeoutMs?: number; allowFailure?: boolean; input?: string; signal?: AbortSignal } = {}): Promise<RunResult> {
    return run('virsh', ['--quiet', '-c', this.uri, ...args], { timeoutMs: options.timeoutMs ?? 120_000, allowFailure: options.allowFailure, input: options.input, signal: options.signal });
  }

  async text(args: readonly string[], options?: { timeoutMs?: number }): Promise<string> {
    return (await this.run(args, options)).stdout;
  }
}
