import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyLoader, configReachLine, formatLine, hostLines, labReachLines, networkLine, ntpLine, poolLine, summarize, toolLine, type HostProbe } from '../../src/doctor/checks.js';
import { parseDhcpRangeArg, versionOf } from '../../src/doctor/doctor.js';
import { parseDomainCapabilities, parseIfaceList, parseNetInfo, parseNetworkIp, parsePoolInfoDetails, parsePoolTargetPath, parsePoolType, parseVirshVersion } from '../../src/hosts/parse.js';

/** Outputs recorded from the lab's hv1 over qemu+ssh (libvirt 9.0.0, QEMU 7.2, no usable KVM on that machine). */
const recorded = (name: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'virsh-doctor', name), 'utf8');

function labProbe(overrides: Partial<HostProbe> = {}): HostProbe {
  return {
    name: 'hv1',
    uri: 'qemu+ssh://root@10.77.0.1/system',
    connectTimeoutSeconds: 10,
    answer: { ok: true, value: 'hv1' },
    version: parseVirshVersion(recorded('version.txt')),
    kvm: { ok: false, error: recorded('domcaps-kvm-q35.stderr.txt') },
    tcg: { ok: true, value: parseDomainCapabilities(recorded('domcaps-qemu-q35.xml')) },
    pools: [
      {
        name: 'imgtest',
        role: 'pool',
        found: true,
        type: parsePoolType(recorded('pool-dumpxml.xml')),
        path: parsePoolTargetPath(recorded('pool-dumpxml.xml')),
        ...parsePoolInfoDetails(recorded('pool-info.txt')),
      },
    ],
    network: { kind: 'bridge', name: 'brg', interfaces: parseIfaceList(recorded('iface-list.txt')) },
    ...overrides,
  };
}

describe('doctor parsers (recorded virsh output)', () => {
  it('reads the UEFI loaders, firmware and secure values of domcapabilities', () => {
    const caps = parseDomainCapabilities(recorded('domcaps-qemu-q35.xml'));
    expect(caps).toEqual({
      domainType: 'qemu',
      machine: 'pc-q35-7.2',
      firmware: ['efi'],
      loaders: ['/usr/share/OVMF/OVMF_CODE_4M.ms.fd', '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', '/usr/share/OVMF/OVMF_CODE_4M.fd'],
      secure: ['yes', 'no'],
    });
  });

  it('reads pool info, pool type and path, interfaces, versions', () => {
    expect(parsePoolInfoDetails(recorded('pool-info.txt'))).toEqual({ state: 'running', available: '227.54 GiB' });
    expect(parsePoolType(recorded('pool-dumpxml.xml'))).toBe('dir');
    expect(parsePoolTargetPath(recorded('pool-dumpxml.xml'))).toBe('/var/lib/imgtest/images');
    expect(parseIfaceList(recorded('iface-list.txt'))).toEqual([
      { name: 'brg', state: 'active', mac: '2e:e4:58:9a:95:34' },
      { name: 'itl-m-hv1', state: 'active', mac: '3e:d8:54:7e:2e:26' },
      { name: 'lo', state: 'inactive', mac: '00:00:00:00:00:00' },
    ]);
    expect(parseVirshVersion(recorded('version.txt'))).toEqual({ libvirt: '9.0.0', qemu: '7.2.22' });
  });

  it('reads net-info and a network address', () => {
    expect(parseNetInfo('Name:           default\nUUID:           x\nActive:         yes\nPersistent:     yes\nAutostart:      yes\nBridge:         virbr0\n')).toEqual({
      active: true,
      bridge: 'virbr0',
    });
    expect(parseNetInfo('Name: default\nActive:         no\n')).toEqual({ active: false, bridge: undefined });
    expect(parseNetworkIp("<network><name>default</name><ip address='192.168.122.1' netmask='255.255.255.0'><dhcp/></ip></network>")).toEqual({
      address: '192.168.122.1',
      netmask: '255.255.255.0',
      prefix: undefined,
    });
    expect(parseNetworkIp('<network><name>isolated</name></network>')).toBeUndefined();
  });

  it('classifies OVMF builds by Debian naming', () => {
    expect(classifyLoader('/usr/share/OVMF/OVMF_CODE_4M.ms.fd')).toBe('ms');
    expect(classifyLoader('/usr/share/OVMF/OVMF_CODE_4M.secboot.fd')).toBe('secboot');
    expect(classifyLoader('/usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd')).toBe('test-keys');
    expect(classifyLoader('/usr/share/OVMF/OVMF_CODE_4M.fd')).toBe('plain');
  });

  it('reads tool versions without colour codes and dnsmasq range arguments', () => {
    expect(versionOf('\u001b[0;36m# ssh-audit v2.5.0, https://github.com/jtesta/ssh-audit\u001b[0m\n\nusage: ...')).toBe('ssh-audit v2.5.0, https://github.com/jtesta/ssh-audit');
    expect(versionOf('no digits here')).toBeUndefined();
    expect(parseDhcpRangeArg(['--port=0', '--dhcp-range=10.78.0.100,10.78.0.199,255.255.255.0,1h'])).toEqual({ first: '10.78.0.100', last: '10.78.0.199', lease: '1h' });
    expect(parseDhcpRangeArg(['--port=0'])).toBeUndefined();
  });
});

