/**
 * Policy profiles on recorded outputs, and checks that could not observe ending as errors.
 *
 * The "Debian 12 stock" recordings come from OpenSSH 9.2p1-2+deb12u10 run with Debian's own
 * /usr/share/openssh/sshd_config and one drop-in, `PasswordAuthentication no` (what image builders
 * commonly do), with host keys made by ssh-keygen's defaults (RSA 3072, ECDSA 256, Ed25519):
 * `sshd -T -C user=cloud,host=imgtest-probe,addr=10.78.0.1`, `ssh-audit -j` (ssh-audit 2.5.0-1, exit 3),
 * the server's identification and KEXINIT as the builtin probe reads them, and `ssh-keyscan -t rsa`.
 */
import { describe, expect, it } from 'vitest';
import { GuestTransportError, type CheckOutcome, type ExecOptions, type ExecResult } from '../../src/suite-api/index.js';
import { createSshHardeningSuite, POLICY_RULES, POLICY_TABLE, PROFILES } from '../../suites/ssh-hardening/index.js';
import { parseServerHello } from '../../suites/ssh-hardening/kexinit.js';
import { parseOptions } from '../../suites/ssh-hardening/options.js';
import { checkSeverity, POLICY_CHECK_IDS } from '../../suites/ssh-hardening/policy.js';
import type { HostRun, HostTools } from '../../suites/ssh-hardening/probe.js';
import { judgeUnitFiles, parseUnitFind, UNIT_FIND } from '../../suites/ssh-hardening/service.js';
import { fakeContext, fakeGuest, type FakeAnswer } from './helpers/fake-guest.js';

/** What the guest handle throws when its SSH connection drops (the ssh2 session's GuestTransportError). */
const TRANSPORT = new GuestTransportError('SSH to cloud@10.78.0.11: the connection was closed by the remote host before `sudo -n -- sshd -T` returned its exit status', '10.78.0.11', 'closed');

const SSHD_T_DEBIAN12_STOCK = `port 22
addressfamily any
listenaddress [::]:22
listenaddress 0.0.0.0:22
usepam yes
logingracetime 120
x11displayoffset 10
maxauthtries 6
maxsessions 10
clientaliveinterval 0
clientalivecountmax 3
requiredrsasize 1024
streamlocalbindmask 0177
unusedconnectiontimeout none
permitrootlogin without-password
ignorerhosts yes
ignoreuserknownhosts no
hostbasedauthentication no
hostbasedusesnamefrompacketonly no
pubkeyauthentication yes
kerberosauthentication no
kerberosorlocalpasswd yes
kerberosticketcleanup yes
gssapiauthentication no
gssapicleanupcredentials yes
gssapikeyexchange no
gssapistrictacceptorcheck yes
gssapistorecredentialsonrekey no
gssapikexalgorithms gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-
passwordauthentication no
kbdinteractiveauthentication no
printmotd no
printlastlog yes
x11forwarding yes
x11uselocalhost yes
permittty yes
permituserrc yes
strictmodes yes
tcpkeepalive yes
permitemptypasswords no
compression yes
gatewayports no
usedns no
allowtcpforwarding yes
allowagentforwarding yes
disableforwarding no
allowstreamlocalforwarding yes
streamlocalbindunlink no
fingerprinthash SHA256
exposeauthinfo no
pidfile /run/sshd.pid
modulifile /etc/ssh/moduli
xauthlocation /usr/bin/xauth
ciphers chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com
macs umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1
banner none
forcecommand none
chrootdirectory none
trustedusercakeys none
revokedkeys none
securitykeyprovider internal
authorizedprincipalsfile none
versionaddendum none
authorizedkeyscommand none
authorizedkeyscommanduser none
authorizedprincipalscommand none
authorizedprincipalscommanduser none
hostkeyagent none
kexalgorithms sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256
casignaturealgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
hostbasedacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
hostkeyalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
pubkeyacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
loglevel INFO
syslogfacility AUTH
authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2
hostkey /etc/ssh/ssh_host_rsa_key
hostkey /etc/ssh/ssh_host_ecdsa_key
hostkey /etc/ssh/ssh_host_ed25519_key
acceptenv LANG
acceptenv LC_*
authenticationmethods any
subsystem sftp /usr/lib/openssh/sftp-server
maxstartups 10:30:100
persourcemaxstartups none
persourcenetblocksize 32:128
permittunnel no
ipqos lowdelay throughput
rekeylimit 0 0
permitopen any
permitlisten any
permituserenvironment no
pubkeyauthoptions none
`;
const AUDIT_DEBIAN12_STOCK =
  '{"banner": {"comments": "Debian-2+deb12u10", "protocol": [2, 0], "raw": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", "software": "OpenSSH_9.2p1"}, "compression": ["none", "zlib@openssh.com"], "enc": ["chacha20-poly1305@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"], "fingerprints": [{"hash": "FqoTbGRths8ZOWeBrBj5AupcAanaTJIceXSQf0RtgAw", "hash_alg": "SHA256", "hostkey": "ssh-ed25519"}, {"hash": "cc:f9:1f:88:78:90:b7:1f:3f:ea:f2:73:88:f3:b0:06", "hash_alg": "MD5", "hostkey": "ssh-ed25519"}, {"hash": "CuK5Uuxu3D3cagD45bhON7a/HCapiXW//zhB8Hun5lY", "hash_alg": "SHA256", "hostkey": "ssh-rsa"}, {"hash": "23:b9:41:97:be:c5:52:07:2f:00:28:a0:67:61:ff:c2", "hash_alg": "MD5", "hostkey": "ssh-rsa"}], "kex": [{"algorithm": "sntrup761x25519-sha512"}, {"algorithm": "sntrup761x25519-sha512@openssh.com"}, {"algorithm": "curve25519-sha256"}, {"algorithm": "curve25519-sha256@libssh.org"}, {"algorithm": "ecdh-sha2-nistp256"}, {"algorithm": "ecdh-sha2-nistp384"}, {"algorithm": "ecdh-sha2-nistp521"}, {"algorithm": "diffie-hellman-group-exchange-sha256", "keysize": 2048}, {"algorithm": "diffie-hellman-group16-sha512"}, {"algorithm": "diffie-hellman-group18-sha512"}, {"algorithm": "diffie-hellman-group14-sha256"}, {"algorithm": "kex-strict-s-v00@openssh.com"}], "key": [{"algorithm": "rsa-sha2-512", "keysize": 3072}, {"algorithm": "rsa-sha2-256", "keysize": 3072}, {"algorithm": "ecdsa-sha2-nistp256"}, {"algorithm": "ssh-ed25519"}], "mac": ["umac-64-etm@openssh.com", "umac-128-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha1-etm@openssh.com", "umac-64@openssh.com", "umac-128@openssh.com", "hmac-sha2-256", "hmac-sha2-512", "hmac-sha1"], "target": "127.0.0.1"}';
