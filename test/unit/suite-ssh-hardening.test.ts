import { describe, expect, it } from 'vitest';
import type { CheckOutcome } from '../../src/suite-api/index.js';
import { DEFAULT_RULES, describeWeak, evaluate, parseSshAuditJson, type AlgorithmPolicy, type OfferedAlgorithms } from '../../suites/ssh-hardening/algorithms.js';
import { judgeConfigFiles, judgeHostKeyFiles, parseFindPrintf, parseKeygenList, parseStat } from '../../suites/ssh-hardening/files.js';
import sshHardening, { createSshHardeningSuite } from '../../suites/ssh-hardening/index.js';
import { parseServerHello } from '../../suites/ssh-hardening/kexinit.js';
import { parseOptions } from '../../suites/ssh-hardening/options.js';
import type { HostRun, HostTools } from '../../suites/ssh-hardening/probe.js';
import * as sshd from '../../suites/ssh-hardening/sshd.js';
import { fakeContext, fakeGuest, type FakeAnswer } from './helpers/fake-guest.js';

// OpenSSH 9.2p1 (Debian 12) `sshd -T -C user=cloud,host=imgtest-probe,addr=10.78.0.1` with the clean
// fixture's drop-in (fixtures/lib/common.sh, 10-hardening.conf) under Debian's sshd_config.
const SSHD_T_CLEAN = `port 22
addressfamily any
listenaddress [::]:22
listenaddress 0.0.0.0:22
usepam yes
logingracetime 30
x11displayoffset 10
maxauthtries 3
maxsessions 10
clientaliveinterval 0
clientalivecountmax 3
requiredrsasize 1024
streamlocalbindmask 0177
unusedconnectiontimeout none
permitrootlogin no
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
x11forwarding no
x11uselocalhost yes
permittty yes
permituserrc yes
strictmodes yes
tcpkeepalive yes
permitemptypasswords no
compression yes
gatewayports no
usedns no
allowtcpforwarding no
allowagentforwarding no
disableforwarding no
allowstreamlocalforwarding yes
streamlocalbindunlink no
fingerprinthash SHA256
exposeauthinfo no
pidfile /run/sshd.pid
modulifile /etc/ssh/moduli
xauthlocation /usr/bin/xauth
ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr
macs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com
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
kexalgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org
casignaturealgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
hostbasedacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
hostkeyalgorithms ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com
pubkeyacceptedalgorithms ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521
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

// The same with the flawed fixture's 05-build-access.conf added (it sorts first, so its values win).
const SSHD_T_FLAWED = SSHD_T_CLEAN.replace('permitrootlogin no', 'permitrootlogin yes')
  .replace('passwordauthentication no', 'passwordauthentication yes')
  .replace('kbdinteractiveauthentication no', 'kbdinteractiveauthentication yes')
  .replace(/^ciphers .*$/m, 'ciphers aes128-cbc,aes256-cbc,3des-cbc,aes128-ctr,aes256-ctr,chacha20-poly1305@openssh.com,aes256-gcm@openssh.com')
  .replace(/^macs .*$/m, 'macs hmac-sha1,hmac-sha1-96,hmac-md5,hmac-sha2-256,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com')
  .replace(/^kexalgorithms .*$/m, 'kexalgorithms diffie-hellman-group14-sha1,diffie-hellman-group1-sha1,diffie-hellman-group-exchange-sha1,curve25519-sha256,curve25519-sha256@libssh.org');

// ssh-audit 2.5.0 (Debian 12) `ssh-audit -j` against OpenSSH 9.2p1 run with those two configurations
// (and a 3072-bit RSA, an ECDSA and an Ed25519 host key); exit codes 3 and 2.
const AUDIT_FLAWED = `{"banner": {"comments": "Debian-2+deb12u10", "protocol": [2, 0], "raw": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", "software": "OpenSSH_9.2p1"}, "compression": ["none", "zlib@openssh.com"], "enc": ["aes128-cbc", "aes256-cbc", "3des-cbc", "aes128-ctr", "aes256-ctr", "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"], "fingerprints": [{"hash": "T8Rzx3CDQDia6KEtq7ZB0rItkOvVy0oL3Q8n5qUBoyA", "hash_alg": "SHA256", "hostkey": "ssh-ed25519"}, {"hash": "70:83:db:06:40:1e:e6:fb:d7:94:cf:8a:96:56:bc:c7", "hash_alg": "MD5", "hostkey": "ssh-ed25519"}, {"hash": "GNXQDsWin2bjNt+K2GeGd+FUnyUq6uYekCoC1fBrTGc", "hash_alg": "SHA256", "hostkey": "ssh-rsa"}, {"hash": "11:6a:05:15:85:f7:86:76:9d:07:68:20:bf:62:96:21", "hash_alg": "MD5", "hostkey": "ssh-rsa"}], "kex": [{"algorithm": "diffie-hellman-group14-sha1"}, {"algorithm": "diffie-hellman-group1-sha1"}, {"algorithm": "diffie-hellman-group-exchange-sha1", "keysize": 2048}, {"algorithm": "curve25519-sha256"}, {"algorithm": "curve25519-sha256@libssh.org"}, {"algorithm": "kex-strict-s-v00@openssh.com"}], "key": [{"algorithm": "ssh-ed25519"}, {"algorithm": "rsa-sha2-512", "keysize": 3072}, {"algorithm": "rsa-sha2-256", "keysize": 3072}], "mac": ["hmac-sha1", "hmac-sha1-96", "hmac-md5", "hmac-sha2-256", "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com"], "target": "10.78.0.11"}`;
const AUDIT_CLEAN = `{"banner": {"comments": "Debian-2+deb12u10", "protocol": [2, 0], "raw": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", "software": "OpenSSH_9.2p1"}, "compression": ["none", "zlib@openssh.com"], "enc": ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com", "aes256-ctr", "aes192-ctr", "aes128-ctr"], "fingerprints": [{"hash": "T8Rzx3CDQDia6KEtq7ZB0rItkOvVy0oL3Q8n5qUBoyA", "hash_alg": "SHA256", "hostkey": "ssh-ed25519"}, {"hash": "70:83:db:06:40:1e:e6:fb:d7:94:cf:8a:96:56:bc:c7", "hash_alg": "MD5", "hostkey": "ssh-ed25519"}, {"hash": "GNXQDsWin2bjNt+K2GeGd+FUnyUq6uYekCoC1fBrTGc", "hash_alg": "SHA256", "hostkey": "ssh-rsa"}, {"hash": "11:6a:05:15:85:f7:86:76:9d:07:68:20:bf:62:96:21", "hash_alg": "MD5", "hostkey": "ssh-rsa"}], "kex": [{"algorithm": "sntrup761x25519-sha512@openssh.com"}, {"algorithm": "curve25519-sha256"}, {"algorithm": "curve25519-sha256@libssh.org"}, {"algorithm": "kex-strict-s-v00@openssh.com"}], "key": [{"algorithm": "ssh-ed25519"}, {"algorithm": "rsa-sha2-512", "keysize": 3072}, {"algorithm": "rsa-sha2-256", "keysize": 3072}], "mac": ["hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "umac-128-etm@openssh.com"], "target": "10.78.0.11"}`;

// The same against a server offering DSA and a 2048-bit RSA key (ssh-rsa included) and umac-64.
const AUDIT_WEAK_HOSTKEYS = `{"banner": {"comments": "Debian-2+deb12u10", "protocol": [2, 0], "raw": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", "software": "OpenSSH_9.2p1"}, "compression": ["none", "zlib@openssh.com"], "enc": ["aes128-cbc", "aes256-cbc", "3des-cbc", "aes128-ctr", "aes256-ctr", "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"], "fingerprints": [{"hash": "T8Rzx3CDQDia6KEtq7ZB0rItkOvVy0oL3Q8n5qUBoyA", "hash_alg": "SHA256", "hostkey": "ssh-ed25519"}, {"hash": "70:83:db:06:40:1e:e6:fb:d7:94:cf:8a:96:56:bc:c7", "hash_alg": "MD5", "hostkey": "ssh-ed25519"}, {"hash": "8GWUqaKRu+s9BYl+PL/ECkqhBlzyX4HSxhd1b4lAyYc", "hash_alg": "SHA256", "hostkey": "ssh-rsa"}, {"hash": "8a:69:43:4f:bc:5a:99:1f:ef:b2:04:63:86:6c:23:54", "hash_alg": "MD5", "hostkey": "ssh-rsa"}], "kex": [{"algorithm": "diffie-hellman-group14-sha1"}, {"algorithm": "diffie-hellman-group1-sha1"}, {"algorithm": "diffie-hellman-group-exchange-sha1", "keysize": 2048}, {"algorithm": "curve25519-sha256"}, {"algorithm": "curve25519-sha256@libssh.org"}, {"algorithm": "kex-strict-s-v00@openssh.com"}], "key": [{"algorithm": "ssh-ed25519"}, {"algorithm": "rsa-sha2-512", "keysize": 2048}, {"algorithm": "rsa-sha2-256", "keysize": 2048}, {"algorithm": "ssh-rsa", "keysize": 2048}, {"algorithm": "ecdsa-sha2-nistp256"}, {"algorithm": "ssh-dss"}], "mac": ["hmac-sha1", "hmac-sha1-96", "hmac-md5", "hmac-sha2-256", "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "umac-64@openssh.com"], "target": "10.78.0.11"}`;

// What OpenSSH 9.2p1 sent (identification + KEXINIT) to a client that connected and sent its own identification.
const HELLO_FLAWED = Buffer.from(
  'U1NILTIuMC1PcGVuU1NIXzkuMnAxIERlYmlhbi0yK2RlYjEydTEwDQoAAALcBRTlT24CWS4Cs/afUcCbBcedAAAApWRpZmZpZS1oZWxsbWFuLWdyb3VwMTQtc2hhMSxkaWZmaWUtaGVsbG1hbi1ncm91cDEtc2hhMSxkaWZmaWUtaGVsbG1hbi1ncm91cC1leGNoYW5nZS1zaGExLGN1cnZlMjU1MTktc2hhMjU2LGN1cnZlMjU1MTktc2hhMjU2QGxpYnNzaC5vcmcsa2V4LXN0cmljdC1zLXYwMEBvcGVuc3NoLmNvbQAAACVzc2gtZWQyNTUxOSxyc2Etc2hhMi01MTIscnNhLXNoYTItMjU2AAAAaWFlczEyOC1jYmMsYWVzMjU2LWNiYywzZGVzLWNiYyxhZXMxMjgtY3RyLGFlczI1Ni1jdHIsY2hhY2hhMjAtcG9seTEzMDVAb3BlbnNzaC5jb20sYWVzMjU2LWdjbUBvcGVuc3NoLmNvbQAAAGlhZXMxMjgtY2JjLGFlczI1Ni1jYmMsM2Rlcy1jYmMsYWVzMTI4LWN0cixhZXMyNTYtY3RyLGNoYWNoYTIwLXBvbHkxMzA1QG9wZW5zc2guY29tLGFlczI1Ni1nY21Ab3BlbnNzaC5jb20AAABpaG1hYy1zaGExLGhtYWMtc2hhMS05NixobWFjLW1kNSxobWFjLXNoYTItMjU2LGhtYWMtc2hhMi0yNTYtZXRtQG9wZW5zc2guY29tLGhtYWMtc2hhMi01MTItZXRtQG9wZW5zc2guY29tAAAAaWhtYWMtc2hhMSxobWFjLXNoYTEtOTYsaG1hYy1tZDUsaG1hYy1zaGEyLTI1NixobWFjLXNoYTItMjU2LWV0bUBvcGVuc3NoLmNvbSxobWFjLXNoYTItNTEyLWV0bUBvcGVuc3NoLmNvbQAAABVub25lLHpsaWJAb3BlbnNzaC5jb20AAAAVbm9uZSx6bGliQG9wZW5zc2guY29tAAAAAAAAAAAAAAAAAAAAAAAA',
  'base64',
);
const HELLO_CLEAN = Buffer.from(
  'U1NILTIuMC1PcGVuU1NIXzkuMnAxIERlYmlhbi0yK2RlYjEydTEwDQoAAAKECBSfVQ6NsF8tnrilJPqfgaE+AAAAbnNudHJ1cDc2MXgyNTUxOS1zaGE1MTJAb3BlbnNzaC5jb20sY3VydmUyNTUxOS1zaGEyNTYsY3VydmUyNTUxOS1zaGEyNTZAbGlic3NoLm9yZyxrZXgtc3RyaWN0LXMtdjAwQG9wZW5zc2guY29tAAAAJXNzaC1lZDI1NTE5LHJzYS1zaGEyLTUxMixyc2Etc2hhMi0yNTYAAABsY2hhY2hhMjAtcG9seTEzMDVAb3BlbnNzaC5jb20sYWVzMjU2LWdjbUBvcGVuc3NoLmNvbSxhZXMxMjgtZ2NtQG9wZW5zc2guY29tLGFlczI1Ni1jdHIsYWVzMTkyLWN0cixhZXMxMjgtY3RyAAAAbGNoYWNoYTIwLXBvbHkxMzA1QG9wZW5zc2guY29tLGFlczI1Ni1nY21Ab3BlbnNzaC5jb20sYWVzMTI4LWdjbUBvcGVuc3NoLmNvbSxhZXMyNTYtY3RyLGFlczE5Mi1jdHIsYWVzMTI4LWN0cgAAAFRobWFjLXNoYTItNTEyLWV0bUBvcGVuc3NoLmNvbSxobWFjLXNoYTItMjU2LWV0bUBvcGVuc3NoLmNvbSx1bWFjLTEyOC1ldG1Ab3BlbnNzaC5jb20AAABUaG1hYy1zaGEyLTUxMi1ldG1Ab3BlbnNzaC5jb20saG1hYy1zaGEyLTI1Ni1ldG1Ab3BlbnNzaC5jb20sdW1hYy0xMjgtZXRtQG9wZW5zc2guY29tAAAAFW5vbmUsemxpYkBvcGVuc3NoLmNvbQAAABVub25lLHpsaWJAb3BlbnNzaC5jb20AAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  'base64',
);

// `ssh-keyscan -t rsa` against the same server (a 3072-bit RSA host key).
const KEYSCAN_RSA_3072 =
  '10.78.0.11 ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQCgMwyR6d/1ZOMJRHAkPLbNTv2fYeENQbN/kMYK4OqOXWMoS2wrBIIjC1y2UDpQOF18bWcItkaG6Wz2Hf2iFkaDQkLgbSflOkqu4Ev/cUZghWV8gsoqu5Tx+6z4NdWkXb6phVYQDBT4gH4qESYGUZRS9opS2B51gy4SaHJ2dGKYiVESKee7dZ0vFmrWwM8Sy50wU7MUXHZjssPUE02d9VuzGNnhLNcUn2MAwNgvaJBrqQobfxhaIffMePKO+cHUWfY/wKTgcV9POnchibbi49JH8JITx1GDOPie6GNtlTRzI2kfG9l58ILeFryfiitqSKL1ALWl0kzXgDuj3XRsqDp6SIzBhZZ3qysV1b7qs4X+7/fSS3WdefUDjL0MNZ3o35A8Nb6ckTJ2256g1P7LP9opKl6iln2RtMoL/LNzYcYFXja+e3x1fjgKHkANnTt6PpTld7BZYaX/jdCkgtjSuji4T+GrQJ9Xnm//FYapGtOqY8b0uCZdd6Clg33n/b3bvAE=\n';

const SPEC = 'user=cloud,host=imgtest-probe,addr=10.78.0.1';
const STAT_KEYS =
  'stat -c %a %U %G %n -- /etc/ssh/ssh_host_rsa_key /etc/ssh/ssh_host_rsa_key.pub /etc/ssh/ssh_host_ecdsa_key /etc/ssh/ssh_host_ecdsa_key.pub /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub';
const FIND_CONFIG = 'find -L /etc/ssh/sshd_config /etc/ssh/sshd_config.d -maxdepth 1 -printf %m %u %g %y %p\\n';

/** debian-12-clean after its first boot: cloud-init made fresh host keys; the hardened drop-in. */
const CLEAN: Record<string, FakeAnswer> = {
  'printenv SSH_CONNECTION': '10.78.0.1 49152 10.78.0.11 22\n',
  [`[sudo] sshd -T -C ${SPEC}`]: SSHD_T_CLEAN,
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
  'ssh-keygen -l -f /etc/ssh/ssh_host_rsa_key.pub': '3072 SHA256:yU+om+OOVT1gV0/9Lqk9QqPASCyHTUCPwbmI8auMP5k root@imgtest-1 (RSA)\n',
  'ssh-keygen -l -f /etc/ssh/ssh_host_ecdsa_key.pub': '256 SHA256:j40UkyWINzHHNBxF+3osa3i96nj9vZAacud6h7glUJM root@imgtest-1 (ECDSA)\n',
  'ssh-keygen -l -f /etc/ssh/ssh_host_ed25519_key.pub': '256 SHA256:RAFE4I+wNMjQMkq5zapHoi3T8Zw6/WeGyQs8K/tK71Q root@imgtest-1 (ED25519)\n',
  [FIND_CONFIG]: '644 root root f /etc/ssh/sshd_config\n755 root root d /etc/ssh/sshd_config.d\n644 root root f /etc/ssh/sshd_config.d/10-hardening.conf\n',
};

/** debian-12-flawed: the early build-access drop-in wins. */
const FLAWED: Record<string, FakeAnswer> = {
  ...CLEAN,
  [`[sudo] sshd -T -C ${SPEC}`]: SSHD_T_FLAWED,
  [FIND_CONFIG]:
    '644 root root f /etc/ssh/sshd_config\n755 root root d /etc/ssh/sshd_config.d\n644 root root f /etc/ssh/sshd_config.d/05-build-access.conf\n644 root root f /etc/ssh/sshd_config.d/10-hardening.conf\n',
};

const withSshdT = (text: string): Record<string, FakeAnswer> => ({ ...CLEAN, [`[sudo] sshd -T -C ${SPEC}`]: text });

interface FakeHost extends HostTools {
  calls: string[];
}

/** The machine running imgtest: ssh-audit (or not) answering from a table. */
function fakeHost(audit: string | HostRun | undefined, extra: { keyscan?: string; hello?: Buffer } = {}): FakeHost {
  const calls: string[] = [];
  return {
    calls,
    async run(file, args) {
      calls.push([file, ...args].join(' '));
      if (file === 'ssh-audit') {
        if (audit === undefined) return { notFound: true };
        return typeof audit === 'string' ? { stdout: audit, stderr: '', exitCode: 3 } : audit;
      }
      if (file === 'ssh-keyscan') return extra.keyscan === undefined ? { notFound: true } : { stdout: extra.keyscan, stderr: '', exitCode: 0 };
      return { notFound: true };
    },
    async kexinit(host, port) {
      calls.push(`kexinit ${host}:${port}`);
      if (!extra.hello) throw new Error('fake host: no server hello scripted');
      return parseServerHello(extra.hello)!;
    },
  };
}

async function runCheck(id: string, exec: Record<string, FakeAnswer>, host: FakeHost = fakeHost(AUDIT_CLEAN), options: Record<string, unknown> = {}) {
  const suite = createSshHardeningSuite(host);
  const check = suite.checks.find((c) => c.id === id);
  if (!check) throw new Error(`no check ${id}`);
  const guest = fakeGuest({ exec });
  const context = fakeContext([guest], options);
  const outcome: CheckOutcome = await check.run(context);
  return { outcome, guest, context, host };
}

const POLICY: AlgorithmPolicy = { ciphers: {}, macs: {}, kex: {}, hostKeys: {}, minRsaBits: 3072, minDhModulusBits: 3072 };

describe('ssh-hardening suite', () => {
  it('is defined with its checks, sharing one guest', () => {
    expect(sshHardening.id).toBe('ssh-hardening');
    expect(sshHardening.requires).toEqual({ guests: { count: 1, placement: 'any', sharing: 'shared', firmwareMatrix: 'first' } });
    expect(sshHardening.checks.map((c) => `${c.id}:${c.severity}`)).toEqual([
      'ssh-password-auth:must',
      'ssh-kbdinteractive-auth:must',
      'ssh-empty-passwords:must',
      'ssh-root-login:must',
      'ssh-root-login-no:should',
      'ssh-pubkey-auth:must',
      'ssh-forwarding:should',
      'ssh-max-auth-tries:should',
      'ssh-login-grace-time:should',
      'ssh-permit-user-environment:must',
      'ssh-hostbased-auth:must',
      'ssh-config-test:must',
      'ssh-service:must',
      'ssh-weak-ciphers:must',
      'ssh-weak-macs:must',
      'ssh-weak-kex:must',
      'ssh-weak-hostkeys:must',
      'ssh-hostkey-files:must',
      'ssh-config-perms:must',
    ]);
  });

  it('passes every check on the clean image, reading sshd -T once', async () => {
    const host = fakeHost(AUDIT_CLEAN);
    const guest = fakeGuest({ exec: CLEAN });
    const context = fakeContext([guest]);
    const suite = createSshHardeningSuite(host);
    const failed: string[] = [];
    for (const check of suite.checks) {
      const outcome = await check.run(context);
      if (outcome.status !== 'pass') failed.push(`${check.id}: ${outcome.status} ${outcome.message}`);
    }
    expect(failed).toEqual([]);
    expect(guest.calls.filter((c) => c.includes('sshd -T'))).toHaveLength(1);
    expect(host.calls).toEqual(['ssh-audit -j -p 22 -t 15 10.78.0.11']);
    expect(context.written.get('sshd-effective-config.txt')).toBe(SSHD_T_CLEAN);
    expect(JSON.parse(context.written.get('ssh-audit.json')!)).toMatchObject({ target: '10.78.0.11' });
  });

  it('on the flawed image fails exactly the planted defects', async () => {
    const guest = fakeGuest({ exec: FLAWED });
    const context = fakeContext([guest]);
    const suite = createSshHardeningSuite(fakeHost(AUDIT_FLAWED));
    const failed: string[] = [];
    for (const check of suite.checks) if ((await check.run(context)).status === 'fail') failed.push(check.id);
    expect(failed).toEqual(['ssh-password-auth', 'ssh-kbdinteractive-auth', 'ssh-root-login', 'ssh-root-login-no', 'ssh-weak-ciphers', 'ssh-weak-macs', 'ssh-weak-kex']);
  });

  it('weighs the planted defects must under baseline (OpenSSH dropped those algorithms), the extra finding should', async () => {
    const context = fakeContext([fakeGuest({ exec: FLAWED })]);
    const suite = createSshHardeningSuite(fakeHost(AUDIT_FLAWED));
    const failed: string[] = [];
    for (const check of suite.checks) {
      const outcome = await check.run(context);
      if (outcome.status === 'fail') failed.push(`${check.id}:${outcome.severity}`);
    }
    expect(failed).toEqual([
      'ssh-password-auth:must',
      'ssh-kbdinteractive-auth:must',
      'ssh-root-login:must',
      'ssh-root-login-no:should',
      'ssh-weak-ciphers:must',
      'ssh-weak-macs:must',
      'ssh-weak-kex:must',
    ]);
  });

  it.each(['baseline', 'cis-level1', 'strict'])('the clean image passes every check under %s', async (policy) => {
    const context = fakeContext([fakeGuest({ exec: CLEAN })], { policy });
    const suite = createSshHardeningSuite(fakeHost(AUDIT_CLEAN));
    const notPassed: string[] = [];
    for (const check of suite.checks) {
      const outcome = await check.run(context);
      if (outcome.status !== 'pass') notPassed.push(`${check.id}: ${outcome.message}`);
    }
    expect(notPassed).toEqual([]);
  });
});

describe('effective settings checks', () => {
  it('asks sshd -T as the seeded user from our own address, through sudo', async () => {
    const { outcome, guest } = await runCheck('ssh-password-auth', CLEAN);
    expect(guest.calls).toEqual(['printenv SSH_CONNECTION', `[sudo] sshd -T -C ${SPEC}`]);
    expect(outcome).toMatchObject({ status: 'pass', message: 'passwordauthentication no' });
    expect(outcome.evidence).toContain(`$ sudo -n sshd -T -C ${SPEC}   (exit 0, 93 lines; whole output in the sshd-effective-config artifact)`);
    expect(outcome.evidence).toContain('passwordauthentication no');
  });
  it('takes the Match connection from the options', async () => {
    const { guest } = await runCheck('ssh-password-auth', { ...CLEAN, '[sudo] sshd -T -C user=admin,host=bastion,addr=203.0.113.9': SSHD_T_CLEAN }, undefined, {
      match: { user: 'admin', host: 'bastion', addr: '203.0.113.9' },
    });
    expect(guest.calls).toEqual(['[sudo] sshd -T -C user=admin,host=bastion,addr=203.0.113.9']);
  });
  it('falls back to /usr/sbin/sshd where sudo does not find sshd', async () => {
    const exec = { ...CLEAN, [`[sudo] sshd -T -C ${SPEC}`]: { exitCode: 1, stderr: 'sudo: sshd: command not found\n' }, [`[sudo] /usr/sbin/sshd -T -C ${SPEC}`]: SSHD_T_CLEAN };
    expect((await runCheck('ssh-password-auth', exec)).outcome.status).toBe('pass');
  });
  it('fails, naming the problem, when sshd -T rejects the configuration', async () => {
    const exec = {
      ...CLEAN,
      [`[sudo] sshd -T -C ${SPEC}`]: {
        exitCode: 255,
        stderr:
          '/etc/ssh/sshd_config.d/05-build-access.conf: line 2: Bad configuration option: PermitRootLgin\n/etc/ssh/sshd_config.d/05-build-access.conf: terminating, 1 bad configuration options\n',
      },
    };
    const { outcome } = await runCheck('ssh-password-auth', exec);
    expect(outcome).toMatchObject({
      status: 'fail',
      message: expect.stringContaining("cannot read sshd's effective settings: sshd -T exits 255: /etc/ssh/sshd_config.d/05-build-access.conf: line 2: Bad configuration option"),
    });
  });
  it('is an error when sudo is refused', async () => {
    await expect(runCheck('ssh-password-auth', { ...CLEAN, [`[sudo] sshd -T -C ${SPEC}`]: { exitCode: 1, stderr: 'sudo: a password is required\n' } })).rejects.toThrow(
      /cannot run sshd -T .*sudo -n was refused/,
    );
  });

  const cases: [string, string, Record<string, FakeAnswer>, string][] = [
    ['ssh-password-auth', 'passwordauthentication no', FLAWED, "password authentication is on: passwordauthentication is 'yes', not 'no'"],
    ['ssh-kbdinteractive-auth', 'kbdinteractiveauthentication no', FLAWED, 'keyboard-interactive authentication is on: kbdinteractiveauthentication yes'],
    [
      'ssh-empty-passwords',
      'permitemptypasswords no',
      withSshdT(SSHD_T_CLEAN.replace('permitemptypasswords no', 'permitemptypasswords yes')),
      "empty passwords are accepted: permitemptypasswords is 'yes', not 'no'",
    ],
    ['ssh-root-login', 'permitrootlogin no', FLAWED, 'root may log in with a password: permitrootlogin yes'],
    [
      'ssh-root-login-no',
      'permitrootlogin no',
      withSshdT(SSHD_T_CLEAN.replace('permitrootlogin no', 'permitrootlogin prohibit-password')),
      'root login is not refused outright: permitrootlogin prohibit-password (want no)',
    ],
    [
      'ssh-pubkey-auth',
      'pubkeyauthentication yes',
      withSshdT(SSHD_T_CLEAN.replace('pubkeyauthentication yes', 'pubkeyauthentication no')),
      "public key authentication is off: pubkeyauthentication is 'no', not 'yes'",
    ],
    [
      'ssh-forwarding',
      'x11, agent and TCP forwarding, tunnels and gateway ports off',
      withSshdT(SSHD_T_CLEAN.replace('x11forwarding no', 'x11forwarding yes').replace('allowtcpforwarding no', 'allowtcpforwarding local')),
      'forwarding allowed: x11forwarding yes, allowtcpforwarding local',
    ],
    ['ssh-max-auth-tries', 'maxauthtries 3 (<= 4)', withSshdT(SSHD_T_CLEAN.replace('maxauthtries 3', 'maxauthtries 6')), 'maxauthtries 6 allows more than 4 attempts per connection'],
    ['ssh-login-grace-time', 'logingracetime 30 s (<= 60 s)', withSshdT(SSHD_T_CLEAN.replace('logingracetime 30', 'logingracetime 120')), 'logingracetime 120 s is longer than 60 s'],
    [
      'ssh-permit-user-environment',
      'permituserenvironment no',
      withSshdT(SSHD_T_CLEAN.replace('permituserenvironment no', 'permituserenvironment LANG,LC_*')),
      "users may set environment variables for sshd: permituserenvironment is 'LANG,LC_*', not 'no'",
    ],
    [
      'ssh-hostbased-auth',
      'hostbasedauthentication no, ignorerhosts yes',
      withSshdT(SSHD_T_CLEAN.replace('hostbasedauthentication no', 'hostbasedauthentication yes').replace('ignorerhosts yes', 'ignorerhosts shosts-only')),
      'host-based trust is possible: hostbasedauthentication yes, ignorerhosts shosts-only',
    ],
  ];
  it.each(cases)('%s passes clean (%s) and fails the defect naming it', async (id, passMessage, defect, failMessage) => {
    expect((await runCheck(id, CLEAN)).outcome).toMatchObject({ status: 'pass', message: passMessage });
    const { outcome } = await runCheck(id, defect);
    expect(outcome.status).toBe('fail');
    expect(outcome.message.startsWith(`${failMessage} [rule `)).toBe(true);
    expect(outcome.evidence).toContain(failMessage.includes('forwarding') ? 'x11forwarding yes' : '');
  });

  it('prohibit-password is fine for the must-check', async () => {
    expect((await runCheck('ssh-root-login', withSshdT(SSHD_T_CLEAN.replace('permitrootlogin no', 'permitrootlogin prohibit-password')))).outcome).toMatchObject({
      status: 'pass',
      message: 'permitrootlogin prohibit-password',
    });
  });
  it('thresholds come from the options', async () => {
    const six = withSshdT(SSHD_T_CLEAN.replace('maxauthtries 3', 'maxauthtries 6'));
    expect((await runCheck('ssh-max-auth-tries', six, undefined, { maxAuthTries: 6 })).outcome.status).toBe('pass');
    expect((await runCheck('ssh-login-grace-time', CLEAN, undefined, { maxLoginGraceTimeSeconds: 20 })).outcome.message).toMatch(
      /^logingracetime 30 s is longer than 20 s \[rule login-grace-time \(should under baseline\)/,
    );
    await expect(runCheck('ssh-max-auth-tries', CLEAN, undefined, { maxAuthTries: 'four' })).rejects.toThrow(/ssh-hardening options: maxAuthTries/);
  });
});

describe('sshd -T judgments', () => {
  const clean = sshd.parseSshdT(SSHD_T_CLEAN);
  it('parses keywords, repeated ones in order', () => {
    expect(clean.size).toBe(89);
    expect(clean.get('hostkey')).toEqual(['/etc/ssh/ssh_host_rsa_key', '/etc/ssh/ssh_host_ecdsa_key', '/etc/ssh/ssh_host_ed25519_key']);
    expect(clean.get('authorizedkeysfile')).toEqual(['.ssh/authorized_keys .ssh/authorized_keys2']);
    expect(clean.get('subsystem')).toEqual(['sftp /usr/lib/openssh/sftp-server']);
  });
  it('reads challengeresponseauthentication on older builds', () => {
    const old = sshd.parseSshdT('challengeresponseauthentication yes\npasswordauthentication no\n');
    expect(sshd.judgeKbdInteractive(old)).toMatchObject({ ok: false, message: 'keyboard-interactive authentication is on: challengeresponseauthentication yes' });
    expect(sshd.judgeKbdInteractive(sshd.parseSshdT('challengeresponseauthentication no\n')).ok).toBe(true);
    expect(sshd.judgeKbdInteractive(sshd.parseSshdT('port 22\n'))).toMatchObject({ ok: false, message: 'sshd -T printed no kbdinteractiveauthentication/challengeresponseauthentication' });
  });
  it('DisableForwarding covers X11, agent and TCP, not tunnels', () => {
    const text = SSHD_T_CLEAN.replace('x11forwarding no', 'x11forwarding yes').replace('allowagentforwarding no', 'allowagentforwarding yes').replace('disableforwarding no', 'disableforwarding yes');
    expect(sshd.judgeForwarding(sshd.parseSshdT(text))).toMatchObject({ ok: true, message: 'disableforwarding yes; permittunnel no' });
    expect(sshd.judgeForwarding(sshd.parseSshdT(text.replace('permittunnel no', 'permittunnel point-to-point')))).toMatchObject({
      ok: false,
      message: 'forwarding allowed: permittunnel point-to-point',
    });
  });
  it('logingracetime 0 means no limit', () => {
    expect(sshd.judgeLoginGraceTime(sshd.parseSshdT('logingracetime 0\n'), 60)).toMatchObject({ ok: false, message: 'logingracetime 0: unauthenticated connections are never dropped' });
  });
  it('judges sshd -t', () => {
    expect(sshd.judgeConfigTest(0, '')).toEqual({ ok: true, message: 'sshd -t: configuration valid, no warnings' });
    expect(sshd.judgeConfigTest(0, '/etc/ssh/sshd_config line 12: Deprecated option UsePrivilegeSeparation').ok).toBe(false);
  });
  it('reads the client address from SSH_CONNECTION', () => {
    expect(sshd.clientAddressFrom('10.78.0.1 49152 10.78.0.11 22\n')).toBe('10.78.0.1');
    expect(sshd.clientAddressFrom('fd00::1 49152 fd00::11 22')).toBe('fd00::1');
    expect(sshd.clientAddressFrom('')).toBeUndefined();
  });
});

describe('ssh-config-test', () => {
  it('passes when sshd -t says nothing (sudo hostname noise aside)', async () => {
    const { outcome } = await runCheck('ssh-config-test', { ...CLEAN, '[sudo] sshd -t': { stderr: 'sudo: unable to resolve host imgtest-1: Name or service not known\n' } });
    expect(outcome).toMatchObject({ status: 'pass', message: 'sshd -t: configuration valid, no warnings' });
  });
  it('fails on a warning, naming it', async () => {
    const { outcome } = await runCheck('ssh-config-test', { ...CLEAN, '[sudo] sshd -t': { stderr: '/etc/ssh/sshd_config line 12: Deprecated option UsePrivilegeSeparation\n' } });
    expect(outcome).toMatchObject({
      status: 'fail',
      severity: 'should',
      message: expect.stringMatching(/^sshd -t warns: \/etc\/ssh\/sshd_config line 12: Deprecated option UsePrivilegeSeparation \[rule config-warnings/),
    });
    expect(outcome.evidence).toContain('$ sudo -n sshd -t   (exit 0)');
  });
  it('fails on a rejected configuration', async () => {
    const { outcome } = await runCheck('ssh-config-test', {
      ...CLEAN,
      '[sudo] sshd -t': { exitCode: 255, stderr: '/etc/ssh/sshd_config.d/05-build-access.conf: line 2: Bad configuration option: PermitRootLgin\n' },
    });
    expect(outcome).toMatchObject({
      status: 'fail',
      severity: 'must',
      message: expect.stringMatching(/^sshd -t exits 255: \/etc\/ssh\/sshd_config.d\/05-build-access.conf: line 2: Bad configuration option: PermitRootLgin \[rule config-rejected/),
    });
  });
});

describe('ssh-service', () => {
  it('passes enabled and active', async () => {
    expect((await runCheck('ssh-service', CLEAN)).outcome).toMatchObject({ status: 'pass', message: 'ssh service enabled and active (systemctl as root through sudo)' });
  });
  it('fails a disabled service, naming its state', async () => {
    const { outcome } = await runCheck('ssh-service', {
      ...CLEAN,
      'systemctl is-enabled ssh': { stdout: 'disabled\n', exitCode: 1 },
      'systemctl is-enabled ssh.socket': { stdout: 'disabled\n', exitCode: 1 },
      'systemctl is-active ssh.socket': { stdout: 'inactive\n', exitCode: 3 },
    });
    expect(outcome).toMatchObject({
      status: 'fail',
      severity: 'must',
      message: expect.stringMatching(/^ssh service is disabled, not enabled \(active; systemctl as root through sudo\) \[rule service-off/),
    });
  });
  it('fails an enabled service that is not running', async () => {
    expect((await runCheck('ssh-service', { ...CLEAN, 'systemctl is-active ssh': { stdout: 'failed\n', exitCode: 3 } })).outcome).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/^ssh service is enabled but failed \(systemctl as root through sudo\) \[rule service-off/),
    });
  });
  it('accepts the sshd unit name and socket activation', async () => {
    const fedora = {
      'systemctl is-enabled ssh': { exitCode: 1, stderr: 'Failed to get unit file state for ssh.service: No such file or directory\n' },
      'systemctl is-enabled sshd': 'enabled\n',
      'systemctl is-active sshd': 'active\n',
    };
    expect((await runCheck('ssh-service', fedora)).outcome).toMatchObject({ status: 'pass', message: 'sshd service enabled and active (systemctl as root through sudo)' });
    const ubuntu = {
      'systemctl is-enabled ssh': { stdout: 'disabled\n', exitCode: 1 },
      'systemctl is-active ssh': 'active\n',
      'systemctl is-enabled ssh.socket': 'enabled\n',
      'systemctl is-active ssh.socket': 'active\n',
    };
    expect((await runCheck('ssh-service', ubuntu)).outcome).toMatchObject({
      status: 'pass',
      message: 'ssh.socket enabled and active (socket-activated; ssh.service is disabled, active; systemctl as root through sudo)',
    });
  });
});

describe('offered algorithms (host side)', () => {
  it('parses ssh-audit 2.5 JSON', () => {
    const offered = parseSshAuditJson(AUDIT_FLAWED);
    expect(offered.source).toBe('ssh-audit');
    expect(offered.banner).toBe('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10');
    expect(offered.kex).toContainEqual({ name: 'diffie-hellman-group-exchange-sha1', modulusBits: 2048 });
    expect(offered.hostKeys).toEqual([{ name: 'ssh-ed25519' }, { name: 'rsa-sha2-512', keyBits: 3072 }, { name: 'rsa-sha2-256', keyBits: 3072 }]);
    expect(offered.ciphers).toContain('3des-cbc');
  });
  it('parses ssh-audit 3 entries with notes', () => {
    const v3 = JSON.stringify({
      banner: { raw: 'SSH-2.0-OpenSSH_9.6' },
      kex: [{ algorithm: 'diffie-hellman-group14-sha1', notes: { fail: ['using broken SHA-1 hash algorithm'], info: ['available since OpenSSH 3.9'] } }],
      key: [{ algorithm: 'rsa-sha2-512', keysize: 2048, notes: { warn: ['2048-bit modulus only provides 112-bits of symmetric strength'] } }],
      enc: [{ algorithm: 'aes128-ctr', notes: { info: [] } }],
      mac: [{ algorithm: 'hmac-sha2-256-etm@openssh.com', notes: {} }],
    });
    const offered = parseSshAuditJson(v3);
    expect(offered.ciphers).toEqual(['aes128-ctr']);
    expect(offered.toolNotes.kex).toEqual(['diffie-hellman-group14-sha1: fail: using broken SHA-1 hash algorithm']);
    expect(offered.hostKeys).toEqual([{ name: 'rsa-sha2-512', keyBits: 2048 }]);
  });
  it('refuses what ssh-audit prints when it cannot connect', () => {
    expect(() => parseSshAuditJson('\x1b[0;31m[exception] cannot connect to 10.78.0.11 port 22: [Errno 111] Connection refused\x1b[0m\n')).toThrow(/printed no JSON: \[exception\] cannot connect/);
  });
  it('judges the flawed server under the default policy', () => {
    const offered = parseSshAuditJson(AUDIT_FLAWED);
    expect(describeWeak(evaluate('ciphers', offered, POLICY).weak)).toBe('aes128-cbc (CBC mode), aes256-cbc (CBC mode), 3des-cbc (CBC mode, 3DES)');
    expect(describeWeak(evaluate('macs', offered, POLICY).weak)).toBe(
      'hmac-sha1 (SHA-1, encrypt-and-MAC, not -etm), hmac-sha1-96 (96-bit tag, SHA-1, encrypt-and-MAC, not -etm), hmac-md5 (MD5, encrypt-and-MAC, not -etm), hmac-sha2-256 (encrypt-and-MAC, not -etm)',
    );
    const kex = evaluate('kex', offered, POLICY);
    expect(describeWeak(kex.weak)).toBe(
      'diffie-hellman-group14-sha1 (SHA-1, 2048-bit group), diffie-hellman-group1-sha1 (SHA-1, 1024-bit group), diffie-hellman-group-exchange-sha1 (SHA-1, accepts a 2048-bit modulus)',
    );
    expect(kex.notes).toEqual(['protocol markers not judged: kex-strict-s-v00@openssh.com']);
    expect(evaluate('hostKeys', offered, POLICY).weak).toEqual([]);
  });
  it('finds DSA, small RSA and umac-64', () => {
    const offered = parseSshAuditJson(AUDIT_WEAK_HOSTKEYS);
    expect(describeWeak(evaluate('hostKeys', offered, POLICY).weak)).toBe(
      'rsa-sha2-512 (2048-bit RSA key), rsa-sha2-256 (2048-bit RSA key), ssh-rsa (SHA-1 signatures, 2048-bit RSA key), ecdsa-sha2-nistp256 (NIST curve), ssh-dss (DSA)',
    );
    expect(evaluate('macs', offered, POLICY).weak.map((w) => w.name)).toContain('umac-64@openssh.com');
  });
  it('flags ssh-rsa as the only RSA signature', () => {
    const offered: OfferedAlgorithms = { source: 'ssh-audit', kex: [], hostKeys: [{ name: 'ssh-ed25519' }, { name: 'ssh-rsa', keyBits: 4096 }], ciphers: [], macs: [], unmeasured: {}, toolNotes: {} };
    expect(describeWeak(evaluate('hostKeys', offered, POLICY).weak)).toBe('ssh-rsa (SHA-1 signatures)');
  });
  it('passes the clean server and modern defaults of OpenSSH', () => {
    const offered = parseSshAuditJson(AUDIT_CLEAN);
    for (const category of ['ciphers', 'macs', 'kex', 'hostKeys'] as const) expect(evaluate(category, offered, POLICY).weak).toEqual([]);
    const groups: OfferedAlgorithms = {
      ...offered,
      kex: [{ name: 'diffie-hellman-group16-sha512' }, { name: 'diffie-hellman-group18-sha512' }, { name: 'diffie-hellman-group-exchange-sha256', modulusBits: 3072 }],
    };
    expect(evaluate('kex', groups, POLICY).weak).toEqual([]);
    expect(describeWeak(evaluate('kex', { ...groups, kex: [{ name: 'diffie-hellman-group14-sha256' }] }, POLICY).weak)).toBe('diffie-hellman-group14-sha256 (2048-bit group)');
  });
  it('takes allow lists and forbid patterns from the options', () => {
    const offered = parseSshAuditJson(AUDIT_CLEAN);
    const allow = { ...POLICY, ciphers: { allow: ['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com'] } };
    expect(describeWeak(evaluate('ciphers', offered, allow).weak)).toBe(
      'aes128-gcm@openssh.com (not in the allowed list), aes256-ctr (not in the allowed list), aes192-ctr (not in the allowed list), aes128-ctr (not in the allowed list)',
    );
    const forbid = { ...POLICY, macs: { forbid: ['^umac-'] } };
    expect(describeWeak(evaluate('macs', offered, forbid).weak)).toBe('umac-128-etm@openssh.com (forbidden by /^umac-/)');
    // an allow list alone drops the default forbid patterns: the allow list is the policy
    const flawed = parseSshAuditJson(AUDIT_FLAWED);
    expect(evaluate('macs', flawed, { ...POLICY, macs: { allow: flawed.macs } }).weak).toEqual([]);
    expect(DEFAULT_RULES.ciphers.length).toBeGreaterThan(3);
  });
  it('validates policy options', () => {
    expect(() => parseOptions({ algorithms: { kex: { forbid: ['('] } } })).toThrow(/algorithms\.kex\.forbid\.0: not a valid regular expression/);
    expect(() => parseOptions({ algorithms: { cipher: {} } })).toThrow(/ssh-hardening options/);
    expect(parseOptions({})).toMatchObject({ probe: 'auto', port: 22, minRsaBits: 3072, minDhModulusBits: 3072, match: { host: 'imgtest-probe' } });
  });
});

describe('algorithm checks', () => {
  const cases: [string, string][] = [
    ['ssh-weak-ciphers', 'weak ciphers offered: aes128-cbc (CBC mode), aes256-cbc (CBC mode), 3des-cbc (CBC mode, 3DES)'],
    ['ssh-weak-macs', 'weak MACs offered: hmac-sha1 (SHA-1, encrypt-and-MAC, not -etm), hmac-sha1-96'],
    ['ssh-weak-kex', 'weak key exchanges offered: diffie-hellman-group14-sha1 (SHA-1, 2048-bit group), diffie-hellman-group1-sha1 (SHA-1, 1024-bit group), diffie-hellman-group-exchange-sha1'],
  ];
  it.each(cases)('%s passes clean and fails flawed naming the algorithms', async (id, message) => {
    const clean = await runCheck(id, CLEAN, fakeHost(AUDIT_CLEAN));
    expect(clean.outcome.status).toBe('pass');
    expect(clean.outcome.message).toMatch(/offered, none weak \(ssh-audit: /);
    const flawed = await runCheck(id, FLAWED, fakeHost(AUDIT_FLAWED));
    expect(flawed.outcome.status).toBe('fail');
    expect(flawed.outcome.message.startsWith(message)).toBe(true);
    expect(flawed.outcome.evidence).toContain('$ ssh-audit -j -p 22 -t 15 10.78.0.11   (exit 3;');
    expect(flawed.context.written.has('ssh-audit.json')).toBe(true);
  });
  it('ssh-weak-hostkeys passes the fixture servers and fails DSA and small RSA', async () => {
    expect((await runCheck('ssh-weak-hostkeys', FLAWED, fakeHost(AUDIT_FLAWED))).outcome).toMatchObject({
      status: 'pass',
      message: '3 host key algorithms offered, none weak (ssh-audit: ssh-ed25519, rsa-sha2-512, rsa-sha2-256)',
    });
    const { outcome } = await runCheck('ssh-weak-hostkeys', CLEAN, fakeHost(AUDIT_WEAK_HOSTKEYS));
    expect(outcome).toMatchObject({
      status: 'fail',
      severity: 'must',
      message: expect.stringMatching(
        /^weak host key algorithms offered: rsa-sha2-512 \(2048-bit RSA key\), rsa-sha2-256 \(2048-bit RSA key\), ssh-rsa \(SHA-1 signatures, 2048-bit RSA key\), ecdsa-sha2-nistp256 \(NIST curve\), ssh-dss \(DSA\) \[rule hostkey-ssh-rsa-sha1 \(must under baseline\): OpenSSH 8.8 release notes/,
      ),
    });
    expect(outcome.evidence).toContain('  rsa-sha2-512  (2048-bit key)');
  });
  it('runs ssh-audit once for all four checks', async () => {
    const host = fakeHost(AUDIT_FLAWED);
    const guest = fakeGuest({ exec: FLAWED });
    const context = fakeContext([guest]);
    const suite = createSshHardeningSuite(host);
    for (const id of ['ssh-weak-ciphers', 'ssh-weak-macs', 'ssh-weak-kex', 'ssh-weak-hostkeys']) await suite.checks.find((c) => c.id === id)!.run(context);
    expect(host.calls).toEqual(['ssh-audit -j -p 22 -t 15 10.78.0.11']);
  });
  it('is an error when ssh-audit cannot reach the server', async () => {
    const refused: HostRun = { stdout: '\x1b[0;31m[exception] cannot connect to 10.78.0.11 port 22: [Errno 111] Connection refused\x1b[0m\n', stderr: '', exitCode: 1 };
    await expect(runCheck('ssh-weak-ciphers', CLEAN, fakeHost(refused))).rejects.toThrow(
      /ssh-audit could not audit 10\.78\.0\.11:22 \(exit 1\): ssh-audit printed no JSON: \[exception\] cannot connect/,
    );
  });
  it('is an error when ssh-audit is required but missing', async () => {
    await expect(runCheck('ssh-weak-ciphers', CLEAN, fakeHost(undefined), { probe: 'ssh-audit' })).rejects.toThrow(/ssh-audit is not installed on this machine/);
  });
  it('falls back to the builtin probe without ssh-audit, and says what it could not measure', async () => {
    const host = fakeHost(undefined, { hello: HELLO_FLAWED, keyscan: KEYSCAN_RSA_3072 });
    const kex = await runCheck('ssh-weak-kex', FLAWED, host);
    expect(kex.outcome.status).toBe('fail');
    expect(
      kex.outcome.message.startsWith(
        'weak key exchanges offered: diffie-hellman-group14-sha1 (SHA-1, 2048-bit group), diffie-hellman-group1-sha1 (SHA-1, 1024-bit group), diffie-hellman-group-exchange-sha1 (SHA-1); group-exchange modulus sizes not measured (the builtin probe does not run a key exchange; install ssh-audit) [rule kex-group14-sha1 (must under baseline)',
      ),
    ).toBe(true);
    expect(kex.outcome.evidence).toContain('(ssh-audit is not installed on this machine; using the builtin KEXINIT probe and ssh-keyscan)');
    expect(host.calls).toEqual(['ssh-audit -j -p 22 -t 15 10.78.0.11', 'kexinit 10.78.0.11:22', 'ssh-keyscan -T 15 -p 22 -t rsa 10.78.0.11']);
    const hostKeys = await runCheck('ssh-weak-hostkeys', FLAWED, fakeHost(undefined, { hello: HELLO_FLAWED, keyscan: KEYSCAN_RSA_3072 }));
    expect(hostKeys.outcome).toMatchObject({ status: 'pass', message: '3 host key algorithms offered, none weak (builtin probe: ssh-ed25519, rsa-sha2-512, rsa-sha2-256)' });
    expect(hostKeys.outcome.evidence).toContain('rsa-sha2-512  (3072-bit key)');
    const ciphers = await runCheck('ssh-weak-ciphers', CLEAN, fakeHost(undefined, { hello: HELLO_CLEAN, keyscan: KEYSCAN_RSA_3072 }), { probe: 'builtin' });
    expect(ciphers.outcome.status).toBe('pass');
  });
});

describe('host key files', () => {
  it('parses stat, ssh-keygen -l and find output', () => {
    expect(parseStat('600 root root /etc/ssh/ssh_host_rsa_key\n640 root ssh_keys /etc/ssh/ssh_host_ecdsa_key\n').get('/etc/ssh/ssh_host_ecdsa_key')).toEqual({
      mode: 0o640,
      owner: 'root',
      group: 'ssh_keys',
      path: '/etc/ssh/ssh_host_ecdsa_key',
    });
    expect(parseKeygenList('3072 SHA256:yU+om+OOVT1gV0/9Lqk9QqPASCyHTUCPwbmI8auMP5k root@imgtest-1 (RSA)\n')).toEqual({
      bits: 3072,
      fingerprint: 'SHA256:yU+om+OOVT1gV0/9Lqk9QqPASCyHTUCPwbmI8auMP5k',
      comment: 'root@imgtest-1',
      type: 'RSA',
    });
    expect(parseKeygenList('1024 SHA256:G0xXWNM+v3Hk6XTg9HrOi3oL/rbhkOJnpcuLztwNnvY no comment (DSA)')).toMatchObject({ bits: 1024, type: 'DSA', comment: 'no comment' });
    expect(parseFindPrintf('644 root root f /etc/ssh/sshd_config\n755 root root d /etc/ssh/sshd_config.d\n')).toHaveLength(2);
  });
  it('accepts the Fedora layout (0640 group ssh_keys)', () => {
    const files = [
      {
        path: '/etc/ssh/ssh_host_ecdsa_key',
        privateStat: { mode: 0o640, owner: 'root', group: 'ssh_keys', path: '/etc/ssh/ssh_host_ecdsa_key' },
        key: { bits: 256, type: 'ECDSA', fingerprint: 'x', comment: '' },
      },
    ];
    expect(judgeHostKeyFiles(files, 3072)).toEqual([]);
    expect(judgeHostKeyFiles([{ ...files[0]!, privateStat: { ...files[0]!.privateStat, group: 'root' } }], 3072)).toEqual([
      { path: '/etc/ssh/ssh_host_ecdsa_key', problem: 'mode 0640 (group root), want 0600 or 0640 group ssh_keys', rule: 'hostkey-file-access' },
    ]);
  });
  it('ssh-hostkey-files passes clean, reading the keys sshd -T names', async () => {
    const { outcome, guest } = await runCheck('ssh-hostkey-files', CLEAN);
    expect(outcome).toMatchObject({
      status: 'pass',
      message:
        '3 host keys, root-owned and private: RSA 3072 0600 root:root /etc/ssh/ssh_host_rsa_key; ECDSA 256 0600 root:root /etc/ssh/ssh_host_ecdsa_key; ED25519 256 0600 root:root /etc/ssh/ssh_host_ed25519_key',
    });
    expect(guest.calls).toContain(STAT_KEYS);
  });
  it('ssh-hostkey-files fails on DSA, small RSA and a readable private key', async () => {
    const exec = {
      ...CLEAN,
      [STAT_KEYS]:
        '644 root root /etc/ssh/ssh_host_rsa_key\n644 root root /etc/ssh/ssh_host_rsa_key.pub\n600 root root /etc/ssh/ssh_host_ecdsa_key\n644 root root /etc/ssh/ssh_host_ecdsa_key.pub\n600 root root /etc/ssh/ssh_host_ed25519_key\n644 root root /etc/ssh/ssh_host_ed25519_key.pub\n',
      'ssh-keygen -l -f /etc/ssh/ssh_host_rsa_key.pub': '2048 SHA256:8GWUqaKRu+s9BYl+PL/ECkqhBlzyX4HSxhd1b4lAyYc root@build-vm-01 (RSA)\n',
    };
    const { outcome } = await runCheck('ssh-hostkey-files', exec);
    expect(outcome).toMatchObject({
      status: 'fail',
      severity: 'must',
      message: expect.stringMatching(
        /^host key files: \/etc\/ssh\/ssh_host_rsa_key: mode 0644 \(group root\), want 0600 or 0640 group ssh_keys; \/etc\/ssh\/ssh_host_rsa_key: RSA key of 2048 bits \(< 3072\) \[rule hostkey-file-access \(must under baseline\)/,
      ),
    });
    const dsa = withSshdT(`${SSHD_T_CLEAN}hostkey /etc/ssh/ssh_host_dsa_key\n`);
    const statDsa = `${STAT_KEYS} /etc/ssh/ssh_host_dsa_key /etc/ssh/ssh_host_dsa_key.pub`;
    const withDsa = {
      ...dsa,
      [statDsa]: `${CLEAN[STAT_KEYS] as string}600 root root /etc/ssh/ssh_host_dsa_key\n644 root root /etc/ssh/ssh_host_dsa_key.pub\n`,
      'ssh-keygen -l -f /etc/ssh/ssh_host_dsa_key.pub': '1024 SHA256:G0xXWNM+v3Hk6XTg9HrOi3oL/rbhkOJnpcuLztwNnvY root@build-vm-01 (DSA)\n',
    };
    expect((await runCheck('ssh-hostkey-files', withDsa)).outcome).toMatchObject({
      status: 'fail',
      severity: 'must',
      message: expect.stringMatching(/^host key files: \/etc\/ssh\/ssh_host_dsa_key: DSA key \(1024 bits\) \[rule hostkey-file-dsa/),
    });
  });
  it('ssh-hostkey-files fails when no host key exists', async () => {
    const { outcome } = await runCheck('ssh-hostkey-files', { ...CLEAN, [STAT_KEYS]: { exitCode: 1, stderr: "stat: cannot statx '/etc/ssh/ssh_host_rsa_key': No such file or directory\n" } });
    expect(outcome).toMatchObject({ status: 'fail', message: expect.stringContaining('no host key file present') });
  });
});

describe('ssh-config-perms', () => {
  it('passes root-owned, not group/world-writable files', async () => {
    expect((await runCheck('ssh-config-perms', FLAWED)).outcome).toMatchObject({
      status: 'pass',
      message: '0644 root:root /etc/ssh/sshd_config; 3 more (sshd_config.d and drop-ins) root-owned, not group/world writable',
    });
  });
  it('fails a writable or foreign-owned file, naming it', async () => {
    const { outcome } = await runCheck('ssh-config-perms', {
      ...CLEAN,
      [FIND_CONFIG]: '664 root adm f /etc/ssh/sshd_config\n755 root root d /etc/ssh/sshd_config.d\n644 builder builder f /etc/ssh/sshd_config.d/05-build-access.conf\n',
    });
    expect(outcome).toMatchObject({
      status: 'fail',
      severity: 'must',
      message: expect.stringMatching(
        /^sshd configuration files: \/etc\/ssh\/sshd_config: group writable \(mode 0664\); \/etc\/ssh\/sshd_config.d\/05-build-access.conf: owned by builder, not root \[rule config-file-access/,
      ),
    });
    expect(judgeConfigFiles([{ mode: 0o666, owner: 'root', group: 'root', path: '/x' }])).toEqual([{ path: '/x', problem: 'world writable (mode 0666)', rule: 'config-file-access' }]);
  });
});
