/**
 * Whether a host's libvirt still answers, judged over the calls made to it. Every `virsh` call opens
 * its own connection; when that connection fails (libvirtd gone, the ssh tunnel refused), virsh says
 * "failed to connect to the hypervisor" before the command's own error. One such failure proves
 * little: over ssh on a loaded machine a single call can fail and the next succeed. The host counts
 * as lost only after LOST_AFTER_FAILURES failed connections in a row, spanning LOST_AFTER_MS, with
 * no call answered in between. Pure: time comes in.
 */

import { InfraError } from '../errors.js';
import { virshErrorLines } from './parse.js';

/** libvirt's words when the connection failed or dropped, as opposed to the command being refused. */
const CONNECTION_FAILURE = /failed to connect to the hypervisor|Disconnected from \S+ due to|End of file while reading data|Cannot recv data|client socket is closed/i;

export const LOST_AFTER_FAILURES = 3;
/** Longer than an ssh handshake retried under load, shorter than any boot stage's silence limit (boot-watch.ts). */
export const LOST_AFTER_MS = 30_000;

export function isConnectionFailure(stderr: string): boolean {
  return CONNECTION_FAILURE.test(stderr);
}

export class ConnectionHealth {
  private failures = 0;
  private failingSince?: number;
  private lastError = '';

  /** A call got an answer from libvirt (success, or the command's own refusal). */
  answered(): void {
    this.failures = 0;
    this.failingSince = undefined;
  }

  /** A call's connection failed; `stderr` is virsh's, kept for the message. */
  failed(stderr: string, now = Date.now()): void {
    this.failures++;
    this.failingSince ??= now;
    this.lastError = connectionFailureCause(stderr);
  }

  /** Why the host counts as lost now, or undefined while it may still be a passing failure. */
  lost(now = Date.now()): string | undefined {
    if (this.failingSince === undefined || this.failures < LOST_AFTER_FAILURES || now - this.failingSince < LOST_AFTER_MS) return undefined;
    return `libvirt has not answered for ${Math.round((now - this.failingSince) / 1000)} s (${this.failures} connections in a row failed: ${this.lastError})`;
  }
}

/** The error for a call that could not reach the host's libvirt: the host named, libvirt's cause in one line. */
export function hostDidNotAnswer(host: string, command: string, stderr: string, cause?: unknown): InfraError {
  return new InfraError(`host ${host} did not answer (virsh ${command}): ${connectionFailureCause(stderr)}`, { code: 'E_HOST_UNREACHABLE', cause });
}

/** virsh's last "error: ..." line (the cause, after "failed to connect to the hypervisor"), one line. */
export function connectionFailureCause(stderr: string): string {
  const { errors, lines } = virshErrorLines(stderr);
  return (errors.at(-1) ?? lines.at(-1) ?? 'no message').slice(0, 200);
}
