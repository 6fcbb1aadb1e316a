import { HYBRID_BOOT } from './helpers/fake-guest.js';
import { offlineContext } from './helpers/offline-context.js';
import { describe, expect, it } from 'vitest';
import type { CheckOutcome, ImageInfo } from '../../src/suite-api/index.js';
import {
  checkAptCaches,
  checkAuthorizedKeys,
  checkCloudInitState,
  checkDhcpLeases,
  checkForbiddenPaths,
  checkHostname,
  checkImageFile,
  checkMacBoundNetwork,
  checkMachineId,
  checkPasswordHashes,
  checkShellHistory,
  checkSshHostKeys,
  checkSwap,
  checkTmpFiles,
  formatBytes,
  isHistoryName,
  macBindings,
  parseAuthorizedKeys,
  passwordState,
  preview,
  type SnapshotCheck,
} from '../../suites/image-hygiene/checks.js';
import { parseQcow2Header } from '../../suites/image-hygiene/image-file.js';
import suite, { SNAPSHOT_MEMO_KEY } from '../../suites/image-hygiene/index.js';
import { parseOptions, type HygieneOptions } from '../../suites/image-hygiene/options.js';
import { SnapshotView, fakeSnapshot, hashScheme, redactPasswordField, redactPasswordFile, type FakeEntry, type HygieneSnapshot } from '../../suites/image-hygiene/snapshot.js';

const defaults: HygieneOptions = parseOptions({});
const HASH = '$6$imgtestbuild01$qtQyr7i85aj5JwaJ5CWhnTI46nMULAEMK4BA68ku8KP1S8QlHDHv3A6rphY7OniWH.X62K/qaY0CL2sJ52pqH/';
const ED_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMccgF8bpN9S6jLJq96v9f0v/u7O4uPCAhd6kUHr91mD test@imgtest';
const ED_FP = 'SHA256:O2wtIURl/SQyRlgc6RjipcDp+yUnIPdMewB/JUoTC6o'; // ssh-keygen -lf

/** What a careful vendor's Debian image looks like to the collector (cf. debian-12-clean). */
const CLEAN: Record<string, FakeEntry> = {
  '/etc/ssh/sshd_config': 'Include /etc/ssh/sshd_config.d/*.conf\n',
  '/etc/ssh/moduli': { size: 573928 },
  '/etc/machine-id': '',
  '/var/lib/dbus/machine-id': { link: '/etc/machine-id' },
  '/etc/shadow': 'root:*:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\nsshd:!:20000::::::\n',
  '/etc/passwd': 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n',
  '/etc/hostname': 'localhost\n',
  '/etc/hosts': '127.0.0.1\tlocalhost\n',
  '/etc/fstab': '# <file system> <mount point> <type> <options> <dump> <pass>\nLABEL=root / ext4 defaults,errors=remount-ro 0 1\n',
  '/etc/network/interfaces': 'source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n',
  '/etc/network/interfaces.d': { dir: true },
  '/etc/udev/rules.d': { dir: true },
  '/etc/cloud/cloud.cfg.d/99_imgtest.cfg': 'datasource_list: [ NoCloud, None ]\n',
  '/root/.bashrc': '# ~/.bashrc\n',
  '/root/.profile': '# ~/.profile\n',
  '/root/.ssh': { dir: true },
  '/home': { dir: true },
  '/var/lib/dhcp': { dir: true },
  '/var/cache/apt/archives/lock': { size: 0 },
  '/var/cache/apt/archives/partial': { dir: true },
  '/var/lib/apt/lists/partial': { dir: true },
  '/var/lib/apt/lists/lock': { size: 0 },
  '/tmp': { dir: true },
  '/var/tmp': { dir: true },
};

function view(extra: Record<string, FakeEntry> = {}, snapshot: Partial<HygieneSnapshot> = {}, remove: string[] = []): SnapshotView {
  const files = { ...CLEAN, ...extra };
  for (const path of remove) delete files[path];
  return new SnapshotView(fakeSnapshot(files, snapshot));
}

function expectPass(outcome: CheckOutcome): CheckOutcome {
  expect(outcome.status, `${outcome.message}\n${outcome.evidence ?? ''}`).toBe('pass');
  return outcome;
}

