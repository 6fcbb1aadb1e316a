import { describe, expect, it } from 'vitest';
import { parseMtimes } from '../../suites/instance-lifecycle/commands/cloud-init.js';
import { fstabEntries, jsonNumber, parseFindmnt } from '../../suites/instance-lifecycle/commands/findmnt.js';
import { parseBtrfsUsage, parseDfSize, parseDumpe2fs, parseXfsInfo } from '../../suites/instance-lifecycle/commands/fs-size.js';
import { bakedSeed, parseBirthTimes, parseBtime, parseDefaultDuid, parseNetworkdClientId, parseSha256sum } from '../../suites/instance-lifecycle/commands/identity.js';
import { parseIpAddr } from '../../suites/instance-lifecycle/commands/ip.js';
import { ignoreRules } from '../../suites/instance-lifecycle/checks/boot-errors.js';
import { DEFAULT_BOOT_ERROR_IGNORE, formatEntry, parseJournalJson, splitBootErrors } from '../../suites/instance-lifecycle/commands/journalctl.js';
import { parseLsblk, rootChain } from '../../suites/instance-lifecycle/commands/lsblk.js';
import { fingerprintOfPublicKey, parseKeygenFingerprint } from '../../suites/instance-lifecycle/commands/ssh-keys.js';
import { parseFailedUnits, parseUnitStates } from '../../suites/instance-lifecycle/commands/systemctl.js';
import { parseSystemdAnalyzeTime, parseTimespan } from '../../suites/instance-lifecycle/commands/systemd-analyze.js';
import { chronySynchronised, installedTimeUnits, parseChronyTracking, parseEpoch, parseNtpqPeers } from '../../suites/instance-lifecycle/commands/timesync.js';
import * as s from './helpers/lifecycle-samples.js';

describe('systemctl', () => {
  it('reads systemctl --failed --no-legend --plain (systemd 252)', () => {
    expect(parseFailedUnits(s.FAILED_UNITS_FLAWED)).toEqual([
      { unit: 'imgtest-build-leftover.service', load: 'loaded', active: 'failed', sub: 'failed', description: 'Leftover from the image build' },
    ]);
    expect(parseFailedUnits('')).toEqual([]);
    expect(parseFailedUnits('\n')).toEqual([]);
  });

  it('drops the bullet older systemd prints before failed units, and keeps the aligned columns apart', () => {
    const units = parseFailedUnits(s.FAILED_UNITS_BULLETS);
    expect(units.map((u) => u.unit)).toEqual(['imgtest-build-leftover.service', 'systemd-networkd-wait-online.service']);
    expect(units[1]!.description).toBe('Wait for Network to be Configured');
  });

  it('reads systemctl show blocks, one per unit, a missing unit included', () => {
    const states = parseUnitStates(s.timeUnitsShow({ 'chrony.service': ['active', 'running', 'enabled'] }));
    expect(states).toHaveLength(6);
    expect(states.find((u) => u.id === 'chrony.service')).toMatchObject({ loadState: 'loaded', activeState: 'active', unitFileState: 'enabled' });
    expect(states.find((u) => u.id === 'systemd-timesyncd.service')).toMatchObject({ loadState: 'not-found', unitFileState: '' });
  });

  it('keeps the installed time units, one per Id (chronyd.service is an alias of chrony.service on Debian)', () => {
    const text = [
      s.showBlock('systemd-timesyncd.service', 'loaded', 'inactive', 'dead', 'disabled'),
      s.showBlock('chrony.service', 'loaded', 'active', 'running', 'enabled'),
      s.showBlock('chrony.service', 'loaded', 'active', 'running', 'enabled'),
      s.showBlock('ntpsec.service', 'not-found', 'inactive', 'dead', ''),
    ].join('\n');
    const units = installedTimeUnits(parseUnitStates(text));
    expect(units.map((u) => [u.unit, u.service, u.enabled, u.active])).toEqual([
      ['systemd-timesyncd.service', 'timesyncd', false, false],
      ['chrony.service', 'chrony', true, true],
    ]);
  });
});

