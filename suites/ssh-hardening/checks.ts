/** The ssh-hardening checks. Each reads the guest (or probes it from the host) and judges with the pure functions beside it. */
import type { Check, CheckContext, GuestHandle, Severity } from '../../src/suite-api/index.js';
import { describeWeak, evaluate, type AlgorithmPolicy, type Category } from './algorithms.js';
import { describeProblems, describeStat, judgeConfigFiles, judgeHostKeyFiles, parseFindPrintf, parseKeygenList, parseStat, type HostKeyFile } from './files.js';
import { artifactName, effectiveConfig, oneLine, onEveryGuest, options, run, runSshd, serverProbe, sudoFailed, verdict, withoutSudoNoise, type GuestVerdict } from './guest.js';
import { offeredLines, type HostTools } from './probe.js';
import {
  judgeConfigTest,
  judgeEmptyPasswords,
  judgeForwarding,
  judgeHostbased,
  judgeKbdInteractive,
  judgeLoginGraceTime,
  judgeMaxAuthTries,
  judgePasswordAuth,
  judgePermitUserEnvironment,
  judgePubkeyAuth,
  judgeRootLogin,
  judgeRootLoginNo,
  type Judgment,
  type SshdSettings,
} from './sshd.js';
import type { SshHardeningOptions } from './options.js';

/** A check on sshd's effective settings. */
function settingCheck(id: string, title: string, severity: Severity, judge: (s: SshdSettings, o: SshHardeningOptions) => Judgment): Check {
  return {
    id,
    title,
    severity,
    run: (context) =>
      onEveryGuest(context, async (guest) => {
        const opts = options(context);
        const config = await effectiveConfig(context, guest);
        if (!config.ok) return verdict(false, `cannot read sshd's effective settings: ${config.problem}`, config.evidence);
        await context.artifacts.write(artifactName(context, guest, 'sshd-effective-config', 'txt'), config.raw);
        const judged = judge(config.settings, opts);
        const evidence = [config.evidence, ...(judged.lines.length ? judged.lines : ['(keyword not printed)'])].join('\n');
        return verdict(judged.ok, judged.message, evidence);
      }),
  };
}

const settingChecks: Check[] = [
  settingCheck('ssh-password-auth', 'sshd refuses password authentication', 'must', judgePasswordAuth),
  settingCheck('ssh-kbdinteractive-auth', 'sshd refuses keyboard-interactive (challenge-response) authentication', 'must', judgeKbdInteractive),
  settingCheck('ssh-empty-passwords', 'sshd refuses empty passwords', 'must', judgeEmptyPasswords),
  settingCheck('ssh-root-login', 'sshd does not let root log in with a password (PermitRootLogin not yes)', 'must', judgeRootLogin),
  settingCheck('ssh-root-login-no', 'sshd refuses root logins outright (PermitRootLogin no)', 'should', judgeRootLoginNo),
  settingCheck('ssh-pubkey-auth', 'sshd accepts public key authentication', 'must', judgePubkeyAuth),
  settingCheck('ssh-forwarding', 'X11, agent and TCP forwarding, tunnels and gateway ports are off', 'should', judgeForwarding),
  settingCheck('ssh-max-auth-tries', 'MaxAuthTries is low enough', 'must', (s, o) => judgeMaxAuthTries(s, o.maxAuthTries)),
  settingCheck('ssh-login-grace-time', 'LoginGraceTime is short enough', 'must', (s, o) => judgeLoginGraceTime(s, o.maxLoginGraceTimeSeconds)),
  settingCheck('ssh-permit-user-environment', 'users cannot set environment variables for sshd (PermitUserEnvironment no)', 'must', judgePermitUserEnvironment),
  settingCheck('ssh-hostbased-auth', 'no host-based trust (HostbasedAuthentication no, IgnoreRhosts yes)', 'must', judgeHostbased),
];

const configTestCheck: Check = {
  id: 'ssh-config-test',
  title: 'sshd -t accepts the configuration without a word',
  severity: 'must',
  run: (context) =>
    onEveryGuest(context, async (guest) => {
      const ran = await runSshd(guest, ['-t']);
      if (sudoFailed(ran.result)) throw new Error(`sudo -n sshd -t failed: ${oneLine(ran.result.stderr, 200)}`);
      const output = [ran.result.stdout, withoutSudoNoise(ran.result.stderr)].filter((t) => t.trim()).join('\n');
      const judged = judgeConfigTest(ran.result.exitCode, output);
      return verdict(judged.ok, judged.message, ran.evidence);
    }),
};

/** `systemctl is-enabled UNIT` / `is-active UNIT`: the word it printed (empty for an unknown unit). */
async function unitState(guest: GuestHandle, verb: 'is-enabled' | 'is-active', unit: string) {
  const ran = await run(guest, ['systemctl', verb, unit]);
  return { state: ran.result.stdout.trim().split('\n')[0] ?? '', ran };
}

