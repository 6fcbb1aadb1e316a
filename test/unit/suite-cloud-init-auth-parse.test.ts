import { describe, expect, it } from 'vitest';
import {
  blobKeyType,
  cloudInitStatusFromRunFiles,
  describeKey,
  fingerprint,
  hasKernelConsole,
  kernelBanner,
  kernelConsoles,
  oneLine,
  parseAuthorizedKeys,
  parseBtime,
  parseCloudInitStatusJson,
  parseFindMtimes,
  parseId,
  parseInstanceData,
  parseNoCloudSeed,
  parseOpenSshKeyLine,
  parsePasswdHome,
  parseSshdT,
  readLogin,
} from '../../suites/cloud-init-auth/parse.js';

const USER_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK4S4Uto0/SpysYziHbU5RJnCug2JSpvB/t5HvOHsKAr cloud@imgtest';
const ECDSA_KEY = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBNdvGF3SLEpC/XhpCa1bIpiTLVo8cmrSpVAla+zuCSnuNo4uK9bdA7AYZ/QajwXrM4L30+MoLRfzlr9FV8z6SwE= root@ci-a';

// cloud-init 22.4.2 (Debian 12) `cloud-init status --format json`: no extended_status, no recoverable_errors.
const STATUS_22_4_DONE = `{
  "_schema_version": "1",
  "boot_status_code": "enabled-by-generator",
  "datasource": "nocloud",
  "detail": "DataSourceNoCloud [seed=/dev/sr0][dsmode=net]",
  "errors": [],
  "last_update": "Mon, 25 Nov 2024 19:12:31 +0000",
  "schemas": {
    "1": {
      "boot_status_code": "enabled-by-generator",
      "datasource": "nocloud",
      "detail": "DataSourceNoCloud [seed=/dev/sr0][dsmode=net]",
      "errors": [],
      "last_update": "Mon, 25 Nov 2024 19:12:31 +0000",
      "status": "done"
    }
  },
  "status": "done"
}`;

// 22.4.2 when the locale module failed (Debian image without the locales package).
const LOCALE_ERROR =
  "('locale', ProcessExecutionError(\"Unexpected error while running command.\\nCommand: ['locale-gen', 'C.UTF-8']\\nExit code: -\\nReason: [Errno 2] No such file or directory: b'locale-gen'\\nStdout: -\\nStderr: -\"))";
const STATUS_22_4_ERROR = `{
  "_schema_version": "1",
  "boot_status_code": "enabled-by-generator",
  "datasource": "nocloud",
  "detail": ${JSON.stringify(LOCALE_ERROR)},
  "errors": [${JSON.stringify(LOCALE_ERROR)}],
  "last_update": "Mon, 25 Nov 2024 19:12:31 +0000",
  "schemas": {"1": {"status": "error", "errors": [${JSON.stringify(LOCALE_ERROR)}]}},
  "status": "error"
}`;

// The compact 23.x shape from the brief.
const STATUS_BRIEF =
  '{"boot_status_code":"enabled-by-generator","datasource":"nocloud","detail":"DataSourceNoCloud [seed=/dev/sr0][dsmode=net]","errors":[],"extended_status":"done","last_update":"Mon, 25 Nov 2024 19:12:31 +0000","recoverable_errors":{},"status":"done"}';

// 24.x: degraded done, per-stage objects spread into the output.
const STATUS_24_DEGRADED = `{
  "boot_status_code": "enabled-by-generator",
  "datasource": "nocloud",
  "detail": "DataSourceNoCloud [seed=/dev/sr0][dsmode=net]",
  "errors": [],
  "extended_status": "degraded done",
  "init": {"errors": [], "finished": 1732561950.2, "recoverable_errors": {"WARNING": ["Falling back to a hard restart of systemd-networkd.service"]}, "start": 1732561948.1},
  "init-local": {"errors": [], "finished": 1732561940.0, "recoverable_errors": {}, "start": 1732561939.0},
  "last_update": "Mon, 25 Nov 2024 19:12:31 +0000",
  "modules-config": {"errors": [], "finished": 1732561955.0, "recoverable_errors": {}, "start": 1732561951.0},
  "modules-final": {"errors": [], "finished": 1732561960.0, "recoverable_errors": {"DEPRECATED": ["Key 'lock-passwd' is deprecated in 22.3"]}, "start": 1732561956.0},
  "recoverable_errors": {"DEPRECATED": ["Key 'lock-passwd' is deprecated in 22.3"], "WARNING": ["Falling back to a hard restart of systemd-networkd.service"]},
  "stage": null,
  "status": "done"
}`;