describe('journalctl -o json', () => {
  it('reads priority, monotonic time, identifier and message of each entry', () => {
    const entries = parseJournalJson(s.JOURNAL_FLAWED);
    expect(entries).toHaveLength(4);
    expect(entries[1]).toMatchObject({ monotonicUs: 7_812_345, priority: 3, identifier: 'imgtest-planted', message: 'planted kernel error at boot (imgtest fixture)', transport: 'kernel' });
    expect(entries[3]).toMatchObject({ identifier: 'sshd', unit: 'ssh.service' });
    expect(formatEntry(entries[1]!)).toBe('[    7.812345] imgtest-planted: planted kernel error at boot (imgtest fixture)');
  });

  it('decodes a MESSAGE journalctl wrote as a byte array (not UTF-8 clean) and skips garbage lines', () => {
    const line = JSON.stringify({ __MONOTONIC_TIMESTAMP: '1000', PRIORITY: '2', _TRANSPORT: 'kernel', MESSAGE: [...Buffer.from('EXT4-fs error (device vda2): bad \xff')] });
    const entries = parseJournalJson(`-- No entries --\n${line}\nnot json {\n`);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ identifier: 'kernel', priority: 2 });
    expect(entries[0]!.message).toContain('EXT4-fs error (device vda2): bad');
  });

  it('keeps errors up to the cut-off, counts the ignored ones and sets later ones apart', () => {
    const split = splitBootErrors(parseJournalJson(s.JOURNAL_CLEAN), 61_234_567, DEFAULT_BOOT_ERROR_IGNORE);
    expect(split.kept).toEqual([]);
    expect(split.ignored.map((i) => i.entry.message)).toEqual([
      'I/O error, dev sr0, sector 8 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 2',
      'Buffer I/O error on dev sr0, logical block 1, async page read',
    ]);
    expect(split.late.map((e) => e.identifier)).toEqual(['sshd']);
  });

  it("ignores Debian 13.5's systemd-ssh-generator vsock regression (both lines), not another generator's failure", () => {
    const entries = parseJournalJson(
      s.journalJson([
        { mono: 2_000_000, identifier: 'systemd-ssh-generator', transport: 'journal', message: 'Failed to query local AF_VSOCK CID: Cannot assign requested address' },
        { mono: 2_000_100, identifier: '(sd-exec-', transport: 'journal', message: '/usr/lib/systemd/system-generators/systemd-ssh-generator failed with exit status 1.' },
        { mono: 2_000_200, identifier: '(sd-exec-', transport: 'journal', message: '/usr/lib/systemd/system-generators/systemd-fstab-generator failed with exit status 1.' },
      ]),
    );
    const split = splitBootErrors(entries, 60e6, DEFAULT_BOOT_ERROR_IGNORE);
    expect(split.ignored.map((i) => i.rule.why)).toEqual([expect.stringContaining('systemd/systemd#42188'), expect.stringContaining('systemd/systemd#42188')]);
    expect(split.kept.map((e) => e.message)).toEqual(['/usr/lib/systemd/system-generators/systemd-fstab-generator failed with exit status 1.']);
  });

  it('a serial console device timeout is ignored on a TCG guest only, and counted under KVM', () => {
    const entries = parseJournalJson(s.journalJson([{ mono: 3_000_000, identifier: 'systemd', transport: 'journal', message: 'Timed out waiting for device dev-ttyS0.device - /dev/ttyS0.' }]));
    const tcg = splitBootErrors(entries, 60e6, ignoreRules([], 'tcg'));
    expect(tcg.kept).toEqual([]);
    expect(tcg.ignored[0]!.rule.why).toMatch(/under TCG/);
    expect(splitBootErrors(entries, 60e6, ignoreRules([], 'kvm')).kept).toHaveLength(1);
    expect(splitBootErrors(entries, 60e6, ignoreRules([])).kept).toHaveLength(1);
    // The kernel's IO-APIC timer check under TCG, likewise.
    const timer = parseJournalJson(s.journalJson([{ mono: 100_000, message: '..MP-BIOS bug: 8254 timer not connected to IO-APIC' }]));
    expect(splitBootErrors(timer, 60e6, ignoreRules([], 'tcg')).kept).toEqual([]);
    expect(splitBootErrors(timer, 60e6, ignoreRules([], 'kvm')).kept).toHaveLength(1);
    // Another device's timeout counts under TCG too.
    const disk = parseJournalJson(
      s.journalJson([
        { mono: 3_000_000, identifier: 'systemd', transport: 'journal', message: 'Timed out waiting for device dev-disk-by\\x2dlabel-build\\x2ddata.device - /dev/disk/by-label/build-data.' },
      ]),
    );
    expect(splitBootErrors(disk, 60e6, ignoreRules([], 'tcg')).kept).toHaveLength(1);
  });

  it('ignores nothing but the seed CD-ROM and that regression by default: an I/O error on the root disk counts', () => {
    const entries = parseJournalJson(s.journalJson([{ mono: 2_000_000, message: 'I/O error, dev vda, sector 2048 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2' }]));
    expect(splitBootErrors(entries, 60e6, DEFAULT_BOOT_ERROR_IGNORE).kept).toHaveLength(1);
  });
});

