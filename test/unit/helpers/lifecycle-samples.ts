/**
 * Command output samples for the instance-lifecycle suite, as a Debian 12 guest prints them (systemd 252,
 * util-linux 2.38.1, e2fsprogs 1.47.0, iproute2 6.1, chrony 4.3, ntpsec 1.2.2, cloud-init 22.4.2), and
 * a scripted pair of guests built from them: clean by default, each defect of the flawed fixture a patch.
 * The lsblk/findmnt JSON shapes and the dumpe2fs header were taken from the real tools on Debian 12.
 */
import { BOOT_ERRORS_ARGV } from '../../../suites/instance-lifecycle/commands/journalctl.js';
import { FAILED_UNITS_ARGS } from '../../../suites/instance-lifecycle/commands/systemctl.js';
import { ROOT_ARGV, FSTAB_ARGV, MOUNTED_ARGV } from '../../../suites/instance-lifecycle/commands/findmnt.js';
import { lsblkArgv } from '../../../suites/instance-lifecycle/commands/lsblk.js';
import { GROWTH_LOG_ARGV, SEM_ARGV } from '../../../suites/instance-lifecycle/commands/cloud-init.js';
import { IP_ADDR_ARGV } from '../../../suites/instance-lifecycle/commands/ip.js';
import { TIME_UNITS } from '../../../suites/instance-lifecycle/commands/timesync.js';
import type { FakeAnswer } from './fake-guest.js';

export const GiB = 1024 ** 3;
/** The fixture images are 2 GiB; the runner adds guest.diskGrowthGiB (default 2). */
export const DISK_BYTES = 4 * GiB;

// ------------------------------------------------------------------ systemctl

export const FAILED_UNITS_FLAWED = 'imgtest-build-leftover.service loaded failed failed Leftover from the image build\n';
/** The same two units as systemd < 248 or without --plain prints them: a bullet first. */
export const FAILED_UNITS_BULLETS = [
  '● imgtest-build-leftover.service       loaded failed failed Leftover from the image build',
  '● systemd-networkd-wait-online.service loaded failed failed Wait for Network to be Configured',
  '',
].join('\n');

export const LEFTOVER_JOURNAL = `Nov 30 06:40:11 imgtest-a1b2-g1 systemd[1]: Starting imgtest-build-leftover.service - Leftover from the image build...
Nov 30 06:40:11 imgtest-a1b2-g1 imgtest-leftover[412]: /usr/local/sbin/build-cleanup: not found
Nov 30 06:40:11 imgtest-a1b2-g1 systemd[1]: imgtest-build-leftover.service: Main process exited, code=exited, status=127/n/a
Nov 30 06:40:11 imgtest-a1b2-g1 systemd[1]: imgtest-build-leftover.service: Failed with result 'exit-code'.
Nov 30 06:40:11 imgtest-a1b2-g1 systemd[1]: Failed to start imgtest-build-leftover.service - Leftover from the image build.
`;

export function showBlock(id: string, load: string, active: string, sub: string, file: string): string {
  return `Id=${id}\nLoadState=${load}\nActiveState=${active}\nSubState=${sub}\nUnitFileState=${file}\n`;
}

/** Debian's chrony.service says `Alias=chronyd.service`: systemctl show of the alias prints the unit's own block. */
const ALIASES: Record<string, string> = { 'chronyd.service': 'chrony.service' };

/** `systemctl show` of every time sync unit; by default the clean image's: only systemd-timesyncd is installed. */
export function timeUnitsShow(installed: Record<string, [active: string, sub: string, file: string]> = { 'systemd-timesyncd.service': ['active', 'running', 'enabled'] }): string {
  return Object.keys(TIME_UNITS)
    .map((asked) => {
      const unit = installed[asked] ? asked : ALIASES[asked] && installed[ALIASES[asked]!] ? ALIASES[asked]! : asked;
      const state = installed[unit];
      return state ? showBlock(unit, 'loaded', state[0], state[1], state[2]) : showBlock(unit, 'not-found', 'inactive', 'dead', '');
    })
    .join('\n');
}

export const TIME_UNITS_KEY = `[sudo] systemctl show --property=Id,LoadState,ActiveState,SubState,UnitFileState ${Object.keys(TIME_UNITS).join(' ')}`;