describe('doctor verdicts', () => {
  it('the recorded lab host: versions ok, KVM a warning naming the reason, both firmware kinds, pool and bridge ok', () => {
    const lines = hostLines(labProbe()).map(formatLine);
    expect(lines).toEqual([
      'ok      hv1: libvirt 9.0.0, QEMU 7.2.22 (hostname hv1)',
      "warn    hv1: KVM not usable: error: invalid argument: the accel 'kvm' is not supported by '/usr/bin/qemu-system-x86_64' on this host; guests run under TCG (software emulation, boot limits x4)",
      'ok      hv1: UEFI firmware: /usr/share/OVMF/OVMF_CODE_4M.ms.fd (Secure Boot, Microsoft keys), /usr/share/OVMF/OVMF_CODE_4M.secboot.fd (Secure Boot, no keys enrolled), /usr/share/OVMF/OVMF_CODE_4M.fd (UEFI, no Secure Boot)',
      'ok      hv1: Secure Boot with Microsoft keys: /usr/share/OVMF/OVMF_CODE_4M.ms.fd',
      'ok      hv1: pool imgtest: dir pool at /var/lib/imgtest/images, running, 227.54 GiB available',
      'ok      hv1: guest bridge brg: present and active',
    ]);
    expect(summarize(hostLines(labProbe()))).toEqual({ text: 'doctor: 5 ok, 1 warning(s), 0 missing, 0 broken: ready', exitCode: 0 });
  });

  it('KVM offered: says whether Secure Boot firmware (SMM) is offered under it', () => {
    const kvm = parseDomainCapabilities(recorded('domcaps-qemu-q35.xml').replace('<domain>qemu</domain>', '<domain>kvm</domain>'));
    const line = hostLines(labProbe({ kvm: { ok: true, value: kvm } }))[1]!;
    expect(line.status).toBe('ok');
    expect(line.text).toMatch(/^KVM offered .*Secure Boot firmware \(SMM\) under KVM: offered/);
    const noSmm = hostLines(labProbe({ kvm: { ok: true, value: { ...kvm, secure: ['no'] } } }))[1]!;
    expect(noSmm.text).toMatch(/under KVM: not offered/);
  });

  it('a host that does not answer is broken and its other checks are skipped; exit 3', () => {
    const lines = hostLines(labProbe({ answer: { ok: false, error: '10.77.0.9:22: no connection within 10 s (hosts[].connectTimeoutSeconds)' } }));
    expect(lines).toHaveLength(1);
    expect(formatLine(lines[0]!)).toBe(
      'BROKEN  hv1: libvirt does not answer at qemu+ssh://root@10.77.0.1/system (connect timeout 10 s): 10.77.0.9:22: no connection within 10 s (hosts[].connectTimeoutSeconds) (other checks of this host skipped)',
    );
    expect(summarize(lines)).toEqual({ text: 'doctor: 0 ok, 0 warning(s), 0 missing, 1 broken: not ready (hv1)', exitCode: 3 });
  });

  it('no OVMF: UEFI missing (required), Secure Boot a warning', () => {
    const tcg = parseDomainCapabilities(
      recorded('domcaps-qemu-q35.xml')
        .replace(/<loader supported='yes'>[\s\S]*?<\/loader>/, "<loader supported='no'/>")
        .replace(/<enum name='firmware'>[\s\S]*?<\/enum>/, ''),
    );
    const lines = hostLines(labProbe({ tcg: { ok: true, value: tcg } }));
    expect(lines[2]).toMatchObject({ status: 'missing', text: expect.stringMatching(/^UEFI firmware: none offered \(Debian: apt-get install ovmf\)/) });
    expect(lines[3]).toMatchObject({ status: 'warn', text: expect.stringMatching(/no such OVMF build; --firmware uefi-secureboot/) });
    expect(summarize(lines).exitCode).toBe(3);
  });

  it('only a plain OVMF: Secure Boot with Microsoft keys is a warning', () => {
    const tcg = { ...parseDomainCapabilities(recorded('domcaps-qemu-q35.xml')), loaders: ['/usr/share/OVMF/OVMF_CODE_4M.fd'], secure: ['no'] };
    const lines = hostLines(labProbe({ tcg: { ok: true, value: tcg } }));
    expect(lines[2]).toMatchObject({ status: 'ok', text: 'UEFI firmware: /usr/share/OVMF/OVMF_CODE_4M.fd (UEFI, no Secure Boot)' });
    expect(lines[3]).toMatchObject({ status: 'warn' });
    expect(summarize(lines).exitCode).toBe(0);
  });

  it('pools: missing (recorded error), not a dir pool, not running', () => {
    expect(poolLine('hv1', { name: 'nosuchpool', role: 'pool', found: false, error: recorded('pool-info-missing.stderr.txt') })).toMatchObject({
      status: 'missing',
      text: expect.stringContaining("not found (error: Storage pool not found: no storage pool with matching name 'nosuchpool')"),
    });
    expect(poolLine('hv1', { name: 'p', role: 'pool', found: true, type: 'logical', state: 'running' })).toMatchObject({
      status: 'broken',
      text: "pool p: a 'logical' pool; imgtest needs a dir pool",
    });
    expect(poolLine('hv1', { name: 'p', role: 'pool', found: true, type: 'dir', state: 'inactive' })).toMatchObject({ status: 'broken', text: 'pool p: inactive, not running (virsh pool-start p)' });
  });

  it('guest network: bridge missing or down, libvirt network inactive, interfaces not listable', () => {
    const interfaces = parseIfaceList(recorded('iface-list.txt'));
    expect(networkLine('hv1', { kind: 'bridge', name: 'br0', interfaces })).toMatchObject({ status: 'missing' });
    expect(networkLine('hv1', { kind: 'bridge', name: 'lo', interfaces })).toMatchObject({ status: 'broken', text: 'guest bridge lo: inactive, not up' });
    expect(networkLine('hv1', { kind: 'bridge', name: 'brg', error: 'error: this function is not supported' })).toMatchObject({ status: 'warn' });
    expect(networkLine('hv1', { kind: 'network', name: 'default', info: { active: false } })).toMatchObject({
      status: 'broken',
      text: 'guest network default: defined but not active (virsh net-start default)',
    });
    expect(networkLine('hv1', { kind: 'network', name: 'default', info: { active: true, bridge: 'virbr0' } })).toMatchObject({ status: 'ok', text: 'guest network default: active (bridge virbr0)' });
    expect(networkLine('hv1', { kind: 'network', name: 'nat', error: "error: Network not found: no network with matching name 'nat'" })).toMatchObject({ status: 'missing' });
  });

  it('SSH reach: lab address and DHCP server, lease usage, outdated dnsmasq', () => {
    const ntp = { server: '10.78.0.1', installed: true, running: true, answer: { stratum: 10, offsetMs: 0.2 }, expectedStratum: 10 };
    const base = {
      rootAddress: '10.78.0.253',
      link: 'itl-g-root',
      addressPresent: true,
      dhcpServer: '10.78.0.1',
      pingOk: true,
      dnsmasqRunning: true,
      leasesInUse: 3,
      rangeSize: 240,
      leaseTime: '10 min',
      ntp,
    };
    expect(labReachLines(base).map(formatLine)).toEqual([
      'ok      lab: SSH to guests: this machine is on the guest network (10.78.0.253 on itl-g-root; 10.78.0.1 answers)',
      'ok      lab: DHCP: 3 of 240 addresses leased (leases of 10 min)',
      "ok      lab: NTP: 10.78.0.1 serves this machine's clock to guests (chronyd, stratum 10, no upstream server)",
    ]);
    expect(labReachLines({ ...base, addressPresent: false })[0]!.status).toBe('broken');
    expect(labReachLines({ ...base, pingOk: false })[0]!.status).toBe('broken');
    expect(labReachLines({ ...base, dnsmasqRunning: false })[1]!.status).toBe('broken');
    expect(labReachLines({ ...base, leasesInUse: 200 })[1]).toMatchObject({ status: 'warn', text: expect.stringContaining('nearly full') });
    expect(labReachLines({ ...base, outdated: 'dnsmasq runs with older settings' })[1]!.status).toBe('warn');
  });

  it('NTP: the lab serves time only with chronyd installed, running and answering at its stratum', () => {
    const ntp = { server: '10.78.0.1', installed: true, running: true, answer: { stratum: 10, offsetMs: -42.4 }, expectedStratum: 10 };
    expect(ntpLine(ntp)).toMatchObject({ status: 'ok', subject: 'lab', text: expect.stringContaining('stratum 10') });
    expect(ntpLine({ ...ntp, answer: { stratum: 10, offsetMs: 3600_000 } })).toMatchObject({ status: 'warn', text: expect.stringContaining('3600.0 s off') });
    expect(ntpLine({ ...ntp, installed: false, running: false, answer: undefined })).toMatchObject({ status: 'missing', text: expect.stringContaining('apt-get install chrony') });
    expect(ntpLine({ ...ntp, running: false, answer: undefined })).toMatchObject({ status: 'broken', text: expect.stringContaining('chronyd is not running') });
    expect(ntpLine({ ...ntp, answer: undefined, error: 'no NTP reply from 10.78.0.1 within 2000 ms' })).toMatchObject({
      status: 'broken',
      text: expect.stringContaining('10.78.0.1:123 does not answer (no NTP reply from 10.78.0.1 within 2000 ms)'),
    });
    expect(ntpLine({ ...ntp, answer: { stratum: 3, offsetMs: 0 } })).toMatchObject({ status: 'warn' });
    // A missing NTP server fails doctor like a missing DHCP server.
    expect(summarize([ntpLine({ ...ntp, running: false, answer: undefined })]).exitCode).toBe(3);
  });

  it('SSH reach for config hosts: direct route ok, via a gateway a warning, no route broken, a bridge not checked', () => {
    const net = { kind: 'network' as const, name: 'default', info: { active: true } };
    expect(configReachLine('hv1', net, { network: '192.168.122.1/255.255.255.0', route: 'local 192.168.122.1 dev lo table local src 192.168.122.1' }).status).toBe('ok');
    expect(configReachLine('hv1', net, { network: '192.168.122.1', route: '192.168.122.1 via 10.0.0.1 dev eth0 src 10.0.0.5' }).status).toBe('warn');
    expect(configReachLine('hv1', net, { network: '192.168.122.1', error: 'RTNETLINK answers: Network is unreachable' }).status).toBe('broken');
    expect(configReachLine('hv1', { kind: 'bridge', name: 'br0' }, undefined)).toMatchObject({ status: 'warn', text: expect.stringMatching(/^SSH to guests: not checked/) });
  });

  it('tools: a missing required tool fails doctor, a missing optional one warns', () => {
    expect(toolLine({ name: 'guestfish', purpose: 'p', required: true })).toMatchObject({ status: 'missing' });
    expect(toolLine({ name: 'ssh-audit', purpose: 'p', required: false })).toMatchObject({ status: 'warn' });
    expect(formatLine(toolLine({ name: 'virsh', purpose: 'p', required: true, path: '/usr/bin/virsh', version: '9.0.0' }))).toBe('ok      this machine: virsh: /usr/bin/virsh (9.0.0)');
    expect(summarize([toolLine({ name: 'ssh-audit', purpose: 'p', required: false })]).exitCode).toBe(0);
    expect(summarize([toolLine({ name: 'guestfish', purpose: 'p', required: true })]).exitCode).toBe(3);
  });
});