describe('systemd-analyze time', () => {
  it('reads kernel, initrd, userspace and the target (KVM, Debian 12 cloud kernel)', () => {
    expect(parseSystemdAnalyzeTime(s.ANALYZE_KVM)).toEqual({ phases: { kernel: 1.893, initrd: 2.214, userspace: 18.022 }, total: 22.13, target: { name: 'multi-user.target', seconds: 17.95 } });
  });

  it('reads minutes (TCG) and firmware/loader phases (systemd-boot)', () => {
    const tcg = parseSystemdAnalyzeTime(s.ANALYZE_TCG)!;
    expect(tcg.phases.userspace).toBeCloseTo(95.114, 3);
    expect(tcg.total).toBeCloseTo(107.633, 3);
    expect(parseSystemdAnalyzeTime(s.ANALYZE_UEFI)!.phases).toEqual({ firmware: 4.16, loader: 2.796, kernel: 5.831, userspace: 18.885 });
  });

  it('has no figures while the boot is not finished', () => {
    expect(parseSystemdAnalyzeTime(s.ANALYZE_NOT_FINISHED)).toBeUndefined();
  });

  it('reads systemd timespans', () => {
    expect(parseTimespan('1min 2.764s')).toBeCloseTo(62.764, 6);
    expect(parseTimespan('2.020ms')).toBeCloseTo(0.00202, 6);
    expect(parseTimespan('850us')).toBeCloseTo(0.00085, 8);
    expect(parseTimespan('1h 2min 3s')).toBe(3723);
    expect(parseTimespan('soon')).toBeUndefined();
  });
});