const STATUS_JSON_RUNNING = `{"v1": {"datasource": null, "init": {"errors": [], "finished": null, "start": 1732561948.1}, "init-local": {"errors": [], "finished": 1732561940.0, "start": 1732561939.0}, "modules-config": {"errors": [], "finished": null, "start": null}, "modules-final": {"errors": [], "finished": null, "start": null}, "stage": "init"}}`;
const STATUS_JSON_DONE = `{"v1": {"datasource": "DataSourceNoCloud [seed=/dev/sr0][dsmode=net]", "init": {"errors": [], "finished": 1732561950.2, "start": 1732561948.1}, "init-local": {"errors": [], "finished": 1732561940.0, "start": 1732561939.0}, "modules-config": {"errors": [], "finished": 1732561955.0, "start": 1732561951.0}, "modules-final": {"errors": [], "finished": 1732561960.0, "start": 1732561956.0}, "stage": null}}`;
const RESULT_JSON = `{"v1": {"datasource": "DataSourceNoCloud [seed=/dev/sr0][dsmode=net]", "errors": []}}`;

// Excerpt of a 22.4.2 /run/cloud-init/instance-data.json on NoCloud (keys as written there: v1, ds, no top-level aliases).
const INSTANCE_DATA_22_4 = JSON.stringify({
  _beta_keys: ['subplatform'],
  base64_encoded_keys: [],
  ds: {
    _doc: "EXPERIMENTAL: The structure and format of content scoped under the 'ds' key may change in subsequent releases of cloud-init.",
    meta_data: { dsmode: 'net', 'instance-id': 'iid-imgtest-run1-1', 'local-hostname': 'imgtest-1' },
  },
  merged_cfg: 'redacted for non-root user',
  sensitive_keys: ['merged_cfg', 'security-credentials'],
  sys_info: {
    dist: ['debian', '12', 'bookworm'],
    python: '3.11.2',
    uname: ['Linux', 'imgtest-1', '6.1.0-27-cloud-amd64', '#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)', 'x86_64', ''],
    variant: 'debian',
  },
  v1: {
    _beta_keys: ['subplatform'],
    availability_zone: null,
    'availability-zone': null,
    cloud_id: 'nocloud',
    cloud_name: 'unknown',
    'cloud-name': 'unknown',
    distro: 'debian',
    distro_release: 'bookworm',
    distro_version: '12',
    'instance-id': 'iid-imgtest-run1-1',
    instance_id: 'iid-imgtest-run1-1',
    kernel_release: '6.1.0-27-cloud-amd64',
    'local-hostname': 'imgtest-1',
    local_hostname: 'imgtest-1',
    machine: 'x86_64',
    platform: 'nocloud',
    public_ssh_keys: [],
    python_version: '3.11.2',
    region: null,
    subplatform: 'config-disk (/dev/sr0)',
    system_platform: 'Linux-6.1.0-27-cloud-amd64-x86_64-with-glibc2.36',
    variant: 'debian',
  },
});