function expectFail(outcome: CheckOutcome, ...mentions: Array<string | RegExp>): CheckOutcome {
  expect(outcome.status, outcome.message).toBe('fail');
  expect(outcome.message).not.toContain('\n');
  for (const m of mentions) expect(outcome.message).toMatch(m);
  return outcome;
}

describe('the image-hygiene suite', () => {
  it('is an offline suite with the agreed check ids', () => {
    expect(suite.id).toBe('image-hygiene');
    expect(suite.requires).toEqual({ offline: true });
    expect(suite.checks.map((c) => c.id).sort()).toEqual(
      [
        'hyg-apt-caches',
        'hyg-authorized-keys',
        'hyg-cloud-init-state',
        'hyg-dhcp-leases',
        'hyg-forbidden-paths',
        'hyg-headless-console',
        'hyg-hostname',
        'hyg-image-file',
        'hyg-mac-bound-network',
        'hyg-machine-id',
        'hyg-password-hashes',
        'hyg-shell-history',
        'hyg-ssh-host-keys',
        'hyg-swap',
        'hyg-tmp-files',
      ].sort(),
    );
    const severity = Object.fromEntries(suite.checks.map((c) => [c.id, c.severity]));
    expect(severity['hyg-hostname']).toBe('must');
    expect(severity['hyg-apt-caches']).toBe('should');
    expect(severity['hyg-tmp-files']).toBe('should');
    expect(severity['hyg-headless-console']).toBe('should');
  });

  it('every snapshot check passes on a clean image', () => {
    const checks: SnapshotCheck[] = [
      checkSshHostKeys,
      checkMachineId,
      checkPasswordHashes,
      checkShellHistory,
      checkCloudInitState,
      checkAuthorizedKeys,
      checkDhcpLeases,
      checkMacBoundNetwork,
      checkSwap,
      checkAptCaches,
      checkHostname,
      checkTmpFiles,
    ];
    for (const check of checks) expectPass(check(view(), defaults));
    expect(checkForbiddenPaths(view(), defaults).status).toBe('skip');
  });

  it('checks read the memoised snapshot (one appliance for all checks) and never start guestfish twice', async () => {
    const snapshot = fakeSnapshot({ ...CLEAN, '/etc/hostname': 'build-vm-01\n' });
    const memo = new Map<string, Promise<unknown>>([[SNAPSHOT_MEMO_KEY, Promise.resolve(snapshot)]]);
    const context = offlineContext({ image: { path: '/nonexistent.qcow2', name: 'x', format: 'qcow2' }, memo });
    const { computed } = context;
    const byId = Object.fromEntries(suite.checks.map((c) => [c.id, c]));
    expect((await byId['hyg-hostname']!.run(context)).status).toBe('fail');
    expect((await byId['hyg-ssh-host-keys']!.run(context)).status).toBe('pass');
    expect(computed).toEqual([]);
  });

  it('a broken options section makes the checks throw one line naming the field', async () => {
    expect(() => parseOptions({ maxVirtualSizeGiB: 'big' })).toThrow(/image-hygiene options are invalid: maxVirtualSizeGiB/);
    expect(() => parseOptions({ minVirtualSizeGiB: 10, maxVirtualSizeGiB: 2 })).toThrow(/minVirtualSizeGiB must not exceed/);
    expect(() => parseOptions({ forbiddenPath: ['/x'] })).toThrow(/forbiddenPath/);
    expect(() => parseOptions({ forbiddenPaths: ['relative/path'] })).toThrow(/absolute/);
    expect(parseOptions({})).toEqual({ minVirtualSizeGiB: 1, maxVirtualSizeGiB: 64, forbiddenPaths: [], applianceTimeoutSeconds: 900 });
  });
});

describe('hyg-ssh-host-keys', () => {
  it('fails on baked host keys, naming types and files', () => {
    const out = expectFail(
      checkSshHostKeys(
        view({
          '/etc/ssh/ssh_host_ed25519_key': { file: 'PRIVATE', mode: 0o100600 },
          '/etc/ssh/ssh_host_ed25519_key.pub': 'ssh-ed25519 AAAA root@build',
          '/etc/ssh/ssh_host_rsa_key': { file: 'PRIVATE', mode: 0o100600 },
        }),
        defaults,
      ),
      /ed25519, rsa/,
      /ssh_host_ed25519_key/,
    );
    expect(out.evidence).toContain('/etc/ssh/ssh_host_rsa_key (7 B mode 0600)');
    expect(out.evidence).not.toContain('PRIVATE');
  });
  it('passes when /etc/ssh has no host keys (or does not exist)', () => {
    expectPass(checkSshHostKeys(view(), defaults));
    expectPass(checkSshHostKeys(view({}, {}, ['/etc/ssh/sshd_config', '/etc/ssh/moduli']), defaults));
  });
});