// ------------------------------------------------------------------ journal

interface JournalLine {
  mono: number;
  message: string;
  identifier?: string;
  transport?: string;
  unit?: string;
}

export function journalJson(lines: readonly JournalLine[]): string {
  return lines
    .map((l, i) =>
      JSON.stringify({
        __CURSOR: `s=4f0c2b7e9a2d4c7fb3f1c6f0a1e2d3c4;i=${(0x2f0 + i).toString(16)};b=9b1c3e5a7d2f4e6c8a0b1d3f5e7c9a1b;m=${l.mono.toString(16)};t=60c5e1b2d3f40;x=5d1c9e0f3a2b4c6d`,
        __REALTIME_TIMESTAMP: String(1764484811000000 + l.mono),
        __MONOTONIC_TIMESTAMP: String(l.mono),
        _BOOT_ID: '9b1c3e5a7d2f4e6c8a0b1d3f5e7c9a1b',
        _MACHINE_ID: '6f1d2c3b4a5968778695a4b3c2d1e0f1',
        _HOSTNAME: 'imgtest-a1b2-g1',
        PRIORITY: '3',
        _TRANSPORT: l.transport ?? 'kernel',
        SYSLOG_FACILITY: l.transport === 'kernel' || !l.transport ? '0' : '3',
        SYSLOG_IDENTIFIER: l.identifier ?? 'kernel',
        MESSAGE: l.message,
        ...(l.unit ? { _SYSTEMD_UNIT: l.unit } : {}),
      }),
    )
    .join('\n')
    .concat('\n');
}

/** Clean boot: the seed CD-ROM probe (ignored by default) and, after readiness, sshd refusing a login probe. */
export const JOURNAL_CLEAN = journalJson([
  { mono: 3_456_789, message: 'I/O error, dev sr0, sector 8 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 2' },
  { mono: 3_457_001, message: 'Buffer I/O error on dev sr0, logical block 1, async page read' },
  {
    mono: 185_000_000,
    identifier: 'sshd',
    transport: 'syslog',
    unit: 'ssh.service',
    message: 'error: maximum authentication attempts exceeded for invalid user root from 10.78.0.1 port 51234 ssh2 [preauth]',
  },
]);

/** The flawed fixture: a unit prints to /dev/kmsg at priority 3, and the leftover unit fails. */
export const JOURNAL_FLAWED = journalJson([
  { mono: 3_456_789, message: 'I/O error, dev sr0, sector 8 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 2' },
  { mono: 7_812_345, identifier: 'imgtest-planted', message: 'planted kernel error at boot (imgtest fixture)' },
  { mono: 8_123_456, identifier: 'systemd', transport: 'journal', message: 'Failed to start imgtest-build-leftover.service - Leftover from the image build.' },
  {
    mono: 185_000_000,
    identifier: 'sshd',
    transport: 'syslog',
    unit: 'ssh.service',
    message: 'error: maximum authentication attempts exceeded for invalid user root from 10.78.0.1 port 51234 ssh2 [preauth]',
  },
]);

/** cloud-final.service became active 61.2 s after the kernel started. */
export const CLOUD_FINAL_ACTIVE_US = '61234567\n';
export const CLOUD_FINAL_KEY = '[sudo] systemctl show --property=ActiveEnterTimestampMonotonic --value cloud-final.service';

// ------------------------------------------------------------------ systemd-analyze

export const ANALYZE_KVM = 'Startup finished in 1.893s (kernel) + 2.214s (initrd) + 18.022s (userspace) = 22.130s \nmulti-user.target reached after 17.950s in userspace\n';
export const ANALYZE_TCG = 'Startup finished in 12.518s (kernel) + 1min 35.114s (userspace) = 1min 47.633s \ngraphical.target reached after 1min 34.870s in userspace\n';
export const ANALYZE_UEFI = 'Startup finished in 4.160s (firmware) + 2.796s (loader) + 5.831s (kernel) + 18.885s (userspace) = 31.673s \nmulti-user.target reached after 18.801s in userspace\n';
export const ANALYZE_NOT_FINISHED =
  "Bootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).\nPlease try again later.\nHint: Use 'systemctl list-jobs' to see active jobs\n";

// ------------------------------------------------------------------ disks

