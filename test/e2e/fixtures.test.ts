/**
 * Proof that the fixture images are what fixtures/README.md says they are, read offline.
 *
 * Builds the images when the cache lacks them (`bash fixtures/build.sh`), then, per image: a raw
 * copy in a temp dir (`qemu-img convert`, the fixture is only read), the partition table from
 * `sfdisk --json`, the ESP through mtools, the root filesystem through a read-only loop device
 * mounted read-only (`ro,noload` for ext4; on debian-12-lvm the LV's extents, located from the LVM
 * metadata on its physical volume, with the separate /boot mounted over the root's /boot). Every planted defect of debian-12-flawed is asserted present there and
 * absent from the clean images (debian-12-clean, debian-12-bios-only, debian-12-uefi-unsigned),
 * using one detector per check id. The boot chain is read too: the MBR boot code, the loaders on
 * the ESP and their Authenticode signatures (PE certificate table), the GRUB configuration.
 * (A loop mount of a raw copy takes ~5 s per image; a libguestfs appliance boots in ~45 s.)
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/util/exec.js';
import { e2eSkipReason } from './helpers.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGES = [
  'debian-12-clean',
  'debian-12-flawed',
  'debian-12-bios-only',
  'debian-12-uefi-unsigned',
  'debian-12-gfxterm',
  'debian-12-minimal',
  'debian-11-clean',
  'debian-13-clean',
  'debian-12-lvm',
  'debian-12-btrfs',
  'debian-13-flawed',
] as const;
type ImageName = (typeof IMAGES)[number];
/** Images that boot with BIOS (SYSLINUX); debian-12-uefi-unsigned does not. */
const BIOS_IMAGES = [
  'debian-12-clean',
  'debian-12-flawed',
  'debian-12-bios-only',
  'debian-12-minimal',
  'debian-11-clean',
  'debian-13-clean',
  'debian-12-lvm',
  'debian-12-btrfs',
  'debian-13-flawed',
] as const;
/** debian-12-clean's layout and Secure Boot chain (GPT hybrid, shim + signed GRUB + MokManager on the ESP). */
const HYBRID_SIGNED_IMAGES = ['debian-12-clean', 'debian-12-flawed', 'debian-12-minimal', 'debian-11-clean', 'debian-13-clean', 'debian-12-btrfs', 'debian-13-flawed'] as const;
/** The images with debian-12-flawed's planted defects (debian-13-flawed sources its recipe). */
const FLAWED_IMAGES = ['debian-12-flawed', 'debian-13-flawed'] as const;
/** Images without any planted defect (debian-12-gfxterm's GRUB terminal is a trait, not a defect of the table). */
const CLEAN_IMAGES = IMAGES.filter((name): name is Exclude<ImageName, (typeof FLAWED_IMAGES)[number]> => !(FLAWED_IMAGES as readonly string[]).includes(name));
/**
 * Where each image's root filesystem is and what it is (fixtures/README.md, "Layouts"): ext4 on a
 * partition unless listed. debian-12-lvm: ext4 on LV vg0/root (PV = partition 2), /boot a partition of
 * its own; debian-12-btrfs: btrfs (top-level subvolume) on the GPT root partition.
 */
const LVM = { vg: 'vg0', lv: 'root' } as const;
const ROOT_LAYOUT: Partial<Record<ImageName, { fs: 'btrfs' | 'ext4'; lvm?: boolean; separateBoot?: boolean; rootSpec: string }>> = {
  'debian-12-lvm': { fs: 'ext4', lvm: true, separateBoot: true, rootSpec: `/dev/mapper/${LVM.vg}-${LVM.lv}` },
  'debian-12-btrfs': { fs: 'btrfs', rootSpec: 'LABEL=root' },
};
const rootLayout = (name: ImageName) => ROOT_LAYOUT[name] ?? { fs: 'ext4' as const, lvm: false, separateBoot: false, rootSpec: 'LABEL=root' };
/** Clean images with the baseline's hardening drop-in (debian-12-minimal keeps Debian's stock sshd settings instead). */
const HARDENED_SSHD_IMAGES = CLEAN_IMAGES.filter((name) => name !== 'debian-12-minimal');
/**
 * Each image's release: /etc/os-release VERSION_ID, the boot menus' name, the openssh-server package
 * version (its sshd), and the kernel package (bullseye's by its ABI name: see fixtures/rootfs-bullseye.packages).
 */
const RELEASE: Record<ImageName, { versionId: string; openssh: RegExp; kernelPackage: RegExp }> = {
  'debian-12-clean': { versionId: '12', openssh: /^1:9\.2p1-/, kernelPackage: /^linux-image-cloud-amd64$/ },
  'debian-12-flawed': { versionId: '12', openssh: /^1:9\.2p1-/, kernelPackage: /^linux-image-cloud-amd64$/ },
  'debian-12-bios-only': { versionId: '12', openssh: /^1:9\.2p1-/, kernelPackage: /^linux-image-cloud-amd64$/ },
  'debian-12-uefi-unsigned': { versionId: '12', openssh: /^1:9\.2p1-/, kernelPackage: /^linux-image-cloud-amd64$/ },
  'debian-12-gfxterm': { versionId: '12', openssh: /^1:9\.2p1-/, kernelPackage: /^linux-image-cloud-amd64$/ },
  'debian-12-minimal': { versionId: '12', openssh: /^1:9\.2p1-/, kernelPackage: /^linux-image-cloud-amd64$/ },
  'debian-11-clean': { versionId: '11', openssh: /^1:8\.4p1-/, kernelPackage: /^linux-image-5\.10\.0-\d+-cloud-amd64$/ },
  'debian-13-clean': { versionId: '13', openssh: /^1:10\.0p1-/, kernelPackage: /^linux-image-cloud-amd64$/ },
  'debian-12-lvm': { versionId: '12', openssh: /^1:9\.2p1-/, kernelPackage: /^linux-image-cloud-amd64$/ },
  'debian-12-btrfs': { versionId: '12', openssh: /^1:9\.2p1-/, kernelPackage: /^linux-image-cloud-amd64$/ },
  'debian-13-flawed': { versionId: '13', openssh: /^1:10\.0p1-/, kernelPackage: /^linux-image-cloud-amd64$/ },
};
const KERNEL_CMDLINE = 'root=LABEL=root ro console=tty0 console=ttyS0,115200n8';
/** The kernel command line each image's boot menus carry (root= names debian-12-lvm's LV). */
const kernelCmdline = (name: ImageName) => KERNEL_CMDLINE.replace('root=LABEL=root', `root=${rootLayout(name).rootSpec}`);
const ESP_TYPE = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const LINUX_FS_TYPE = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
const GIB = 1024 ** 3;

const canRun = e2eSkipReason(['/usr/bin/qemu-img', '/usr/sbin/sfdisk', '/usr/bin/mdir', '/usr/bin/mcopy', '/usr/bin/mmdebstrap']) === '';

// ---------------------------------------------------------------------------------------------
// An image's root filesystem, read through a mount point, with symlinks resolved inside it.

class ImageFs {
  constructor(readonly root: string) {}

  /** Host path of `path` as the guest would resolve it (absolute links stay inside the image). */
  resolve(path: string, depth = 0): string {
    if (depth > 40) throw new Error(`symlink loop at ${path}`);
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    let cur = '';
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part === '..') {
        cur = cur.slice(0, cur.lastIndexOf('/'));
        continue;
      }
      const next = `${cur}/${part}`;
      let isLink: boolean;
      try {
        isLink = lstatSync(this.root + next).isSymbolicLink();
      } catch {
        return this.root + [next, ...parts.slice(i + 1)].join('/');
      }
      if (isLink) {
        const target = readlinkSync(this.root + next);
        const rest = parts.slice(i + 1).join('/');
        const base = target.startsWith('/') ? target : `${cur}/${target}`;
        return this.resolve(rest ? `${base}/${rest}` : base, depth + 1);
      }
      cur = next;
    }
    return this.root + cur;
  }

  exists(path: string): boolean {
    return existsSync(this.resolve(path));
  }

  /** Host path of `path` itself: its parent directories resolved, its last part not followed. */
  private unfollowed(path: string): string {
    const i = path.lastIndexOf('/');
    return join(i > 0 ? this.resolve(path.slice(0, i)) : this.root, path.slice(i + 1));
  }

  /** lstat of the path itself (its parent directories resolved). */
  lstat(path: string) {
    try {
      return lstatSync(this.unfollowed(path));
    } catch {
      return undefined;
    }
  }

  /** The target of the symlink at `path` itself (its parent directories resolved), as written. */
  readlink(path: string): string | undefined {
    try {
      return readlinkSync(this.unfollowed(path));
    } catch {
      return undefined;
    }
  }

  read(path: string): string | undefined {
    try {
      return readFileSync(this.resolve(path), 'utf8');
    } catch {
      return undefined;
    }
  }

  readBytes(path: string): Buffer | undefined {
    try {
      return readFileSync(this.resolve(path));
    } catch {
      return undefined;
    }
  }

  list(dir: string): string[] {
    try {
      return readdirSync(this.resolve(dir)).sort();
    } catch {
      return [];
    }
  }

  /** Home directories: /root and every /home/<user>. */
  homes(): string[] {
    return ['/root', ...this.list('/home').map((u) => `/home/${u}`)];
  }
}