const serviceCheck: Check = {
  id: 'ssh-service',
  title: 'the SSH service is enabled and active',
  severity: 'must',
  run: (context) =>
    onEveryGuest(context, async (guest) => {
      const evidence: string[] = [];
      // Debian and Ubuntu call the unit ssh (sshd is an alias there); Fedora and SUSE call it sshd.
      let unit = 'ssh';
      let enabled = await unitState(guest, 'is-enabled', unit);
      evidence.push(enabled.ran.evidence);
      if (!enabled.state || enabled.state === 'not-found') {
        unit = 'sshd';
        enabled = await unitState(guest, 'is-enabled', unit);
        evidence.push(enabled.ran.evidence);
      }
      if (!enabled.state || enabled.state === 'not-found') return verdict(false, 'no ssh or sshd service unit found', evidence.join('\n'));
      const active = await unitState(guest, 'is-active', unit);
      evidence.push(active.ran.evidence);
      const isEnabled = enabled.state === 'enabled' || enabled.state === 'enabled-runtime' || enabled.state === 'alias';
      if (!isEnabled) {
        // Socket activation (Ubuntu >= 22.10): the socket is enabled, the service starts per connection.
        const socket = await unitState(guest, 'is-enabled', `${unit}.socket`);
        const socketActive = await unitState(guest, 'is-active', `${unit}.socket`);
        evidence.push(socket.ran.evidence, socketActive.ran.evidence);
        if (socket.state === 'enabled' && socketActive.state === 'active') {
          return verdict(true, `${unit}.socket enabled and active (socket-activated; ${unit}.service is ${enabled.state}, ${active.state})`, evidence.join('\n'));
        }
        return verdict(false, `${unit} service is ${enabled.state}, not enabled (${active.state})`, evidence.join('\n'));
      }
      if (active.state !== 'active') return verdict(false, `${unit} service is enabled but ${active.state || 'not active'}`, evidence.join('\n'));
      return verdict(true, `${unit} service ${enabled.state} and active`, evidence.join('\n'));
    }),
};

const ALGORITHM_CHECKS: { id: string; title: string; category: Category; what: string }[] = [
  { id: 'ssh-weak-ciphers', title: 'the server offers no weak cipher (CBC, 3DES, RC4, ...)', category: 'ciphers', what: 'cipher' },
  { id: 'ssh-weak-macs', title: 'the server offers no weak MAC (SHA-1, MD5, 64/96-bit tags, encrypt-and-MAC)', category: 'macs', what: 'MAC' },
  { id: 'ssh-weak-kex', title: 'the server offers no weak key exchange (SHA-1, small DH groups or moduli)', category: 'kex', what: 'key exchange' },
  { id: 'ssh-weak-hostkeys', title: 'the server offers no weak host key algorithm (DSA, SHA-1-only RSA, small RSA keys)', category: 'hostKeys', what: 'host key algorithm' },
];

function policyOf(opts: SshHardeningOptions): AlgorithmPolicy {
  return { ...opts.algorithms, minRsaBits: opts.minRsaBits, minDhModulusBits: opts.minDhModulusBits };
}

function algorithmCheck(tools: HostTools, spec: (typeof ALGORITHM_CHECKS)[number]): Check {
  return {
    id: spec.id,
    title: spec.title,
    severity: 'must',
    run: (context) =>
      onEveryGuest(context, async (guest): Promise<GuestVerdict> => {
        const opts = options(context);
        const probe = await serverProbe(context, guest, tools);
        if (probe.rawJson) await context.artifacts.write(artifactName(context, guest, 'ssh-audit', 'json'), `${probe.rawJson}\n`);
        const judged = evaluate(spec.category, probe.offered, policyOf(opts));
        const via = probe.offered.source === 'ssh-audit' ? 'ssh-audit' : 'builtin probe';
        const toolNotes = probe.offered.toolNotes[spec.category] ?? [];
        const evidence = [
          probe.evidence,
          `offered ${spec.what}s (${judged.offered.length}):`,
          ...offeredLines(probe.offered, spec.category),
          ...(judged.weak.length ? [`weak under the policy:`, ...judged.weak.map((w) => `  ${w.name}: ${w.reasons.join(', ')}`)] : ['weak under the policy: none']),
          ...judged.notes.map((n) => `note: ${n}`),
          ...(toolNotes.length ? ["ssh-audit's own notes:", ...toolNotes.map((n) => `  ${n}`)] : []),
        ].join('\n');
        const unmeasured = judged.notes.filter((n) => / not measured/.test(n));
        const suffix = unmeasured.length ? `; ${unmeasured.join('; ')}` : '';
        if (!judged.offered.length) return verdict(false, `the ${via} saw no ${spec.what} offered`, evidence);
        if (judged.weak.length) return verdict(false, `weak ${spec.what}s offered: ${describeWeak(judged.weak)}${suffix}`, evidence);
        return verdict(true, `${judged.offered.length} ${spec.what}s offered, none weak (${via}: ${judged.offered.join(', ')})${suffix}`, evidence);
      }),
  };
}