const HELLO_DEBIAN12_STOCK = Buffer.from(
  'U1NILTIuMC1PcGVuU1NIXzkuMnAxIERlYmlhbi0yK2RlYjEydTEwDQoAAARsCxQhC9tYOfTGSg6IKldkR+O6AAABPXNudHJ1cDc2MXgyNTUxOS1zaGE1MTIsc250cnVwNzYxeDI1NTE5LXNoYTUxMkBvcGVuc3NoLmNvbSxjdXJ2ZTI1NTE5LXNoYTI1NixjdXJ2ZTI1NTE5LXNoYTI1NkBsaWJzc2gub3JnLGVjZGgtc2hhMi1uaXN0cDI1NixlY2RoLXNoYTItbmlzdHAzODQsZWNkaC1zaGEyLW5pc3RwNTIxLGRpZmZpZS1oZWxsbWFuLWdyb3VwLWV4Y2hhbmdlLXNoYTI1NixkaWZmaWUtaGVsbG1hbi1ncm91cDE2LXNoYTUxMixkaWZmaWUtaGVsbG1hbi1ncm91cDE4LXNoYTUxMixkaWZmaWUtaGVsbG1hbi1ncm91cDE0LXNoYTI1NixrZXgtc3RyaWN0LXMtdjAwQG9wZW5zc2guY29tAAAAOXJzYS1zaGEyLTUxMixyc2Etc2hhMi0yNTYsZWNkc2Etc2hhMi1uaXN0cDI1Nixzc2gtZWQyNTUxOQAAAGxjaGFjaGEyMC1wb2x5MTMwNUBvcGVuc3NoLmNvbSxhZXMxMjgtY3RyLGFlczE5Mi1jdHIsYWVzMjU2LWN0cixhZXMxMjgtZ2NtQG9wZW5zc2guY29tLGFlczI1Ni1nY21Ab3BlbnNzaC5jb20AAABsY2hhY2hhMjAtcG9seTEzMDVAb3BlbnNzaC5jb20sYWVzMTI4LWN0cixhZXMxOTItY3RyLGFlczI1Ni1jdHIsYWVzMTI4LWdjbUBvcGVuc3NoLmNvbSxhZXMyNTYtZ2NtQG9wZW5zc2guY29tAAAA1XVtYWMtNjQtZXRtQG9wZW5zc2guY29tLHVtYWMtMTI4LWV0bUBvcGVuc3NoLmNvbSxobWFjLXNoYTItMjU2LWV0bUBvcGVuc3NoLmNvbSxobWFjLXNoYTItNTEyLWV0bUBvcGVuc3NoLmNvbSxobWFjLXNoYTEtZXRtQG9wZW5zc2guY29tLHVtYWMtNjRAb3BlbnNzaC5jb20sdW1hYy0xMjhAb3BlbnNzaC5jb20saG1hYy1zaGEyLTI1NixobWFjLXNoYTItNTEyLGhtYWMtc2hhMQAAANV1bWFjLTY0LWV0bUBvcGVuc3NoLmNvbSx1bWFjLTEyOC1ldG1Ab3BlbnNzaC5jb20saG1hYy1zaGEyLTI1Ni1ldG1Ab3BlbnNzaC5jb20saG1hYy1zaGEyLTUxMi1ldG1Ab3BlbnNzaC5jb20saG1hYy1zaGExLWV0bUBvcGVuc3NoLmNvbSx1bWFjLTY0QG9wZW5zc2guY29tLHVtYWMtMTI4QG9wZW5zc2guY29tLGhtYWMtc2hhMi0yNTYsaG1hYy1zaGEyLTUxMixobWFjLXNoYTEAAAAVbm9uZSx6bGliQG9wZW5zc2guY29tAAAAFW5vbmUsemxpYkBvcGVuc3NoLmNvbQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==',
  'base64',
);
const KEYSCAN_DEBIAN12_STOCK =
  '[127.0.0.1]:2222 ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQDTluDZ+X8lYEWnZVSUcmGHg9jF95c4sZ4CznWKVkP0BN4wCSLQImfz1q2FhEYevJbMhIE+CSNa6rQUje570OOjziJWLKGjy8zrya+iSGsMvoFwprjIEJn2UBIMq7nDcqMvSi4SVKlYvThiy1T6cs8wnjLBQD6EZZZMG8UZZpOJsPInUpRW1wIbBd9Q9M6xzmHRHIWWC3fRtLV6PJrfQ2xR3egkfC4CEQLFKbmbop0tbnYihLOF4ieuTPSC9W18F/jVHIfeviyL0dtPLmWPgQWnQmWNF1P9qUz2rUvV6AgAaStgTATW7PvdYejpu3LEvnY40bqFM7AzuWr8D6QfHnx2JezGkz0FrE7XRQQRWRCP/gsl46KhBNeN6K6UZ538Kwp7FQMw6fzIasMnNvPP1IW4EoU+xFQKnihtb8mxNnemPuz30ibGWMKFk+GR2ZoP2UeavCOMgwFn5uZIxk9A26SCNa3R+CazWAvUFgBsjpZ99ijztCVVaOBIuymTJfJGAIs=\n';