describe('cloud-init status --format json', () => {
  it('reads 22.4.2 output: done, no errors, recoverable errors not reported by this version', () => {
    const parsed = parseCloudInitStatusJson(STATUS_22_4_DONE);
    expect(parsed).toMatchObject({
      ok: true,
      value: { source: 'status-json', status: 'done', errors: [], datasource: 'nocloud', detail: 'DataSourceNoCloud [seed=/dev/sr0][dsmode=net]', bootStatusCode: 'enabled-by-generator' },
    });
    expect(parsed.ok && parsed.value.recoverableErrors).toBeUndefined();
    expect(parsed.ok && parsed.value.extendedStatus).toBeUndefined();
  });

  it('reads 22.4.2 error output with the failing module', () => {
    const parsed = parseCloudInitStatusJson(STATUS_22_4_ERROR);
    expect(parsed.ok && parsed.value.status).toBe('error');
    expect(parsed.ok && parsed.value.errors).toEqual([LOCALE_ERROR]);
  });

  it('reads the compact shape with extended_status and an empty recoverable_errors object', () => {
    const parsed = parseCloudInitStatusJson(STATUS_BRIEF);
    expect(parsed).toMatchObject({ ok: true, value: { status: 'done', extendedStatus: 'done', errors: [], recoverableErrors: [] } });
  });

  it('reads 24.x degraded output: recoverable errors keyed by level, stage objects merged without duplicates', () => {
    const parsed = parseCloudInitStatusJson(STATUS_24_DEGRADED);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.extendedStatus).toBe('degraded done');
    expect(parsed.value.recoverableErrors).toEqual([
      { level: 'DEPRECATED', message: "Key 'lock-passwd' is deprecated in 22.3" },
      { level: 'WARNING', message: 'Falling back to a hard restart of systemd-networkd.service' },
    ]);
  });

  it('tolerates a warning line printed before the JSON, and takes the short datasource from the long form', () => {
    const parsed = parseCloudInitStatusJson(`Failed to get status from systemd.\n{"status": "done", "errors": [], "datasource": "DataSourceNoCloud [seed=/dev/sr0][dsmode=net]"}`);
    expect(parsed).toMatchObject({ ok: true, value: { status: 'done', datasource: 'nocloud' } });
  });

  it('falls back to schemas["1"] when the top level lacks fields', () => {
    expect(parseCloudInitStatusJson('{"schemas": {"1": {"status": "running", "errors": []}}}')).toMatchObject({ ok: true, value: { status: 'running' } });
  });

  it('rejects usage errors from a cloud-init without --format', () => {
    const parsed = parseCloudInitStatusJson('usage: /usr/bin/cloud-init [-h] ...\n/usr/bin/cloud-init: error: unrecognized arguments: --format json');
    expect(parsed).toEqual({ ok: false, reason: 'no JSON object in the output' });
    expect(parseCloudInitStatusJson('')).toEqual({ ok: false, reason: 'empty output' });
  });
});

describe('cloud-init run files (status.json + result.json)', () => {
  it('done when result.json exists and no stage runs', () => {
    expect(cloudInitStatusFromRunFiles(STATUS_JSON_DONE, RESULT_JSON)).toMatchObject({ ok: true, value: { source: 'run-files', status: 'done', errors: [], datasource: 'nocloud' } });
  });
  it('running without result.json', () => {
    expect(cloudInitStatusFromRunFiles(STATUS_JSON_RUNNING, undefined)).toMatchObject({ ok: true, value: { status: 'running' } });
  });
  it('error when a stage recorded one', () => {
    const withError = STATUS_JSON_DONE.replace('"init": {"errors": []', '"init": {"errors": ["(\'ssh\', OSError(\'boom\'))"]');
    expect(cloudInitStatusFromRunFiles(withError, RESULT_JSON)).toMatchObject({ ok: true, value: { status: 'error', errors: ["('ssh', OSError('boom'))"] } });
  });
});

describe('instance-data.json', () => {
  it('reads 22.4.2 NoCloud instance data from v1 and ds.meta_data', () => {
    expect(parseInstanceData(INSTANCE_DATA_22_4)).toEqual({
      ok: true,
      value: {
        platform: 'nocloud',
        subplatform: 'config-disk (/dev/sr0)',
        cloudName: 'unknown',
        instanceId: 'iid-imgtest-run1-1',
        localHostname: 'imgtest-1',
        metaData: { dsmode: 'net', 'instance-id': 'iid-imgtest-run1-1', 'local-hostname': 'imgtest-1' },
      },
    });
  });
  it('falls back to ds.meta_data for the instance-id', () => {
    expect(parseInstanceData('{"v1": {"platform": "nocloud"}, "ds": {"meta_data": {"instance-id": "iid-x"}}}')).toMatchObject({ ok: true, value: { instanceId: 'iid-x' } });
  });
  it('refuses JSON that is not instance data', () => {
    expect(parseInstanceData('{"hello": 1}').ok).toBe(false);
  });
});

