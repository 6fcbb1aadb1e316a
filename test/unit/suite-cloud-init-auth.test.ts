import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Check, LoginAttempt, LoginOptions } from '../../src/suite-api/index.js';
import suite, { cloudInitAuthSuite } from '../../suites/cloud-init-auth/index.js';
import { fakeContext, fakeGuest, type FakeAnswer, type FakeGuest, type FakeGuestSpec } from './helpers/fake-guest.js';

// Real keys (made with ssh-keygen for these tests; the private halves are not kept).
const USER_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK4S4Uto0/SpysYziHbU5RJnCug2JSpvB/t5HvOHsKAr imgtest-run1';
const BAKED_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJD81zrXnRAOKrP6LRfxAD4FdOkuEd+rs/EdYZDMkNeC baked@builder';
const HOST_KEYS = {
  1: {
    ed25519: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKh4AKg+KBmO0797vn8aOp/O9/xRDdNTw5EqxFF7cwcX root@imgtest-1',
    ecdsa: 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBNdvGF3SLEpC/XhpCa1bIpiTLVo8cmrSpVAla+zuCSnuNo4uK9bdA7AYZ/QajwXrM4L30+MoLRfzlr9FV8z6SwE= root@imgtest-1',
  },
  2: {
    ed25519: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJcgC4CcF/mbgy1pbXgpVrGjT8WWoqU4OVIkufI8phNI root@imgtest-2',
    ecdsa: 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBNG0zvo9alBXj8iGDgd5Bi0vjVnGLyxHTik5Ak2EsQ1czI7ZFGrjeXW4jbRHCgps9lkYp8vx0lvTh+itt92B1SE= root@imgtest-2',
  },
} as const;
const ED25519_FP_1 = 'SHA256:rPo/2Ps00rXx7/IYOAshz7UKcTg7LtTutsSucV0APuI';
const ED25519_FP_2 = 'SHA256:VLJRYGfI8gwQfMg/Hnw/esHRmHOI/QmjP54bfOiPD0w';
const PRIVATE_KEY = '/tmp/imgtest/run1/id_ed25519';
const BTIME = 1732561930;

const status224 = (n: number): string => `{
  "_schema_version": "1",
  "boot_status_code": "enabled-by-generator",
  "datasource": "nocloud",
  "detail": "DataSourceNoCloud [seed=/dev/sr0][dsmode=net]",
  "errors": [],
  "last_update": "Mon, 25 Nov 2024 19:12:${30 + n} +0000",
  "schemas": {"1": {"boot_status_code": "enabled-by-generator", "datasource": "nocloud", "detail": "DataSourceNoCloud [seed=/dev/sr0][dsmode=net]", "errors": [], "last_update": "Mon, 25 Nov 2024 19:12:${30 + n} +0000", "status": "done"}},
  "status": "done"
}
`;

const instanceData = (n: number, overrides: { platform?: string; subplatform?: string; instanceId?: string } = {}): string =>
  JSON.stringify({
    _beta_keys: ['subplatform'],
    base64_encoded_keys: [],
    ds: { _doc: 'EXPERIMENTAL', meta_data: { dsmode: 'net', 'instance-id': overrides.instanceId ?? `iid-imgtest-run1-${n}`, 'local-hostname': `imgtest-${n}` } },
    merged_cfg: 'redacted for non-root user',
    sensitive_keys: ['merged_cfg', 'security-credentials'],
    sys_info: { dist: ['debian', '12', 'bookworm'], python: '3.11.2', variant: 'debian' },
    v1: {
      cloud_id: 'nocloud',
      cloud_name: 'unknown',
      'instance-id': overrides.instanceId ?? `iid-imgtest-run1-${n}`,
      instance_id: overrides.instanceId ?? `iid-imgtest-run1-${n}`,
      local_hostname: `imgtest-${n}`,
      platform: overrides.platform ?? 'nocloud',
      subplatform: overrides.subplatform ?? 'config-disk (/dev/sr0)',
      variant: 'debian',
    },
  });

const sshdT = (overrides: Record<string, string> = {}): string => {
  const settings: [string, string][] = [
    ['port', '22'],
    ['usepam', 'yes'],
    ['permitrootlogin', 'without-password'],
    ['pubkeyauthentication', 'yes'],
    ['passwordauthentication', 'no'],
    ['kbdinteractiveauthentication', 'no'],
    ['permitemptypasswords', 'no'],
    ['authorizedkeysfile', '.ssh/authorized_keys .ssh/authorized_keys2'],
    ['authorizedkeyscommand', 'none'],
    ['hostkey', '/etc/ssh/ssh_host_ecdsa_key'],
    ['hostkey', '/etc/ssh/ssh_host_ed25519_key'],
    ['subsystem', 'sftp /usr/lib/openssh/sftp-server'],
  ];
  return settings.map(([k, v]) => `${k} ${overrides[k] ?? v}`).join('\n') + '\n';
};