const SPEC = 'user=cloud,host=imgtest-probe,addr=10.78.0.1';
const STAT_KEYS =
  'stat -c %a %U %G %n -- /etc/ssh/ssh_host_rsa_key /etc/ssh/ssh_host_rsa_key.pub /etc/ssh/ssh_host_ecdsa_key /etc/ssh/ssh_host_ecdsa_key.pub /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub';
const FIND_CONFIG = 'find -L /etc/ssh/sshd_config /etc/ssh/sshd_config.d -maxdepth 1 -printf %m %u %g %y %p\\n';
const FIND_UNITS = UNIT_FIND.join(' ');

/** A Debian 12 guest on the stock sshd_config, password login off in a drop-in, D-Bus installed. */
const STOCK: Record<string, FakeAnswer> = {
  'printenv SSH_CONNECTION': '10.78.0.1 49152 10.78.0.11 22\n',
  [`[sudo] sshd -T -C ${SPEC}`]: SSHD_T_DEBIAN12_STOCK,
  '[sudo] sshd -t': '',
  'systemctl is-enabled ssh': 'enabled\n',
  'systemctl is-active ssh': 'active\n',
  [STAT_KEYS]: [
    '600 root root /etc/ssh/ssh_host_rsa_key',
    '644 root root /etc/ssh/ssh_host_rsa_key.pub',
    '600 root root /etc/ssh/ssh_host_ecdsa_key',
    '644 root root /etc/ssh/ssh_host_ecdsa_key.pub',
    '600 root root /etc/ssh/ssh_host_ed25519_key',
    '644 root root /etc/ssh/ssh_host_ed25519_key.pub',
    '',
  ].join('\n'),
  'ssh-keygen -l -f /etc/ssh/ssh_host_rsa_key.pub': '3072 SHA256:CuK5Uuxu3D3cagD45bhON7a/HCapiXW//zhB8Hun5lY root@stock (RSA)\n',
  'ssh-keygen -l -f /etc/ssh/ssh_host_ecdsa_key.pub': '256 SHA256:Qm9V1c3cOq8vY9iUJz4B8cM0x6Nf0QpU0mEo3dQy2zE root@stock (ECDSA)\n',
  'ssh-keygen -l -f /etc/ssh/ssh_host_ed25519_key.pub': '256 SHA256:FqoTbGRths8ZOWeBrBj5AupcAanaTJIceXSQf0RtgAw root@stock (ED25519)\n',
  [FIND_CONFIG]: '644 root root f /etc/ssh/sshd_config\n755 root root d /etc/ssh/sshd_config.d\n644 root root f /etc/ssh/sshd_config.d/50-no-password.conf\n',
};

