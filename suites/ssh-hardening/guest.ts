/**
 * Reads that several checks share (computed once per guest through `context.memo`), evidence
 * formatting, and running a check on every planned guest.
 */
import { unobserved, type CheckContext, type CheckOutcome, type ExecOptions, type ExecResult, type GuestHandle, type Severity, type Unobserved } from './api.js';

export type { Unobserved };
import { parseOptions, type SshHardeningOptions } from './options.js';
import { describeRules, failureSeverity, passSeverity, type SeverityChoice } from './policy.js';
import { probeServer, type HostTools, type ProbeResult } from './probe.js';
import { clientAddressFrom, parseSshdT, type SshdSettings } from './sshd.js';
import { oneLine, transcript, withoutSudoNoise } from './api.js';
// The contract's evidence helpers, re-exported for this suite's other files (one wording across suites).
export { oneLine, transcript, withoutSudoNoise };

export const SUITE = 'ssh-hardening';

export interface Ran {
  result: ExecResult;
  evidence: string;
}

const UNOBSERVED_TEXT: Record<Unobserved, string> = {
  transport: 'the SSH connection to the guest failed', // never returned: exec throws GuestTransportError
  sudo: 'sudo -n was refused',
  missing: 'the program is not installed in the guest',
};

/** The error a check throws when it could not look: a JUnit <error> naming why, never a <failure>. */
export function cannotObserve(what: string, ran: Ran, why: Unobserved): Error {
  return new Error(`cannot ${what}: ${UNOBSERVED_TEXT[why]} (${oneLine(`${ran.evidence.split('\n')[0]} ${withoutSudoNoise(ran.result.stderr)}`, 240)})`);
}

/**
 * Runs argv in the guest and returns what it said, whatever the exit code; throws when the command
 * could not run at all (sudo refused, the program missing): such a check could not observe. A lost
 * SSH connection or a timeout throws already in the guest handle (GuestTransportError,
 * GuestExecTimeoutError). Use `tryRun` where a check has another way to ask.
 */
export async function run(guest: GuestHandle, argv: readonly string[], options: ExecOptions = {}): Promise<Ran> {
  const ran = await tryRun(guest, argv, options);
  if (ran.unobserved) throw cannotObserve(`run ${argv[0]}`, ran, ran.unobserved);
  return ran;
}

export async function tryRun(guest: GuestHandle, argv: readonly string[], options: ExecOptions = {}): Promise<Ran & { unobserved?: Unobserved }> {
  const result = await guest.exec(argv, options);
  return { result, evidence: transcript(argv, result, options), unobserved: unobserved(result, options) };
}

/**
 * sshd lives in /usr/sbin, which sudo's secure_path has; where it does not, try the full path. Throws
 * when neither runs (no sshd, sudo refused, SSH down): nothing was observed. sshd -t/-T's own exit 255
 * is an answer (the connection's failures are thrown by exec, never returned).
 */
export async function runSshd(guest: GuestHandle, args: readonly string[]): Promise<Ran & { argv: string[] }> {
  const shown: string[] = [];
  for (const sshd of ['sshd', '/usr/sbin/sshd']) {
    const argv = [sshd, ...args];
    const ran = await tryRun(guest, argv, { sudo: true });
    const evidence = [...shown, ran.evidence].join('\n');
    if (ran.unobserved === 'missing') {
      shown.push(ran.evidence);
      continue;
    }
    if (ran.unobserved) throw cannotObserve(`run sshd ${args.join(' ')}`, { ...ran, evidence }, ran.unobserved);
    return { result: ran.result, evidence, argv };
  }
  throw new Error(`cannot run sshd ${args.join(' ')}: no sshd in sudo's PATH nor at /usr/sbin/sshd (${oneLine(shown.join(' | '), 240)})`);
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
    const settings = parseSshdT(ran.result.stdout);
    // Exit 0 with nothing printed is no answer (a wrapper, a truncated stream): nothing to judge.
    if (ran.result.exitCode === 0 && settings.size === 0)
      throw new Error(`cannot read sshd's effective settings: sshd -T exited 0 but printed nothing (${oneLine(withoutSudoNoise(ran.result.stderr), 200) || 'no output'})`);
    if (ran.result.exitCode === 0) {
      const evidence = [
        ...notes,
        `$ sudo -n ${ran.argv.join(' ')}   (exit 0, ${ran.result.stdout.split('\n').filter((l) => l.trim()).length} lines; whole output in the sshd-effective-config artifact)`,
      ].join('\n');
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
  /** The policy rules (./policy.ts) a failure broke; they weigh it under the run's profile. */
  rules?: string[];
}

export const verdict = (ok: boolean, message: string, evidence: string, rules: string[] = []): GuestVerdict => ({ status: ok ? 'pass' : 'fail', message, evidence, rules: ok ? [] : rules });

export function severityChoice(context: CheckContext): SeverityChoice {
  const opts = options(context);
  return { profile: opts.policy, overrides: opts.severity };
}

/** The profile's weight of a failure, named with its rules and sources (message) and in full (evidence). */
function weigh(checkId: string, rules: readonly string[], choice: SeverityChoice): { severity: Severity; said: string } {
  const severity = failureSeverity(checkId, rules, choice);
  // An override decides the weight, so it comes first: a long rule list may be cut.
  const override = choice.overrides[checkId] ? `${choice.overrides[checkId]} by the config's severity.${checkId}; ` : '';
  const said = `${override}${rules.length ? describeRules(rules, choice.profile) : `${severity} under ${choice.profile}`}`;
  return { severity, said };
}

/**
 * Runs `check` on every guest the runner planned (one, for this suite); any failing guest fails the
 * check. The outcome's severity is the heaviest broken rule under the run's profile (or the config's
 * override for this check); a pass carries the check's severity under the profile.
 */
export async function onEveryGuest(context: CheckContext, checkId: string, check: (guest: GuestHandle) => Promise<GuestVerdict>): Promise<CheckOutcome> {
  const guests = context.guests;
  if (!guests.length) throw new Error(`${SUITE}: the runner planned no guest for this suite`);
  const choice = severityChoice(context);
  const verdicts = await Promise.all(guests.map((g) => check(g)));
  const failing = verdicts.map((v, i) => ({ v, g: guests[i]! })).filter(({ v }) => v.status === 'fail');
  const evidence = guests.length === 1 ? verdicts[0]!.evidence : verdicts.map((v, i) => `=== ${guests[i]!.name} (${guests[i]!.address}) ===\n${v.evidence}`).join('\n\n');
  if (failing.length) {
    const rules = [...new Set(failing.flatMap(({ v }) => v.rules ?? []))];
    const { severity, said } = weigh(checkId, rules, choice);
    const found = guests.length === 1 ? failing[0]!.v.message : failing.map(({ v, g }) => `${g.name}: ${v.message}`).join('; ');
    return { status: 'fail', severity, message: oneLine(`${found} [${said}]`, 800), evidence: `${evidence}\npolicy ${choice.profile}: ${said}` };
  }
  const severity = passSeverity(checkId, choice);
  if (verdicts.every((v) => v.status === 'skip')) return { status: 'skip', severity, message: oneLine(verdicts[0]!.message, 400), evidence };
  return { status: 'pass', severity, message: oneLine([...new Set(verdicts.map((v) => v.message))].join('; '), 400), evidence };
}
