/**
 * The ssh-hardening checks. Each reads the guest (or probes it from the host) and judges with the pure
 * functions beside it. A failure names the policy rules it broke (./policy.ts), which weigh it under
 * the run's profile; a check that could not look (SSH down, sudo refused, a tool missing, a timeout)
 * throws instead, so the report shows an <error>, never a defect it did not see.
 */
import type { Check, CheckContext, GuestHandle, Severity } from './api.js';
import { describeWeak, evaluate, type AlgorithmPolicy, type Category } from './algorithms.js';
import { describeProblems, describeStat, judgeConfigFiles, judgeHostKeyFiles, parseFindPrintf, parseKeygenList, parseStat, type HostKeyFile } from './files.js';
import { artifactName, effectiveConfig, onEveryGuest, options, run, runSshd, serverProbe, verdict, withoutSudoNoise, type GuestVerdict } from './guest.js';
import { checkSeverity } from './policy.js';
import { offeredLines, type HostTools } from './probe.js';
import { serviceVerdict } from './service.js';
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

/** The severity `imgtest suites` lists and skipped cases carry: the check's heaviest rule under the default profile. */
const declared = (id: string): Severity => checkSeverity(id, 'baseline');

/** A check on sshd's effective settings; `rule` is the policy rule a failure breaks. */
function settingCheck(id: string, title: string, rule: string, judge: (s: SshdSettings, o: SshHardeningOptions) => Judgment): Check {
  return {
    id,
    title,
    severity: declared(id),
    run: (context) =>
      onEveryGuest(context, id, async (guest) => {
        const opts = options(context);
        const config = await effectiveConfig(context, guest);
        // sshd -T refusing the configuration is what ssh-config-test reports; here it is sshd's own verdict on it.
        if (!config.ok) return verdict(false, `cannot read sshd's effective settings: ${config.problem}`, config.evidence, ['config-rejected']);
        await context.artifacts.write(artifactName(context, guest, 'sshd-effective-config', 'txt'), config.raw);
        const judged = judge(config.settings, opts);
        if (judged.unobserved) throw new Error(`cannot judge ${id}: ${judged.message} (sshd -T -C ${config.spec}); this OpenSSH names the setting differently`);
        const evidence = [config.evidence, ...(judged.lines.length ? judged.lines : ['(keyword not printed)'])].join('\n');
        return verdict(judged.ok, judged.message, evidence, [rule]);
      }),
  };
}

const settingChecks: Check[] = [
  settingCheck('ssh-password-auth', 'sshd refuses password authentication', 'password-login', judgePasswordAuth),
  settingCheck('ssh-kbdinteractive-auth', 'sshd refuses keyboard-interactive (challenge-response) authentication', 'kbdinteractive-login', judgeKbdInteractive),
  settingCheck('ssh-empty-passwords', 'sshd refuses empty passwords', 'empty-passwords', judgeEmptyPasswords),
  settingCheck('ssh-root-login', 'sshd does not let root log in with a password (PermitRootLogin not yes)', 'root-password-login', judgeRootLogin),
  settingCheck('ssh-root-login-no', 'sshd refuses root logins outright (PermitRootLogin no)', 'root-login', judgeRootLoginNo),
  settingCheck('ssh-pubkey-auth', 'sshd accepts public key authentication', 'pubkey-off', judgePubkeyAuth),
  settingCheck('ssh-forwarding', 'X11, agent and TCP forwarding, tunnels and gateway ports are off', 'forwarding', judgeForwarding),
  settingCheck('ssh-max-auth-tries', 'MaxAuthTries is low enough', 'max-auth-tries', (s, o) => judgeMaxAuthTries(s, o.maxAuthTries)),
  settingCheck('ssh-login-grace-time', 'LoginGraceTime is short enough', 'login-grace-time', (s, o) => judgeLoginGraceTime(s, o.maxLoginGraceTimeSeconds)),
  settingCheck('ssh-permit-user-environment', 'users cannot set environment variables for sshd (PermitUserEnvironment no)', 'user-environment', judgePermitUserEnvironment),
  settingCheck('ssh-hostbased-auth', 'no host-based trust (HostbasedAuthentication no, IgnoreRhosts yes)', 'hostbased-trust', judgeHostbased),
];

const configTestCheck: Check = {
  id: 'ssh-config-test',
  title: 'sshd -t accepts the configuration without a word',
  severity: declared('ssh-config-test'),
  run: (context) =>
    onEveryGuest(context, 'ssh-config-test', async (guest) => {
      const ran = await runSshd(guest, ['-t']);
      const output = [ran.result.stdout, withoutSudoNoise(ran.result.stderr)].filter((t) => t.trim()).join('\n');
      const judged = judgeConfigTest(ran.result.exitCode, output);
      return verdict(judged.ok, judged.message, ran.evidence, [ran.result.exitCode !== 0 ? 'config-rejected' : 'config-warnings']);
    }),
};