const DEFAULT_HOST_KEYS = ['/etc/ssh/ssh_host_rsa_key', '/etc/ssh/ssh_host_ecdsa_key', '/etc/ssh/ssh_host_ed25519_key'];

async function hostKeyFiles(context: CheckContext, guest: GuestHandle): Promise<GuestVerdict> {
  const opts = options(context);
  const config = await effectiveConfig(context, guest);
  const configured = config.ok ? (config.settings.get('hostkey') ?? []) : [];
  const paths = configured.length ? configured : DEFAULT_HOST_KEYS;
  const evidence: string[] = [config.ok ? `${config.evidence}\n${paths.map((p) => `hostkey ${p}`).join('\n')}` : `(sshd -T unreadable: ${config.problem}; checking the default host key paths)`];
  const statArgv = ['stat', '-c', '%a %U %G %n', '--', ...paths.flatMap((p) => [p, `${p}.pub`])];
  const stat = await run(guest, statArgv);
  evidence.push(stat.evidence);
  const stats = parseStat(stat.result.stdout);
  const files: HostKeyFile[] = [];
  for (const path of paths) {
    const file: HostKeyFile = { path, privateStat: stats.get(path), publicStat: stats.get(`${path}.pub`) };
    if (file.publicStat || file.privateStat) {
      // The public half is world-readable; without it, ssh-keygen reads the private key as root.
      const listed = file.publicStat ? await run(guest, ['ssh-keygen', '-l', '-f', `${path}.pub`]) : await run(guest, ['ssh-keygen', '-l', '-f', path], { sudo: true });
      evidence.push(listed.evidence);
      file.key = parseKeygenList(listed.result.stdout);
    }
    files.push(file);
  }
  const present = files.filter((f) => f.privateStat);
  const absent = files.filter((f) => !f.privateStat).map((f) => f.path);
  if (!present.length) return verdict(false, `no host key file present (${paths.join(', ')})`, evidence.join('\n'));
  const problems = judgeHostKeyFiles(files, opts.minRsaBits);
  const summary = present.map((f) => `${f.key ? `${f.key.type} ${f.key.bits}` : 'unreadable key'} ${describeStat(f.privateStat!)}`);
  if (absent.length) evidence.push(`(listed but absent: ${absent.join(', ')})`);
  if (problems.length) return verdict(false, `host key files: ${describeProblems(problems)}`, evidence.join('\n'));
  const unreadable = present.filter((f) => !f.key).map((f) => f.path);
  if (unreadable.length) return verdict(false, `ssh-keygen could not read host key(s): ${unreadable.join(', ')}`, evidence.join('\n'));
  return verdict(true, `${present.length} host keys, root-owned and private: ${summary.join('; ')}${absent.length ? ` (absent: ${absent.join(', ')})` : ''}`, evidence.join('\n'));
}

const hostKeyFilesCheck: Check = {
  id: 'ssh-hostkey-files',
  title: 'host key files: no DSA, RSA >= 3072 bits, private keys 0600 (or 0640 group ssh_keys) owned by root',
  severity: 'must',
  run: (context) => onEveryGuest(context, (guest) => hostKeyFiles(context, guest)),
};

const CONFIG_FIND = ['find', '-L', '/etc/ssh/sshd_config', '/etc/ssh/sshd_config.d', '-maxdepth', '1', '-printf', '%m %u %g %y %p\\n'];

const configPermsCheck: Check = {
  id: 'ssh-config-perms',
  title: 'sshd_config and its drop-ins are owned by root and not group/world writable',
  severity: 'must',
  run: (context) =>
    onEveryGuest(context, async (guest) => {
      const ran = await run(guest, CONFIG_FIND);
      const stats = parseFindPrintf(ran.result.stdout).filter((s) => s.type === 'd' || s.path === '/etc/ssh/sshd_config' || s.path.endsWith('.conf'));
      if (!stats.some((s) => s.path === '/etc/ssh/sshd_config')) return verdict(false, '/etc/ssh/sshd_config not found', ran.evidence);
      const problems = judgeConfigFiles(stats);
      if (problems.length) return verdict(false, `sshd configuration files: ${describeProblems(problems)}`, ran.evidence);
      const main = stats.find((s) => s.path === '/etc/ssh/sshd_config')!;
      return verdict(true, `${describeStat(main)}; ${stats.length - 1} more (sshd_config.d and drop-ins) root-owned, not group/world writable`, ran.evidence);
    }),
};

export function createChecks(tools: HostTools): Check[] {
  return [...settingChecks, configTestCheck, serviceCheck, ...ALGORITHM_CHECKS.map((spec) => algorithmCheck(tools, spec)), hostKeyFilesCheck, configPermsCheck];
}