const SUDO_L = `Matching Defaults entries for cloud on imgtest-1:
    env_reset, mail_badpass, secure_path=/usr/local/sbin\\:/usr/local/bin\\:/usr/sbin\\:/usr/bin\\:/sbin\\:/bin, use_pty

User cloud may run the following commands on imgtest-1:
    (ALL) NOPASSWD: ALL
`;

const FIND = 'find /etc/ssh -maxdepth 1 -name ssh_host_*_key.pub -printf %T@ %p\\n';
const SSHD_T_USER = '[sudo] sshd -T -C user=cloud,host=imgtest.invalid,addr=127.0.0.1';
const SSHD_T_ROOT = '[sudo] sshd -T -C user=root,host=imgtest.invalid,addr=127.0.0.1';

const serialLog = (n: number): string =>
  `\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001 "UEFI Misc Device"\r\n[    0.000000] Linux version 6.1.0-27-cloud-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)\r\n[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-27-cloud-amd64 root=LABEL=root ro console=tty0 console=ttyS0,115200n8\r\n-----BEGIN SSH HOST KEY KEYS-----\r\n${HOST_KEYS[n as 1 | 2].ecdsa}\r\n${HOST_KEYS[n as 1 | 2].ed25519}\r\n-----END SSH HOST KEY KEYS-----\r\nimgtest-${n} login: `;

/** What a clean Debian 12 guest (cloud-init 22.4.2, OpenSSH 9.2) answers. */
function cleanExec(n: 1 | 2): Record<string, FakeAnswer> {
  return {
    'cloud-init status --format json': status224(n),
    'cat /run/cloud-init/instance-data.json': instanceData(n),
    'cat /var/lib/cloud/data/instance-id': `iid-imgtest-run1-${n}\n`,
    hostname: `imgtest-${n}\n`,
    'id cloud': 'uid=1000(cloud) gid=1000(cloud) groups=1000(cloud),27(sudo)\n',
    'sudo -n true': '',
    'sudo -n -l': SUDO_L.replaceAll('imgtest-1', `imgtest-${n}`),
    'getent passwd cloud': 'cloud:x:1000:1000:imgtest test user:/home/cloud:/bin/bash\n',
    [SSHD_T_USER]: sshdT(),
    [SSHD_T_ROOT]: sshdT(),
    'cat /home/cloud/.ssh/authorized_keys': `${USER_KEY}\n`,
    'cat /proc/stat': `cpu  2255 34 2290 22625563 6290 127 456 0 0 0\nctxt 1990473\nbtime ${BTIME + n}\nprocesses 2915\nprocs_running 1\n`,
    [FIND]: `${BTIME + 80}.5283012340 /etc/ssh/ssh_host_ed25519_key.pub\n${BTIME + 80}.4012001110 /etc/ssh/ssh_host_ecdsa_key.pub\n`,
    'cat /etc/ssh/ssh_host_ed25519_key.pub': `${HOST_KEYS[n].ed25519}\n`,
    'cat /etc/ssh/ssh_host_ecdsa_key.pub': `${HOST_KEYS[n].ecdsa}\n`,
    'cat /proc/cmdline': 'BOOT_IMAGE=/boot/vmlinuz-6.1.0-27-cloud-amd64 root=LABEL=root ro console=tty0 console=ttyS0,115200n8\n',
  };
}

const refused = (user: string, methods = ['publickey']): LoginAttempt => ({
  accepted: false,
  methodsOffered: methods,
  transcript: `${user}@10.78.0.11: Permission denied (${methods.join(',')}).`,
});

/** sshd with cloud-init's defaults: key-only, root's key wrapped in disable_root's forced command. */
function cleanLogin(options: LoginOptions): LoginAttempt {
  const user = options.user ?? 'cloud';
  const seededKey = options.keyFile === PRIVATE_KEY;
  if (options.preferredAuthentications?.includes('none')) return refused(user);
  if (user === 'root' && seededKey) return { accepted: false, methodsOffered: [], transcript: 'Please login as the user "cloud" rather than the user "root".' };
  if (user === 'cloud' && seededKey) return { accepted: true, methodsOffered: [], transcript: 'exit 0' };
  return refused(user);
}

interface GuestOverrides extends Omit<FakeGuestSpec, 'exec'> {
  exec?: Record<string, FakeAnswer | undefined>;
}

