/**
 * SSH hardening: sshd's effective settings (`sshd -T -C ...`, not its files), the algorithms it offers
 * as seen from the host (`ssh-audit -j`, or a builtin KEXINIT probe where ssh-audit is missing), host
 * key files, configuration file permissions, `sshd -t` and the service state.
 *
 * Reads one guest (shared with other read-only suites). Uses only the public suite API, as a
 * third-party suite would. Options (this suite's section of the run config; see ./options.ts):
 *   policy (baseline | cis-level1 | strict), severity {<check-id>: must|should}, match {user, host, addr},
 *   maxAuthTries, maxLoginGraceTimeSeconds, probe, sshAuditCommand, port, probeTimeoutSeconds,
 *   minRsaBits, minDhModulusBits, algorithms {ciphers, macs, kex, hostKeys: {allow, forbid}}.
 *
 * Each finding weighs what its rule weighs under the chosen profile (./policy.ts, exported here as
 * plain data for `imgtest suites`).
 */
import { defineSuite, type Suite } from './api.js';
import { createChecks } from './checks.js';
import { optionsSchema } from './options.js';
import { policyTableText } from './policy.js';
import { realHostTools, type HostTools } from './probe.js';

/** The suite with its host-side tools injectable (tests pass a fake ssh-audit). */
export function createSshHardeningSuite(tools: HostTools = realHostTools): Suite {
  return defineSuite({
    id: 'ssh-hardening',
    title: 'SSH server hardening: effective settings, offered algorithms, host keys',
    description:
      "Judges sshd's effective settings (sshd -T with Match applied) for password, keyboard-interactive and root " +
      'login, forwarding, MaxAuthTries, LoginGraceTime and host-based trust; probes the server from the host like ' +
      'an attacker (ssh-audit) for weak ciphers, MACs, key exchanges and host keys; checks host key files and ' +
      'configuration file permissions, sshd -t, and that the service is enabled and running.',
    // sshd's configuration and the algorithms it offers do not depend on the firmware: run once.
    tags: ['security', 'ssh'],
    requires: { guests: { count: 1, placement: 'any', sharing: 'shared', firmwareMatrix: 'first' } },
    details: policyTableText(),
    optionsSchema,
    checks: createChecks(tools),
  });
}

export const sshHardeningSuite = createSshHardeningSuite();
export { POLICY_RULES, POLICY_TABLE, PROFILES, policyTableText, type PolicyRule, type PolicyTableRow, type Profile } from './policy.js';
export default sshHardeningSuite;