// ---------------------------------------------------------------------------------------------
// sshd's effective configuration, offline: Include expanded, first value wins (as sshd does).

const SSHD_DEFAULTS: Record<string, string> = {
  // OpenSSH 9.2 defaults (Debian 12) for the keys the checks read.
  passwordauthentication: 'yes',
  kbdinteractiveauthentication: 'yes',
  permitrootlogin: 'prohibit-password',
  permitemptypasswords: 'no',
  ciphers: 'chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com',
  macs: 'umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1',
  kexalgorithms:
    'sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256',
};

function sshdEffective(fs: ImageFs): Record<string, string> {
  const seen: Record<string, string> = {};
  const parse = (file: string, depth: number): void => {
    if (depth > 16) return;
    const text = fs.read(file);
    if (text === undefined) return;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const m = /^(\S+)\s*(?:=\s*)?(.*)$/.exec(line);
      if (!m) continue;
      const key = m[1]!.toLowerCase();
      const value = m[2]!.trim();
      if (key === 'match') return; // the rest of this file is conditional
      if (key === 'include') {
        for (const pattern of value.split(/\s+/)) {
          const abs = pattern.startsWith('/') ? pattern : `/etc/ssh/${pattern}`;
          const dir = abs.slice(0, abs.lastIndexOf('/'));
          const glob = abs.slice(abs.lastIndexOf('/') + 1);
          const re = new RegExp(
            `^${glob
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '.*')
              .replace(/\?/g, '.')}$`,
          );
          for (const f of fs.list(dir).filter((n) => re.test(n))) parse(`${dir}/${f}`, depth + 1);
        }
        continue;
      }
      if (!(key in seen)) seen[key] = value;
    }
  };
  parse('/etc/ssh/sshd_config', 0);
  return { ...SSHD_DEFAULTS, ...seen };
}

/** An algorithm list as sshd applies it (+ appends, - removes, ^ prepends to the default). */
function algorithms(effective: Record<string, string>, key: string): string[] {
  const value = effective[key]!;
  const defaults = SSHD_DEFAULTS[key]!.split(',');
  const list = value.slice(1).split(',');
  if (value.startsWith('+')) return [...defaults, ...list];
  if (value.startsWith('^')) return [...list, ...defaults];
  if (value.startsWith('-')) return defaults.filter((a) => !list.includes(a));
  return value.split(',');
}

// ---------------------------------------------------------------------------------------------
// dpkg, offline

interface DpkgPackage {
  name: string;
  status: string;
  version: string;
}

function installedPackages(fs: ImageFs): Map<string, DpkgPackage> {
  const out = new Map<string, DpkgPackage>();
  for (const para of (fs.read('/var/lib/dpkg/status') ?? '').split(/\n\n+/)) {
    const field = (f: string) => new RegExp(`^${f}: (.*)$`, 'm').exec(para)?.[1]?.trim() ?? '';
    const name = field('Package');
    if (name && field('Status') === 'install ok installed') out.set(name, { name, status: field('Status'), version: field('Version') });
  }
  return out;
}

/** Units enabled for multi-user.target under /etc (a vendor's or a build's own), with their text. */
function enabledUnits(fs: ImageFs): { name: string; text: string }[] {
  const wants = '/etc/systemd/system/multi-user.target.wants';
  return fs.list(wants).flatMap((name) => {
    const text = fs.read(`${wants}/${name}`);
    return text === undefined ? [] : [{ name, text }];
  });
}

/** `dpkg --verify` for content: every file in every md5sums list whose MD5 differs (or is gone). */
const changedCache = new WeakMap<ImageFs, string[]>();
function changedPackageFiles(fs: ImageFs): string[] {
  const cached = changedCache.get(fs);
  if (cached) return cached;
  const changed: string[] = [];
  for (const list of fs.list('/var/lib/dpkg/info').filter((f) => f.endsWith('.md5sums'))) {
    const pkg = list.replace(/\.md5sums$/, '').replace(/:.*$/, '');
    for (const line of (fs.read(`/var/lib/dpkg/info/${list}`) ?? '').split('\n')) {
      const m = /^([0-9a-f]{32})\s+(.+)$/.exec(line);
      if (!m) continue;
      const file = `/${m[2]!}`;
      const data = fs.readBytes(file);
      if (data === undefined) {
        if (!fs.lstat(file)) changed.push(`${pkg}: missing ${file}`);
        continue;
      }
      if (createHash('md5').update(data).digest('hex') !== m[1]) changed.push(`${pkg}: ${file}`);
    }
  }
  changedCache.set(fs, changed);
  return changed;
}

// ---------------------------------------------------------------------------------------------
// One detector per check id: true = the defect is present in the image.

const FORBIDDEN_PACKAGES = ['telnetd', 'inetutils-telnetd', 'telnetd-ssl', 'rsh-server', 'rsh-redone-server', 'nis', 'tftpd', 'tftpd-hpa', 'talkd', 'xinetd'];
const WEAK_CIPHER = /-cbc|arcfour|3des|blowfish|cast128|rijndael/;
const WEAK_MAC = /sha1|md5|ripemd|umac-64|-96/;
const WEAK_KEX = /sha1|group1-/;

type Detector = (fs: ImageFs) => string[]; // findings; empty = clean

const detectors: Record<string, Detector> = {
  'hyg-ssh-host-keys': (fs) => fs.list('/etc/ssh').filter((f) => /^ssh_host_.*_key(\.pub)?$/.test(f)),
  'hyg-machine-id': (fs) => {
    const found: string[] = [];
    const etc = (fs.read('/etc/machine-id') ?? '').trim();
    if (etc !== '' && etc !== 'uninitialized') found.push(`/etc/machine-id = ${etc}`);
    const dbus = fs.lstat('/var/lib/dbus/machine-id');
    if (dbus?.isFile() && (fs.read('/var/lib/dbus/machine-id') ?? '').trim() !== '') found.push('/var/lib/dbus/machine-id is a file with an id');
    return found;
  },
  'hyg-password-hashes': (fs) =>
    (fs.read('/etc/shadow') ?? '')
      .split('\n')
      .map((l) => l.split(':'))
      .filter((f) => f.length > 1 && !/^[*!]/.test(f[1]!))
      .map((f) => `${f[0]}: ${f[1] === '' ? 'empty password' : `hash ${f[1]!.slice(0, 3)}...`}`),
  'hyg-shell-history': (fs) =>
    fs.homes().flatMap((h) =>
      fs
        .list(h)
        .filter((f) => /^\.(bash|zsh|sh|ash|python|mysql|psql|lesshst)_?history$|^\.lesshst$|^\.viminfo$/.test(f))
        .map((f) => `${h}/${f}`),
    ),
  'hyg-cloud-init-state': (fs) => [
    ...fs.list('/var/lib/cloud').map((f) => `/var/lib/cloud/${f}`),
    ...fs
      .list('/var/log')
      .filter((f) => f.startsWith('cloud-init'))
      .map((f) => `/var/log/${f}`),
  ],
  'hyg-authorized-keys': (fs) =>
    fs.homes().flatMap((h) =>
      fs
        .list(`${h}/.ssh`)
        .filter((f) => /^authorized_keys2?$/.test(f))
        .map((f) => `${h}/.ssh/${f}`),
    ),
  'hyg-dhcp-leases': (fs) =>
    ['/var/lib/dhcp', '/var/lib/dhclient', '/var/lib/dhcpcd', '/var/lib/NetworkManager', '/var/lib/systemd/network', '/run/systemd/netif/leases'].flatMap((d) =>
      fs
        .list(d)
        .filter((f) => /lease/.test(f) && (fs.read(`${d}/${f}`) ?? '').trim() !== '')
        .map((f) => `${d}/${f}`),
    ),
  'hyg-mac-bound-network': (fs) => {
    const found: string[] = [];
    const mac = /([0-9a-f]{2}:){5}[0-9a-f]{2}/i;
    for (const f of fs.list('/etc/udev/rules.d')) if (mac.test(fs.read(`/etc/udev/rules.d/${f}`) ?? '')) found.push(`/etc/udev/rules.d/${f}`);
    for (const f of ['/etc/network/interfaces', ...fs.list('/etc/network/interfaces.d').map((n) => `/etc/network/interfaces.d/${n}`)]) if (/^\s*hwaddress\s/m.test(fs.read(f) ?? '')) found.push(f);
    for (const d of ['/etc/systemd/network', '/etc/netplan']) for (const f of fs.list(d)) if (/MACAddress\s*=|macaddress:/i.test(fs.read(`${d}/${f}`) ?? '')) found.push(`${d}/${f}`);
    return found;
  },
  'hyg-swap': (fs) => [
    ...(fs.read('/etc/fstab') ?? '').split('\n').filter((l) => !l.trim().startsWith('#') && l.trim().split(/\s+/)[2] === 'swap'),
    ...['/swapfile', '/swap.img'].filter((f) => fs.lstat(f)),
  ],
  'hyg-hostname': (fs) => {
    const h = (fs.read('/etc/hostname') ?? '').trim();
    return h === '' || h === 'localhost' ? [] : [`/etc/hostname = ${h}`];
  },
  'ssh-password-auth': (fs) => (sshdEffective(fs).passwordauthentication === 'yes' ? ['PasswordAuthentication yes'] : []),
  'ssh-kbdinteractive-auth': (fs) => {
    const e = sshdEffective(fs);
    return (e.kbdinteractiveauthentication ?? e.challengeresponseauthentication) === 'yes' ? ['KbdInteractiveAuthentication yes'] : [];
  },
  'ssh-root-login': (fs) => (sshdEffective(fs).permitrootlogin === 'yes' ? ['PermitRootLogin yes'] : []),
  'ssh-weak-ciphers': (fs) => algorithms(sshdEffective(fs), 'ciphers').filter((a) => WEAK_CIPHER.test(a)),
  'ssh-weak-macs': (fs) => algorithms(sshdEffective(fs), 'macs').filter((a) => WEAK_MAC.test(a)),
  'ssh-weak-kex': (fs) => algorithms(sshdEffective(fs), 'kexalgorithms').filter((a) => WEAK_KEX.test(a)),
  'pkg-forbidden': (fs) => FORBIDDEN_PACKAGES.filter((p) => installedPackages(fs).has(p)),
  'pkg-integrity': (fs) => changedPackageFiles(fs),
  // Booted checks of the cloud-init-auth suite; offline their precondition is the sshd config
  // plus a usable root password.
  'ci-password-login-rejected': (fs) => (sshdEffective(fs).passwordauthentication === 'yes' ? ['sshd offers password authentication'] : []),
  // instance-lifecycle: what the image carries that a booted guest shows (the suite's checks see it booted).
  'life-failed-units': (fs) =>
    enabledUnits(fs).flatMap(({ name, text }) => {
      const program = /^ExecStart=[-@:+!]*(\S+)/m.exec(text)?.[1];
      return program && !fs.exists(program) ? [`${name}: ExecStart ${program} does not exist`] : [];
    }),
  'life-boot-errors': (fs) => enabledUnits(fs).flatMap(({ name, text }) => (/<[0-3]>[^\n]*\/dev\/kmsg/.test(text) ? [`${name} writes an error to /dev/kmsg`] : [])),
  'life-disk-growth': (fs) => (fs.exists('/usr/bin/growpart') ? [] : ['no /usr/bin/growpart (cloud-guest-utils)']),
  'life-reboot': (fs) =>
    enabledUnits(fs).flatMap(({ name, text }) => {
      const line = />>\s*\/etc\/fstab/.test(text) ? /echo "([^"]+)"\s*>>\s*\/etc\/fstab/.exec(text)?.[1] : undefined;
      return line && !/nofail/.test(line) ? [`${name} appends to /etc/fstab: ${line}`] : [];
    }),
  'life-clone-unique': (fs) => (fs.lstat('/var/lib/systemd/random-seed') ? ['/var/lib/systemd/random-seed'] : []),
  'life-time-sync': (fs) => {
    const installed = installedPackages(fs);
    return ['systemd-timesyncd', 'chrony', 'ntpsec', 'ntp'].some((p) => installed.has(p)) ? [] : ['no time sync daemon installed'];
  },
  'ci-root-login-denied': (fs) => {
    const e = sshdEffective(fs);
    const rootHash =
      (fs.read('/etc/shadow') ?? '')
        .split('\n')
        .find((l) => l.startsWith('root:'))
        ?.split(':')[1] ?? '*';
    return e.permitrootlogin === 'yes' && e.passwordauthentication === 'yes' && !/^[*!]/.test(rootHash) ? ['root can log in with a password'] : [];
  },
};

