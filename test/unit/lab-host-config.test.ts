import { describe, expect, it } from 'vitest';
import { chronyConf, chronydArgs, dnsmasqArgs, hostFirewallRules, knownHosts, libvirtdConf, migrationUri, qemuConf, sshUri, sshWrapperScript, sshdConfig } from '../../src/lab/host-config.js';

/** `key = value` settings of a libvirt config text (comments skipped). */
function settings(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([a-z_]+)\s*=\s*(.+?)\s*$/.exec(line);
    if (match && !line.trim().startsWith('#')) out[match[1]!] = match[2]!;
  }
  return out;
}

describe('libvirtd.conf', () => {
  const conf = settings(libvirtdConf({ hostName: 'hv1', listenAddress: '10.77.0.1', hostUuid: '6c61622d-696d-6774-6573-740000000001' }));

  it('listens on TCP without auth on the management address only, and never on TLS', () => {
    expect(conf).toMatchObject({ listen_tcp: '1', listen_tls: '0', listen_addr: '"10.77.0.1"', auth_tcp: '"none"' });
  });
  it('carries the fixed host UUID', () => {
    expect(conf['host_uuid']).toBe('"6c61622d-696d-6774-6573-740000000001"');
  });
  it('keeps the UNIX sockets root-only', () => {
    expect(conf).toMatchObject({ unix_sock_group: '"root"', unix_sock_rw_perms: '"0770"', unix_sock_admin_perms: '"0700"' });
  });
  it('logs into the host’s own log folder', () => {
    expect(conf['log_outputs']).toBe('"3:file:/var/log/libvirt/libvirtd.log"');
  });
  it('refuses values that would break out of a quoted string', () => {
    expect(() => libvirtdConf({ hostName: 'hv1', listenAddress: '10.77.0.1"\nlisten_tls = 1', hostUuid: 'x' })).toThrow(/not allowed/);
  });
});

describe('qemu.conf', () => {
  const conf = settings(qemuConf({ hostName: 'hv2', migrationAddress: '10.77.0.2', migrationPortMin: 49152, migrationPortMax: 49215 }));

  it('runs QEMU as root without relabelling, owner tracking, security driver or cgroups', () => {
    expect(conf).toMatchObject({
      user: '"root"',
      group: '"root"',
      dynamic_ownership: '0',
      remember_owner: '0',
      security_driver: '"none"',
      cgroup_controllers: '[ ]',
    });
  });
  it('migrates over the management address', () => {
    expect(conf).toMatchObject({ migration_address: '"10.77.0.2"', migration_host: '"10.77.0.2"', migration_port_min: '49152', migration_port_max: '49215' });
  });
});

describe('sshd_config', () => {
  const text = sshdConfig({
    hostName: 'hv1',
    listenAddress: '10.77.0.1',
    hostKey: '/var/lib/imgtest-lab/hv1/sshd/ssh_host_ed25519_key',
    pidFile: '/var/lib/imgtest-lab/hv1/sshd/sshd.pid',
    authorizedKeysFile: '/var/lib/imgtest-lab/ssh/authorized_keys',
  });
  const lines = text.split('\n');

  it('listens on the management address with the lab’s own key files', () => {
    expect(lines).toContain('ListenAddress 10.77.0.1');
    expect(lines).toContain('HostKey /var/lib/imgtest-lab/hv1/sshd/ssh_host_ed25519_key');
    expect(lines).toContain('PidFile /var/lib/imgtest-lab/hv1/sshd/sshd.pid');
    expect(lines).toContain('AuthorizedKeysFile /var/lib/imgtest-lab/ssh/authorized_keys');
  });
  it('allows root by key only', () => {
    expect(lines).toEqual(expect.arrayContaining(['PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no']));
  });
  it('quotes paths with spaces and refuses quotes', () => {
    expect(sshdConfig({ hostName: 'h', listenAddress: '1.2.3.4', hostKey: '/a b/k', pidFile: '/p', authorizedKeysFile: '/a' })).toContain('HostKey "/a b/k"');
    expect(() => sshdConfig({ hostName: 'h', listenAddress: '1.2.3.4', hostKey: '/a"b', pidFile: '/p', authorizedKeysFile: '/a' })).toThrow();
  });
});