function fakeHost(audit: string | HostRun | undefined | Error, extra: { keyscan?: string; hello?: Buffer } = {}): HostTools & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async run(file, args, timeoutMs) {
      calls.push([file, ...args].join(' '));
      if (file === 'ssh-audit') {
        if (audit instanceof Error) throw audit;
        if (audit === undefined) return { notFound: true };
        return typeof audit === 'string' ? { stdout: audit, stderr: '', exitCode: 3 } : audit;
      }
      if (file === 'ssh-keyscan') return extra.keyscan === undefined ? { notFound: true } : { stdout: extra.keyscan, stderr: '', exitCode: 0 };
      void timeoutMs;
      return { notFound: true };
    },
    async kexinit(host, port) {
      calls.push(`kexinit ${host}:${port}`);
      if (!extra.hello) throw new Error('fake host: no server hello scripted');
      return parseServerHello(extra.hello)!;
    },
  };
}

async function runAll(exec: Record<string, FakeAnswer>, host: HostTools, options: Record<string, unknown> = {}) {
  const suite = createSshHardeningSuite(host);
  const context = fakeContext([fakeGuest({ exec })], options);
  const outcomes: Record<string, CheckOutcome> = {};
  for (const check of suite.checks) outcomes[check.id] = await check.run(context);
  return outcomes;
}

const failures = (outcomes: Record<string, CheckOutcome>): string[] =>
  Object.entries(outcomes)
    .filter(([, o]) => o.status === 'fail')
    .map(([id, o]) => `${id}:${o.severity}`);

/** Debian 12 stock fails these, and only these, whatever the profile; the profile decides their weight. */
const STOCK_FINDINGS = ['ssh-root-login-no', 'ssh-forwarding', 'ssh-max-auth-tries', 'ssh-login-grace-time', 'ssh-weak-macs', 'ssh-weak-kex', 'ssh-weak-hostkeys'];