describe('NoCloud seed list', () => {
  it('reads subplatform forms', () => {
    expect(parseNoCloudSeed('config-disk (/dev/sr0)')).toEqual({ kind: 'config-disk', sources: ['/dev/sr0'] });
    expect(parseNoCloudSeed('seed-dir (/var/lib/cloud/seed/nocloud-net,/dev/sr0)')).toEqual({ kind: 'seed-dir', sources: ['/var/lib/cloud/seed/nocloud-net', '/dev/sr0'] });
  });
  it('reads the datasource string form', () => {
    expect(parseNoCloudSeed('DataSourceNoCloud [seed=/dev/vdb][dsmode=net]')).toEqual({ kind: 'config-disk', sources: ['/dev/vdb'] });
    expect(parseNoCloudSeed('something else')).toEqual({ sources: [] });
  });
});

describe('OpenSSH keys', () => {
  it('reads a plain key line and checks the blob names its type', () => {
    expect(parseOpenSshKeyLine(USER_KEY)).toMatchObject({ type: 'ssh-ed25519', comment: 'cloud@imgtest' });
    expect(blobKeyType(ECDSA_KEY.split(' ')[1]!)).toBe('ecdsa-sha2-nistp256');
    expect(parseOpenSshKeyLine(`ssh-rsa ${USER_KEY.split(' ')[1]}`)).toBeUndefined();
  });

  it("reads cloud-init's disable_root line on root's key, options with quotes and spaces", () => {
    const line = `no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command="echo 'Please login as the user \\"cloud\\" rather than the user \\"root\\".';echo;sleep 10;exit 142" ${USER_KEY}`;
    const key = parseOpenSshKeyLine(line);
    expect(key).toMatchObject({ type: 'ssh-ed25519', base64: USER_KEY.split(' ')[1], comment: 'cloud@imgtest' });
    expect(key?.options).toContain('exit 142"');
  });

  it('reads an authorized_keys file: comments, blank lines, junk, a key without comment', () => {
    const file = `# managed by cloud-init\n\n${USER_KEY}\nnot a key\n${ECDSA_KEY.split(' ').slice(0, 2).join(' ')}\n`;
    const parsed = parseAuthorizedKeys(file);
    expect(parsed.keys.map((k) => [k.type, k.line, k.comment])).toEqual([
      ['ssh-ed25519', 3, 'cloud@imgtest'],
      ['ecdsa-sha2-nistp256', 5, undefined],
    ]);
    expect(parsed.invalid).toEqual([{ line: 4, text: 'not a key' }]);
  });

  it('computes fingerprints like ssh-keygen -lf', () => {
    // ssh-keygen -lf on that key printed: 256 SHA256:3ymDrsR4RNoROSzv1RVI24SfibUkCzCzqHUs3j7dxVI cloud@imgtest (ED25519)
    expect(fingerprint(USER_KEY.split(' ')[1]!)).toBe('SHA256:3ymDrsR4RNoROSzv1RVI24SfibUkCzCzqHUs3j7dxVI');
    expect(describeKey(parseOpenSshKeyLine(USER_KEY)!)).toBe('ssh-ed25519 SHA256:3ymDrsR4RNoROSzv1RVI24SfibUkCzCzqHUs3j7dxVI (cloud@imgtest)');
  });
});