const serviceCheck: Check = {
  id: 'ssh-service',
  title: 'the SSH service is enabled and active',
  severity: declared('ssh-service'),
  run: (context) => onEveryGuest(context, 'ssh-service', (guest) => serviceVerdict(guest)),
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
    severity: declared(spec.id),
    run: (context) =>
      onEveryGuest(context, spec.id, async (guest): Promise<GuestVerdict> => {
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
        // A server that offers nothing cannot be talked to: the probe saw nothing, it did not see a server without ciphers.
        if (!judged.offered.length) throw new Error(`cannot judge the ${spec.what}s: the ${via} saw none offered`);
        if (judged.weak.length)
          return verdict(
            false,
            `weak ${spec.what}s offered: ${describeWeak(judged.weak)}${suffix}`,
            evidence,
            judged.weak.flatMap((w) => w.rules),
          );
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
  // run() throws when stat cannot run at all; a missing key is stat's exit 1 with the others listed.
  const stat = await run(guest, statArgv);
  evidence.push(stat.evidence);
  const stats = parseStat(stat.result.stdout);
  if (!stats.size && stat.result.exitCode !== 0 && !/No such file or directory/.test(stat.result.stderr)) {
    throw new Error(`cannot read the host key files' modes: stat exits ${stat.result.exitCode} (${withoutSudoNoise(stat.result.stderr).trim().split('\n')[0] ?? ''})`);
  }
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
  if (!present.length) return verdict(false, `no host key file present (${paths.join(', ')})`, evidence.join('\n'), ['hostkey-file-missing']);
  const problems = judgeHostKeyFiles(files, opts.minRsaBits);
  const summary = present.map((f) => `${f.key ? `${f.key.type} ${f.key.bits}` : 'unreadable key'} ${describeStat(f.privateStat!)}`);
  if (absent.length) evidence.push(`(listed but absent: ${absent.join(', ')})`);
  if (problems.length)
    return verdict(
      false,
      `host key files: ${describeProblems(problems)}`,
      evidence.join('\n'),
      problems.map((p) => p.rule),
    );
  const unreadable = present.filter((f) => !f.key).map((f) => f.path);
  if (unreadable.length) return verdict(false, `ssh-keygen could not read host key(s): ${unreadable.join(', ')}`, evidence.join('\n'), ['hostkey-file-missing']);
  return verdict(true, `${present.length} host keys, root-owned and private: ${summary.join('; ')}${absent.length ? ` (absent: ${absent.join(', ')})` : ''}`, evidence.join('\n'));
}

const hostKeyFilesCheck: Check = {
  id: 'ssh-hostkey-files',
  title: 'host key files: no DSA, RSA >= 2048 bits (>= 3072 under strict), private keys 0600 (or 0640 group ssh_keys) owned by root',
  severity: declared('ssh-hostkey-files'),
  run: (context) => onEveryGuest(context, 'ssh-hostkey-files', (guest) => hostKeyFiles(context, guest)),
};

const CONFIG_FIND = ['find', '-L', '/etc/ssh/sshd_config', '/etc/ssh/sshd_config.d', '-maxdepth', '1', '-printf', '%m %u %g %y %p\\n'];

const configPermsCheck: Check = {
  id: 'ssh-config-perms',
  title: 'sshd_config and its drop-ins are owned by root and not group/world writable',
  severity: declared('ssh-config-perms'),
  run: (context) =>
    onEveryGuest(context, 'ssh-config-perms', async (guest) => {
      const ran = await run(guest, CONFIG_FIND);
      const stats = parseFindPrintf(ran.result.stdout).filter((s) => s.type === 'd' || s.path === '/etc/ssh/sshd_config' || s.path.endsWith('.conf'));
      if (!stats.some((s) => s.path === '/etc/ssh/sshd_config')) {
        // Only a file that is not there is a finding; a file find could not look at is not.
        if (!/\/etc\/ssh\/sshd_config'?: No such file or directory/.test(ran.result.stderr))
          throw new Error(`cannot read /etc/ssh/sshd_config's mode: find exits ${ran.result.exitCode} (${withoutSudoNoise(ran.result.stderr).trim().split('\n')[0] ?? 'no output'})`);
        return verdict(false, '/etc/ssh/sshd_config not found', ran.evidence, ['config-file-access']);
      }
      const problems = judgeConfigFiles(stats);
      if (problems.length)
        return verdict(
          false,
          `sshd configuration files: ${describeProblems(problems)}`,
          ran.evidence,
          problems.map((p) => p.rule),
        );
      const main = stats.find((s) => s.path === '/etc/ssh/sshd_config')!;
      return verdict(true, `${describeStat(main)}; ${stats.length - 1} more (sshd_config.d and drop-ins) root-owned, not group/world writable`, ran.evidence);
    }),
};

export function createChecks(tools: HostTools): Check[] {
  return [...settingChecks, configTestCheck, serviceCheck, ...ALGORITHM_CHECKS.map((spec) => algorithmCheck(tools, spec)), hostKeyFilesCheck, configPermsCheck];
}