describe('Debian 12 stock sshd_config, password login off in a drop-in', () => {
  it('passes baseline with should findings only (ssh-audit)', async () => {
    const outcomes = await runAll(STOCK, fakeHost(AUDIT_DEBIAN12_STOCK));
    expect(failures(outcomes)).toEqual(STOCK_FINDINGS.map((id) => `${id}:should`));
    expect(Object.values(outcomes).every((o) => o.status === 'pass' || o.status === 'fail')).toBe(true);
    expect(outcomes['ssh-weak-macs']!.message).toMatch(
      /^weak MACs offered: umac-64-etm@openssh\.com \(64-bit tag\), hmac-sha1-etm@openssh\.com \(SHA-1\), umac-64@openssh\.com \(64-bit tag, encrypt-and-MAC, not -etm\)/,
    );
    expect(outcomes['ssh-weak-macs']!.message).toContain('rule mac-64bit-tag (should under baseline): CIS Debian Linux 12 Benchmark 5.1.15');
    expect(outcomes['ssh-weak-kex']!.message).toMatch(
      /^weak key exchanges offered: ecdh-sha2-nistp256 \(NIST curve\), ecdh-sha2-nistp384 \(NIST curve\), ecdh-sha2-nistp521 \(NIST curve\), diffie-hellman-group-exchange-sha256 \(accepts a 2048-bit modulus\), diffie-hellman-group14-sha256 \(2048-bit group\)/,
    );
    expect(outcomes['ssh-weak-hostkeys']!.message).toMatch(/^weak host key algorithms offered: ecdsa-sha2-nistp256 \(NIST curve\) \[rule hostkey-nist-curves \(should under baseline\)/);
    expect(outcomes['ssh-max-auth-tries']!.message).toBe(
      'maxauthtries 6 allows more than 4 attempts per connection [rule max-auth-tries (should under baseline): CIS Debian Linux 12 Benchmark 5.1.16 "Ensure sshd MaxAuthTries is configured" (4 or less; OpenSSH default 6)]',
    );
    expect(outcomes['ssh-password-auth']).toMatchObject({ status: 'pass', severity: 'must' });
  });

  it('passes baseline with should findings only (builtin KEXINIT probe and ssh-keyscan)', async () => {
    const outcomes = await runAll(STOCK, fakeHost(undefined, { hello: HELLO_DEBIAN12_STOCK, keyscan: KEYSCAN_DEBIAN12_STOCK }));
    expect(failures(outcomes)).toEqual(STOCK_FINDINGS.map((id) => `${id}:should`));
    // Without ssh-audit the group-exchange modulus is not measured: said, not guessed.
    expect(outcomes['ssh-weak-kex']!.message).toContain('group-exchange modulus sizes not measured');
  });

  it('cis-level1 raises the CIS Level 1 items to must', async () => {
    const outcomes = await runAll(STOCK, fakeHost(AUDIT_DEBIAN12_STOCK), { policy: 'cis-level1' });
    expect(failures(outcomes)).toEqual([
      'ssh-root-login-no:must',
      'ssh-forwarding:should',
      'ssh-max-auth-tries:must',
      'ssh-login-grace-time:must',
      'ssh-weak-macs:must',
      'ssh-weak-kex:should',
      'ssh-weak-hostkeys:should',
    ]);
    expect(outcomes['ssh-login-grace-time']!.message).toContain('rule login-grace-time (must under cis-level1): CIS Debian Linux 12 Benchmark 5.1.13 "Ensure sshd LoginGraceTime is configured"');
  });

  it('strict makes every finding must', async () => {
    const outcomes = await runAll(STOCK, fakeHost(AUDIT_DEBIAN12_STOCK), { policy: 'strict' });
    expect(failures(outcomes)).toEqual(STOCK_FINDINGS.map((id) => `${id}:must`));
  });

  it('a per-check severity overrides the profile, and says so', async () => {
    const outcomes = await runAll(STOCK, fakeHost(AUDIT_DEBIAN12_STOCK), { severity: { 'ssh-max-auth-tries': 'must', 'ssh-weak-macs': 'should' }, policy: 'cis-level1' });
    expect(outcomes['ssh-max-auth-tries']).toMatchObject({ status: 'fail', severity: 'must' });
    expect(outcomes['ssh-weak-macs']).toMatchObject({ status: 'fail', severity: 'should' });
    expect(outcomes['ssh-weak-macs']!.message).toContain("should by the config's severity.ssh-weak-macs");
    expect(outcomes['ssh-password-auth']).toMatchObject({ status: 'pass', severity: 'must' });
  });
});

describe('policy table and options', () => {
  it('names a severity under every profile and a source for every rule', () => {
    for (const row of POLICY_TABLE) {
      for (const profile of PROFILES) expect(['must', 'should']).toContain(row[profile]);
      expect(row.source.length).toBeGreaterThan(10);
    }
    expect(new Set(POLICY_RULES.map((r) => r.id)).size).toBe(POLICY_RULES.length);
    // Every check of the suite has its rules; the table names no check the suite lacks.
    const ids = createSshHardeningSuite(fakeHost(undefined)).checks.map((c) => c.id);
    expect([...POLICY_CHECK_IDS].sort()).toEqual([...ids].sort());
  });
  it('keeps what OpenSSH dropped must everywhere, and what it still enables should under baseline', () => {
    const rule = (id: string) => POLICY_RULES.find((r) => r.id === id)!;
    for (const id of [
      'cipher-cbc',
      'cipher-3des',
      'mac-md5',
      'mac-truncated',
      'kex-group1-sha1',
      'kex-group14-sha1',
      'kex-gex-sha1',
      'hostkey-dsa',
      'hostkey-ssh-rsa-sha1',
      'rsa-under-2048',
      'password-login',
      'root-password-login',
    ]) {
      expect(rule(id).severity).toEqual({ baseline: 'must', 'cis-level1': 'must', strict: 'must' });
    }
    for (const id of ['kex-nist-curves', 'mac-sha1', 'mac-64bit-tag', 'kex-dh-small', 'max-auth-tries', 'login-grace-time', 'forwarding']) expect(rule(id).severity.baseline).toBe('should');
    expect(rule('hostkey-ssh-rsa-sha1').source).toContain('OpenSSH 8.8');
    expect(rule('kex-group14-sha1').source).toContain('OpenSSH 8.2');
    expect(checkSeverity('ssh-max-auth-tries', 'baseline')).toBe('should');
    expect(checkSeverity('ssh-max-auth-tries', 'cis-level1')).toBe('must');
  });
  it('validates policy and severity', () => {
    expect(parseOptions({})).toMatchObject({ policy: 'baseline', severity: {} });
    expect(parseOptions({ policy: 'strict', severity: { 'ssh-forwarding': 'must' } })).toMatchObject({ policy: 'strict', severity: { 'ssh-forwarding': 'must' } });
    expect(() => parseOptions({ policy: 'paranoid' })).toThrow(/ssh-hardening options: policy/);
    expect(() => parseOptions({ severity: { 'ssh-nonsense': 'must' } })).toThrow(/ssh-hardening options: severity\.ssh-nonsense: Invalid key in record: not an ssh-hardening check id/);
    expect(() => parseOptions({ severity: { 'ssh-forwarding': 'critical' } })).toThrow(/ssh-hardening options: severity/);
  });
});

// What a Debian 12 guest without D-Bus answers: the test user's systemctl cannot reach systemd.
const NO_BUS = { exitCode: 1, stderr: 'Failed to connect to bus: No such file or directory\n' };
// Root's systemctl where systemd is not PID 1 (a container, another init): no way to ask.
const NO_SYSTEMD = { exitCode: 1, stderr: "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n" };
const SUDO_REFUSED = { exitCode: 1, stderr: 'sudo: a password is required\n' };
// `find` over the unit directories on Debian 12 (this machine, openssh-server installed and enabled).
const UNITS_ENABLED = [
  'l /etc/systemd/system/sshd.service /lib/systemd/system/ssh.service',
  'l /etc/systemd/system/multi-user.target.wants/ssh.service /lib/systemd/system/ssh.service',
  'f /lib/systemd/system/ssh.service ',
  'f /lib/systemd/system/ssh.socket ',
  'f /usr/lib/systemd/system/ssh.service ',
  'f /usr/lib/systemd/system/ssh.socket ',
  '',
].join('\n');
const UNITS_DISABLED = 'f /lib/systemd/system/ssh.service \nf /lib/systemd/system/ssh.socket \nf /usr/lib/systemd/system/ssh.service \nf /usr/lib/systemd/system/ssh.socket \n';

async function service(exec: Record<string, FakeAnswer>) {
  const suite = createSshHardeningSuite(fakeHost(undefined));
  const guest = fakeGuest({ exec });
  const outcome = await suite.checks.find((c) => c.id === 'ssh-service')!.run(fakeContext([guest]));
  return { outcome, calls: guest.calls };
}

describe('ssh-service without D-Bus', () => {
  const noBus = { 'systemctl is-enabled ssh': NO_BUS, 'systemctl is-active ssh': NO_BUS };
  it("asks root through sudo (systemd's private socket) and passes when enabled", async () => {
    const { outcome, calls } = await service({ ...noBus, '[sudo] systemctl is-enabled ssh': 'enabled\n', '[sudo] systemctl is-active ssh': 'active\n' });
    expect(outcome).toMatchObject({ status: 'pass', message: 'ssh service enabled and active (systemctl as root through sudo)' });
    expect(calls).toEqual(['[sudo] systemctl is-enabled ssh', '[sudo] systemctl is-active ssh']);
  });
  it('fails when root says it is disabled', async () => {
    const { outcome } = await service({
      ...noBus,
      '[sudo] systemctl is-enabled ssh': { stdout: 'disabled\n', exitCode: 1 },
      '[sudo] systemctl is-active ssh': { stdout: 'inactive\n', exitCode: 3 },
      '[sudo] systemctl is-enabled ssh.socket': { stdout: 'disabled\n', exitCode: 1 },
      '[sudo] systemctl is-active ssh.socket': { stdout: 'inactive\n', exitCode: 3 },
    });
    expect(outcome).toMatchObject({ status: 'fail', severity: 'must' });
    expect(outcome.message).toMatch(/^ssh service is disabled, not enabled \(inactive; systemctl as root through sudo\) \[rule service-off/);
  });
  it('with sudo refused and no bus, reads the enablement links: passes when linked', async () => {
    const { outcome, calls } = await service({ '[sudo] systemctl is-enabled ssh': SUDO_REFUSED, ...noBus, [FIND_UNITS]: UNITS_ENABLED });
    expect(outcome.status).toBe('pass');
    expect(outcome.message).toBe(
      'ssh.service enabled (/etc/systemd/system/multi-user.target.wants/ssh.service -> /lib/systemd/system/ssh.service); sshd answers (this check runs over SSH); systemd could not be asked (as root through sudo: sudo -n was refused; as the test user: systemctl cannot reach systemd: Failed to connect to bus: No such file or directory)',
    );
    expect(calls).toEqual(['[sudo] systemctl is-enabled ssh', 'systemctl is-enabled ssh', FIND_UNITS]);
  });
  it('without systemd to ask, fails an installed but unlinked unit', async () => {
    const { outcome } = await service({ '[sudo] systemctl is-enabled ssh': NO_SYSTEMD, 'systemctl is-enabled ssh': NO_SYSTEMD, [FIND_UNITS]: { stdout: UNITS_DISABLED, stderr: '' } });
    expect(outcome).toMatchObject({ status: 'fail', severity: 'must' });
    expect(outcome.message).toMatch(/^ssh\.service, ssh\.socket installed but not enabled \(no link in \/etc\/systemd\/system\/\*\.wants\/\)/);
  });
  it('is an error, saying why, when nothing can be asked', async () => {
    await expect(service({ '[sudo] systemctl is-enabled ssh': NO_SYSTEMD, 'systemctl is-enabled ssh': NO_BUS, [FIND_UNITS]: { exitCode: 127, stderr: 'sh: 1: find: not found\n' } })).rejects.toThrow(
      /^cannot tell whether the SSH service is enabled: as root through sudo: systemctl cannot reach systemd: System has not been booted with systemd.*; as the test user: systemctl cannot reach systemd: Failed to connect to bus.*; reading the unit files: find is not installed$/,
    );
  });
  it('is an error when the SSH connection fails (exec throws; no other way of asking is tried)', async () => {
    await expect(service({ '[sudo] systemctl is-enabled ssh': TRANSPORT })).rejects.toBe(TRANSPORT);
  });
  it('reads masked units and usr-merged layouts from the links', () => {
    expect(judgeUnitFiles(parseUnitFind('l /etc/systemd/system/ssh.service /dev/null\nf /usr/lib/systemd/system/ssh.service \n'))).toEqual({
      ok: false,
      message: 'ssh.service masked (/etc/systemd/system/ssh.service -> /dev/null)',
    });
    // trixie: units only under /usr/lib (its /lib is a link to it), the socket enabled instead of the service.
    expect(
      judgeUnitFiles(
        parseUnitFind('l /etc/systemd/system/sockets.target.wants/ssh.socket /usr/lib/systemd/system/ssh.socket\nf /usr/lib/systemd/system/ssh.service \nf /usr/lib/systemd/system/ssh.socket \n'),
      ),
    ).toEqual({ ok: true, message: 'ssh.socket enabled, socket-activated (/etc/systemd/system/sockets.target.wants/ssh.socket -> /usr/lib/systemd/system/ssh.socket)' });
    expect(judgeUnitFiles([])).toEqual({ ok: false, message: 'no ssh or sshd unit file in /etc/systemd/system, /lib/systemd/system, /usr/lib/systemd/system' });
  });
});

/** A guest whose exec throws for one command, the way the real guest handle reports a timeout. */
function timingOut(exec: Record<string, FakeAnswer>, key: string) {
  const guest = fakeGuest({ exec });
  const inner = guest.exec.bind(guest);
  guest.exec = async (argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> => {
    if ((options.sudo ? `[sudo] ${argv.join(' ')}` : argv.join(' ')) === key) throw new Error(`ssh ... timed out after 120000 ms`);
    return inner(argv, options);
  };
  return guest;
}

async function runOne(id: string, exec: Record<string, FakeAnswer>, host: HostTools = fakeHost(AUDIT_DEBIAN12_STOCK), guest = fakeGuest({ exec })) {
  const check = createSshHardeningSuite(host).checks.find((c) => c.id === id)!;
  return check.run(fakeContext([guest]));
}

const SSHD_T = `[sudo] sshd -T -C ${SPEC}`;

describe('a check that could not observe is an error, never a failure', () => {
  it('settings checks: no sshd binary anywhere', async () => {
    const exec = {
      ...STOCK,
      [SSHD_T]: { exitCode: 1, stderr: 'sudo: sshd: command not found\n' },
      [`[sudo] /usr/sbin/sshd -T -C ${SPEC}`]: { exitCode: 1, stderr: 'sudo: /usr/sbin/sshd: command not found\n' },
    };
    await expect(runOne('ssh-password-auth', exec)).rejects.toThrow(/^cannot run sshd -T -C .*: no sshd in sudo's PATH nor at \/usr\/sbin\/sshd/);
  });
  it("settings checks: SSH transport failure (thrown by exec, while sshd's own exit 255 is an answer)", async () => {
    await expect(runOne('ssh-max-auth-tries', { ...STOCK, [SSHD_T]: TRANSPORT })).rejects.toBe(TRANSPORT);
    // sshd's own exit 255 on a bad configuration stays a finding.
    const bad = await runOne('ssh-max-auth-tries', {
      ...STOCK,
      [SSHD_T]: { exitCode: 255, stderr: '/etc/ssh/sshd_config: line 3: Bad configuration option: MaxAuthTrys\n/etc/ssh/sshd_config: terminating, 1 bad configuration options\n' },
    });
    expect(bad).toMatchObject({ status: 'fail', severity: 'must' });
  });
  it('settings checks: a timeout', async () => {
    await expect(runOne('ssh-login-grace-time', STOCK, undefined, timingOut(STOCK, SSHD_T))).rejects.toThrow(/timed out/);
  });
  it('settings checks: sshd -T printing nothing, or not the keyword', async () => {
    await expect(runOne('ssh-password-auth', { ...STOCK, [SSHD_T]: '' })).rejects.toThrow(/sshd -T exited 0 but printed nothing/);
    await expect(runOne('ssh-kbdinteractive-auth', { ...STOCK, [SSHD_T]: SSHD_T_DEBIAN12_STOCK.replace(/^kbdinteractiveauthentication .*\n/m, '') })).rejects.toThrow(
      /cannot judge ssh-kbdinteractive-auth: sshd -T printed no kbdinteractiveauthentication\/challengeresponseauthentication/,
    );
  });
  it('ssh-config-test: sudo refused', async () => {
    await expect(runOne('ssh-config-test', { ...STOCK, '[sudo] sshd -t': SUDO_REFUSED })).rejects.toThrow(/cannot run sshd -t: sudo -n was refused/);
  });
  it('algorithm checks: ssh-audit timing out, or seeing nothing offered', async () => {
    await expect(runOne('ssh-weak-ciphers', STOCK, fakeHost(new Error('ssh-audit did not finish within 150000 ms')))).rejects.toThrow(/did not finish/);
    const empty = JSON.stringify({ ...JSON.parse(AUDIT_DEBIAN12_STOCK), enc: [] });
    await expect(runOne('ssh-weak-ciphers', STOCK, fakeHost(empty))).rejects.toThrow(/cannot judge the ciphers: the ssh-audit saw none offered/);
  });
  it('ssh-hostkey-files: no stat, no ssh-keygen, or SSH down', async () => {
    await expect(runOne('ssh-hostkey-files', { ...STOCK, [STAT_KEYS]: { exitCode: 127, stderr: 'sh: 1: stat: not found\n' } })).rejects.toThrow(
      /cannot run stat: the program is not installed in the guest/,
    );
    await expect(runOne('ssh-hostkey-files', { ...STOCK, 'ssh-keygen -l -f /etc/ssh/ssh_host_rsa_key.pub': { exitCode: 127, stderr: 'sh: 1: ssh-keygen: not found\n' } })).rejects.toThrow(
      /cannot run ssh-keygen/,
    );
    await expect(runOne('ssh-hostkey-files', { ...STOCK, [STAT_KEYS]: TRANSPORT })).rejects.toThrow(/the connection was closed by the remote host/);
  });
  it('ssh-config-perms: no find, or a file it may not look at', async () => {
    await expect(runOne('ssh-config-perms', { ...STOCK, [FIND_CONFIG]: { exitCode: 127, stderr: 'sh: 1: find: not found\n' } })).rejects.toThrow(/cannot run find/);
    await expect(runOne('ssh-config-perms', { ...STOCK, [FIND_CONFIG]: { exitCode: 1, stderr: "find: '/etc/ssh/sshd_config': Permission denied\n" } })).rejects.toThrow(
      /cannot read \/etc\/ssh\/sshd_config's mode/,
    );
    // Really absent is a finding.
    expect(await runOne('ssh-config-perms', { ...STOCK, [FIND_CONFIG]: { exitCode: 1, stderr: "find: '/etc/ssh/sshd_config': No such file or directory\n" } })).toMatchObject({
      status: 'fail',
      severity: 'must',
    });
  });
});