const SECTOR = 512;
const ESP_START = 2048;
const ESP_SECTORS = 204800; // 100 MiB
const ROOT_START = ESP_START + ESP_SECTORS;

/** GPT's last usable sector on a disk of `bytes`: 33 sectors of backup header (and the LBA count starts at 0). */
const lastUsable = (bytes: number): number => bytes / SECTOR - 34;

/** Root partition (p2) size when it ends at the last usable sector of a disk of `bytes`. */
export const rootPartitionBytes = (bytes: number): number => (lastUsable(bytes) - ROOT_START + 1) * SECTOR;

/** `findmnt -n -b -J -o SOURCE,FSTYPE,SIZE,TARGET /` (statfs size: a bit below the partition). */
export function findmntRoot(source = '/dev/vda2', fstype = 'ext4', size = 4_052_750_336): string {
  return `{\n   "filesystems": [\n      {\n         "source": "${source}",\n         "fstype": "${fstype}",\n         "size": ${size},\n         "target": "/"\n      }\n   ]\n}\n`;
}

interface Dev {
  name: string;
  type: string;
  size: number;
  start?: number | null;
  fstype?: string | null;
  mountpoint?: string | null;
  kname?: string;
  children?: Dev[];
}

function lsblkDev(d: Dev, parent?: Dev): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: d.name,
    kname: d.kname ?? d.name,
    pkname: parent ? (parent.kname ?? parent.name) : null,
    type: d.type,
    size: d.size,
    start: d.start ?? null,
    fstype: d.fstype ?? null,
    mountpoint: d.mountpoint ?? null,
  };
  if (d.children) out.children = d.children.map((c) => lsblkDev(c, d));
  return out;
}

export const lsblkJson = (devices: readonly Dev[]): string => `${JSON.stringify({ blockdevices: devices.map((d) => lsblkDev(d)) }, null, 3)}\n`;

const SEED_ROM: Dev = { name: 'sr0', type: 'rom', size: 374_784, fstype: 'iso9660' };

/** The fixture's GPT disk: p1 ESP, p2 ext4 root; `rootBytes` of root partition on a disk of `diskBytes`. */
export function lsblkGpt(diskBytes = DISK_BYTES, rootBytes = rootPartitionBytes(diskBytes)): string {
  return lsblkJson([
    SEED_ROM,
    {
      name: 'vda',
      type: 'disk',
      size: diskBytes,
      children: [
        { name: 'vda1', type: 'part', size: ESP_SECTORS * SECTOR, start: ESP_START, fstype: 'vfat', mountpoint: '/boot/efi' },
        { name: 'vda2', type: 'part', size: rootBytes, start: ROOT_START, fstype: 'ext4', mountpoint: '/' },
      ],
    },
  ]);
}

/** Root on LVM: vda3 is the physical volume, vg0-root (dm-0) the logical volume. */
export function lsblkLvm(diskBytes = DISK_BYTES): string {
  const pvStart = ROOT_START + 1_048_576; // after a 512 MiB /boot
  const pvBytes = (lastUsable(diskBytes) - pvStart + 1) * SECTOR;
  return lsblkJson([
    {
      name: 'vda',
      type: 'disk',
      size: diskBytes,
      children: [
        { name: 'vda1', type: 'part', size: ESP_SECTORS * SECTOR, start: ESP_START, fstype: 'vfat', mountpoint: '/boot/efi' },
        { name: 'vda2', type: 'part', size: 1_048_576 * SECTOR, start: ROOT_START, fstype: 'ext4', mountpoint: '/boot' },
        {
          name: 'vda3',
          type: 'part',
          size: pvBytes,
          start: pvStart,
          fstype: 'LVM2_member',
          children: [{ name: 'vg0-root', kname: 'dm-0', type: 'lvm', size: pvBytes - 4 * 1024 * 1024, fstype: 'xfs', mountpoint: '/' }],
        },
      ],
    },
  ]);
}