function guest(n: 1 | 2, overrides: GuestOverrides = {}): FakeGuest {
  const exec: Record<string, FakeAnswer> = cleanExec(n);
  for (const [key, value] of Object.entries(overrides.exec ?? {})) {
    if (value === undefined) delete exec[key];
    else exec[key] = value;
  }
  return fakeGuest({
    name: `imgtest-run1-g${n}`,
    host: { name: `hv${n}` },
    address: `10.78.0.1${n}`,
    serialLog: serialLog(n),
    consoleHostKeys: [HOST_KEYS[n].ecdsa, HOST_KEYS[n].ed25519],
    login: cleanLogin,
    ...overrides,
    seed: { instanceId: `iid-imgtest-run1-${n}`, hostname: `imgtest-${n}`, user: 'cloud', authorizedKeys: [USER_KEY], privateKeyFile: PRIVATE_KEY, ...overrides.seed },
    exec,
  });
}

const check = (id: string): Check => {
  const found = suite.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id}`);
  return found;
};

async function runCheck(id: string, guests: FakeGuest[] = [guest(1), guest(2)]) {
  const context = fakeContext(guests);
  const outcome = await check(id).run(context);
  expect(outcome.message).not.toMatch(/\n/);
  expect(outcome.evidence?.length ?? 0).toBeGreaterThan(0);
  return { outcome, context };
}

describe('cloud-init-auth suite definition', () => {
  it('exports the suite by default and by name, with the contracted requirements', () => {
    expect(suite).toBe(cloudInitAuthSuite);
    expect(suite.id).toBe('cloud-init-auth');
    expect(suite.title).toBe('cloud-init (NoCloud) provisioning and key-only login');
    expect(suite.requires).toEqual({ guests: { count: 2, placement: 'spread', sharing: 'shared', firmwareMatrix: 'any' } });
  });
  it('has every check, with the exact ids, all severity must', () => {
    expect(suite.checks.map((c) => c.id)).toEqual([
      'ci-datasource',
      'ci-status',
      'ci-instance-id',
      'ci-hostname',
      'ci-user',
      'ci-authorized-keys',
      'ci-key-login',
      'ci-wrong-key-rejected',
      'ci-password-login-rejected',
      'ci-root-login-denied',
      'ci-hostkeys-fresh',
      'ci-console',
    ]);
    expect(new Set(suite.checks.map((c) => c.severity))).toEqual(new Set(['must']));
  });
  it('a clean pair of guests passes every check', async () => {
    const guests = [guest(1), guest(2)];
    const context = fakeContext(guests);
    for (const c of suite.checks) {
      const outcome = await c.run(context);
      expect({ id: c.id, status: outcome.status, message: outcome.message }).toMatchObject({ id: c.id, status: 'pass' });
    }
    // Shared reads happen once per guest.
    expect(guests[0]!.calls.filter((k) => k === 'cloud-init status --format json')).toHaveLength(1);
    expect(guests[0]!.calls.filter((k) => k === SSHD_T_USER)).toHaveLength(1);
  });
});

describe('ci-datasource', () => {
  it('passes on NoCloud read from the seed disk, and keeps instance-data as an artifact', async () => {
    const { outcome, context } = await runCheck('ci-datasource');
    expect(outcome).toMatchObject({ status: 'pass', message: 'NoCloud, seed read from /dev/sr0 (config-disk) (all 2 guests)' });
    expect(outcome.evidence).toContain('"v1.subplatform": "config-disk (/dev/sr0)"');
    expect([...context.written.keys()]).toEqual(['instance-data-imgtest-run1-g1.json', 'instance-data-imgtest-run1-g2.json']);
  });
  it('fails when cloud-init fell back to another datasource', async () => {
    const { outcome } = await runCheck('ci-datasource', [guest(1, { exec: { 'cat /run/cloud-init/instance-data.json': instanceData(1, { platform: 'none', subplatform: 'config' }) } }), guest(2)]);
    expect(outcome).toMatchObject({ status: 'fail', message: "imgtest-run1-g1: datasource is 'none' (config), not NoCloud" });
  });
  it('fails when NoCloud merged a seed folder baked into the image', async () => {
    const baked = instanceData(2, { subplatform: 'seed-dir (/var/lib/cloud/seed/nocloud-net,/dev/sr0)' });
    const { outcome } = await runCheck('ci-datasource', [guest(1), guest(2, { exec: { 'cat /run/cloud-init/instance-data.json': baked } })]);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toBe('imgtest-run1-g2: NoCloud also merged a seed folder baked into the image: /var/lib/cloud/seed/nocloud-net (seed-dir (/var/lib/cloud/seed/nocloud-net,/dev/sr0))');
  });
  it('fails when only a seed folder was read', async () => {
    const { outcome } = await runCheck('ci-datasource', [guest(1, { exec: { 'cat /run/cloud-init/instance-data.json': instanceData(1, { subplatform: 'seed-dir (/var/lib/cloud/seed/nocloud)' }) } })]);
    expect(outcome).toMatchObject({ status: 'fail', message: 'NoCloud did not read a seed disk (seed: seed-dir (/var/lib/cloud/seed/nocloud))' });
  });
  it('falls back to cloud-init status when instance-data.json is missing', async () => {
    const { outcome } = await runCheck('ci-datasource', [guest(1, { exec: { 'cat /run/cloud-init/instance-data.json': undefined } })]);
    expect(outcome.status).toBe('pass');
    expect(outcome.message).toBe('NoCloud, seed read from /dev/sr0 (config-disk) (from cloud-init status; /run/cloud-init/instance-data.json missing)');
  });
  it('reads instance-data through sudo when the user may not', async () => {
    const g = guest(1, {
      exec: {
        'cat /run/cloud-init/instance-data.json': { exitCode: 1, stderr: 'cat: /run/cloud-init/instance-data.json: Permission denied' },
        '[sudo] cat /run/cloud-init/instance-data.json': instanceData(1),
      },
    });
    const { outcome } = await runCheck('ci-datasource', [g]);
    expect(outcome.status).toBe('pass');
    expect(g.calls).toContain('[sudo] cat /run/cloud-init/instance-data.json');
  });
});

describe('ci-status', () => {
  it('passes on 22.4.2 "done" and says recoverable errors are not reported there; keeps the JSON', async () => {
    const { outcome, context } = await runCheck('ci-status');
    expect(outcome).toMatchObject({ status: 'pass', message: 'cloud-init done, no errors; this cloud-init reports no recoverable_errors (all 2 guests)' });
    expect(context.written.get('cloud-init-status-imgtest-run1-g1.json')).toContain('"status": "done"');
  });
  it('passes on the newer shape with empty recoverable_errors', async () => {
    const json =
      '{"boot_status_code":"enabled-by-generator","datasource":"nocloud","detail":"DataSourceNoCloud [seed=/dev/sr0][dsmode=net]","errors":[],"extended_status":"done","last_update":"Mon, 25 Nov 2024 19:12:31 +0000","recoverable_errors":{},"status":"done"}';
    const { outcome } = await runCheck('ci-status', [guest(1, { exec: { 'cloud-init status --format json': json } })]);
    expect(outcome).toMatchObject({ status: 'pass', message: 'cloud-init done, no errors, no recoverable errors' });
  });
  it('fails on a 22.4.2 error, naming the failing module', async () => {
    const error =
      "('locale', ProcessExecutionError(\"Unexpected error while running command.\\nCommand: ['locale-gen', 'C.UTF-8']\\nExit code: -\\nReason: [Errno 2] No such file or directory: b'locale-gen'\"))";
    const json = JSON.stringify({ _schema_version: '1', boot_status_code: 'enabled-by-generator', datasource: 'nocloud', detail: error, errors: [error], status: 'error' });
    const { outcome } = await runCheck('ci-status', [guest(1, { exec: { 'cloud-init status --format json': { stdout: json, exitCode: 1 } } })]);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toMatch(/^cloud-init status 'error' with errors: \('locale', ProcessExecutionError\("Unexpected error while running command\. Command: \['locale-gen'/);
  });
  it('fails on recoverable errors even when the exit code is 0 (a distro patch), naming the first', async () => {
    const json = JSON.stringify({ datasource: 'nocloud', errors: [], extended_status: 'degraded done', recoverable_errors: { WARNING: ['Failed to set locale C.UTF-8', 'second'] }, status: 'done' });
    const { outcome } = await runCheck('ci-status', [guest(1), guest(2, { exec: { 'cloud-init status --format json': { stdout: json, exitCode: 0 } } })]);
    expect(outcome).toMatchObject({ status: 'fail', message: 'imgtest-run1-g2: cloud-init finished with recoverable errors: WARNING: Failed to set locale C.UTF-8 (+1 more)' });
  });
  it('fails while cloud-init is still running', async () => {
    const { outcome } = await runCheck('ci-status', [guest(1, { exec: { 'cloud-init status --format json': '{"status": "running", "errors": [], "detail": "Running in stage: modules-final"}' } })]);
    expect(outcome).toMatchObject({ status: 'fail', message: "cloud-init status is 'running', not 'done': Running in stage: modules-final" });
  });
  it('falls back to the run files on a cloud-init without --format', async () => {
    const g = guest(1, {
      exec: {
        'cloud-init status --format json': { exitCode: 2, stderr: 'usage: /usr/bin/cloud-init [-h]\n/usr/bin/cloud-init: error: unrecognized arguments: --format json' },
        'cat /run/cloud-init/status.json':
          '{"v1": {"datasource": "DataSourceNoCloud [seed=/dev/sr0][dsmode=net]", "init": {"errors": [], "finished": 2, "start": 1}, "modules-final": {"errors": ["(\'scripts-user\', RuntimeError(\'runparts: 1 failures\'))"], "finished": 4, "start": 3}, "stage": null}}',
        'cat /run/cloud-init/result.json': '{"v1": {"datasource": "DataSourceNoCloud [seed=/dev/sr0][dsmode=net]", "errors": ["(\'scripts-user\', RuntimeError(\'runparts: 1 failures\'))"]}}',
      },
    });
    const { outcome } = await runCheck('ci-status', [g]);
    expect(outcome).toMatchObject({ status: 'fail', message: "cloud-init status 'error' with errors: ('scripts-user', RuntimeError('runparts: 1 failures'))" });
    expect(outcome.evidence).toContain("reading cloud-init's run files");
  });
});

describe('ci-instance-id', () => {
  it('passes when instance-data and /var/lib/cloud/data agree with the seed', async () => {
    const { outcome } = await runCheck('ci-instance-id');
    expect(outcome).toMatchObject({ status: 'pass' });
    expect(outcome.message).toBe(
      "imgtest-run1-g1: instance-id 'iid-imgtest-run1-1' as seeded (instance-data.json and /var/lib/cloud/data/instance-id); imgtest-run1-g2: instance-id 'iid-imgtest-run1-2' as seeded (instance-data.json and /var/lib/cloud/data/instance-id)",
    );
  });
  it('fails when the instance-id is not the seeded one', async () => {
    const g = guest(2, { exec: { 'cat /run/cloud-init/instance-data.json': instanceData(2, { instanceId: 'iid-baked-0001' }), 'cat /var/lib/cloud/data/instance-id': 'iid-baked-0001\n' } });
    const { outcome } = await runCheck('ci-instance-id', [guest(1), g]);
    expect(outcome).toMatchObject({
      status: 'fail',
      message: "imgtest-run1-g2: instance-id is not the seeded 'iid-imgtest-run1-2': instance-data.json says 'iid-baked-0001'; /var/lib/cloud/data/instance-id says 'iid-baked-0001'",
    });
  });
  it('fails when /var/lib/cloud/data/instance-id is missing', async () => {
    const { outcome } = await runCheck('ci-instance-id', [guest(1, { exec: { 'cat /var/lib/cloud/data/instance-id': undefined } })]);
    expect(outcome).toMatchObject({ status: 'fail', message: "instance-id is not the seeded 'iid-imgtest-run1-1': /var/lib/cloud/data/instance-id missing" });
  });
});

describe('ci-hostname', () => {
  it('passes with the seeded hostnames', async () => {
    const { outcome } = await runCheck('ci-hostname');
    expect(outcome).toMatchObject({ status: 'pass', message: "imgtest-run1-g1: hostname 'imgtest-1' as seeded; imgtest-run1-g2: hostname 'imgtest-2' as seeded" });
  });
  it('accepts an FQDN whose short name is the seeded one', async () => {
    const { outcome } = await runCheck('ci-hostname', [guest(1, { exec: { hostname: 'imgtest-1.example.internal\n' } })]);
    expect(outcome.status).toBe('pass');
  });
  it('reads /proc/sys/kernel/hostname when hostname(1) is not installed', async () => {
    const g = guest(1, { exec: { hostname: { exitCode: 127, stderr: 'bash: line 1: hostname: command not found' }, 'cat /proc/sys/kernel/hostname': 'imgtest-1\n' } });
    const { outcome } = await runCheck('ci-hostname', [g]);
    expect(outcome).toMatchObject({ status: 'pass', message: "hostname 'imgtest-1' as seeded" });
  });
  it('fails on the build-time hostname', async () => {
    const { outcome } = await runCheck('ci-hostname', [guest(1, { exec: { hostname: 'debian\n' } })]);
    expect(outcome).toMatchObject({ status: 'fail', message: "hostname is 'debian', seeded 'imgtest-1'" });
  });
});

describe('ci-user', () => {
  it('passes: user exists, sudo -n works, via the sudo group and a NOPASSWD rule', async () => {
    const { outcome } = await runCheck('ci-user', [guest(1)]);
    expect(outcome).toMatchObject({ status: 'pass', message: "user 'cloud' exists (uid 1000) with passwordless sudo (group sudo, rule '(ALL) NOPASSWD: ALL')" });
  });
  it('fails when sudo asks for a password', async () => {
    const { outcome } = await runCheck('ci-user', [guest(1, { exec: { 'sudo -n true': { exitCode: 1, stderr: 'sudo: a password is required\n' } } })]);
    expect(outcome).toMatchObject({ status: 'fail', message: "passwordless sudo fails for 'cloud': sudo: a password is required" });
  });
  it('fails when the user does not exist', async () => {
    const { outcome } = await runCheck('ci-user', [guest(1, { exec: { 'id cloud': { exitCode: 1, stderr: "id: 'cloud': no such user\n" } } })]);
    expect(outcome).toMatchObject({ status: 'fail', message: "user 'cloud' does not exist (id: id: 'cloud': no such user)" });
  });
});

describe('ci-authorized-keys', () => {
  it('passes with exactly the seeded key (comments ignored)', async () => {
    const { outcome } = await runCheck('ci-authorized-keys', [
      guest(1, { exec: { 'cat /home/cloud/.ssh/authorized_keys': `# added by cloud-init\n${USER_KEY.replace('imgtest-run1', 'other comment')}\n` } }),
    ]);
    expect(outcome).toMatchObject({ status: 'pass', message: '/home/cloud/.ssh/authorized_keys holds exactly the 1 seeded key' });
  });
  it('fails on a key baked into the image', async () => {
    const { outcome } = await runCheck('ci-authorized-keys', [guest(1, { exec: { 'cat /home/cloud/.ssh/authorized_keys': `${BAKED_KEY}\n${USER_KEY}\n` } })]);
    expect(outcome).toMatchObject({
      status: 'fail',
      message: '/home/cloud/.ssh/authorized_keys has 1 key that was not seeded: ssh-ed25519 SHA256:1TpFrXae4IvkwaG1soFeGZANfsyB7MX5RjuimHs41Hs (baked@builder)',
    });
  });
  it('fails when the seeded key is missing', async () => {
    const { outcome } = await runCheck('ci-authorized-keys', [guest(1, { exec: { 'cat /home/cloud/.ssh/authorized_keys': `${BAKED_KEY}\n` } })]);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toBe('/home/cloud/.ssh/authorized_keys lacks 1 seeded key: ssh-ed25519 SHA256:3ymDrsR4RNoROSzv1RVI24SfibUkCzCzqHUs3j7dxVI (imgtest-run1); and has 1 extra');
  });
  it('fails on an extra key in authorized_keys2, which sshd also reads', async () => {
    const { outcome } = await runCheck('ci-authorized-keys', [guest(1, { exec: { 'cat /home/cloud/.ssh/authorized_keys2': `${BAKED_KEY}\n` } })]);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toMatch(/^\/home\/cloud\/\.ssh\/authorized_keys2 \(also read by sshd\) holds 1 key that was not seeded: ssh-ed25519 SHA256:/);
  });
  it('fails when the file is missing', async () => {
    const { outcome } = await runCheck('ci-authorized-keys', [guest(1, { exec: { 'cat /home/cloud/.ssh/authorized_keys': undefined } })]);
    expect(outcome).toMatchObject({ status: 'fail', message: '/home/cloud/.ssh/authorized_keys is missing' });
  });
});