/** Where debian-13-flawed differs: trixie's DHCP client is dhcpcd (fixtures/README.md, "Planted defects"). */
const EXPECTED_IN_TRIXIE_FLAWED: Record<string, string[]> = { 'hyg-dhcp-leases': ['/var/lib/dhcpcd/enp1s0.lease'] };

/** What debian-12-flawed must show for each check id (a substring of one finding). */
const EXPECTED_IN_FLAWED: Record<string, string[]> = {
  'hyg-ssh-host-keys': ['ssh_host_ed25519_key', 'ssh_host_rsa_key', 'ssh_host_ecdsa_key'],
  'hyg-machine-id': ['/etc/machine-id = 3f6c0d5e9a8b4c7d9e2f1a0b5c6d7e8f', '/var/lib/dbus/machine-id'],
  'hyg-password-hashes': ['root: hash $6$', 'builder: hash $6$'],
  'hyg-shell-history': ['/root/.bash_history', '/home/builder/.bash_history'],
  'hyg-cloud-init-state': ['/var/lib/cloud/instances', '/var/lib/cloud/instance', '/var/lib/cloud/data', '/var/log/cloud-init.log'],
  'hyg-authorized-keys': ['/root/.ssh/authorized_keys', '/home/builder/.ssh/authorized_keys'],
  'hyg-dhcp-leases': ['/var/lib/dhcp/dhclient.eth0.leases'],
  'hyg-mac-bound-network': ['/etc/udev/rules.d/70-persistent-net.rules'],
  'hyg-swap': ['/swapfile none swap sw,nofail', '/swapfile'],
  'hyg-hostname': ['/etc/hostname = build-vm-01'],
  'ssh-password-auth': ['PasswordAuthentication yes'],
  'ssh-kbdinteractive-auth': ['KbdInteractiveAuthentication yes'],
  'ssh-root-login': ['PermitRootLogin yes'],
  'ssh-weak-ciphers': ['aes128-cbc', 'aes256-cbc', '3des-cbc'],
  'ssh-weak-macs': ['hmac-sha1', 'hmac-md5'],
  'ssh-weak-kex': ['diffie-hellman-group14-sha1', 'diffie-hellman-group1-sha1'],
  'pkg-forbidden': ['telnetd', 'inetutils-telnetd'],
  'pkg-integrity': ['init-system-helpers: /usr/sbin/service'],
  'ci-password-login-rejected': ['sshd offers password authentication'],
  'ci-root-login-denied': ['root can log in with a password'],
  'life-failed-units': ['build-metrics-upload.service: ExecStart /usr/local/bin/build-metrics-upload does not exist'],
  'life-boot-errors': ['build-agent-check.service writes an error to /dev/kmsg'],
  'life-disk-growth': ['no /usr/bin/growpart'],
  'life-reboot': ['data-disk-setup.service appends to /etc/fstab: LABEL=build-data /data ext4 defaults,x-systemd.device-timeout=10s 0 2'],
  'life-clone-unique': ['/var/lib/systemd/random-seed'],
  'life-time-sync': ['no time sync daemon installed'],
};

// ---------------------------------------------------------------------------------------------
// Opening an image read-only

interface SfdiskPartition {
  node: string;
  start: number;
  size: number;
  type: string;
  name?: string;
  attrs?: string;
  bootable?: boolean;
}
interface PartitionTable {
  label: 'gpt' | 'dos';
  sectorsize?: number;
  partitions: SfdiskPartition[];
}

interface OpenedImage {
  name: ImageName;
  qcow2: string;
  raw: string;
  info: { format: string; 'virtual-size': number; 'backing-filename'?: string; 'actual-size': number };
  check: { 'compressed-clusters': number; 'allocated-clusters': number; 'check-errors': number };
  table: PartitionTable;
  /** The partition holding the root filesystem (debian-12-lvm: the LVM physical volume). */
  rootPartition: SfdiskPartition;
  /** The root filesystem's bytes in the raw disk: the root partition, or the LV's extents on the PV. */
  rootFs: { offset: number; size: number };
  /** The LVM metadata on the physical volume (LVM images only). */
  lvm?: LvmMetadata;
  /** A separate /boot partition (mounted over the root's /boot). */
  bootPartition?: SfdiskPartition;
  esp?: SfdiskPartition;
  fs: ImageFs;
  loops: string[];
  /** Mounted filesystems, the root first. */
  mounts: string[];
  mountPoint: string;
}

// ---------------------------------------------------------------------------------------------
// LVM, offline: this machine's kernel has no device-mapper, so the LV is read where its extents lie.

interface LvmMetadata {
  /** The PV's label sector: "LABELONE" ... "LVM2 001". */
  label: string;
  vg: string;
  seqno: number;
  /** Sectors. */
  extentSize: number;
  pvs: { name: string; device: string; peStart: number; peCount: number }[];
  lvs: { name: string; status: string; segments: { startExtent: number; extentCount: number; type: string; stripes: [string, number][] }[] }[];
}

/**
 * The newest copy (highest seqno) of the VG's text metadata in the PV's metadata area (the circular
 * buffer in its first MiB, before pe_start), parsed as far as the layout needs.
 */
