/**
 * Reads that several checks share (computed once per guest through `context.memo`), evidence
 * formatting, and running a check on every planned guest.
 */
import { fail, pass, skip, type CheckContext, type CheckOutcome, type ExecOptions, type ExecResult, type GuestHandle } from '../../src/suite-api/index.js';
import { parseOptions, type SshHardeningOptions } from './options.js';
import { probeServer, type HostTools, type ProbeResult } from './probe.js';
import { clientAddressFrom, parseSshdT, type SshdSettings } from './sshd.js';

export const SUITE = 'ssh-hardening';

export function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function transcript(argv: readonly string[], result: ExecResult, options: ExecOptions = {}): string {
  const lines = [`$ ${options.sudo ? 'sudo -n ' : ''}${argv.join(' ')}   (exit ${result.exitCode})`];
  if (result.stdout.trim()) lines.push(result.stdout.replace(/\s+$/, ''));
  if (result.stderr.trim()) lines.push(`[stderr] ${result.stderr.replace(/\s+$/, '')}`);
  return lines.join('\n');
}

export interface Ran {
  result: ExecResult;
  evidence: string;
}

export async function run(guest: GuestHandle, argv: readonly string[], options: ExecOptions = {}): Promise<Ran> {
  const result = await guest.exec(argv, options);
  return { result, evidence: transcript(argv, result, options) };
}

/** sudo's own complaints (an unresolvable hostname) are not the command's output. */
export function withoutSudoNoise(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => !/^sudo: unable to resolve host /.test(line))
    .join('\n');
}

const NOT_FOUND = /command not found|No such file or directory|not found/i;

/** sshd lives in /usr/sbin, which sudo's secure_path has; where it does not, try the full path. */
export async function runSshd(guest: GuestHandle, args: readonly string[]): Promise<Ran & { argv: string[] }> {
  let last: (Ran & { argv: string[] }) | undefined;
  const shown: string[] = [];
  for (const sshd of ['sshd', '/usr/sbin/sshd']) {
    const argv = [sshd, ...args];
    const ran = await run(guest, argv, { sudo: true });
    last = { ...ran, argv, evidence: [...shown, ran.evidence].join('\n') };
    if (!(ran.result.exitCode !== 0 && NOT_FOUND.test(ran.result.stderr) && !ran.result.stdout.trim())) return last;
    shown.push(ran.evidence);
  }
  return last!;
}

/** sudo itself failed (no passwordless sudo for the seeded user): an infrastructure problem, not the image's sshd. */
export function sudoFailed(result: ExecResult): boolean {
  return result.exitCode !== 0 && /^sudo: (a password is required|a terminal is required|.*not in the sudoers|.*not allowed)/m.test(result.stderr);
}

export function options(context: CheckContext): SshHardeningOptions {
  return parseOptions(context.options);
}

const key = (name: string, guest: GuestHandle): string => `${SUITE}:${name}:${guest.name}`;

export interface EffectiveConfig {
  ok: boolean;
  settings: SshdSettings;
  raw: string;
  /** The `-C` connection spec used. */
  spec: string;
  /** Command lines (not the whole output, which is long) and how the spec was chosen. */
  evidence: string;
  problem?: string;
}

/**
 * sshd's effective settings for a connection as the seeded user from our own address (as the guest
 * sees it in SSH_CONNECTION), so Match blocks apply as they would to us.
 */
export function effectiveConfig(context: CheckContext, guest: GuestHandle): Promise<EffectiveConfig> {
  return context.memo(key('sshd-T', guest), async () => {
    const opts = options(context);
    const notes: string[] = [];
    let addr = opts.match.addr;
    if (!addr) {
      const env = await run(guest, ['printenv', 'SSH_CONNECTION']);
      addr = clientAddressFrom(env.result.stdout);
      notes.push(`${env.evidence.split('\n').join(' | ')}${addr ? `  -> client address ${addr}` : ''}`);
      if (!addr) {
        addr = '192.0.2.10';
        notes.push(`(no SSH_CONNECTION: using ${addr}, a documentation address, as the client)`);
      }
    }
    const spec = `user=${opts.match.user ?? guest.seed.user},host=${opts.match.host},addr=${addr}`;
    const ran = await runSshd(guest, ['-T', '-C', spec]);
    if (sudoFailed(ran.result)) throw new Error(`sudo -n sshd -T failed: ${oneLine(ran.result.stderr, 200)}`);
    const settings = parseSshdT(ran.result.stdout);
    if (ran.result.exitCode === 0 && settings.size > 0) {
      const evidence = [...notes, `$ sudo -n ${ran.argv.join(' ')}   (exit 0, ${ran.result.stdout.split('\n').filter((l) => l.trim()).length} lines; whole output in the sshd-effective-config artifact)`].join('\n');
      return { ok: true, settings, raw: ran.result.stdout, spec, evidence };
    }
    const problem = `sshd -T exits ${ran.result.exitCode}: ${oneLine(withoutSudoNoise(ran.result.stderr) || ran.result.stdout, 200) || '(no output)'}`;
    return { ok: false, settings, raw: ran.result.stdout, spec, evidence: [...notes, ran.evidence].join('\n'), problem };
  });
}

/** The host-side probe of the guest's sshd (ssh-audit or the builtin probe), once per guest. */
export function serverProbe(context: CheckContext, guest: GuestHandle, tools: HostTools): Promise<ProbeResult> {
  return context.memo(key('probe', guest), async () => {
    const opts = options(context);
    context.log(`${SUITE}: probing ${guest.address}:${opts.port} from the host (${opts.probe === 'builtin' ? 'builtin probe' : opts.sshAuditCommand})`);
    return probeServer(guest.address, opts, tools);
  });
}

export function artifactName(context: CheckContext, guest: GuestHandle, base: string, ext: string): string {
  return context.guests.length > 1 ? `${base}-${guest.name.replace(/[^A-Za-z0-9._-]+/g, '_')}.${ext}` : `${base}.${ext}`;
}

export interface GuestVerdict {
  status: 'pass' | 'fail' | 'skip';
  message: string;
  evidence: string;
}

export const verdict = (ok: boolean, message: string, evidence: string): GuestVerdict => ({ status: ok ? 'pass' : 'fail', message, evidence });

/** Runs `check` on every guest the runner planned (one, for this suite); any failing guest fails the check. */
export async function onEveryGuest(context: CheckContext, check: (guest: GuestHandle) => Promise<GuestVerdict>): Promise<CheckOutcome> {
  const guests = context.guests;
  if (!guests.length) throw new Error(`${SUITE}: the runner planned no guest for this suite`);
  const verdicts = await Promise.all(guests.map((g) => check(g)));
  if (guests.length === 1) {
    const v = verdicts[0]!;
    return { status: v.status, message: oneLine(v.message, 400), evidence: v.evidence };
  }
  const evidence = verdicts.map((v, i) => `=== ${guests[i]!.name} (${guests[i]!.address}) ===\n${v.evidence}`).join('\n\n');
  const failing = verdicts.map((v, i) => ({ v, g: guests[i]! })).filter(({ v }) => v.status === 'fail');
  if (failing.length) return fail(oneLine(failing.map(({ v, g }) => `${g.name}: ${v.message}`).join('; '), 400), evidence);
  if (verdicts.every((v) => v.status === 'skip')) return skip(oneLine(verdicts[0]!.message, 400), evidence);
  return pass(oneLine([...new Set(verdicts.map((v) => v.message))].join('; '), 400), evidence);
}