describe('ci-key-login', () => {
  it('passes when the seeded key logs in', async () => {
    const { outcome } = await runCheck('ci-key-login');
    expect(outcome).toMatchObject({ status: 'pass', message: "key login as 'cloud' accepted (all 2 guests)" });
  });
  it('fails when the key is refused', async () => {
    const { outcome } = await runCheck('ci-key-login', [guest(1, { login: (o) => refused(o.user ?? 'cloud') })]);
    expect(outcome).toMatchObject({ status: 'fail', message: "key login as 'cloud' refused: cloud@10.78.0.11: Permission denied (publickey)." });
  });
  it('errors (throws) when sshd never answered', async () => {
    const down = guest(1, { login: () => ({ accepted: false, methodsOffered: [], transcript: 'ssh: connect to host 10.78.0.11 port 22: No route to host' }) });
    await expect(check('ci-key-login').run(fakeContext([down]))).rejects.toThrow(/no answer from sshd .*No route to host/);
  });
});

describe('ci-wrong-key-rejected', () => {
  it('passes when a fresh key is refused; the key is a real ed25519 file, removed afterwards', async () => {
    let wrongKey: string | undefined;
    const g = guest(1, {
      login: (o) => {
        if (o.keyFile !== PRIVATE_KEY) {
          wrongKey = o.keyFile;
          expect(readFileSync(o.keyFile!, 'utf8')).toContain('BEGIN OPENSSH PRIVATE KEY');
          expect(readFileSync(`${o.keyFile}.pub`, 'utf8')).toMatch(/^ssh-ed25519 /);
        }
        return cleanLogin(o);
      },
    });
    const { outcome } = await runCheck('ci-wrong-key-rejected', [g]);
    expect(outcome).toMatchObject({ status: 'pass', message: "a never-seeded ed25519 key is refused for 'cloud' (offered: publickey)" });
    expect(wrongKey).toBeDefined();
    expect(existsSync(wrongKey!)).toBe(false);
  });
  it('fails when any key logs in', async () => {
    const { outcome } = await runCheck('ci-wrong-key-rejected', [guest(1), guest(2, { login: () => ({ accepted: true, methodsOffered: [], transcript: 'exit 0' }) })]);
    expect(outcome).toMatchObject({ status: 'fail', message: "imgtest-run1-g2: a never-seeded ed25519 key logged in as 'cloud'" });
  });
});

