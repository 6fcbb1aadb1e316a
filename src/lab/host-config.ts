/**
 * Text of the configuration files the lab writes, as pure functions of their inputs.
 * Values are quoted for their format; callers pass lab-controlled values (addresses, paths).
 */

/** A libvirt config string ("..."), refusing characters the format cannot carry. */
function libvirtString(value: string): string {
  if (/["\\\n]/.test(value)) throw new Error(`value not allowed in a libvirt config file: ${JSON.stringify(value)}`);
  return `"${value}"`;
}

/** An sshd_config argument; paths with spaces are quoted, quotes and newlines refused. */
function sshdValue(value: string): string {
  if (/["\n]/.test(value)) throw new Error(`value not allowed in sshd_config: ${JSON.stringify(value)}`);
  return /\s/.test(value) ? `"${value}"` : value;
}

export interface LibvirtdConfInput {
  hostName: string;
  listenAddress: string;
  hostUuid: string;
}

/** libvirtd.conf: TCP (unauthenticated, for peer-to-peer migration) on the management address only. */
export function libvirtdConf(input: LibvirtdConfInput): string {
  return [
    `# imgtest lab host ${input.hostName}: written by imgtest (src/lab), replaced on every 'lab up'.`,
    'listen_tls = 0',
    'listen_tcp = 1',
    `listen_addr = ${libvirtString(input.listenAddress)}`,
    'tcp_port = "16509"',
    'auth_tcp = "none"',
    `host_uuid = ${libvirtString(input.hostUuid)}`,
    'unix_sock_group = "root"',
    'unix_sock_ro_perms = "0770"',
    'unix_sock_rw_perms = "0770"',
    'unix_sock_admin_perms = "0700"',
    'auth_unix_ro = "none"',
    'auth_unix_rw = "none"',
    'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"',
    '',
  ].join('\n');
}

export interface QemuConfInput {
  hostName: string;
  migrationAddress: string;
  migrationPortMin: number;
  migrationPortMax: number;
}

/** qemu.conf: QEMU as root without relabelling or cgroups (both hosts share one cgroup tree and one kernel). */
export function qemuConf(input: QemuConfInput): string {
  return [
    `# imgtest lab host ${input.hostName}: written by imgtest (src/lab), replaced on every 'lab up'.`,
    'user = "root"',
    'group = "root"',
    'dynamic_ownership = 0',
    'remember_owner = 0',
    'security_driver = "none"',
    'cgroup_controllers = [ ]',
    `migration_address = ${libvirtString(input.migrationAddress)}`,
    `migration_host = ${libvirtString(input.migrationAddress)}`,
    `migration_port_min = ${input.migrationPortMin}`,
    `migration_port_max = ${input.migrationPortMax}`,
    '',
  ].join('\n');
}

export interface SshdConfigInput {
  hostName: string;
  listenAddress: string;
  hostKey: string;
  pidFile: string;
  authorizedKeysFile: string;
}

/**
 * sshd_config for a host's own sshd: key-only root login on the management address, the lab's
 * own authorized_keys. No forwarding: it exists for libvirt's qemu+ssh transport (virt-ssh-helper).
 * StrictModes is off because the lab folder may sit below a world-writable folder such as /tmp
 * (IMGTEST_LAB_DIR); the lab's own folders are root-only.
 */
export function sshdConfig(input: SshdConfigInput): string {
  return [
    `# imgtest lab host ${input.hostName}: written by imgtest (src/lab), replaced on every 'lab up'.`,
    `ListenAddress ${sshdValue(input.listenAddress)}`,
    'Port 22',
    `HostKey ${sshdValue(input.hostKey)}`,
    `PidFile ${sshdValue(input.pidFile)}`,
    `AuthorizedKeysFile ${sshdValue(input.authorizedKeysFile)}`,
    'PermitRootLogin prohibit-password',
    'AllowUsers root',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'AllowTcpForwarding no',
    'AllowAgentForwarding no',
    'X11Forwarding no',
    'PermitTunnel no',
    'PrintMotd no',
    'PrintLastLog no',
    'LogLevel INFO',
    '',
  ].join('\n');
}

/** known_hosts lines for the lab hosts: `<address> <type> <key>`, comment dropped. */
export function knownHosts(entries: readonly { address: string; publicKey: string }[]): string {
  return entries
    .map(({ address, publicKey }) => {
      const [type, key] = publicKey.trim().split(/\s+/);
      if (!type || !key) throw new Error(`not an OpenSSH public key: ${JSON.stringify(publicKey)}`);
      return `${address} ${type} ${key}\n`;
    })
    .join('');
}

/**
 * The ssh command libvirt's qemu+ssh transport runs (URI parameter `command=`). It checks host keys
 * against the lab's own known_hosts next to it (nothing is written to ~/.ssh) and ignores the user's
 * ssh config. Options given first win in ssh, so libvirt's own arguments cannot loosen them.
 * The key exchange is plain curve25519: the default post-quantum hybrid costs ~0.25 s of CPU per
 * connection on a small machine, and every virsh call over qemu+ssh is a new connection.
 * The text is constant: the folder is found from the script's own path.
 */
export function sshWrapperScript(): string {
  return [
    '#!/bin/sh',
    '# imgtest lab: ssh for qemu+ssh:// URIs of the lab hosts (written by imgtest, src/lab).',
    'here=$(dirname "$0")',
    'exec ssh -F /dev/null \\',
    '  -o UserKnownHostsFile="$here/known_hosts" -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \\',
    '  -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=10 -o ServerAliveInterval=15 -o LogLevel=ERROR \\',
    '  -o KexAlgorithms=curve25519-sha256,curve25519-sha256@libssh.org \\',
    '  "$@"',
    '',
  ].join('\n');
}

/** A URI query value: percent-encoded, but '/' kept readable (libvirt unescapes values). */
function uriValue(value: string): string {
  return encodeURIComponent(value).replace(/%2F/g, '/');
}

/** `qemu+ssh://root@<address>/system?keyfile=...&command=...`: libvirt over the host's own sshd. */
export function sshUri(input: { address: string; keyFile: string; sshCommand: string }): string {
  return `qemu+ssh://root@${input.address}/system?keyfile=${uriValue(input.keyFile)}&command=${uriValue(input.sshCommand)}`;
}

/** `qemu+tcp://<address>/system`: how the peer host's libvirtd reaches this one (`virsh migrate --p2p`). */
export function migrationUri(address: string): string {
  return `qemu+tcp://${address}/system`;
}

/**
 * iptables-restore input for a host's network namespace: libvirtd's TCP port and the migration
 * ports answer only the peer host (auth_tcp is "none", so nothing else on the machine may reach them).
 * Replaces the namespace's whole filter table, so applying it twice is harmless. FORWARD stays ACCEPT:
 * with br_netfilter loaded, bridged guest frames pass through it.
 */
export function hostFirewallRules(input: { peerAddress: string; libvirtPort: number; migrationPortMin: number; migrationPortMax: number }): string {
  const ports = `${input.libvirtPort},${input.migrationPortMin}:${input.migrationPortMax}`;
  return [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    '-A INPUT -i lo -j ACCEPT',
    `-A INPUT -s ${input.peerAddress}/32 -p tcp -m multiport --dports ${ports} -j ACCEPT`,
    `-A INPUT -p tcp -m multiport --dports ${ports} -j REJECT --reject-with tcp-reset`,
    'COMMIT',
    '',
  ].join('\n');
}

export interface DnsmasqInput {
  interfaceName: string;
  range: { first: string; last: string; netmask: string; lease: string };
  /** The NTP server DHCP hands out (option 42): the lab's chronyd. */
  ntpServer: string;
  /** The host route to the cloud metadata address DHCP hands out (option 121): address and gateway. */
  metadataRoute: { address: string; gateway: string };
  leasesFile: string;
  pidFile: string;
  logFile: string;
}

/**
 * dnsmasq's argv: DHCP only (`--port=0` turns DNS off) on the guest bridge, with the router (3)
 * and DNS server (6) options sent empty, i.e. not at all: guests get an address and no way out.
 * Option 42 names the lab's NTP server. dnsmasq sends it to clients that ask for it: Debian's
 * dhclient.conf requests `ntp-servers`, and a Debian 12 guest with ifupdown + dhclient hands it on
 * to systemd-timesyncd through that package's exit hook, /etc/dhcp/dhclient-exit-hooks.d/timesyncd
 * (read in systemd-timesyncd 252.39-1~deb12u2): on BOUND/RENEW/REBIND/REBOOT it writes
 * `NTP=$new_ntp_servers` to /run/systemd/timesyncd.conf.d/01-dhclient.conf and try-restarts
 * systemd-timesyncd, only when systemd runs (/run/systemd/system) and /lib/systemd/systemd-timesyncd
 * exists; on EXPIRE/FAIL/RELEASE/STOP it removes that file. A guest without that package (or with
 * another DHCP client) ignores the option.
 *
 * `--dhcp-ignore-clid`: an address per NIC (MAC), as clouds give them (an OpenStack port's fixed IP is
 * a dnsmasq `dhcp-host` entry by MAC; an EC2 ENI has its own address), not per DHCP client identifier.
 * systemd-networkd and dhcpcd derive that identifier from /etc/machine-id (RFC 4361 DUID), so an image
 * that bakes one machine-id would otherwise give every guest of a run the same address, and the run
 * would lose its guests to that instead of reporting the baked id (hyg-machine-id, life-clone-unique).
 */
export function dnsmasqArgs(input: DnsmasqInput): string[] {
  // Option 121 (RFC 3442): a host route to 169.254.169.254 and nothing else, as OpenStack Neutron's DHCP
  // agent gives guests on networks without a router (its "isolated metadata" route). With no default
  // route, that is how a guest reaches the metadata service at all. Debian's dhclient and dhcpcd, and
  // cloud-init's own ephemeral DHCP (its lease parser reads `rfc3442-classless-static-routes`), apply it;
  // a guest provisioned from a seed disk only gains a route it never uses.
  const { first, last, netmask, lease } = input.range;
  return [
    '--conf-file=/dev/null',
    '--port=0',
    `--interface=${input.interfaceName}`,
    '--except-interface=lo',
    '--bind-interfaces',
    `--dhcp-range=${first},${last},${netmask},${lease}`,
    '--dhcp-option=3',
    '--dhcp-option=6',
    `--dhcp-option=option:ntp-server,${input.ntpServer}`,
    `--dhcp-option=option:classless-static-route,${input.metadataRoute.address}/32,${input.metadataRoute.gateway}`,
    '--dhcp-authoritative',
    '--dhcp-ignore-clid',
    `--dhcp-leasefile=${input.leasesFile}`,
    `--pid-file=${input.pidFile}`,
    `--log-facility=${input.logFile}`,
    '--log-dhcp',
  ];
}

export interface ChronyConfInput {
  /** The lab namespace's address on the guest network: the only one chronyd listens on. */
  bindAddress: string;
  /** Who may ask it the time: the guest network. */
  allow: string;
  stratum: number;
  pidFile: string;
}

/** A chrony.conf argument: one word, no comment or directive can be smuggled in. */
function chronyValue(value: string): string {
  if (!/^[A-Za-z0-9_./:+-]+$/.test(value)) throw new Error(`value not allowed in chrony.conf: ${JSON.stringify(value)}`);
  return value;
}

/**
 * chrony.conf of the lab's NTP server: it serves this machine's own clock to the guest network and
 * nothing else. Directives as chrony.conf(5) of chrony 4.3 (Debian 12) describes them:
 * - no `server`/`pool`/`peer`/`refclock`: no time source, so no packet leaves for an upstream server;
 * - `local stratum N`: "enables a local reference mode, which allows chronyd operating as an NTP server
 *   to appear synchronised to real time ... even when it was never synchronised"; stratum N is what
 *   clients are told (10: "so many hops away from a reference clock that its time is fairly unreliable");
 * - `allow SUBNET`: the subnet whose NTP clients may use it (the default allows none); the server port
 *   "will be open only when an address is allowed";
 * - `bindaddress ADDR`: binds the NTP server socket to that local address (with `chronyd -4` no IPv6
 *   socket is made at all);
 * - `cmdport 0`: no UDP command port; it "does not disable the Unix domain command socket", so
 *   `bindcmdaddress /` disables that one ("The socket can be disabled by setting the path to /"),
 *   and nothing lands in /run/chrony, where the chrony package's own chronyd keeps its socket;
 * - `pidfile FILE`: its own pid file (default /run/chrony/chronyd.pid, the package's), so it neither
 *   collides with nor refuses to start next to a chronyd of the machine;
 * - `user _chrony`: after start it drops root to the package's system user (the compiled-in default,
 *   said explicitly), keeping only the right to bind port 123: it answers untrusted guests.
 * No `driftfile` and no `logdir`/`log`: under `chronyd -x` with no source it measures no clock frequency
 * worth keeping, and once it runs as _chrony it cannot write into the root-only state folder (tried:
 * at exit it failed to save a driftfile there with "Permission denied"). Without them it writes no file
 * after start, and none of the package's /var/lib/chrony or /var/log/chrony. Its messages go to the
 * file given by `chronyd -l` (opened as root, before the drop).
 */
export function chronyConf(input: ChronyConfInput): string {
  if (!Number.isInteger(input.stratum) || input.stratum < 1 || input.stratum > 15) throw new Error(`chrony local stratum must be 1-15, got ${input.stratum}`);
  return [
    "# imgtest lab NTP server: written by imgtest (src/lab), replaced on every 'lab up'.",
    "# Serves this machine's clock to the guest network; no upstream source; never sets the clock (chronyd -x).",
    `local stratum ${input.stratum}`,
    `allow ${chronyValue(input.allow)}`,
    `bindaddress ${chronyValue(input.bindAddress)}`,
    'cmdport 0',
    'bindcmdaddress /',
    `pidfile ${chronyValue(input.pidFile)}`,
    'user _chrony',
    '',
  ].join('\n');
}

/**
 * chronyd's argv (chronyd(8)): `-4` IPv4 sockets only; `-x` "disables the control of the system clock.
 * chronyd will not try to make any adjustments of the clock" (it serves the clock, never sets it);
 * `-f` its own config file (never /etc/chrony/chrony.conf); `-l` messages to a file instead of syslog.
 * No `-n`/`-d`: it forks into the background and writes its pid file.
 */
export function chronydArgs(input: { configFile: string; logFile: string }): string[] {
  return ['-4', '-x', '-f', input.configFile, '-l', input.logFile];
}