/** The head of `dumpe2fs -h` (e2fsprogs 1.47.0) for an ext4 of `bytes` (4 KiB blocks). */
export function dumpe2fs(bytes: number): string {
  const blocks = Math.floor(bytes / 4096);
  return `Filesystem volume name:   root
Last mounted on:          /
Filesystem UUID:          83283e11-f141-4a10-ae8a-6859e49d6d62
Filesystem magic number:  0xEF53
Filesystem revision #:    1 (dynamic)
Filesystem features:      has_journal ext_attr resize_inode dir_index filetype needs_recovery extent 64bit flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum
Filesystem flags:         signed_directory_hash 
Default mount options:    user_xattr acl
Filesystem state:         clean
Errors behavior:          Continue
Filesystem OS type:       Linux
Inode count:              ${Math.floor(blocks / 4)}
Block count:              ${blocks}
Reserved block count:     ${Math.floor(blocks / 20)}
Overhead clusters:        ${Math.floor(blocks * 0.036)}
Free blocks:              ${Math.floor(blocks * 0.6)}
Free inodes:              ${Math.floor(blocks / 4) - 30_000}
First block:              0
Block size:               4096
Fragment size:            4096
Group descriptor size:    64
Reserved GDT blocks:      231
Blocks per group:         32768
Fragments per group:      32768
Inodes per group:         7920
Inode blocks per group:   495
Flex block group size:    16
Inode size:	          256
Journal inode:            8
Journal backup:           inode blocks
Checksum type:            crc32c
Total journal size:       64M
`;
}

export const XFS_INFO = `meta-data=/dev/mapper/vg0-root   isize=512    agcount=4, agsize=198400 blks
         =                       sectsz=512   attr=2, projid32bit=1
         =                       crc=1        finobt=1, sparse=1, rmapbt=0
         =                       reflink=1    bigtime=1 inobtcount=1 nrext64=0
data     =                       bsize=4096   blocks=793600, imaxpct=25
         =                       sunit=0      swidth=0 blks
naming   =version 2              bsize=4096   ascii-ci=0, ftype=1
log      =internal log           bsize=4096   blocks=16384, version=2
         =                       sectsz=512   sunit=0 blks, lazy-count=1
realtime =none                   extsz=4096   blocks=0, rtextents=0
`;

export const BTRFS_USAGE = `Overall:
    Device size:\t\t  4189044224
    Device allocated:\t\t  1103101952
    Device unallocated:\t\t  3085942272
    Device missing:\t\t           0
    Device slack:\t\t           0
    Used:\t\t\t   812138496
    Free (estimated):\t\t  3265912832\t(min: 1723941696)
    Free (statfs, df):\t\t  3264851968
    Data ratio:\t\t\t        1.00
    Metadata ratio:\t\t        2.00
    Global reserve:\t\t     5767168\t(min: 5767168)
    Multiple profiles:\t\t          no

Data,single: Size:805306368, Used:626475008 (77.79%)
   /dev/vda2\t 805306368
`;

export const DF_SIZE = '1B-blocks\n4052750336\n';
export const DF_H = 'Filesystem      Size  Used Avail Use% Mounted on\n/dev/vda2       3.8G  1.1G  2.5G  31% /\n';

export const GROWTH_LOG_CLEAN = `2025-11-30 06:40:16,120 - cc_growpart.py[DEBUG]: No 'growpart' entry in cfg.  Using default: {'mode': 'auto', 'devices': ['/'], 'ignore_growroot_disabled': False}
2025-11-30 06:40:16,290 - subp.py[DEBUG]: Running command ['growpart', '--dry-run', '/dev/vda', '2'] with allowed return codes [0] (shell=False, capture=True)
2025-11-30 06:40:16,702 - subp.py[DEBUG]: Running command ['growpart', '/dev/vda', '2'] with allowed return codes [0] (shell=False, capture=True)
2025-11-30 06:40:17,410 - util.py[DEBUG]: resize_devices took 1.121 seconds
2025-11-30 06:40:17,411 - cc_growpart.py[INFO]: '/' resized: changed (/dev/vda, 2) from 2041560576 to 4189044224
2025-11-30 06:40:17,420 - cc_resizefs.py[DEBUG]: Resizing / (ext4) using resize2fs /dev/vda2
2025-11-30 06:40:17,421 - subp.py[DEBUG]: Running command ('resize2fs', '/dev/vda2') with allowed return codes [0] (shell=False, capture=True)
`;
export const GROWTH_LOG_NO_GROWPART = `2025-11-30 06:40:16,120 - cc_growpart.py[DEBUG]: No 'growpart' entry in cfg.  Using default: {'mode': 'auto', 'devices': ['/'], 'ignore_growroot_disabled': False}
2025-11-30 06:40:16,131 - cc_growpart.py[DEBUG]: growpart unable to find resizer for 'auto': No resizers available
2025-11-30 06:40:16,150 - cc_resizefs.py[DEBUG]: Resizing / (ext4) using resize2fs /dev/vda2
2025-11-30 06:40:16,151 - subp.py[DEBUG]: Running command ('resize2fs', '/dev/vda2') with allowed return codes [0] (shell=False, capture=True)
`;

