import { writeFile } from 'node:fs/promises';
import type { ExecOptions, ExecResult, LoginAttempt, LoginOptions } from '../suite-api/index.js';
import { run } from '../util/exec.js';
import { shellJoin } from './shell-quote.js';

/**
 * A guest as the SSH clients reach it. The OpenSSH client (this file) makes the login checks
 * (`tryLogin`: a real client's behaviour is the point) and the boot's readiness probes; the checks'
 * commands run over the ssh2 session of ./ssh-session.ts, which checks the host key against the same
 * known_hosts file with the same rules.
 */
export interface SshTarget {
  address: string;
  user: string;
  keyFile: string;
  knownHostsFile: string;
  /** Pinned: StrictHostKeyChecking=yes against knownHostsFile; otherwise accept-new (first use). */
  pinned: boolean;
  /** Connection sharing socket, so many checks pay for one handshake. */
  controlPath?: string;
}

const BASE_OPTIONS = [
  '-F',
  '/dev/null',
  '-o',
  'BatchMode=yes',
  '-o',
  'IdentitiesOnly=yes',
  '-o',
  'IdentityAgent=none',
  '-o',
  'GlobalKnownHostsFile=/dev/null',
  '-o',
  'LogLevel=ERROR',
  '-o',
  'ConnectTimeout=10',
  '-o',
  'ServerAliveInterval=5',
  '-o',
  'ServerAliveCountMax=6',
];

export function sshArgs(target: SshTarget, extra: { user?: string; keyFile?: string | null; multiplex?: boolean; preferred?: string[] } = {}): string[] {
  const args = [...BASE_OPTIONS, '-o', `UserKnownHostsFile=${target.knownHostsFile}`, '-o', `StrictHostKeyChecking=${target.pinned ? 'yes' : 'accept-new'}`];
  const keyFile = extra.keyFile === undefined ? target.keyFile : extra.keyFile;
  if (keyFile) args.push('-i', keyFile);
  else args.push('-o', 'PubkeyAuthentication=no');
  if (extra.preferred) args.push('-o', `PreferredAuthentications=${extra.preferred.join(',')}`);
  if (extra.multiplex && target.controlPath) args.push('-o', 'ControlMaster=auto', '-o', `ControlPath=${target.controlPath}`, '-o', 'ControlPersist=120');
  else args.push('-o', 'ControlMaster=no', '-o', 'ControlPath=none');
  args.push('-l', extra.user ?? target.user, target.address);
  return args;
}

/**
 * Runs argv in the guest with the OpenSSH client, over the guest's ControlMaster. Only the boot uses
 * it (polling `cloud-init status` before the host key is verified against the console); the checks'
 * commands go through the ssh2 session (./ssh-session.ts), which throws on a lost connection instead of
 * returning ssh's own exit 255.
 */
export async function sshExec(target: SshTarget, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const command = options.sudo ? ['sudo', '-n', '--', ...argv] : [...argv];
  const result = await run('ssh', [...sshArgs(target, { multiplex: true }), '--', shellJoin(command)], {
    allowFailure: true,
    input: options.input,
    timeoutMs: options.timeoutMs ?? 120_000,
  });
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
}

/** "Permission denied (publickey,password)." -> ['publickey', 'password'] */
export function parseOfferedMethods(stderr: string): string[] {
  const match = /Permission denied \(([^)]*)\)/.exec(stderr);
  return match
    ? match[1]!
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean)
    : [];
}

/** A fresh, unshared login attempt, as a user (or attacker) from outside would make it. */
export async function sshTryLogin(target: SshTarget, options: LoginOptions): Promise<LoginAttempt> {
  const args = sshArgs(target, { user: options.user, keyFile: options.keyFile ?? null, preferred: options.preferredAuthentications });
  const result = await run('ssh', [...args, '--', 'true'], { allowFailure: true, timeoutMs: 60_000 });
  const transcript = [result.stdout, result.stderr].filter(Boolean).join('\n').trim();
  return { accepted: result.exitCode === 0, methodsOffered: parseOfferedMethods(result.stderr), transcript: transcript || `exit ${result.exitCode}` };
}

/** Is SSH answering with our key yet? */
export async function sshReady(target: SshTarget): Promise<{ ready: boolean; detail: string }> {
  const result = await run('ssh', [...sshArgs(target), '--', 'true'], { allowFailure: true, timeoutMs: 30_000 }).catch((error: Error) => ({ exitCode: 255, stderr: error.message, stdout: '' }));
  return { ready: result.exitCode === 0, detail: result.stderr.trim().split('\n').pop() ?? '' };
}

export async function writeKnownHosts(file: string, address: string, hostKeys: readonly string[]): Promise<void> {
  await writeFile(file, hostKeys.map((key) => `${address} ${key}\n`).join(''), { mode: 0o600 });
}

export async function closeMaster(target: SshTarget): Promise<void> {
  if (!target.controlPath) return;
  await run('ssh', ['-F', '/dev/null', '-o', `ControlPath=${target.controlPath}`, '-O', 'exit', target.address], { allowFailure: true, timeoutMs: 10_000 }).catch(() => undefined);
}