describe('hyg-machine-id', () => {
  it('fails on a set /etc/machine-id and on a D-Bus machine-id file with content', () => {
    expectFail(checkMachineId(view({ '/etc/machine-id': '3f6c0d5e9a8b4c7d9e2f1a0b5c6d7e8f\n' }), defaults), /\/etc\/machine-id is set \(3f6c0d5e/);
    const out = expectFail(checkMachineId(view({ '/var/lib/dbus/machine-id': '3f6c0d5e9a8b4c7d9e2f1a0b5c6d7e8f\n' }), defaults), /\/var\/lib\/dbus\/machine-id is a file/);
    expect(out.message).not.toContain('/etc/machine-id is set');
  });
  it('passes on empty, "uninitialized" or absent ids and a symlinked or empty D-Bus file', () => {
    expectPass(checkMachineId(view(), defaults));
    expectPass(checkMachineId(view({ '/etc/machine-id': 'uninitialized\n' }), defaults));
    expectPass(checkMachineId(view({ '/var/lib/dbus/machine-id': '' }), defaults));
    expectPass(checkMachineId(view({}, {}, ['/etc/machine-id', '/var/lib/dbus/machine-id']), defaults));
  });
});

describe('hyg-password-hashes', () => {
  it('fails on real hashes and names the users, never the hashes', () => {
    const shadow = `root:${HASH}:20000:0:99999:7:::\nbuilder:${HASH}:20000:0:99999:7:::\ndaemon:*:20000:::::\n`;
    const out = expectFail(checkPasswordHashes(view({ '/etc/shadow': shadow }), defaults), /password hashes for root, builder/);
    expect(`${out.message}\n${out.evidence}`).not.toContain('imgtestbuild01');
    expect(out.evidence).toContain('root: sha512crypt password hash in /etc/shadow');
  });
  it('works on the redacted shadow the collector stores', () => {
    const redacted = redactPasswordFile(`root:${HASH}:20000:0:99999:7:::\nbin:*:1::::::\n`);
    expect(redacted).not.toContain('imgtestbuild01');
    expectFail(checkPasswordHashes(view({ '/etc/shadow': redacted }), defaults), /password hashes for root/);
  });
  it('fails on an empty password field, as its own finding', () => {
    const out = expectFail(checkPasswordHashes(view({ '/etc/shadow': 'root:*:1::::::\nguest::20000:0:99999:7:::\n' }), defaults), /empty password for guest/);
    expect(out.message).not.toContain('password hashes');
  });
  it('fails on a hash kept in /etc/passwd', () => {
    expectFail(checkPasswordHashes(view({ '/etc/passwd': `root:${HASH}:0:0:root:/root:/bin/bash\n` }), defaults), /password hashes for root/);
  });
  it('passes when every account is locked (! or *), also a locked hash', () => {
    const out = expectPass(checkPasswordHashes(view({ '/etc/shadow': `root:*:1::::::\nold:!${HASH}:1::::::\nsshd:!:1::::::\n` }), defaults));
    expect(out.message).toMatch(/3 accounts .* all locked \(root: \*\)/);
    expect(out.evidence).toContain('locked, but still holding a hash: old');
  });
  it('classifies fields', () => {
    expect(passwordState('', 'shadow')).toBe('empty');
    expect(passwordState('x', 'passwd')).toBe('in-shadow');
    expect(passwordState('!', 'shadow')).toBe('locked');
    expect(passwordState('*LK*', 'shadow')).toBe('locked');
    expect(passwordState(HASH, 'shadow')).toBe('hash');
    expect(redactPasswordField(HASH)).toBe('<hash-sha512crypt>');
    expect(redactPasswordField(`!${HASH}`)).toBe('!<hash-sha512crypt>');
    expect(redactPasswordField('$y$j9T$abc$def')).toBe('<hash-yescrypt>');
    expect(redactPasswordField('x')).toBe('x');
    expect(redactPasswordField('*')).toBe('*');
    expect(redactPasswordField('')).toBe('');
    expect(hashScheme('abcdefghijklm')).toBe('descrypt');
    expect(redactPasswordFile(`root:${HASH}:1:0:99999:7:::`).split(':')).toHaveLength(9);
  });
});

describe('hyg-shell-history', () => {
  it('fails on non-empty history files under /root and /home/*, nested ones too', () => {
    const out = expectFail(
      checkShellHistory(
        view({
          '/root/.bash_history': 'passwd root\n',
          '/home/builder/.python_history': 'import os\n',
          '/home/builder/.local/share/fish/fish_history': '- cmd: ls\n',
          '/home/builder/.viminfo': '# viminfo\n',
        }),
        defaults,
      ),
      /\/root\/.bash_history \(12 B\)/,
      /\.python_history/,
    );
    expect(out.evidence).toContain('/home/builder/.local/share/fish/fish_history');
    expect(out.evidence).toContain('/home/builder/.viminfo');
    expect(out.evidence).not.toContain('passwd root');
  });
  it('passes on empty history files and links to /dev/null', () => {
    const out = expectPass(checkShellHistory(view({ '/root/.bash_history': '', '/home/a/.zsh_history': { link: '/dev/null' } }), defaults));
    expect(out.message).toMatch(/2 empty history files/);
  });
  it('knows the history file names', () => {
    for (const n of ['.bash_history', '.zsh_history', '.python_history', '.mysql_history', '.psql_history', '.lesshst', '.viminfo', '.node_repl_history', 'fish_history']) {
      expect(isHistoryName(n), n).toBe(true);
    }
    for (const n of ['.bashrc', '.profile', 'history.txt']) expect(isHistoryName(n), n).toBe(false);
  });
});

describe('hyg-cloud-init-state', () => {
  const flawed: Record<string, FakeEntry> = {
    '/var/lib/cloud/instance': { link: '/var/lib/cloud/instances/i-0b1d000000build01' },
    '/var/lib/cloud/instances/i-0b1d000000build01/user-data.txt': '#cloud-config\n',
    '/var/lib/cloud/instances/i-0b1d000000build01/sem/config_ssh': '2025-05-20\n',
    '/var/lib/cloud/data/instance-id': 'i-0b1d000000build01\n',
    '/var/lib/cloud/sem/config_scripts_per_once.once': '2025\n',
    '/var/log/cloud-init.log': { size: 647 },
    '/var/log/cloud-init-output.log': { size: 232 },
  };
  it('fails on instance state and logs, naming the instance and the logs', () => {
    const out = expectFail(checkCloudInitState(view(flawed), defaults), /i-0b1d000000build01/, /cloud-init\.log \(647 B\)/, /sem\/ \(1 file\)/);
    expect(out.evidence).toContain('/var/lib/cloud/instances/i-0b1d000000build01: 2 files');
  });
  it('fails on logs alone', () => {
    expectFail(checkCloudInitState(view({ '/var/log/cloud-init.log': { size: 10 } }), defaults), /logs: \/var\/log\/cloud-init\.log/);
  });
  it('passes with no state, empty logs, and the vendor script folders', () => {
    expectPass(checkCloudInitState(view({ '/var/log/cloud-init.log': '', '/var/lib/cloud/scripts/per-boot': { dir: true }, '/var/lib/cloud/instances': { dir: true } }), defaults));
  });
});

describe('hyg-authorized-keys', () => {
  it('fails on keys under /root, /home and /etc/ssh (authorized_keys2 too), with type, comment and fingerprint', () => {
    const out = expectFail(
      checkAuthorizedKeys(
        view({
          '/root/.ssh/authorized_keys': `${ED_KEY}\n`,
          '/home/builder/.ssh/authorized_keys2': `# ci\nno-pty,command="echo a b" ${ED_KEY}\n`,
          '/etc/ssh/authorized_keys/deploy': `${ED_KEY}\n`,
        }),
        defaults,
      ),
      /\/root\/.ssh\/authorized_keys \(1 key: ssh-ed25519 test@imgtest\)/,
      /authorized_keys2/,
    );
    expect(out.evidence).toContain(ED_FP);
    expect(out.evidence).toContain('/etc/ssh/authorized_keys/deploy');
  });
  it('passes on empty or comment-only files and links to /dev/null', () => {
    expectPass(checkAuthorizedKeys(view({ '/root/.ssh/authorized_keys': '', '/home/a/.ssh/authorized_keys': '# none\n', '/home/b/.ssh/authorized_keys2': { link: '/dev/null' } }), defaults));
  });
  it('parses key lines with options', () => {
    expect(parseAuthorizedKeys(`from="10.0.0.1",command="a b" ${ED_KEY}\n\n# x\n`)).toEqual([{ type: 'ssh-ed25519', comment: 'test@imgtest', fingerprint: ED_FP }]);
  });
});

describe('hyg-dhcp-leases', () => {
  const lease = 'lease {\n  interface "eth0";\n  fixed-address 192.168.122.57;\n}\n';
  it('fails on lease files with content, naming interface and address', () => {
    expectFail(checkDhcpLeases(view({ '/var/lib/dhcp/dhclient.eth0.leases': lease }), defaults), /dhclient\.eth0\.leases \(eth0, 192\.168\.122\.57\)/);
    expectFail(checkDhcpLeases(view({ '/var/lib/NetworkManager/internal-abc-eth0.lease': 'ADDRESS=10.0.2.15\n' }), defaults), /internal-abc-eth0\.lease \(10\.0\.2\.15\)/);
    expectFail(checkDhcpLeases(view({ '/var/lib/dhclient/dhclient--eth0.lease': lease }), defaults), /dhclient--eth0/);
  });
  it('passes on empty lease files and non-lease state', () => {
    expectPass(checkDhcpLeases(view({ '/var/lib/dhcp/dhclient.leases': '', '/var/lib/NetworkManager/NetworkManager.state': '[main]\n' }), defaults));
  });
});

describe('hyg-mac-bound-network', () => {
  it('fails on persistent-net rules with a MAC, naming the MAC, file and interface', () => {
    const rule = 'SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="52:54:00:b1:1d:01", KERNEL=="eth*", NAME="eth0"';
    const out = expectFail(checkMacBoundNetwork(view({ '/etc/udev/rules.d/70-persistent-net.rules': `# generated\n${rule}\n` }), defaults), /52:54:00:b1:1d:01/, /70-persistent-net\.rules/, /eth0/);
    expect(out.evidence).toBe(`/etc/udev/rules.d/70-persistent-net.rules:2: ${rule}`);
  });
  it('finds HWADDR=, netplan macaddress, hwaddress, networkd, NetworkManager and cloud-init leftovers', () => {
    const cases: Record<string, string> = {
      '/etc/sysconfig/network-scripts/ifcfg-eth0': 'DEVICE=eth0\nHWADDR="52:54:00:12:34:56"\n',
      '/etc/netplan/50-cloud-init.yaml': 'network:\n  ethernets:\n    eth0:\n      match:\n        macaddress: "52:54:00:12:34:56"\n      set-name: eth0\n',
      '/etc/network/interfaces.d/50-cloud-init': 'iface eth0 inet dhcp\n    hwaddress ether 52:54:00:12:34:56\n',
      '/etc/systemd/network/10-eth0.link': '[Match]\nMACAddress=52:54:00:12:34:56\n[Link]\nName=eth0\n',
      '/etc/NetworkManager/system-connections/eth0.nmconnection': '[ethernet]\nmac-address=52:54:00:12:34:56\n',
      '/etc/cloud/cloud.cfg.d/50-curtin-networking.cfg': 'network:\n  config:\n  - type: physical\n    mac_address: 52:54:00:12:34:56\n',
    };
    for (const [path, text] of Object.entries(cases)) {
      expect(macBindings(path, text), path).toHaveLength(1);
      expectFail(checkMacBoundNetwork(view({ [path]: text }), defaults), /52:54:00:12:34:56/);
    }
  });
  it('passes on name-only rules, commented MACs and cloud-init config without MACs', () => {
    expectPass(
      checkMacBoundNetwork(
        view({
          '/etc/udev/rules.d/70-persistent-net.rules': '# ATTR{address}=="52:54:00:b1:1d:01"\nSUBSYSTEM=="net", ATTR{address}=="?*", NAME="eth0"\n',
          '/etc/sysconfig/network-scripts/ifcfg-eth0': 'DEVICE=eth0\nBOOTPROTO=dhcp\n',
          '/etc/netplan/01-netcfg.yaml': 'network:\n  ethernets:\n    all:\n      match: {name: "en*"}\n      dhcp4: true\n',
          '/etc/cloud/cloud.cfg.d/99-disable-network-config.cfg': 'network: {config: disabled}\n',
        }),
        defaults,
      ),
    );
  });
});

describe('hyg-swap', () => {
  it('fails on swap in fstab and the swap file, naming both', () => {
    const out = expectFail(
      checkSwap(view({ '/etc/fstab': `${CLEAN['/etc/fstab'] as string}/swapfile none swap sw,nofail 0 0\n`, '/swapfile': { size: 64 * 2 ** 20 } }), defaults),
      /swap in \/etc\/fstab \(\/swapfile\)/,
      /swap file \/swapfile \(64 MiB\)/,
    );
    expect(out.evidence).toContain('/etc/fstab: /swapfile none swap sw,nofail 0 0');
  });
  it('fails on a swap partition, a /swap.img and a systemd swap unit', () => {
    expectFail(checkSwap(view({}, { filesystems: [{ device: '/dev/sda3', type: 'swap' }] }), defaults), /swap partition \/dev\/sda3/);
    expectFail(checkSwap(view({ '/swap.img': { size: 1024 } }), defaults), /swap file \/swap\.img/);
    expectFail(checkSwap(view({ '/etc/systemd/system/swapfile.swap': '[Swap]\nWhat=/swapfile\n' }), defaults), /systemd swap unit swapfile\.swap/);
  });
  it('passes without swap (a commented fstab line and a masked unit do not count)', () => {
    expectPass(checkSwap(view({ '/etc/fstab': '#/swapfile none swap sw 0 0\nLABEL=root / ext4 defaults 0 1\n', '/etc/systemd/system/dev-sda3.swap': { link: '/dev/null' } }), defaults));
  });
});

describe('hyg-apt-caches', () => {
  it('fails on downloaded .debs and package lists', () => {
    expectFail(
      checkAptCaches(
        view({
          '/var/cache/apt/archives/telnetd_0.17-44_amd64.deb': { size: 40_000 },
          '/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease': { size: 151_000 },
          '/var/cache/apt/pkgcache.bin': { size: 30_000_000 },
        }),
        defaults,
      ),
      /1 \.deb file \(39 KiB\)/,
      /1 package list/,
      /pkgcache\.bin/,
    );
  });
  it('passes on the lock files and empty partial folders; skips without apt', () => {
    expectPass(checkAptCaches(view(), defaults));
    const noApt = view({}, {}, ['/var/cache/apt/archives/lock', '/var/cache/apt/archives/partial', '/var/lib/apt/lists/partial', '/var/lib/apt/lists/lock']);
    expect(checkAptCaches(new SnapshotView({ ...noApt.snapshot, entries: Object.fromEntries(Object.entries(noApt.snapshot.entries).filter(([p]) => !p.includes('/apt'))) }), defaults).status).toBe(
      'skip',
    );
  });
});

describe('hyg-hostname', () => {
  it('fails on a baked name, quoting it and the /etc/hosts line', () => {
    const out = expectFail(checkHostname(view({ '/etc/hostname': 'build-vm-01\n', '/etc/hosts': '127.0.0.1 localhost\n127.0.1.1\tbuild-vm-01\n' }), defaults), /"build-vm-01"/);
    expect(out.evidence).toContain('/etc/hosts:2: 127.0.1.1\tbuild-vm-01');
  });
  it('passes on localhost, localhost.localdomain, empty or absent', () => {
    for (const name of ['localhost\n', 'localhost.localdomain\n', '', '\n', '# comment\n']) expectPass(checkHostname(view({ '/etc/hostname': name }), defaults));
    expectPass(checkHostname(view({}, {}, ['/etc/hostname']), defaults));
  });
});

describe('hyg-tmp-files', () => {
  it('fails on leftovers in /tmp and /var/tmp, dotfiles and folders included', () => {
    const out = expectFail(
      checkTmpFiles(view({ '/tmp/extra-debs/telnetd.deb': { size: 10 }, '/tmp/.build-env': 'TOKEN=1\n', '/var/tmp/cache.db': { size: 2048 } }), defaults),
      /\/tmp\/extra-debs\/ \(1 file\)/,
      /\/tmp\/\.build-env/,
      /\/var\/tmp\/cache\.db \(2 KiB\)/,
    );
    expect(out.evidence).toContain('/tmp/extra-debs/telnetd.deb');
  });
  it('passes on empty temp folders and the empty X11 socket folders', () => {
    expectPass(checkTmpFiles(view({ '/tmp/.X11-unix': { dir: true }, '/tmp/.ICE-unix': { dir: true } }), defaults));
  });
});

describe('hyg-forbidden-paths', () => {
  const options = parseOptions({ forbiddenPaths: ['/opt/build-agent', '/etc/ssl/private/*.key'] });
  it('fails on configured paths that matched', () => {
    const snapshot = fakeSnapshot({ ...CLEAN, '/etc/ssl/private/build.key': 'KEY' }, { forbidden: { '/opt/build-agent': [], '/etc/ssl/private/*.key': ['/etc/ssl/private/build.key'] } });
    const out = expectFail(checkForbiddenPaths(new SnapshotView(snapshot), options), /\/etc\/ssl\/private\/build\.key/);
    expect(out.evidence).toContain('/etc/ssl/private/*.key: /etc/ssl/private/build.key (3 B');
  });
  it('passes when nothing matched, skips when nothing is configured', () => {
    expectPass(checkForbiddenPaths(new SnapshotView(fakeSnapshot(CLEAN, { forbidden: { '/opt/build-agent': [], '/etc/ssl/private/*.key': [] } })), options));
    expect(checkForbiddenPaths(view(), defaults).status).toBe('skip');
  });
});

describe('hyg-image-file', () => {
  const image: ImageInfo = { path: '/images/x.qcow2', name: 'x', format: 'qcow2', virtualSize: 2 * 1024 ** 3, actualSize: 186_000_000, sha256: 'ab', boot: HYBRID_BOOT };

  function header(opts: { backing?: string; crypt?: number; features?: number; size?: number } = {}): Uint8Array {
    const bytes = new Uint8Array(512);
    const v = new DataView(bytes.buffer);
    v.setUint32(0, 0x514649fb);
    v.setUint32(4, 3);
    if (opts.backing) {
      v.setBigUint64(8, 112n);
      v.setUint32(16, opts.backing.length);
      bytes.set(Buffer.from(opts.backing), 112);
    }
    v.setUint32(20, 16);
    v.setBigUint64(24, BigInt(opts.size ?? 2 * 1024 ** 3));
    v.setUint32(32, opts.crypt ?? 0);
    v.setBigUint64(72, BigInt(opts.features ?? 0));
    return bytes;
  }

  it('parses the qcow2 header', () => {
    expect(parseQcow2Header(header({ backing: 'base.qcow2' }))).toEqual({ version: 3, virtualSize: 2 * 1024 ** 3, backingFile: 'base.qcow2', cryptMethod: 0, incompatibleFeatures: 0 });
    expect(parseQcow2Header(new Uint8Array(512))).toBeUndefined();
  });
  it('passes a flat qcow2 of a sensible size', () => {
    const out = expectPass(checkImageFile(image, parseQcow2Header(header()), defaults));
    expect(out.message).toBe('qcow2, 2 GiB virtual (1-64 GiB), no backing file');
    expectPass(checkImageFile({ ...image, format: 'raw' }, undefined, defaults));
  });
  it('fails on a backing file, encryption, an external data file, or a size out of range', () => {
    expectFail(checkImageFile(image, parseQcow2Header(header({ backing: '/srv/base.qcow2' })), defaults), /backing file \/srv\/base\.qcow2/);
    expectFail(checkImageFile(image, parseQcow2Header(header({ crypt: 2 })), defaults), /encrypted \(LUKS\)/);
    expectFail(checkImageFile(image, parseQcow2Header(header({ features: 4 })), defaults), /external data file/);
    expectFail(checkImageFile({ ...image, virtualSize: 512 * 2 ** 20 }, parseQcow2Header(header()), defaults), /virtual size 512 MiB below 1 GiB/);
    expectFail(checkImageFile({ ...image, virtualSize: 100 * 2 ** 30 }, parseQcow2Header(header()), parseOptions({ maxVirtualSizeGiB: 50 })), /above 50 GiB/);
    expectFail(checkImageFile(image, undefined, defaults), /no qcow2 header/);
  });
});

describe('formatting helpers', () => {
  it('formats sizes and previews', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(64 * 2 ** 20)).toBe('64 MiB');
    expect(preview(['a', 'b', 'c', 'd', 'e', 'f'])).toBe('a, b, c, d and 2 more');
  });
});