// ------------------------------------------------------------------ identity

export const HOST_KEY_FILES = ['/etc/ssh/ssh_host_ecdsa_key.pub', '/etc/ssh/ssh_host_ed25519_key.pub', '/etc/ssh/ssh_host_rsa_key.pub'];

export function keygen(n: number): Record<string, string> {
  const fp = (t: string) => `SHA256:${`${t}${n}`.padEnd(43, 'Q').slice(0, 43)}`;
  return {
    [`ssh-keygen -lf ${HOST_KEY_FILES[0]}`]: `256 ${fp('ecdsa')} root@imgtest-a1b2-g${n} (ECDSA)\n`,
    [`ssh-keygen -lf ${HOST_KEY_FILES[1]}`]: `256 ${fp('ed25519')} root@imgtest-a1b2-g${n} (ED25519)\n`,
    [`ssh-keygen -lf ${HOST_KEY_FILES[2]}`]: `3072 ${fp('rsa')} root@imgtest-a1b2-g${n} (RSA)\n`,
  };
}

export const DHCLIENT_LEASE = `lease {
  interface "enp1s0";
  fixed-address 10.78.0.11;
  option subnet-mask 255.255.255.0;
  option routers 10.78.0.1;
  option dhcp-lease-time 600;
  option dhcp-message-type 5;
  option domain-name-servers 10.78.0.1;
  option dhcp-server-identifier 10.78.0.1;
  option ntp-servers 10.78.0.1;
  renew 0 2025/11/30 06:45:02;
  rebind 0 2025/11/30 06:49:27;
  expire 0 2025/11/30 06:50:42;
}
`;
export const DHCLIENT_LEASE_BAKED_DUID = `default-duid "\\000\\001\\000\\001,\\234\\243\\020RT\\000\\022\\064V";\n${DHCLIENT_LEASE}`;

export const NETWORKD_LEASE = `# This is private data. Do not parse.
ADDRESS=10.78.0.11
NETMASK=255.255.255.0
ROUTER=10.78.0.1
SERVER_ADDRESS=10.78.0.1
NEXT_SERVER=0.0.0.0
T1=300
T2=525
LIFETIME=600
DNS=10.78.0.1
NTP=10.78.0.1
CLIENTID=ff0ad7a9e400020000ab11b7d4e0f6f2a3b2a1
`;