describe('ci-password-login-rejected', () => {
  it('passes when only publickey is offered, and asks with method none and no key', async () => {
    const g = guest(1);
    const { outcome } = await runCheck('ci-password-login-rejected', [g]);
    expect(outcome).toMatchObject({ status: 'pass', message: 'server offers cloud only: publickey' });
    expect(g.logins[0]).toEqual({ user: 'cloud', preferredAuthentications: ['none'], keyFile: undefined });
    expect(outcome.evidence).toContain('passwordauthentication no');
  });
  it('fails naming the offered methods when password is offered', async () => {
    const g = guest(1, { login: (o) => (o.preferredAuthentications ? refused('cloud', ['publickey', 'password']) : cleanLogin(o)), exec: { [SSHD_T_USER]: sshdT({ passwordauthentication: 'yes' }) } });
    const { outcome } = await runCheck('ci-password-login-rejected', [g]);
    expect(outcome).toMatchObject({ status: 'fail', message: 'server offers password authentication to cloud: publickey,password' });
    expect(outcome.evidence).toContain('passwordauthentication yes');
  });
  it('fails on keyboard-interactive (methods read from the transcript when the attempt lists none)', async () => {
    const g = guest(1, { login: () => ({ accepted: false, methodsOffered: [], transcript: 'cloud@10.78.0.11: Permission denied (publickey,keyboard-interactive).' }) });
    const { outcome } = await runCheck('ci-password-login-rejected', [g]);
    expect(outcome).toMatchObject({ status: 'fail', message: 'server offers keyboard-interactive authentication to cloud: publickey,keyboard-interactive' });
  });
});