describe('ssh access', () => {
  it('writes known_hosts lines without the key comment', () => {
    expect(
      knownHosts([
        { address: '10.77.0.1', publicKey: 'ssh-ed25519 AAAAC3Nza hv1\n' },
        { address: '10.77.0.2', publicKey: 'ssh-ed25519 AAAAC3Nzb hv2' },
      ]),
    ).toBe('10.77.0.1 ssh-ed25519 AAAAC3Nza\n10.77.0.2 ssh-ed25519 AAAAC3Nzb\n');
    expect(() => knownHosts([{ address: '10.77.0.1', publicKey: 'garbage' }])).toThrow(/public key/);
  });

  it('has a constant wrapper that pins host keys before libvirt’s own ssh arguments', () => {
    const script = sshWrapperScript();
    expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    expect(script).toContain('UserKnownHostsFile="$here/known_hosts"');
    expect(script).toContain('StrictHostKeyChecking=yes');
    expect(script).toContain('-F /dev/null');
    expect(script.indexOf('StrictHostKeyChecking=yes')).toBeLessThan(script.indexOf('"$@"'));
    expect(script).not.toMatch(/\/var\/lib/);
  });

  it('builds the qemu+ssh URI with the lab key and ssh command', () => {
    expect(sshUri({ address: '10.77.0.1', keyFile: '/var/lib/imgtest-lab/ssh/id_ed25519', sshCommand: '/var/lib/imgtest-lab/ssh/ssh' })).toBe(
      'qemu+ssh://root@10.77.0.1/system?keyfile=/var/lib/imgtest-lab/ssh/id_ed25519&command=/var/lib/imgtest-lab/ssh/ssh',
    );
  });
  it('percent-encodes URI values that would change the query', () => {
    const uri = sshUri({ address: '10.77.0.1', keyFile: '/tmp/a b&c=d/key', sshCommand: '/tmp/x/ssh' });
    expect(uri).toContain('keyfile=/tmp/a%20b%26c%3Dd/key&command=/tmp/x/ssh');
  });
  it('builds the peer-to-peer migration URI', () => {
    expect(migrationUri('10.77.0.2')).toBe('qemu+tcp://10.77.0.2/system');
  });
});

describe('host firewall', () => {
  const rules = hostFirewallRules({ peerAddress: '10.77.0.2', libvirtPort: 16509, migrationPortMin: 49152, migrationPortMax: 49215 });

  it('lets only the peer reach libvirtd’s TCP port and the migration ports', () => {
    const accept = rules.indexOf('-A INPUT -s 10.77.0.2/32 -p tcp -m multiport --dports 16509,49152:49215 -j ACCEPT');
    const reject = rules.indexOf('-A INPUT -p tcp -m multiport --dports 16509,49152:49215 -j REJECT --reject-with tcp-reset');
    expect(accept).toBeGreaterThan(0);
    expect(reject).toBeGreaterThan(accept);
  });
  it('is a complete filter table for iptables-restore that leaves bridged traffic alone', () => {
    expect(rules.startsWith('*filter\n')).toBe(true);
    expect(rules.trimEnd().endsWith('COMMIT')).toBe(true);
    expect(rules).toContain(':FORWARD ACCEPT');
  });
});