function readLvmMetadata(raw: string, pvOffset: number): LvmMetadata {
  const area = readAt(raw, pvOffset, 1024 * 1024);
  const label = readAt(raw, pvOffset + 512, 32).toString('latin1');
  const text = area.toString('latin1').replace(/[^\x20-\x7e\n\t]/g, '\n');
  const lines = text.split('\n').map((l) => l.replace(/#.*$/, '').trim());
  const copies: string[][] = [];
  // Each copy starts with "<vg> {", "id = ...", "seqno = N".
  lines.forEach((line, i) => {
    if (/^[A-Za-z0-9_.+-]+ \{$/.test(line) && /^seqno = /.test(lines[i + 2] ?? '')) copies.push([]);
    copies.at(-1)?.push(line);
  });
  const parsed = copies.map(parseLvmCopy).filter((c): c is LvmMetadata => c !== undefined);
  if (!parsed.length) throw new Error('no LVM metadata found on the physical volume');
  const newest = parsed.reduce((a, b) => (b.seqno > a.seqno ? b : a));
  return { ...newest, label };
}

/** One metadata copy: nested `name {` ... `}` sections of `key = value` lines. */
function parseLvmCopy(lines: string[]): LvmMetadata | undefined {
  type Node = { [key: string]: string | Node };
  const root: Node = {};
  const stack: Node[] = [root];
  let pendingList: { key: string; items: string[] } | undefined;
  for (const line of lines) {
    if (line === '') continue;
    const top = stack.at(-1)!;
    if (pendingList) {
      if (line === ']') {
        top[pendingList.key] = pendingList.items.join(', ');
        pendingList = undefined;
      } else pendingList.items.push(line);
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = /^(\S+) \{$/.exec(line))) {
      const child: Node = {};
      top[m[1]!] = child;
      stack.push(child);
    } else if (line === '}') {
      stack.pop();
      if (stack.length === 1) break; // the VG section ended: the rest is the copy's header lines
    } else if ((m = /^(\S+) = \[$/.exec(line))) pendingList = { key: m[1]!, items: [] };
    else if ((m = /^(\S+) = (.*)$/.exec(line))) top[m[1]!] = m[2]!;
  }
  const vgName = Object.keys(root)[0];
  const vg = vgName ? root[vgName] : undefined;
  if (!vgName || typeof vg !== 'object' || vg['seqno'] === undefined) return undefined;
  const sections = (n: Node | string | undefined) => (typeof n === 'object' ? Object.entries(n).filter((e): e is [string, Node] => typeof e[1] === 'object') : []);
  const num = (v: Node | string | undefined) => Number(typeof v === 'string' ? v : NaN);
  const str = (v: Node | string | undefined) => (typeof v === 'string' ? v.replace(/^"|"$/g, '') : '');
  return {
    label: '',
    vg: vgName,
    seqno: num(vg['seqno']),
    extentSize: num(vg['extent_size']),
    pvs: sections(vg['physical_volumes']).map(([name, pv]) => ({ name, device: str(pv['device']), peStart: num(pv['pe_start']), peCount: num(pv['pe_count']) })),
    lvs: sections(vg['logical_volumes']).map(([name, lv]) => ({
      name,
      status: typeof lv['status'] === 'string' ? lv['status'] : '',
      segments: sections(lv)
        .filter(([k]) => /^segment\d+$/.test(k))
        .map(([, seg]) => ({
          startExtent: num(seg['start_extent']),
          extentCount: num(seg['extent_count']),
          type: str(seg['type']),
          stripes: [...str(seg['stripes']).matchAll(/"?(\w+)"?, (\d+)/g)].map((x) => [x[1]!, Number(x[2])] as [string, number]),
        })),
    })),
  };
}

const workDir = mkdtempSync(join(tmpdir(), 'imgtest-fixtures-'));
const opened = new Map<ImageName, OpenedImage>();
const before = new Map<ImageName, { size: number; mtimeMs: number; ino: number }>();

async function openImage(name: ImageName): Promise<OpenedImage> {
  const qcow2 = realpathSync(join(repoRoot, 'fixtures', 'out', `${name}.qcow2`));
  const st = statSync(qcow2);
  before.set(name, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
  const info = JSON.parse((await run('qemu-img', ['info', '--output', 'json', qcow2])).stdout) as OpenedImage['info'];
  const check = JSON.parse((await run('qemu-img', ['check', '--output', 'json', qcow2])).stdout) as OpenedImage['check'];
  const raw = join(workDir, `${name}.raw`);
  await run('qemu-img', ['convert', '-O', 'raw', qcow2, raw], { timeoutMs: 300_000 });
  const table = (JSON.parse((await run('sfdisk', ['--json', raw])).stdout) as { partitiontable: PartitionTable }).partitiontable;
  const layout = rootLayout(name);
  const rootPartition = table.partitions.find((p) => (layout.lvm ? p.type === '8e' : table.label === 'gpt' ? p.type === LINUX_FS_TYPE && p.name === 'root' : p.type === '83'));
  if (!rootPartition) throw new Error(`${name}: no root partition in ${JSON.stringify(table)}`);
  const bootPartition = layout.separateBoot ? table.partitions.find((p) => p !== rootPartition && p.type === '83') : undefined;
  const esp = table.partitions.find((p) => p.type === ESP_TYPE || p.type === 'ef');
  let rootFs = { offset: rootPartition.start * 512, size: rootPartition.size * 512 };
  let lvm: LvmMetadata | undefined;
  if (layout.lvm) {
    lvm = readLvmMetadata(raw, rootPartition.start * 512);
    const pv = lvm.pvs[0];
    const seg = lvm.lvs.find((l) => l.name === LVM.lv)?.segments;
    if (!pv || seg?.length !== 1 || seg[0]!.stripes.length !== 1) throw new Error(`${name}: LV ${LVM.lv} is not one linear segment: ${JSON.stringify(lvm)}`);
    rootFs = { offset: rootPartition.start * 512 + (pv.peStart + seg[0]!.stripes[0]![1] * lvm.extentSize) * 512, size: seg[0]!.extentCount * lvm.extentSize * 512 };
  }
  const mountPoint = join(workDir, `${name}.root`);
  await run('mkdir', ['-p', mountPoint]);
  const image: OpenedImage = { name, qcow2, raw, info, check, table, rootPartition, rootFs, lvm, bootPartition, esp, fs: new ImageFs(mountPoint), loops: [], mounts: [], mountPoint };
  opened.set(name, image);
  const mount = async (offset: number, size: number, fstype: string, at: string) => {
    const loop = (await run('losetup', ['--find', '--show', '--read-only', '--offset', String(offset), '--sizelimit', String(size), raw])).stdout.trim();
    image.loops.push(loop);
    await run('mount', ['-t', fstype, '-o', fstype === 'ext4' ? 'ro,noload' : 'ro', loop, at]);
    image.mounts.push(at);
  };
  await mount(rootFs.offset, rootFs.size, layout.fs, mountPoint);
  if (bootPartition) await mount(bootPartition.start * 512, bootPartition.size * 512, 'ext4', join(mountPoint, 'boot'));
  return image;
}

async function closeAll(): Promise<void> {
  for (const image of opened.values()) {
    for (const at of [...image.mounts].reverse()) await run('umount', [at], { allowFailure: true });
    for (const loop of image.loops) await run('losetup', ['-d', loop], { allowFailure: true });
  }
  rmSync(workDir, { recursive: true, force: true });
}

function img(name: ImageName): OpenedImage {
  const image = opened.get(name);
  if (!image) throw new Error(`${name} was not opened`);
  return image;
}

function readAt(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, offset);
    return buf;
  } finally {
    closeSync(fd);
  }
}

async function espFiles(image: OpenedImage): Promise<string[]> {
  if (!image.esp) return [];
  const r = await run('mdir', ['-/', '-b', '-i', `${image.raw}@@${image.esp.start * 512}`, '::/'], { allowFailure: true });
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** One file from the ESP (mtools, read-only). */
async function espFile(image: OpenedImage, path: string): Promise<Buffer> {
  const out = join(workDir, `${image.name}-esp-${path.replace(/[^A-Za-z0-9.]+/g, '_')}`);
  await run('mcopy', ['-n', '-i', `${image.raw}@@${image.esp!.start * 512}`, `::${path}`, out]);
  return readFileSync(out);
}

/** The files of the image's initramfs (its newest kernel's), as lsinitramfs lists them. */
async function initramfsFiles(image: OpenedImage): Promise<string[]> {
  const initrds = image.fs.list('/boot').filter((f) => /^initrd\.img-.*-cloud-amd64$/.test(f));
  expect(initrds).toHaveLength(1);
  const r = await run('lsinitramfs', [image.fs.resolve(`/boot/${initrds[0]!}`)], { timeoutMs: 120_000 });
  return r.stdout.split('\n').filter(Boolean);
}

// ---------------------------------------------------------------------------------------------
// PE/COFF, just enough for an EFI binary: sections and the certificate table.

interface PeFile {
  /** 0x10b PE32, 0x20b PE32+ */
  magic: number;
  machine: number;
  /** Optional header data directory 4 (IMAGE_DIRECTORY_ENTRY_SECURITY): file offset and size. */
  certTable: { offset: number; size: number };
  /** WIN_CERTIFICATE entries in the certificate table. */
  certificates: { revision: number; type: number; data: Buffer }[];
  sections: Map<string, Buffer>;
}

function parsePe(data: Buffer): PeFile {
  if (data.toString('latin1', 0, 2) !== 'MZ') throw new Error('no MZ header');
  const pe = data.readUInt32LE(0x3c);
  if (data.toString('latin1', pe, pe + 4) !== 'PE\0\0') throw new Error('no PE signature');
  const machine = data.readUInt16LE(pe + 4);
  const nSections = data.readUInt16LE(pe + 6);
  const symbols = data.readUInt32LE(pe + 12);
  const nSymbols = data.readUInt32LE(pe + 16);
  const optSize = data.readUInt16LE(pe + 20);
  const opt = pe + 24;
  const magic = data.readUInt16LE(opt);
  const dirs = opt + (magic === 0x20b ? 112 : 96);
  const certTable = { offset: data.readUInt32LE(dirs + 4 * 8), size: data.readUInt32LE(dirs + 4 * 8 + 4) };
  const certificates: PeFile['certificates'] = [];
  for (let p = certTable.offset; certTable.size > 0 && p + 8 <= certTable.offset + certTable.size;) {
    const length = data.readUInt32LE(p);
    if (length < 8) break;
    certificates.push({ revision: data.readUInt16LE(p + 4), type: data.readUInt16LE(p + 6), data: data.subarray(p + 8, p + length) });
    p += (length + 7) & ~7;
  }
  const sections = new Map<string, Buffer>();
  for (let i = 0; i < nSections; i++) {
    const h = opt + optSize + i * 40;
    let name = data.toString('latin1', h, h + 8).replace(/\0+$/, '');
    // Names longer than 8 bytes (".vendor_cert") are "/<offset>" into the COFF string table.
    if (/^\/\d+$/.test(name) && symbols > 0) {
      const at = symbols + nSymbols * 18 + Number(name.slice(1));
      name = data.toString('latin1', at, data.indexOf(0, at));
    }
    const rawSize = data.readUInt32LE(h + 16);
    const rawPtr = data.readUInt32LE(h + 20);
    sections.set(name, data.subarray(rawPtr, rawPtr + rawSize));
  }
  return { magic, machine, certTable, certificates, sections };
}

/** The SBAT entries of an EFI binary (component names: `shim`, `grub.debian`, ...). */
function sbat(pe: PeFile): string[] {
  return (pe.sections.get('.sbat')?.toString('latin1') ?? '')
    .replace(/\0+/g, '')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(',')[0]!);
}

/** Signed, as UEFI firmware and shim see it: a PKCS#7 WIN_CERTIFICATE naming the signer. */
function expectSigned(pe: PeFile, signer: RegExp): void {
  expect(pe.certTable.size).toBeGreaterThan(0);
  expect(pe.certificates.length).toBeGreaterThan(0);
  for (const c of pe.certificates) {
    expect(c.revision).toBe(0x200); // WIN_CERT_REVISION_2_0
    expect(c.type).toBe(2); // WIN_CERT_TYPE_PKCS_SIGNED_DATA
  }
  expect(pe.certificates.some((c) => signer.test(c.data.toString('latin1')))).toBe(true);
}

// ---------------------------------------------------------------------------------------------

describe.skipIf(!canRun)('fixture images (offline, read-only)', () => {
  beforeAll(async () => {
    // Instant when cached; from scratch about 75 s (rootfs) + 20 s per image.
    await run('bash', [join(repoRoot, 'fixtures', 'build.sh')], { timeoutMs: 40 * 60_000 });
    for (const name of IMAGES) await openImage(name);
  }, 45 * 60_000);

  afterAll(async () => {
    await closeAll();
  }, 120_000);

  describe.each(IMAGES)('%s: disk', (name) => {
    it('is a compressed qcow2, 2 GiB virtual, without a backing file', () => {
      const { info, check } = img(name);
      expect(info.format).toBe('qcow2');
      expect(info['virtual-size']).toBe(2 * GIB);
      expect(info['backing-filename']).toBeUndefined();
      expect(check['check-errors']).toBe(0);
      expect(check['compressed-clusters']).toBeGreaterThan(check['allocated-clusters'] * 0.9);
      expect(info['actual-size']).toBeLessThan(400 * 1024 ** 2);
    });

    it(`has a ${rootLayout(name).fs} root filesystem labelled "root"${rootLayout(name).lvm ? ' on an LVM logical volume' : ''}`, () => {
      const { raw, rootFs } = img(name);
      if (rootLayout(name).fs === 'btrfs') {
        // btrfs superblock at 64 KiB: magic "_BHRfS_M" at 0x40, label (256 bytes) at 0x12b.
        const sb = readAt(raw, rootFs.offset + 0x10000, 4096);
        expect(sb.subarray(0x40, 0x48).toString('latin1')).toBe('_BHRfS_M');
        expect(
          sb
            .subarray(0x12b, 0x12b + 256)
            .toString('latin1')
            .replace(/\0+$/, ''),
        ).toBe('root');
      } else {
        const sb = readAt(raw, rootFs.offset + 1024, 1024);
        expect(sb.readUInt16LE(56)).toBe(0xef53);
        expect(sb.subarray(120, 136).toString('latin1').replace(/\0+$/, '')).toBe('root');
      }
    });

    it('carries the packages of a cloud image and cloud-init limited to NoCloud', () => {
      const { fs } = img(name);
      const pkgs = installedPackages(fs);
      // The network as each release's Debian cloud images have it: trixie's netplan (applied by
      // systemd-networkd), ifupdown + dhclient before.
      const trixie = RELEASE[name].versionId === '13';
      const network = trixie ? ['netplan.io'] : ['ifupdown', 'isc-dhcp-client'];
      for (const p of ['systemd-sysv', 'udev', 'cloud-init', 'openssh-server', ...network, 'netbase', 'iproute2', 'sudo', 'qemu-guest-agent', 'locales']) {
        expect(pkgs.has(p), p).toBe(true);
      }
      if (trixie) for (const p of ['ifupdown', 'isc-dhcp-client']) expect(pkgs.has(p), p).toBe(false);
      expect([...pkgs.keys()].filter((p) => RELEASE[name].kernelPackage.test(p))).toHaveLength(1);
      expect(fs.read('/etc/os-release')).toMatch(new RegExp(`^VERSION_ID="${RELEASE[name].versionId}"$`, 'm'));
      const cfgDir = '/etc/cloud/cloud.cfg.d';
      const lists = fs
        .list(cfgDir)
        .filter((f) => f.endsWith('.cfg'))
        .map((f) => /^datasource_list:\s*(.*)$/m.exec(fs.read(`${cfgDir}/${f}`) ?? '')?.[1])
        .filter((v): v is string => v !== undefined);
      expect(lists.at(-1)?.replace(/\s+/g, '')).toBe('[NoCloud,None]');
      const { fs: fstype, rootSpec } = rootLayout(name);
      expect(fs.read('/etc/fstab')).toMatch(new RegExp(`^${rootSpec}\\s+/\\s+${fstype}\\s`, 'm'));
    });
  });

  describe.each(IMAGES)('%s: release', (name) => {
    it('/etc/os-release, the sshd of its release (openssh-server), boot menus naming the release', async () => {
      const { fs, esp } = img(name);
      const { versionId, openssh } = RELEASE[name];
      expect(/^VERSION_ID="(\d+)"$/m.exec(fs.read('/etc/os-release') ?? '')?.[1]).toBe(versionId);
      expect(fs.read('/etc/debian_version')?.trim()).toMatch(new RegExp(`^${versionId}\\.\\d+$`));
      expect(installedPackages(fs).get('openssh-server')?.version).toMatch(openssh);
      expect(installedPackages(fs).get('openssh-client')?.version).toMatch(openssh);
      const label = `Debian GNU/Linux ${versionId} (`;
      const extlinux = fs.read('/boot/extlinux/extlinux.conf');
      if (extlinux !== undefined) expect(extlinux).toContain(`MENU LABEL ${label}`);
      if (esp && name !== 'debian-12-uefi-unsigned') expect((await espFile(img(name), '/EFI/debian/grub.cfg')).toString('utf8')).toContain(`menuentry '${label}`);
    });
  });

  describe.each(BIOS_IMAGES)('%s: BIOS boot', (name) => {
    it('boots with SYSLINUX on the serial console with the documented command line', () => {
      const { fs, raw } = img(name);
      // On btrfs, extlinux writes ldlinux.sys into the filesystem's reserved boot area, not as a file
      // (btrfs may move a file's blocks); ldlinux.c32 is a file on every filesystem.
      if (rootLayout(name).fs !== 'btrfs') expect(fs.exists('/boot/extlinux/ldlinux.sys')).toBe(true);
      expect(fs.exists('/boot/extlinux/ldlinux.c32')).toBe(true);
      const conf = fs.read('/boot/extlinux/extlinux.conf') ?? '';
      expect(conf).toMatch(/^SERIAL 0 115200$/m);
      expect(conf).toMatch(/^TIMEOUT (10|20)$/m);
      expect(conf).toMatch(new RegExp(`APPEND ${kernelCmdline(name)}$`, 'm'));
      // Paths in the filesystem extlinux lives on: a separate /boot has the kernel at its top.
      const boot = rootLayout(name).separateBoot ? '/boot' : '';
      const kernel = boot + (/LINUX (\S+)/.exec(conf)?.[1] ?? '');
      const initrd = boot + (/INITRD (\S+)/.exec(conf)?.[1] ?? '');
      expect(kernel).toMatch(/^\/boot\/vmlinuz-.*-cloud-amd64$/);
      expect(fs.exists(kernel)).toBe(true);
      expect(fs.exists(initrd)).toBe(true);
      // MBR boot code present (gptmbr.bin or mbr.bin).
      expect(readAt(raw, 0, 440).some((b) => b !== 0)).toBe(true);
      expect(readAt(raw, 510, 2).readUInt16LE(0)).toBe(0xaa55);
    });
  });

  describe('layout', () => {
    /** GPT, a FAT32 ESP of >= 95 MiB as the first partition, the root partition after it. */
    function expectGptWithEsp(image: OpenedImage): void {
      expect(image.table.label).toBe('gpt');
      expect(image.esp).toBeDefined();
      const esp = image.esp!;
      expect(esp.type).toBe(ESP_TYPE);
      expect(esp.size * 512).toBeGreaterThanOrEqual(95 * 1024 ** 2);
      expect(readAt(image.raw, esp.start * 512 + 82, 8).toString('latin1')).toBe('FAT32   ');
      expect(image.table.partitions).toHaveLength(2);
    }

    for (const name of HYBRID_SIGNED_IMAGES) {
      describe(name, () => {
        it('GPT with a FAT32 ESP, root LegacyBIOSBootable, gptmbr.bin boot code (BIOS and UEFI)', () => {
          const image = img(name);
          expectGptWithEsp(image);
          expect(image.rootPartition.attrs ?? '').toContain('LegacyBIOSBootable');
          expect(readAt(image.raw, 0, 440).some((b) => b !== 0)).toBe(true);
          const gptmbr = '/usr/lib/syslinux/mbr/gptmbr.bin';
          if (existsSync(gptmbr)) expect(readAt(image.raw, 0, 440).equals(readFileSync(gptmbr).subarray(0, 440))).toBe(true);
        });

        it("ESP: Debian's Secure Boot chain (shim, signed GRUB, MokManager, EFI/debian/grub.cfg)", async () => {
          const image = img(name);
          const files = await espFiles(image);
          for (const f of ['::/EFI/BOOT/BOOTX64.EFI', '::/EFI/BOOT/grubx64.efi', '::/EFI/BOOT/mmx64.efi', '::/EFI/debian/grub.cfg']) expect(files, f).toContain(f);
        });

        it('EFI/BOOT/BOOTX64.EFI is shim with an Authenticode signature by the Microsoft UEFI CA', async () => {
          const pe = parsePe(await espFile(img(name), '/EFI/BOOT/BOOTX64.EFI'));
          expect(pe.magic).toBe(0x20b);
          expect(pe.machine).toBe(0x8664);
          expect(sbat(pe)).toEqual(expect.arrayContaining(['shim', 'shim.debian']));
          // Debian's CA, built into shim: what GRUB, MokManager and the kernel are checked against.
          expect(pe.sections.get('.vendor_cert')?.toString('latin1')).toContain('Debian Secure Boot CA');
          expectSigned(pe, /Microsoft Corporation UEFI CA 2011/);
        });

        it("EFI/BOOT/grubx64.efi and mmx64.efi are signed by Debian's Secure Boot CA", async () => {
          const grub = parsePe(await espFile(img(name), '/EFI/BOOT/grubx64.efi'));
          expect(sbat(grub)).toEqual(expect.arrayContaining(['grub', 'grub.debian']));
          expectSigned(grub, /Debian Secure Boot Signer/);
          // Its prefix: the configuration is read from /EFI/debian on the ESP.
          expect(grub.sections.get('mods')?.toString('latin1')).toContain('/EFI/debian');
          const mm = parsePe(await espFile(img(name), '/EFI/BOOT/mmx64.efi'));
          expect(sbat(mm)).toContain('shim');
          expectSigned(mm, /Debian Secure Boot Signer/);
        });

        it('EFI/debian/grub.cfg boots the signed cloud kernel from the root found by its label', async () => {
          const { fs } = img(name);
          const cfg = (await espFile(img(name), '/EFI/debian/grub.cfg')).toString('utf8');
          expect(cfg).toContain('search --no-floppy --label root --set=root');
          expect(cfg).toMatch(/^serial --unit=0 --speed=115200$/m);
          expect(cfg).toMatch(/^set timeout=[12]$/m);
          const linux = /^\s*linux (\S+) (.*)$/m.exec(cfg);
          expect(linux?.[2]).toBe(KERNEL_CMDLINE);
          const kernel = linux?.[1] ?? '';
          expect(kernel).toMatch(/^\/boot\/vmlinuz-.*-cloud-amd64$/);
          expect(fs.exists(/^\s*initrd (\S+)$/m.exec(cfg)?.[1] ?? '/nonexistent')).toBe(true);
          const vmlinuz = fs.readBytes(kernel);
          expect(vmlinuz).toBeDefined();
          expectSigned(parsePe(vmlinuz!), /Debian Secure Boot/);
        });
      });
    }

    describe('debian-12-uefi-unsigned', () => {
      const name = 'debian-12-uefi-unsigned';

      it('GPT with a FAT32 ESP; no BIOS boot code: MBR boot code area all zero, no LegacyBIOSBootable', () => {
        const image = img(name);
        expectGptWithEsp(image);
        expect(readAt(image.raw, 0, 440).every((b) => b === 0)).toBe(true);
        expect(readAt(image.raw, 510, 2).readUInt16LE(0)).toBe(0xaa55); // the protective MBR itself
        expect(image.table.partitions.every((p) => !(p.attrs ?? '').includes('LegacyBIOSBootable'))).toBe(true);
      });

      it('no BIOS bootloader in the root filesystem (no extlinux, no grub-pc)', () => {
        const { fs } = img(name);
        expect(fs.exists('/boot/extlinux')).toBe(false);
        expect(fs.exists('/boot/grub/i386-pc')).toBe(false);
        const pkgs = installedPackages(fs);
        for (const p of ['grub-pc', 'grub-pc-bin', 'extlinux', 'syslinux']) expect(pkgs.has(p), p).toBe(false);
      });

      it('ESP: only EFI/BOOT/BOOTX64.EFI, an unsigned standalone GRUB (no certificate table)', async () => {
        const image = img(name);
        const files = (await espFiles(image)).filter((f) => !f.endsWith('/'));
        expect(files).toEqual(['::/EFI/BOOT/BOOTX64.EFI']);
        const data = await espFile(image, '/EFI/BOOT/BOOTX64.EFI');
        const pe = parsePe(data);
        expect(pe.magic).toBe(0x20b);
        expect(pe.certTable).toEqual({ offset: 0, size: 0 });
        expect(pe.certificates).toEqual([]);
        expect(sbat(pe)).not.toContain('shim');
        const text = data.toString('latin1');
        expect(text).toContain('search --no-floppy --label root --set=root');
        expect(text).toContain(KERNEL_CMDLINE);
        expect(text).toMatch(/set timeout=[12]\n/);
        const kernel = /linux (\/boot\/vmlinuz-\S+)/.exec(text)?.[1] ?? '';
        expect(image.fs.exists(kernel)).toBe(true);
      });
    });

    it('debian-12-bios-only: MBR (dos) table, one bootable Linux partition, no ESP anywhere', async () => {
      const image = img('debian-12-bios-only');
      expect(image.table.label).toBe('dos');
      expect(image.esp).toBeUndefined();
      expect(image.table.partitions.some((p) => ['ef', ESP_TYPE].includes(p.type))).toBe(false);
      expect(image.table.partitions).toHaveLength(1);
      expect(image.rootPartition.bootable).toBe(true);
      const mbr = '/usr/lib/syslinux/mbr/mbr.bin';
      if (existsSync(mbr)) expect(readAt(image.raw, 0, 440).equals(readFileSync(mbr).subarray(0, 440))).toBe(true);
    });

    describe('debian-12-gfxterm', () => {
      const name = 'debian-12-gfxterm';
      const GRUB_PC = '/usr/lib/grub/i386-pc';

      it('MBR (dos) table, one bootable Linux partition at 1 MiB, no ESP anywhere', () => {
        const image = img(name);
        expect(image.table.label).toBe('dos');
        expect(image.esp).toBeUndefined();
        expect(image.table.partitions).toHaveLength(1);
        expect(image.rootPartition).toMatchObject({ start: 2048, type: '83', bootable: true });
      });

      it("GRUB for BIOS: GRUB's boot.img in the MBR, its core.img in the gap before the partition", () => {
        const { raw } = img(name);
        const mbr = readAt(raw, 0, 440);
        expect(mbr.toString('latin1')).toContain('GRUB \0Geom\0Hard Disk\0Read\0 Error');
        expect(readAt(raw, 510, 2).readUInt16LE(0)).toBe(0xaa55);
        if (existsSync(`${GRUB_PC}/boot.img`)) {
          // grub-bios-setup patches the BPB area and the drive fields (0x03-0x67); the code after them is boot.img's.
          expect(mbr.subarray(0x68).equals(readFileSync(`${GRUB_PC}/boot.img`).subarray(0x68, 440))).toBe(true);
        }
        // Sector 1 starts core.img (diskboot.img first), embedded in the gap: no BIOS boot partition, no blocklist in a filesystem.
        if (existsSync(`${GRUB_PC}/diskboot.img`)) expect(readAt(raw, 512, 32).equals(readFileSync(`${GRUB_PC}/diskboot.img`).subarray(0, 32))).toBe(true);
        expect(readAt(raw, 512, 16).some((b) => b !== 0)).toBe(true);
      });

      it('GRUB modules and the unicode font in /boot/grub; no SYSLINUX, no grub-pc package', () => {
        const { fs } = img(name);
        for (const f of ['normal.mod', 'gfxterm.mod', 'all_video.mod', 'vbe.mod', 'linux.mod', 'ext2.mod', 'part_msdos.mod', 'core.img']) expect(fs.exists(`/boot/grub/i386-pc/${f}`), f).toBe(true);
        expect(fs.readBytes('/boot/grub/fonts/unicode.pf2')?.subarray(0, 12).toString('latin1')).toBe('FILE\0\0\0\x04PFF2');
        expect(fs.exists('/boot/extlinux')).toBe(false);
        const pkgs = installedPackages(fs);
        for (const p of ['grub-pc', 'grub-pc-bin', 'extlinux']) expect(pkgs.has(p), p).toBe(false);
      });

      it('grub.cfg draws with gfxterm (no serial terminal) and boots the kernel with console=ttyS0', () => {
        const { fs } = img(name);
        const cfg = fs.read('/boot/grub/grub.cfg') ?? '';
        expect(cfg).toMatch(/^terminal_output gfxterm$/m);
        expect(cfg).toMatch(/^\s*insmod all_video$/m);
        expect(cfg).toMatch(/^\s*insmod gfxterm$/m);
        expect(cfg).toMatch(/^if loadfont \$prefix\/fonts\/unicode\.pf2 ; then$/m);
        expect(cfg).toMatch(/^\s*set gfxmode=auto$/m);
        expect(cfg).not.toMatch(/^\s*serial\b/m);
        expect(cfg).not.toMatch(/^\s*terminal_output\b.*\bserial/m);
        expect(cfg).toMatch(/^set timeout=1$/m);
        const linux = /^\s*linux\s+(\S+)\s+(.*)$/m.exec(cfg);
        expect(linux?.[2]).toBe(KERNEL_CMDLINE);
        expect(linux?.[2]).toContain('console=ttyS0,115200n8');
        expect(linux?.[1]).toMatch(/^\/boot\/vmlinuz-.*-cloud-amd64$/);
        expect(fs.exists(linux?.[1] ?? '/nonexistent')).toBe(true);
        expect(fs.exists(/^\s*initrd\s+(\S+)$/m.exec(cfg)?.[1] ?? '/nonexistent')).toBe(true);
      });

      it('/etc/default/grub: serial console on the kernel command line, GRUB_TERMINAL left unset (gfxterm)', () => {
        const text = img(name).fs.read('/etc/default/grub') ?? '';
        expect(text).toMatch(/^GRUB_CMDLINE_LINUX_DEFAULT="console=tty0 console=ttyS0,115200n8"$/m);
        expect(text).not.toMatch(/^\s*GRUB_TERMINAL/m);
        expect(text).toMatch(/^#GRUB_TERMINAL=console$/m);
      });
    });

    describe('debian-12-lvm', () => {
      const name = 'debian-12-lvm';

      it('MBR (dos): p1 bootable ext4 labelled "boot", p2 an LVM physical volume (8e) to the end of the disk; no ESP; mbr.bin', () => {
        const image = img(name);
        expect(image.table.label).toBe('dos');
        expect(image.esp).toBeUndefined();
        expect(image.table.partitions).toHaveLength(2);
        const [boot, pv] = image.table.partitions;
        expect(boot).toMatchObject({ start: 2048, type: '83', bootable: true });
        expect(boot!.size * 512).toBe(256 * 1024 ** 2);
        expect(image.bootPartition).toBe(boot);
        expect(pv).toMatchObject({ start: 2048 + boot!.size, type: '8e' });
        expect(pv!.bootable ?? false).toBe(false);
        expect((pv!.start + pv!.size) * 512).toBe(2 * GIB);
        const sb = readAt(image.raw, boot!.start * 512 + 1024, 1024);
        expect(sb.readUInt16LE(56)).toBe(0xef53);
        expect(sb.subarray(120, 136).toString('latin1').replace(/\0+$/, '')).toBe('boot');
        const mbr = '/usr/lib/syslinux/mbr/mbr.bin';
        if (existsSync(mbr)) expect(readAt(image.raw, 0, 440).equals(readFileSync(mbr).subarray(0, 440))).toBe(true);
      });

      it('LVM on p2: an LVM2 label, VG vg0 with that one PV, LV root: one linear segment over every extent', () => {
        const { lvm, rootPartition, rootFs } = img(name);
        expect(lvm).toBeDefined();
        expect(lvm!.label).toMatch(/^LABELONE.*LVM2 001/s);
        expect(lvm!.vg).toBe(LVM.vg);
        expect(lvm!.pvs).toHaveLength(1);
        const pv = lvm!.pvs[0]!;
        expect(lvm!.lvs.map((l) => l.name)).toEqual([LVM.lv]);
        const lv = lvm!.lvs[0]!;
        expect(lv.status).toContain('"VISIBLE"');
        expect(lv.segments).toEqual([{ startExtent: 0, extentCount: pv.peCount, type: 'striped', stripes: [[pv.name, 0]] }]);
        // The extents fill the PV: at most one extent of the partition is left over.
        expect(rootPartition.size - pv.peStart - pv.peCount * lvm!.extentSize).toBeLessThan(lvm!.extentSize);
        expect(rootFs.size).toBe(pv.peCount * lvm!.extentSize * 512);
        expect(rootFs.size).toBeGreaterThan(1.5 * GIB);
      });

      it('fstab and the kernel command line name the LV; /boot is mounted from its own partition by label', () => {
        const { fs } = img(name);
        const fstab = (fs.read('/etc/fstab') ?? '').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
        expect(fstab).toEqual(['/dev/mapper/vg0-root / ext4 defaults,errors=remount-ro 0 1', 'LABEL=boot /boot ext4 defaults 0 2']);
        const conf = fs.read('/boot/extlinux/extlinux.conf') ?? '';
        expect(conf).toMatch(/^\s*APPEND root=\/dev\/mapper\/vg0-root ro console=tty0 console=ttyS0,115200n8$/m);
        // extlinux reads the /boot filesystem: the kernel at its top, not under /boot.
        expect(conf).toMatch(/^\s*LINUX \/vmlinuz-\S+-cloud-amd64$/m);
        // The kernel and initramfs are on the boot partition's filesystem (mounted over /boot), not the root's.
        const kernel = fs.resolve(`/boot${/^\s*LINUX (\S+)$/m.exec(conf)?.[1] ?? '/none'}`);
        expect(statSync(kernel).dev).not.toBe(statSync(img(name).mountPoint).dev);
        expect(statSync(fs.resolve('/boot/extlinux/ldlinux.sys')).dev).toBe(statSync(kernel).dev);
      });

      it("lvm2 is installed and its initramfs activates the VG (lvm, LVM's udev rules, dm-mod)", async () => {
        const image = img(name);
        const pkgs = installedPackages(image.fs);
        for (const p of ['lvm2', 'dmsetup', 'cloud-guest-utils']) expect(pkgs.has(p), p).toBe(true);
        expect(pkgs.has('btrfs-progs')).toBe(false);
        const files = await initramfsFiles(image);
        // Bookworm's lvm2 activates from udev in the initramfs: 69-lvm.rules runs pvscan and vgchange -aay when the PV appears.
        for (const want of [/^(usr\/)?s?bin\/lvm$/, /^(usr\/)?lib\/udev\/rules\.d\/56-lvm\.rules$/, /^(usr\/)?lib\/udev\/rules\.d\/69-lvm\.rules$/, /\/kernel\/drivers\/md\/dm-mod\.ko$/]) {
          expect(
            files.some((f) => want.test(f)),
            String(want),
          ).toBe(true);
        }
      });

      it('the root grows with the disk: grow-lvm-root.service (enabled) runs growpart, pvresize, lvextend -r', () => {
        const { fs } = img(name);
        const unit = enabledUnits(fs).find((u) => u.name === 'grow-lvm-root.service');
        expect(unit?.text).toMatch(/^ExecStart=\/usr\/local\/sbin\/grow-lvm-root$/m);
        expect(fs.lstat('/usr/local/sbin/grow-lvm-root')!.mode & 0o111).toBe(0o111);
        const script = fs.read('/usr/local/sbin/grow-lvm-root') ?? '';
        expect(script).toMatch(/^\s*growpart /m);
        expect(script).toMatch(/^\s*pvresize /m);
        expect(script).toMatch(/^\s*lvextend -r -l \+100%FREE /m);
        for (const tool of ['/usr/bin/growpart', '/usr/sbin/pvresize', '/usr/sbin/lvextend', '/usr/sbin/fsadm', '/usr/sbin/resize2fs']) expect(fs.exists(tool), tool).toBe(true);
      });
    });

    describe('debian-12-btrfs', () => {
      const name = 'debian-12-btrfs';

      it('the root is the btrfs top-level subvolume: no subvolume below it, none named in fstab or on the command line', async () => {
        const { fs, mountPoint } = img(name);
        expect(fs.read('/etc/fstab')).toMatch(/^LABEL=root \/ btrfs defaults 0 0$/m);
        expect(fs.read('/etc/fstab')).not.toMatch(/subvol/);
        expect(fs.read('/boot/extlinux/extlinux.conf')).not.toMatch(/rootflags|subvol/);
        if (existsSync('/usr/bin/btrfs')) expect((await run('btrfs', ['subvolume', 'list', mountPoint])).stdout.trim()).toBe('');
      });

      it('btrfs-progs is installed and its initramfs carries the btrfs tool and module', async () => {
        const image = img(name);
        const pkgs = installedPackages(image.fs);
        expect(pkgs.has('btrfs-progs')).toBe(true);
        expect(pkgs.has('lvm2')).toBe(false);
        const files = await initramfsFiles(image);
        for (const want of [/^usr\/s?bin\/btrfs$/, /\/kernel\/fs\/btrfs\/btrfs\.ko$/])
          expect(
            files.some((f) => want.test(f)),
            String(want),
          ).toBe(true);
      });

      it('the signed GRUB on the ESP reads btrfs (a built-in module) and finds root by its label', async () => {
        const image = img(name);
        const grub = parsePe(await espFile(image, '/EFI/BOOT/grubx64.efi'));
        expect(grub.sections.get('mods')?.toString('latin1')).toContain('btrfs');
        expect((await espFile(image, '/EFI/debian/grub.cfg')).toString('utf8')).toContain('search --no-floppy --label root --set=root');
      });
    });
  });

  describe('planted defects', () => {
    const ids = Object.keys(EXPECTED_IN_FLAWED);

    it('every check id has a detector', () => {
      expect(Object.keys(detectors).sort()).toEqual([...ids].sort());
    });

    describe.each(ids)('%s', (id) => {
      it.each(FLAWED_IMAGES)('is present in %s', (name) => {
        const findings = detectors[id]!(img(name).fs);
        const wanted = (name === 'debian-13-flawed' ? EXPECTED_IN_TRIXIE_FLAWED[id] : undefined) ?? EXPECTED_IN_FLAWED[id]!;
        for (const want of wanted) {
          expect(
            findings.some((f) => f.includes(want)),
            `${id}: wanted "${want}" in ${JSON.stringify(findings)}`,
          ).toBe(true);
        }
      });

      it.each(CLEAN_IMAGES)('is absent from %s', (name) => {
        // debian-12-minimal keeps OpenSSH's default MACs: its umac-64 and SHA-1 ETM MACs are a `should`
        // finding under the baseline policy, not a planted defect.
        const expected = name === 'debian-12-minimal' && id === 'ssh-weak-macs' ? algorithms(SSHD_DEFAULTS, 'macs').filter((a) => WEAK_MAC.test(a)) : [];
        expect(detectors[id]!(img(name).fs)).toEqual(expected);
      });
    });

    it.each(FLAWED_IMAGES)('pkg-integrity: %s changes exactly one package file', (name) => {
      expect(detectors['pkg-integrity']!(img(name).fs)).toEqual(['init-system-helpers: /usr/sbin/service']);
    });
  });

  describe('clean images: what a careful vendor ships', () => {
    describe.each(HARDENED_SSHD_IMAGES)('%s', (name) => {
      it('sshd is hardened by a drop-in that sorts before cloud-init', () => {
        const { fs } = img(name);
        expect(fs.list('/etc/ssh/sshd_config.d')).toEqual(['10-hardening.conf']);
        const e = sshdEffective(fs);
        expect(e).toMatchObject({
          passwordauthentication: 'no',
          kbdinteractiveauthentication: 'no',
          permitrootlogin: 'no',
          permitemptypasswords: 'no',
          x11forwarding: 'no',
          allowagentforwarding: 'no',
          allowtcpforwarding: 'no',
          permittunnel: 'no',
          maxauthtries: '3',
          logingracetime: '30',
          // OpenSSH 8.4 (Debian 11) has no sntrup761x25519-sha512 (8.5): the same list without it.
          kexalgorithms: name === 'debian-11-clean' ? 'curve25519-sha256,curve25519-sha256@libssh.org' : 'sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org',
          ciphers: 'chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr',
          macs: 'hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com',
        });
        expect(e.hostkeyalgorithms?.split(',').every((a) => /^(ssh-ed25519|rsa-sha2-(256|512))/.test(a))).toBe(true);
        // OpenSSH 8.4 names: PubkeyAcceptedKeyTypes (PubkeyAcceptedAlgorithms from 8.5), and
        // ChallengeResponseAuthentication (the older name of KbdInteractiveAuthentication, 8.7) also off.
        const pubkey = name === 'debian-11-clean' ? e.pubkeyacceptedkeytypes : e.pubkeyacceptedalgorithms;
        expect(pubkey?.split(',').every((a) => !/ssh-rsa$|ssh-dss|sha1/.test(a))).toBe(true);
        if (name === 'debian-11-clean') {
          expect(e.challengeresponseauthentication).toBe('no');
          expect(e.pubkeyacceptedalgorithms).toBeUndefined();
        }
      });
    });

    describe.each(CLEAN_IMAGES)('%s', (name) => {
      it('machine-id empty, D-Bus id (where D-Bus is installed) a link to it, root locked, hostname not baked', () => {
        const { fs } = img(name);
        expect(fs.read('/etc/machine-id')).toBe('');
        if (name === 'debian-12-minimal') expect(fs.lstat('/var/lib/dbus')).toBeUndefined();
        else expect(fs.lstat('/var/lib/dbus/machine-id')?.isSymbolicLink()).toBe(true);
        expect(fs.read('/etc/shadow')).toMatch(/^root:[*!]/m);
        expect(fs.read('/etc/hostname')?.trim()).toBe('localhost');
      });

      it('no apt lists or package caches, no build logs, no resolv.conf, nothing in /tmp', () => {
        const { fs } = img(name);
        // Only the layouts that need them carry the packages fetched beside the rootfs.
        expect(installedPackages(fs).has('lvm2')).toBe(name === 'debian-12-lvm');
        expect(installedPackages(fs).has('btrfs-progs')).toBe(name === 'debian-12-btrfs');
        expect(fs.list('/var/lib/apt/lists').filter((f) => f !== 'partial' && f !== 'lock')).toEqual([]);
        expect(fs.list('/var/cache/apt').filter((f) => f.endsWith('.bin'))).toEqual([]);
        expect(fs.list('/var/cache/apt/archives').filter((f) => f.endsWith('.deb'))).toEqual([]);
        expect(fs.list('/var/log').filter((f) => /^(dpkg|alternatives|bootstrap)\.log$/.test(f))).toEqual([]);
        expect(fs.lstat('/etc/resolv.conf')).toBeUndefined();
        expect(fs.list('/tmp')).toEqual([]);
        expect(installedPackages(fs).has('telnetd')).toBe(false);
      });
    });
  });

  describe("debian-12-minimal: no D-Bus, Debian's stock sshd settings", () => {
    const name = 'debian-12-minimal';

    it('D-Bus is not installed (no daemon, no unit, no package); systemd-logind is masked; systemd, sshd and cloud-init are', () => {
      const { fs } = img(name);
      const pkgs = installedPackages(fs);
      for (const p of ['dbus', 'dbus-daemon', 'dbus-system-bus-common', 'dbus-bin']) expect(pkgs.has(p), p).toBe(false);
      for (const p of ['systemd', 'openssh-server', 'cloud-init', 'sudo', 'systemd-timesyncd']) expect(pkgs.has(p), p).toBe(true);
      expect(fs.exists('/usr/bin/dbus-daemon')).toBe(false);
      expect(fs.exists('/lib/systemd/system/dbus.service')).toBe(false);
      expect(fs.lstat('/etc/systemd/system/systemd-logind.service')?.isSymbolicLink()).toBe(true);
      expect(fs.readlink('/etc/systemd/system/systemd-logind.service')).toBe('/dev/null');
    });

    it("sshd_config is Debian's stock file; one drop-in turns password and keyboard-interactive login off, the rest are OpenSSH's defaults", () => {
      const { fs } = img(name);
      expect(fs.read('/etc/ssh/sshd_config')).toBe(fs.read('/usr/share/openssh/sshd_config'));
      expect(fs.list('/etc/ssh/sshd_config.d')).toEqual(['10-no-passwords.conf']);
      const e = sshdEffective(fs);
      expect(e).toMatchObject({ passwordauthentication: 'no', kbdinteractiveauthentication: 'no', x11forwarding: 'yes' });
      for (const key of ['kexalgorithms', 'ciphers', 'macs', 'maxauthtries', 'logingracetime', 'permitrootlogin', 'allowtcpforwarding']) expect(e[key], key).toBe(SSHD_DEFAULTS[key]);
    });
  });

  it('the fixture files were only read', () => {
    for (const name of IMAGES) {
      const st = statSync(img(name).qcow2);
      expect({ size: st.size, mtimeMs: st.mtimeMs, ino: st.ino }).toEqual(before.get(name));
    }
  });
});