describe('ci-root-login-denied', () => {
  it("passes when cloud-init's forced command turns root away, and says so in the evidence", async () => {
    const { outcome, context } = await runCheck('ci-root-login-denied', [guest(1)]);
    expect(outcome).toMatchObject({ status: 'pass', message: 'root denied by a forced command after key auth (cloud-init disable_root); PermitRootLogin without-password' });
    expect(outcome.evidence).toContain("root's key was accepted, but a forced command refused the session");
    expect(context.written.has('sshd-T-root-imgtest-run1-g1.txt')).toBe(true);
  });
  it('passes when sshd refuses root outright', async () => {
    const g = guest(1, { login: (o) => (o.user === 'root' ? refused('root') : cleanLogin(o)), exec: { [SSHD_T_ROOT]: sshdT({ permitrootlogin: 'no' }) } });
    const { outcome } = await runCheck('ci-root-login-denied', [g]);
    expect(outcome).toMatchObject({ status: 'pass', message: 'root login refused (offered: publickey); PermitRootLogin no' });
  });
  it('fails when sshd permits root login', async () => {
    const g = guest(1, { login: (o) => (o.user === 'root' ? refused('root') : cleanLogin(o)), exec: { [SSHD_T_ROOT]: sshdT({ permitrootlogin: 'yes' }) } });
    const { outcome } = await runCheck('ci-root-login-denied', [g]);
    expect(outcome).toMatchObject({ status: 'fail', message: 'sshd permits root login (PermitRootLogin yes)' });
  });
  it('passes when a silent forced command ends the root session (exit 142 only)', async () => {
    const g = guest(1, { login: (o) => (o.user === 'root' ? { accepted: false, methodsOffered: [], transcript: 'exit 142' } : cleanLogin(o)) });
    const { outcome } = await runCheck('ci-root-login-denied', [g]);
    expect(outcome).toMatchObject({ status: 'pass', message: 'root denied by a forced command after key auth; PermitRootLogin without-password' });
  });
  it('errors (throws) when the root attempt never reached sshd', async () => {
    const g = guest(1, { login: (o) => (o.user === 'root' ? { accepted: false, methodsOffered: [], transcript: 'ssh: connect to host 10.78.0.11 port 22: Connection timed out' } : cleanLogin(o)) });
    await expect(check('ci-root-login-denied').run(fakeContext([g]))).rejects.toThrow(/no answer from sshd/);
  });
  it('fails when root logs in', async () => {
    const g = guest(1, { login: (o) => (o.user === 'root' ? { accepted: true, methodsOffered: [], transcript: 'exit 0' } : cleanLogin(o)) });
    const { outcome } = await runCheck('ci-root-login-denied', [g]);
    expect(outcome).toMatchObject({ status: 'fail', message: 'root logged in with the seeded key' });
  });
  it('finds sshd in /usr/sbin when sudo cannot', async () => {
    const g = guest(1, { exec: { [SSHD_T_ROOT]: { exitCode: 1, stderr: 'sudo: sshd: command not found' }, [SSHD_T_ROOT.replace('] sshd', '] /usr/sbin/sshd')]: sshdT() } });
    const { outcome } = await runCheck('ci-root-login-denied', [g]);
    expect(outcome.status).toBe('pass');
  });
});

