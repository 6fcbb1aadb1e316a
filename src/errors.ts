/**
 * imgtest's one error hierarchy. Every error a user can meet carries a stable `code`
 * (for scripts and JSON results) and the process exit code it maps to. Only `src/cli`
 * turns these into an exit; everything else throws.
 */

export const ExitCode = {
  ok: 0,
  checksFailed: 1,
  usage: 2,
  infrastructure: 3,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class ImgtestError extends Error {
  abstract readonly code: string;
  abstract readonly exitCode: ExitCodeValue;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command line or arguments. */
export class UsageError extends ImgtestError {
  readonly code = 'E_USAGE';
  readonly exitCode = ExitCode.usage;
}

/** A config file that does not parse or does not match the schema; the message names file, line and field. */
export class ConfigError extends ImgtestError {
  readonly code = 'E_CONFIG';
  readonly exitCode = ExitCode.usage;
}

/** The input image is unusable: missing, unreadable, not a disk image, has a backing file. */
export class ImageError extends ImgtestError {
  readonly code = 'E_IMAGE';
  readonly exitCode = ExitCode.usage;
}

/** Something outside the image failed: a host, libvirt, QEMU, a tool, the lab. */
export class InfraError extends ImgtestError {
  readonly code: string;
  readonly exitCode = ExitCode.infrastructure;
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options);
    this.code = options?.code ?? 'E_INFRA';
  }
}

/** A command we ran exited non-zero or could not start. */
export class CommandError extends InfraError {
  constructor(
    readonly command: readonly string[],
    readonly exitStatus: number | undefined,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    const tail = stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
    super(`${command.join(' ')} failed${exitStatus === undefined ? '' : ` (exit ${exitStatus})`}${tail ? `: ${tail}` : ''}`, {
      ...options,
      code: 'E_COMMAND',
    });
  }
}

/** A guest did not come up (no address, no SSH, cloud-init never finished) within its deadline. */
export class BootError extends InfraError {
  constructor(
    message: string,
    readonly evidence: string = '',
    options?: { cause?: unknown },
  ) {
    super(message, { ...options, code: 'E_BOOT' });
  }
}

/**
 * Why a guest command got no exit status: the SSH connection could not be made (`connect`: refused,
 * unreachable, no handshake within the limit), the guest refused the run's key (`auth`), the channel
 * could not be opened (`channel`), the connection dropped before the exit status arrived (`closed`), or
 * the command ended by a signal and reported no exit status (`signal`).
 */
export type GuestTransportReason = 'connect' | 'auth' | 'channel' | 'closed' | 'signal';

/**
 * A command in a guest got no exit status because of the SSH connection, not because of the command
 * (`GuestHandle.exec`/`script` throw it; the command's own exit codes, 255 included, are results). An
 * infrastructure error: a check that meets it observed nothing, so it ends as an `<error>`, never a
 * `<failure>`. The message names the guest's address and what happened.
 */
export class GuestTransportError extends InfraError {
  constructor(
    message: string,
    readonly address: string,
    readonly reason: GuestTransportReason,
    readonly details: {
      /** What the command printed before the connection dropped (reason `closed` or `signal`). */
      output?: { stdout: string; stderr: string };
      /** The signal that ended the command (reason `signal`), e.g. `SIGKILL`. */
      signal?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: details.cause, code: 'E_GUEST_TRANSPORT' });
  }

  /** What the command printed before the connection dropped, if anything. */
  get output(): { stdout: string; stderr: string } | undefined {
    return this.details.output;
  }
}

/**
 * The guest answered with an SSH host key that is not one of those pinned from its serial console (or
 * trusted on first use): a security event (someone else answers at the guest's address, or the guest's
 * keys changed under us). Nothing was run. An infrastructure error for the run, but said as what it is.
 */
export class GuestHostKeyError extends InfraError {
  constructor(
    message: string,
    readonly address: string,
    /** The offered key's type and SHA256 fingerprint, `ssh-ed25519 SHA256:...`. */
    readonly offered: string,
    /** The pinned keys the offered one was compared with, the same way. */
    readonly pinned: readonly string[],
  ) {
    super(message, { code: 'E_GUEST_HOST_KEY' });
  }
}

/** A command in a guest did not finish within its `timeoutMs`; its channel was closed. */
export class GuestExecTimeoutError extends InfraError {
  constructor(
    message: string,
    readonly address: string,
    readonly timeoutMs: number,
  ) {
    super(message, { code: 'E_GUEST_EXEC_TIMEOUT' });
  }
}

/** The run was interrupted (Ctrl-C); cleanup has run. */
export class InterruptedError extends ImgtestError {
  readonly code = 'E_INTERRUPTED';
  readonly exitCode = ExitCode.infrastructure;
}

/** The user has already been told what went wrong; exit quietly with this code. */
export class ExitError extends Error {
  constructor(readonly exitCode: ExitCodeValue) {
    super(`exit ${exitCode}`);
    this.name = 'ExitError';
  }
}

export function isImgtestError(error: unknown): error is ImgtestError {
  return error instanceof ImgtestError;
}