export function ipAddr(mac: string, address: string, ifname = 'enp1s0'): string {
  return JSON.stringify([
    {
      ifindex: 1,
      ifname: 'lo',
      flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
      mtu: 65536,
      qdisc: 'noqueue',
      operstate: 'UNKNOWN',
      group: 'default',
      txqlen: 1000,
      link_type: 'loopback',
      address: '00:00:00:00:00:00',
      broadcast: '00:00:00:00:00:00',
      addr_info: [
        { family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host', label: 'lo', valid_life_time: 4294967295, preferred_life_time: 4294967295 },
        { family: 'inet6', local: '::1', prefixlen: 128, scope: 'host', valid_life_time: 4294967295, preferred_life_time: 4294967295 },
      ],
    },
    {
      ifindex: 2,
      ifname,
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu: 1500,
      qdisc: 'fq_codel',
      operstate: 'UP',
      group: 'default',
      txqlen: 1000,
      link_type: 'ether',
      address: mac,
      broadcast: 'ff:ff:ff:ff:ff:ff',
      altnames: ['enx525400000011'],
      addr_info: [
        { family: 'inet', local: address, prefixlen: 24, broadcast: '10.78.0.255', scope: 'global', dynamic: true, label: ifname, valid_life_time: 587, preferred_life_time: 587 },
        { family: 'inet6', local: 'fe80::5054:ff:fe00:11', prefixlen: 64, scope: 'link', valid_life_time: 4294967295, preferred_life_time: 4294967295 },
      ],
    },
  ]);
}

export const FSTAB_CLEAN = `{\n   "filesystems": [\n      {\n         "target": "/",\n         "source": "LABEL=root",\n         "fstype": "ext4",\n         "options": "defaults,errors=remount-ro"\n      }\n   ]\n}\n`;
/** What the flawed fixture's first-boot unit appends: a disk that does not exist, without nofail. */
export const FSTAB_FLAWED = `{\n   "filesystems": [\n      {\n         "target": "/",\n         "source": "LABEL=root",\n         "fstype": "ext4",\n         "options": "defaults,errors=remount-ro"\n      },{\n         "target": "/srv/data",\n         "source": "LABEL=imgtest-data",\n         "fstype": "ext4",\n         "options": "defaults"\n      }\n   ]\n}\n`;

export function mountedList(targets: readonly string[]): string {
  const known: Record<string, [string, string]> = {
    '/': ['/dev/vda2', 'ext4'],
    '/boot/efi': ['/dev/vda1', 'vfat'],
    '/proc': ['proc', 'proc'],
    '/sys': ['sysfs', 'sysfs'],
    '/dev': ['udev', 'devtmpfs'],
    '/run': ['tmpfs', 'tmpfs'],
  };
  return JSON.stringify({ filesystems: targets.map((t) => ({ target: t, source: known[t]?.[0] ?? '/dev/vdb', fstype: known[t]?.[1] ?? 'ext4' })) }, null, 3);
}

export const SEM_MODULES = [
  'config_apt_configure',
  'config_keys_to_console',
  'config_locale',
  'config_set_passwords',
  'config_ssh',
  'config_ssh_authkey_fingerprints',
  'config_users_groups',
  'consume_data',
];
export function semListing(base: number): string {
  return SEM_MODULES.map((m, i) => `${(base + i * 0.0131).toFixed(10)} ${m}\n`).join('');
}

// ------------------------------------------------------------------ time

export const CHRONY_SYNCED = `Reference ID    : 0A4E0001 (10.78.0.1)
Stratum         : 11
Ref time (UTC)  : Sun Nov 30 06:42:10 2025
System time     : 0.000012345 seconds fast of NTP time
Last offset     : +0.000005678 seconds
RMS offset      : 0.000010000 seconds
Frequency       : 1.234 ppm slow
Residual freq   : +0.001 ppm
Skew            : 0.050 ppm
Root delay      : 0.000345678 seconds
Root dispersion : 0.000234567 seconds
Update interval : 64.0 seconds
Leap status     : Normal
`;
export const CHRONY_UNSYNCED = `Reference ID    : 00000000 ()
Stratum         : 0
Ref time (UTC)  : Thu Jan 01 00:00:00 1970
System time     : 0.000000000 seconds fast of NTP time
Last offset     : +0.000000000 seconds
RMS offset      : 0.000000000 seconds
Frequency       : 14.883 ppm fast
Residual freq   : +0.000 ppm
Skew            : 0.000 ppm
Root delay      : 1.000000000 seconds
Root dispersion : 1.000000000 seconds
Update interval : 0.0 seconds
Leap status     : Not synchronised
`;
export const NTPQ_SYNCED = `     remote                                   refid      st t when poll reach   delay   offset   jitter
=======================================================================================================
 0.debian.pool.ntp.org                   .POOL.          16 p    -  256    0   0.0000   0.0000   0.0001
*10.78.0.1                               127.127.1.0     10 u   12   64    7   0.3120  -0.0410   0.0290
`;
export const NTPQ_UNSYNCED = `     remote                                   refid      st t when poll reach   delay   offset   jitter
=======================================================================================================
 0.debian.pool.ntp.org                   .POOL.          16 p    -  256    0   0.0000   0.0000   0.0001
 10.78.0.1                               .INIT.          16 u    -   64    0   0.0000   0.0000   0.0001
`;

/** This boot started here (s): /proc/stat btime. */
export const BTIME = 1_764_484_811;

/** /proc/stat of a 1-vCPU guest (the lines before btime shortened). */
export const procStat = (btime = BTIME): string =>
  `cpu  1771 0 2467 117436 1023 0 95 0 0 0\ncpu0 1771 0 2467 117436 1023 0 95 0 0 0\nintr 312345 0 9 0 0 0\nctxt 523411\nbtime ${btime}\nprocesses 1873\nprocs_running 1\nprocs_blocked 0\nsoftirq 201234 0 40123 12 9876 8765 0 1234 60123 0 81101\n`;

/** `stat -L -c '%W %n'` of the seed and cloud-init's instance directory: both made during this (first) boot. */
export const seedBirths = (seed = BTIME + 6, instance = BTIME + 41): string => `${seed} /var/lib/systemd/random-seed\n${instance} /var/lib/cloud/instance\n`;
export const SEED_BIRTH_KEY = '[sudo] stat -L -c %W %n /var/lib/systemd/random-seed /var/lib/cloud/instance';

/** The fake clock of the tests starts here (ms). */
export const T0 = 1_764_484_900_000;
export const epoch = (ms: number): string => `${Math.floor(ms / 1000)}.${String(Math.round((ms % 1000) * 1e6)).padStart(9, '0')}\n`;

// ------------------------------------------------------------------ a whole guest

/** Every command the suite runs on a clean guest `n` (1 or 2), as the fake guest's exec table. */
export function cleanGuestTable(n: number, mac: string, address: string): Record<string, FakeAnswer> {
  const rootBytes = rootPartitionBytes(DISK_BYTES);
  return {
    [`[sudo] systemctl ${FAILED_UNITS_ARGS.join(' ')}`]: '',
    [`[sudo] ${BOOT_ERRORS_ARGV.join(' ')}`]: JOURNAL_CLEAN,
    [CLOUD_FINAL_KEY]: CLOUD_FINAL_ACTIVE_US,
    '[sudo] systemd-analyze time': ANALYZE_KVM,
    'cat /etc/machine-id': `6f1d2c3b4a5968778695a4b3c2d1e0f${n}\n`,
    'find /etc/ssh -maxdepth 1 -type f -name ssh_host_*_key.pub': `${HOST_KEY_FILES.join('\n')}\n`,
    ...keygen(n),
    '[sudo] find /var/lib/dhcp -maxdepth 1 -type f -name *.leases': '/var/lib/dhcp/dhclient.enp1s0.leases\n',
    '[sudo] cat /var/lib/dhcp/dhclient.enp1s0.leases': DHCLIENT_LEASE.replace('10.78.0.11', address),
    '[sudo] find /run/systemd/netif/leases -maxdepth 1 -type f -name *': { exitCode: 1, stderr: "find: '/run/systemd/netif/leases': No such file or directory\n" },
    '[sudo] sha256sum /var/lib/systemd/random-seed': `${String(n).repeat(64)}  /var/lib/systemd/random-seed\n`,
    [SEED_BIRTH_KEY]: seedBirths(),
    'cat /proc/stat': procStat(),
    'cat /proc/sys/kernel/hostname': `imgtest-a1b2-g${n}\n`,
    '[sudo] cat /var/lib/cloud/data/instance-id': `iid-imgtest-run1-g${n}\n`,
    [TIME_UNITS_KEY]: timeUnitsShow(),
    'test -e /run/systemd/timesync/synchronized': '',
    'date +%s.%N': epoch(T0 + 12),
    [ROOT_ARGV.join(' ')]: findmntRoot(),
    [lsblkArgv().join(' ')]: lsblkGpt(DISK_BYTES, rootBytes),
    '[sudo] dumpe2fs -h /dev/vda2': { stdout: dumpe2fs(rootBytes), stderr: 'dumpe2fs 1.47.0 (5-Feb-2023)\n' },
    'df -h /': DF_H,
    [`[sudo] ${GROWTH_LOG_ARGV.join(' ')}`]: GROWTH_LOG_CLEAN,
    [IP_ADDR_ARGV.join(' ')]: ipAddr(mac, address),
    [FSTAB_ARGV.join(' ')]: FSTAB_CLEAN,
    [MOUNTED_ARGV.join(' ')]: mountedList(['/', '/boot/efi', '/proc', '/sys', '/dev', '/run']),
    [`[sudo] ${SEM_ARGV.join(' ')}`]: semListing(1_764_484_815),
    '[sudo] timeout 600 systemctl is-system-running --wait': 'running\n',
  };
}