describe('ci-hostkeys-fresh', () => {
  it('passes: keys newer than the boot, different per guest, as printed on the console', async () => {
    const { outcome } = await runCheck('ci-hostkeys-fresh');
    expect(outcome.status).toBe('pass');
    expect(outcome.message).toBe(`host keys generated this boot on all 2 guests; ssh-ed25519 ${ED25519_FP_1} differs from ${ED25519_FP_2}; match the serial console`);
  });
  it('fails when both guests share a host key (one baked key not regenerated)', async () => {
    const same = guest(2, { exec: { 'cat /etc/ssh/ssh_host_ed25519_key.pub': `${HOST_KEYS[1].ed25519}\n` }, consoleHostKeys: [HOST_KEYS[2].ecdsa, HOST_KEYS[1].ed25519] });
    const { outcome } = await runCheck('ci-hostkeys-fresh', [guest(1), same]);
    expect(outcome).toMatchObject({ status: 'fail', message: `imgtest-run1-g1 and imgtest-run1-g2 share the ssh-ed25519 host key ${ED25519_FP_1}` });
  });
  it('fails when a key file predates the boot', async () => {
    const old = guest(1, { exec: { [FIND]: `${BTIME + 80}.5 /etc/ssh/ssh_host_ed25519_key.pub\n1700000000.0 /etc/ssh/ssh_host_ecdsa_key.pub\n` } });
    const { outcome } = await runCheck('ci-hostkeys-fresh', [old, guest(2)]);
    expect(outcome).toMatchObject({ status: 'fail', message: 'imgtest-run1-g1: ssh_host_ecdsa_key.pub older than this boot (mtime 2023-11-14T22:13:20Z, boot 2024-11-25T19:12:11Z)' });
  });
  it('fails when the console printed other keys than the ones on disk', async () => {
    const { outcome } = await runCheck('ci-hostkeys-fresh', [guest(1, { consoleHostKeys: [HOST_KEYS[2].ed25519] }), guest(2)]);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toMatch(
      /^imgtest-run1-g1: host key printed on the serial console is not in \/etc\/ssh: ssh-ed25519 SHA256:VLJRYGfI8gwQfMg\/Hnw\/esHRmHOI\/QmjP54bfOiPD0w \(root@imgtest-2\)$/,
    );
  });
  it('with one guest and no console keys: passes on mtime, says nothing was compared, notes the skip', async () => {
    const { outcome } = await runCheck('ci-hostkeys-fresh', [guest(1, { consoleHostKeys: [] })]);
    expect(outcome).toMatchObject({ status: 'pass', message: 'host keys generated this boot; only one guest: nothing compared across guests; console comparison skipped (no keys printed)' });
    expect(outcome.evidence).toContain('console comparison skipped');
  });
  it('fails when there are no host keys at all', async () => {
    const { outcome } = await runCheck('ci-hostkeys-fresh', [guest(1, { exec: { [FIND]: '' } })]);
    expect(outcome).toMatchObject({ status: 'fail' });
    expect(outcome.message).toMatch(/^no \/etc\/ssh\/ssh_host_\*_key\.pub host keys/);
  });
});