describe('findmnt and lsblk', () => {
  it('reads the root mount with its size as a JSON number (util-linux 2.38) or a string (older)', () => {
    expect(parseFindmnt(s.findmntRoot())).toEqual([{ target: '/', source: '/dev/vda2', fstype: 'ext4', size: 4_052_750_336, options: undefined }]);
    expect(jsonNumber('4052750336')).toBe(4_052_750_336);
    expect(jsonNumber(null)).toBeUndefined();
    expect(parseFindmnt(s.findmntRoot('/dev/vda2[/@rootfs]', 'btrfs'))[0]!.source).toBe('/dev/vda2');
  });

  it('reads fstab entries and which are mounted at boot (noauto and swap are not)', () => {
    const fstab = `{"filesystems": [{"target": "/", "source": "LABEL=root", "fstype": "ext4", "options": "defaults"}, {"target": "/mnt", "source": "/dev/vdb1", "fstype": "auto", "options": "defaults,nofail,x-systemd.after=cloud-init.service,comment=cloudconfig"}, {"target": "/media/cd", "source": "/dev/sr0", "fstype": "iso9660", "options": "ro,noauto"}, {"target": "none", "source": "/swapfile", "fstype": "swap", "options": "sw"}]}`;
    expect(fstabEntries(parseFindmnt(fstab)).map((e) => [e.target, e.automatic, e.nofail])).toEqual([
      ['/', true, false],
      ['/mnt', true, true],
      ['/media/cd', false, false],
      ['none', false, false],
    ]);
  });

  it('walks from the root partition to its disk, START in sectors', () => {
    const nodes = parseLsblk(s.lsblkGpt());
    expect(nodes.map((n) => n.name)).toEqual(['sr0', 'vda', 'vda1', 'vda2']);
    const chain = rootChain(nodes, '/dev/vda2')!;
    expect(chain.device.name).toBe('vda2');
    expect(chain.partition?.name).toBe('vda2');
    expect(chain.partition?.start).toBe(206_848);
    expect(chain.disk).toMatchObject({ name: 'vda', size: s.DISK_BYTES });
  });

  it('walks from an LVM logical volume to its physical volume partition and disk', () => {
    const chain = rootChain(parseLsblk(s.lsblkLvm()), '/dev/mapper/vg0-root')!;
    expect(chain.path.map((n) => n.name)).toEqual(['vg0-root', 'vda3', 'vda']);
    expect(chain.device.kname).toBe('dm-0');
    expect(chain.partition?.name).toBe('vda3');
  });

  it('finds root on a whole disk without a partition table (no partition)', () => {
    const chain = rootChain(parseLsblk(s.lsblkJson([{ name: 'vda', type: 'disk', size: s.DISK_BYTES, fstype: 'ext4', mountpoint: '/' }])), '/dev/vda')!;
    expect(chain.partition).toBeUndefined();
    expect(chain.disk?.name).toBe('vda');
  });
});

describe('filesystem sizes', () => {
  it('dumpe2fs: Block count x Block size', () => {
    expect(parseDumpe2fs(s.dumpe2fs(4_189_044_224))).toBe(Math.floor(4_189_044_224 / 4096) * 4096);
  });
  it('xfs_info: data blocks x bsize', () => {
    expect(parseXfsInfo(s.XFS_INFO)).toBe(793_600 * 4096);
  });
  it('btrfs filesystem usage -b: Device size', () => {
    expect(parseBtrfsUsage(s.BTRFS_USAGE)).toBe(4_189_044_224);
  });
  it('df -B1 --output=size', () => {
    expect(parseDfSize(s.DF_SIZE)).toBe(4_052_750_336);
    expect(parseDfSize('1B-blocks\n')).toBeUndefined();
  });
});

