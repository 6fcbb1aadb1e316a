/**
 * Reading an `ExecResult` for what it says about the guest, once for every suite: a command that could
 * not run (sudo refused, program missing) observed nothing, so a check must report an error, never a
 * defect. Part of the plugin contract (exported from `imgtest/suite-api`).
 *
 * A lost SSH connection is no longer a result: `GuestHandle.exec`/`script` throw `GuestTransportError`
 * (or `GuestHostKeyError`, `GuestExecTimeoutError`) when no exit status came back, so every result,
 * exit 255 included, is the command's own.
 */

/** The part of an `ExecResult` (./index.ts) these read; declared here so this file imports nothing. */
interface ExecResult {
  exitCode: number;
  stderr: string;
}

/**
 * Why a command told us nothing about the image. `transport` is never returned any more (exec throws
 * `GuestTransportError` instead); it stays in the type so that code naming it still compiles.
 */
export type Unobserved = 'transport' | 'sudo' | 'missing';

/**
 * @deprecated `GuestHandle.exec` throws `GuestTransportError` when the connection fails; its results
 * never carry the OpenSSH client's exit 255. Kept for suites written against the OpenSSH channel (and
 * their fakes): true for exit 255 with the OpenSSH client's own words (the connection dropped or never
 * came up); programs that exit 255 themselves (sshd -t/-T) print their own words, not these.
 */
export function transportFailed(result: ExecResult): boolean {
  return (
    result.exitCode === 255 &&
    /^(ssh: |ssh_exchange_identification|kex_exchange_identification|client_loop: |mux_client_|Connection (closed|reset|refused|timed out)|Control socket|Broken pipe|.*Connection to \S+ closed by remote host)/m.test(
      result.stderr,
    )
  );
}

/** sudo itself failed (no passwordless sudo for the seeded user): the run's problem, not the image's. */
export function sudoFailed(result: ExecResult): boolean {
  return result.exitCode !== 0 && /^sudo: (a password is required|a terminal is required|.*not in the sudoers|.*not allowed|sorry, you must have a tty)/m.test(result.stderr);
}

/** The program is not installed (the remote shell's 127, or sudo's own "command not found"). */
export function commandMissing(result: ExecResult): boolean {
  return result.exitCode === 127 || (result.exitCode !== 0 && /^sudo: .*: command not found/m.test(result.stderr));
}

/**
 * Why the command observed nothing (`sudo`, `missing`), or undefined when its result is the guest's
 * answer. A result's exit 255 is the program's own (the connection's failures are thrown), so it is
 * judged like any other exit code: e.g. `ssh localhost` in the guest failing is an answer.
 */
export function unobserved(result: ExecResult, options: { sudo?: boolean } = {}): Unobserved | undefined {
  if (options.sudo && sudoFailed(result)) return 'sudo';
  if (commandMissing(result)) return 'missing';
  return undefined;
}