describe('dnsmasq', () => {
  const args = dnsmasqArgs({
    interfaceName: 'itl-guest',
    range: { first: '10.78.0.100', last: '10.78.0.199', netmask: '255.255.255.0', lease: '1h' },
    ntpServer: '10.78.0.1',
    metadataRoute: { address: '169.254.169.254', gateway: '10.78.0.253' },
    leasesFile: '/s/lab/dnsmasq.leases',
    pidFile: '/s/lab/dnsmasq.pid',
    logFile: '/s/lab/dnsmasq.log',
  });

  it('gives guests a host route to the metadata address through the root namespace (option 121), and no default route', () => {
    expect(args).toContain('--dhcp-option=option:classless-static-route,169.254.169.254/32,10.78.0.253');
    expect(args).toContain('--dhcp-option=3');
  });

  it('serves DHCP only, on the guest bridge, from the lab’s range', () => {
    expect(args).toEqual(expect.arrayContaining(['--port=0', '--interface=itl-guest', '--bind-interfaces', '--dhcp-range=10.78.0.100,10.78.0.199,255.255.255.0,1h']));
  });
  it('sends no router and no DNS server (empty options 3 and 6)', () => {
    expect(args).toEqual(expect.arrayContaining(['--dhcp-option=3', '--dhcp-option=6']));
    expect(args.some((a) => /dhcp-option=(option:)?(3|router),./.test(a))).toBe(false);
  });
  it('keeps its files in the lab folder and reads no config file', () => {
    expect(args).toEqual(expect.arrayContaining(['--conf-file=/dev/null', '--dhcp-leasefile=/s/lab/dnsmasq.leases', '--pid-file=/s/lab/dnsmasq.pid', '--log-facility=/s/lab/dnsmasq.log']));
  });
  it('leases by MAC, as clouds do, not by the client identifier a baked machine-id makes the same in every clone', () => {
    expect(args).toContain('--dhcp-ignore-clid');
  });
  it('names the lab’s NTP server (option 42), once', () => {
    expect(args.filter((a) => /ntp-server|dhcp-option=42/.test(a))).toEqual(['--dhcp-option=option:ntp-server,10.78.0.1']);
  });
});

describe('chrony.conf and chronyd', () => {
  const text = chronyConf({ bindAddress: '10.78.0.1', allow: '10.78.0.0/24', stratum: 10, pidFile: '/s/lab/chrony/chronyd.pid' });
  const directives = text
    .split('\n')
    .filter((line) => line.trim() && !/^\s*[#!;%]/.test(line))
    .map((line) => line.trim());

  it('serves its own clock at stratum 10 to the guest network, on the lab’s address only', () => {
    expect(directives).toEqual(expect.arrayContaining(['local stratum 10', 'allow 10.78.0.0/24', 'bindaddress 10.78.0.1']));
    expect(directives.filter((d) => /^allow\b/.test(d))).toEqual(['allow 10.78.0.0/24']);
  });
  it('asks no time source: nothing leaves the lab', () => {
    expect(directives.filter((d) => /^(server|pool|peer|refclock|initstepslew|sourcedir|confdir|include|ntsserverkey)\b/i.test(d))).toEqual([]);
  });
  it('opens no command port or socket, and never touches the machine clock or the RTC', () => {
    expect(directives).toEqual(expect.arrayContaining(['cmdport 0', 'bindcmdaddress /']));
    expect(directives.filter((d) => /^(makestep|rtcsync|rtcfile|hwclockfile|maxchange|manual|cmdallow)\b/i.test(d))).toEqual([]);
  });
  it('keeps its pid file in the lab folder, writes no file of the chrony package and drops root to _chrony', () => {
    expect(directives).toEqual(expect.arrayContaining(['pidfile /s/lab/chrony/chronyd.pid', 'user _chrony']));
    expect(directives.filter((d) => /^(driftfile|logdir|log|dumpdir|ntsdumpdir|keyfile)\b/i.test(d))).toEqual([]);
    expect(text).not.toMatch(/\/(var\/lib|var\/log|run|etc)\/chrony/);
  });
  it('refuses a value that would add a directive, and a stratum chrony does not accept', () => {
    expect(() => chronyConf({ bindAddress: '10.78.0.1\nserver pool.ntp.org', allow: '10.78.0.0/24', stratum: 10, pidFile: '/p' })).toThrow(/not allowed/);
    expect(() => chronyConf({ bindAddress: '10.78.0.1', allow: '10.78.0.0/24', stratum: 10, pidFile: '/a b/pid' })).toThrow(/not allowed/);
    expect(() => chronyConf({ bindAddress: '10.78.0.1', allow: '10.78.0.0/24', stratum: 16, pidFile: '/p' })).toThrow(/1-15/);
  });
  it('runs chronyd without clock control (-x), IPv4 only, on its own config and log file', () => {
    expect(chronydArgs({ configFile: '/s/lab/chrony/chrony.conf', logFile: '/s/lab/chrony/chronyd.log' })).toEqual(['-4', '-x', '-f', '/s/lab/chrony/chrony.conf', '-l', '/s/lab/chrony/chronyd.log']);
  });
});