describe('system readers', () => {
  it('sshd -T: lowercase keywords, repeated keywords kept', () => {
    const settings = parseSshdT(
      'port 22\npermitrootlogin without-password\nhostkey /etc/ssh/ssh_host_rsa_key\nhostkey /etc/ssh/ssh_host_ed25519_key\nauthorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2\n',
    );
    expect(settings.get('permitrootlogin')).toEqual(['without-password']);
    expect(settings.get('hostkey')).toHaveLength(2);
    expect(settings.get('authorizedkeysfile')).toEqual(['.ssh/authorized_keys .ssh/authorized_keys2']);
  });

  it('id output', () => {
    expect(parseId('uid=1000(cloud) gid=1000(cloud) groups=1000(cloud),4(adm),27(sudo)\n')).toEqual({
      uid: 1000,
      user: 'cloud',
      gid: 1000,
      groups: [
        { id: 1000, name: 'cloud' },
        { id: 4, name: 'adm' },
        { id: 27, name: 'sudo' },
      ],
    });
    expect(parseId('id: ‘nobody2’: no such user')).toBeUndefined();
  });

  it('getent passwd, /proc/stat btime, find -printf mtimes', () => {
    expect(parsePasswdHome('cloud:x:1000:1000:imgtest test user:/home/cloud:/bin/bash\n')).toBe('/home/cloud');
    expect(parseBtime('cpu  2255 34 2290 22625563 6290 127 456 0 0 0\nintr 114930548 113199788 3\nctxt 1990473\nbtime 1732561930\nprocesses 2915\n')).toBe(1732561930);
    expect(parseFindMtimes('1732561951.5283012340 /etc/ssh/ssh_host_ed25519_key.pub\n1732561951.4 /etc/ssh/ssh_host_rsa_key.pub\n')).toEqual([
      { mtime: 1732561951.5283012, path: '/etc/ssh/ssh_host_ed25519_key.pub' },
      { mtime: 1732561951.4, path: '/etc/ssh/ssh_host_rsa_key.pub' },
    ]);
  });

  it('kernel consoles and banner', () => {
    const cmdline = 'BOOT_IMAGE=/boot/vmlinuz-6.1.0-27-cloud-amd64 root=LABEL=root ro console=tty0 console=ttyS0,115200n8\n';
    expect(kernelConsoles(cmdline)).toEqual(['tty0', 'ttyS0,115200n8']);
    expect(hasKernelConsole(cmdline, 'ttyS0')).toBe(true);
    expect(hasKernelConsole('root=/dev/vda1 console=ttyS00', 'ttyS0')).toBe(false);
    expect(kernelBanner('\x1b[2J[    0.000000] Linux version 6.1.0-27-cloud-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0)\r\n')).toBe(
      'Linux version 6.1.0-27-cloud-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0)',
    );
  });

  it('oneLine flattens and shortens', () => {
    expect(oneLine('a\n\tb  c\x1b[0m', 10)).toBe('a b c');
    expect(oneLine('x'.repeat(20), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});

describe('reading an SSH login attempt', () => {
  it('refused with the methods from the attempt or the transcript', () => {
    expect(readLogin({ accepted: false, methodsOffered: [], transcript: 'cloud@10.78.0.11: Permission denied (publickey,password).' })).toEqual({
      verdict: 'refused',
      methods: ['publickey', 'password'],
    });
  });
  it("cloud-init's forced command on root counts as authenticated, not accepted", () => {
    const reading = readLogin({ accepted: false, methodsOffered: [], transcript: 'Please login as the user "cloud" rather than the user "root".\n' });
    expect(reading).toEqual({ verdict: 'authenticated', methods: [], forcedCommandMessage: 'Please login as the user "cloud" rather than the user "root".' });
  });
  it('no answer from sshd is "unreached"', () => {
    expect(readLogin({ accepted: false, methodsOffered: [], transcript: 'ssh: connect to host 10.78.0.11 port 22: Connection refused' }).verdict).toBe('unreached');
    expect(readLogin({ accepted: false, methodsOffered: [], transcript: 'Host key verification failed.' }).verdict).toBe('unreached');
  });
  it('a remote exit status other than 255 means the session ran: authenticated', () => {
    expect(readLogin({ accepted: false, methodsOffered: [], transcript: 'exit 142' }).verdict).toBe('authenticated');
    expect(readLogin({ accepted: false, methodsOffered: [], transcript: 'exit 255' }).verdict).toBe('unreached');
  });
  it('accepted', () => {
    expect(readLogin({ accepted: true, methodsOffered: [], transcript: 'exit 0' }).verdict).toBe('accepted');
  });
});