describe('ci-console', () => {
  it('passes with console=ttyS0 and kernel output on the serial log', async () => {
    const { outcome } = await runCheck('ci-console');
    expect(outcome).toMatchObject({ status: 'pass', message: 'kernel console on ttyS0, serial log holds kernel output (all 2 guests)' });
    expect(outcome.evidence).toContain('kernel banner: Linux version 6.1.0-27-cloud-amd64');
  });
  it('fails naming what is missing: no serial console on the kernel line, serial log without kernel output', async () => {
    const g = guest(1, { exec: { 'cat /proc/cmdline': 'BOOT_IMAGE=/boot/vmlinuz root=LABEL=root ro quiet\n' }, serialLog: 'BdsDxe: loading Boot0001\r\nWelcome to GRUB!\r\n' });
    const { outcome } = await runCheck('ci-console', [g]);
    expect(outcome).toMatchObject({ status: 'fail', message: "no console=ttyS0 on the kernel command line (no console= at all); the serial log has no kernel output (no 'Linux version' line)" });
  });
  it('fails on an empty serial log', async () => {
    const { outcome } = await runCheck('ci-console', [guest(1), guest(2, { serialLog: '' })]);
    expect(outcome).toMatchObject({ status: 'fail', message: 'imgtest-run1-g2: the serial log is empty' });
  });
});