describe('identity', () => {
  it('reads ssh-keygen -lf lines (OpenSSH 9.2)', () => {
    expect(parseKeygenFingerprint('256 SHA256:NOeBEYQY+BMO7ENDe2nBInMcupqFMfmZKoFc9Pk0pRo root@imgtest-1 (ED25519)\n')).toEqual({
      bits: 256,
      fingerprint: 'SHA256:NOeBEYQY+BMO7ENDe2nBInMcupqFMfmZKoFc9Pk0pRo',
      type: 'ED25519',
    });
    expect(parseKeygenFingerprint('3072 SHA256:abc/def+123 no comment (RSA)')).toMatchObject({ bits: 3072, type: 'RSA' });
  });

  it('computes the fingerprint ssh-keygen prints from a public key line', () => {
    // Made with ssh-keygen -t ed25519 on Debian 12 (OpenSSH 9.2p1); ssh-keygen -lf printed this fingerprint.
    const line = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOguGAdZAYWNM6Ju+gcHHeocfOrSc9SfURcuDwkOf+qC root@imgtest-1';
    expect(fingerprintOfPublicKey(line)).toEqual({ type: 'ED25519', fingerprint: 'SHA256:NOeBEYQY+BMO7ENDe2nBInMcupqFMfmZKoFc9Pk0pRo' });
  });

  it('reads dhclient default-duid and networkd CLIENTID, and says none when absent', () => {
    expect(parseDefaultDuid(s.DHCLIENT_LEASE_BAKED_DUID)).toBe('\\000\\001\\000\\001,\\234\\243\\020RT\\000\\022\\064V');
    expect(parseDefaultDuid(s.DHCLIENT_LEASE)).toBeUndefined();
    expect(parseNetworkdClientId(s.NETWORKD_LEASE)).toBe('ff0ad7a9e400020000ab11b7d4e0f6f2a3b2a1');
  });

  it('reads sha256sum and find -printf mtimes', () => {
    expect(parseSha256sum(`${'ab'.repeat(32)}  /var/lib/systemd/random-seed\n`)).toBe('ab'.repeat(32));
    const mtimes = parseMtimes(s.semListing(1_764_484_815));
    expect(mtimes.get('config_ssh')).toBeCloseTo(1_764_484_815.0524, 4);
    expect(mtimes.size).toBe(s.SEM_MODULES.length);
  });

  it('reads stat birth times and /proc/stat btime, and tells a baked random seed by its birth', () => {
    const births = parseBirthTimes(`${s.seedBirths(s.BTIME - 7200)}stat: cannot statx '/nope': No such file or directory\n`);
    expect(births).toEqual(
      new Map([
        ['/var/lib/systemd/random-seed', s.BTIME - 7200],
        ['/var/lib/cloud/instance', s.BTIME + 41],
      ]),
    );
    expect(parseBtime(s.procStat())).toBe(s.BTIME);
    const evidence = '';
    expect(bakedSeed({ seed: s.BTIME - 7200, instance: s.BTIME + 41, boot: s.BTIME, evidence })).toMatch(/created .* before the instance's first boot/);
    // Born during this boot (the clean image ships no seed): fine, as is a clock step of a few seconds.
    expect(bakedSeed({ seed: s.BTIME + 6, instance: s.BTIME + 41, boot: s.BTIME, evidence })).toBeUndefined();
    expect(bakedSeed({ seed: s.BTIME - 20, instance: s.BTIME + 41, boot: s.BTIME, evidence })).toBeUndefined();
    // A later boot of the instance (cloud-init's directory predates it): not judged.
    expect(bakedSeed({ seed: s.BTIME - 7200, instance: s.BTIME - 3000, boot: s.BTIME, evidence })).toBeUndefined();
    expect(bakedSeed({ seed: undefined, instance: s.BTIME + 41, boot: s.BTIME, evidence })).toBeUndefined();
  });

  it('reads ip -j addr: the MAC and global IPv4 addresses per interface', () => {
    expect(parseIpAddr(s.ipAddr('52:54:00:00:00:11', '10.78.0.11'))).toEqual([
      { name: 'lo', mac: '00:00:00:00:00:00', ipv4: [] },
      { name: 'enp1s0', mac: '52:54:00:00:00:11', ipv4: ['10.78.0.11'] },
    ]);
  });
});

describe('time', () => {
  it('reads chronyc -n tracking: synchronised to the lab, or not at all', () => {
    const synced = parseChronyTracking(s.CHRONY_SYNCED)!;
    expect(synced).toMatchObject({ referenceId: '0A4E0001', referenceName: '10.78.0.1', leap: 'Normal', stratum: 11 });
    expect(synced.systemTimeSeconds).toBeCloseTo(0.000012345, 9);
    expect(chronySynchronised(synced)).toBe(true);
    const unsynced = parseChronyTracking(s.CHRONY_UNSYNCED)!;
    expect(unsynced).toMatchObject({ referenceId: '00000000', leap: 'Not synchronised' });
    expect(chronySynchronised(unsynced)).toBe(false);
    expect(chronySynchronised({ ...synced, referenceId: '7F7F0101' })).toBe(false);
  });

  it('reads ntpq -pn: the system peer is the one marked *', () => {
    expect(parseNtpqPeers(s.NTPQ_SYNCED).find((p) => p.tally === '*')).toMatchObject({ remote: '10.78.0.1', offsetMs: -0.041 });
    expect(parseNtpqPeers(s.NTPQ_UNSYNCED).some((p) => p.tally === '*')).toBe(false);
    expect(parseNtpqPeers('ntpq: read: Connection refused\n')).toEqual([]);
  });

  it('reads date +%s.%N as epoch ms', () => {
    expect(parseEpoch('1764484900.012000000\n')).toBe(1_764_484_900_012);
    expect(parseEpoch('%N\n')).toBeUndefined();
  });
});
