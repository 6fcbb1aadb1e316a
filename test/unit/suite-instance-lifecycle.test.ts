import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GuestTransportError, type CheckOutcome, type GuestBootInfo, type RebootOutcome } from '../../src/suite-api/index.js';
import { SEM_ARGV } from '../../suites/instance-lifecycle/commands/cloud-init.js';
import { FSTAB_ARGV, MOUNTED_ARGV, ROOT_ARGV } from '../../suites/instance-lifecycle/commands/findmnt.js';
import { IP_ADDR_ARGV } from '../../suites/instance-lifecycle/commands/ip.js';
import { BOOT_ERRORS_ARGV } from '../../suites/instance-lifecycle/commands/journalctl.js';
import { lsblkArgv } from '../../suites/instance-lifecycle/commands/lsblk.js';
import { lvsArgv, pvsArgv } from '../../suites/instance-lifecycle/commands/lvm.js';
import { FAILED_UNITS_ARGS } from '../../suites/instance-lifecycle/commands/systemctl.js';
import suite, { createInstanceLifecycleSuite } from '../../suites/instance-lifecycle/index.js';
import { DEFAULT_BOOT_TIME_LIMITS, optionsSchema, parseOptions } from '../../suites/instance-lifecycle/options.js';
import type { SuiteTools } from '../../suites/instance-lifecycle/tools.js';
import { fakeContext, fakeGuest, type FakeAnswer, type FakeContext, type FakeGuest } from './helpers/fake-guest.js';
import * as s from './helpers/lifecycle-samples.js';

const MAC = '52:54:00:00:00:11'; // what fakeGuest gives every guest
const FAILED_KEY = `[sudo] systemctl ${FAILED_UNITS_ARGS.join(' ')}`;
const JOURNAL_KEY = `[sudo] ${BOOT_ERRORS_ARGV.join(' ')}`;
const LSBLK_KEY = lsblkArgv().join(' ');

interface Lab {
  tools: SuiteTools;
  /** The fake clock (ms); sleeping advances it. */
  clock: { now: number; slept: number };
}

function lab(): Lab {
  const clock = { now: s.T0, slept: 0 };
  return {
    clock,
    tools: {
      now: () => clock.now,
      sleep: async (ms) => {
        clock.now += ms;
        clock.slept += ms;
      },
    },
  };
}

interface GuestOptions {
  /** Answers replacing the clean guest's. */
  patch?: Record<string, FakeAnswer>;
  /** Answers that change when the guest reboots. */
  after?: Record<string, FakeAnswer>;
  outcome?: Partial<RebootOutcome>;
  boot?: Partial<GuestBootInfo>;
  diskBytes?: number;
}

const KVM_BOOT: GuestBootInfo = { accel: 'kvm', seconds: 48.2, stages: { firmware: 0.4, kernel: 2.1, address: 14.3, ssh: 22.8, cloudInit: 48.2 } };

function guest(n: number, world: Lab, options: GuestOptions = {}): FakeGuest {
  const address = `10.78.0.1${n}`;
  const table: Record<string, FakeAnswer> = { ...s.cleanGuestTable(n, MAC, address), ...options.patch };
  // The guest's clock answers from the fake clock: 12 ms ahead of the host's.
  if (!options.patch || !('date +%s.%N' in options.patch)) Object.defineProperty(table, 'date +%s.%N', { get: () => s.epoch(world.clock.now + 12), enumerable: true, configurable: true });
  return fakeGuest({
    name: `imgtest-run1-g${n}`,
    address,
    host: { name: `hv${n}` },
    exec: table,
    boot: { ...KVM_BOOT, ...options.boot },
    diskBytes: options.diskBytes ?? s.DISK_BYTES,
    reboot: async () => {
      Object.assign(table, options.after);
      return { ok: true, seconds: 31.5, bootIdBefore: `boot-${n}-a`, bootIdAfter: `boot-${n}-b`, console: '[  OK  ] Reached target multi-user.target - Multi-User System.\n', ...options.outcome };
    },
  });
}

function context(guests: FakeGuest[], options: Record<string, unknown> = {}, timeServers: string[] = ['10.78.0.1']): FakeContext {
  return fakeContext(guests, options, { timeServers });
}

async function runCheck(id: string, ctx: FakeContext, world: Lab): Promise<CheckOutcome> {
  const check = createInstanceLifecycleSuite(world.tools).checks.find((c) => c.id === id);
  if (!check) throw new Error(`no check ${id}`);
  return check.run(ctx);
}

/** The fingerprints lifecycle-samples' keygen(n) prints. */
const fp = (type: string, n: number): string => `SHA256:${`${type}${n}`.padEnd(43, 'Q')}`;

const IDS = ['life-failed-units', 'life-boot-errors', 'life-boot-time', 'life-clone-unique', 'life-time-sync', 'life-disk-growth', 'life-reboot'];

describe('instance-lifecycle suite definition', () => {
  it('needs two exclusive guests, spread over the hosts, of any firmware', () => {
    expect(suite.id).toBe('instance-lifecycle');
    expect(suite.requires).toEqual({ guests: { count: 2, placement: 'spread', sharing: 'exclusive', firmwareMatrix: 'any' } });
    expect(suite.apiVersion).toBe(1);
    expect(suite.optionsSchema).toBe(optionsSchema);
  });

  it('has the checks in order: disk growth just before the reboot, the reboot last; all must but boot time', () => {
    expect(suite.checks.map((c) => c.id)).toEqual(IDS);
    expect(suite.checks.filter((c) => c.severity === 'should').map((c) => c.id)).toEqual(['life-boot-time']);
  });

  it('is registered as a built-in suite after live-migration', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { imgtest: { builtInSuites: string[] } };
    const list = pkg.imgtest.builtInSuites;
    expect(list).toContain('./dist/suites/instance-lifecycle/index.js');
    expect(list.indexOf('./dist/suites/instance-lifecycle/index.js')).toBe(list.indexOf('./dist/suites/live-migration/index.js') + 1);
  });
});

describe('instance-lifecycle options', () => {
  it('has defaults: KVM 120 s, TCG 1200 s (at least 900: TCG guests take up to 650 s here), 90 s sync wait, 1 s clock tolerance', () => {
    const options = parseOptions({});
    expect(options.bootTimeLimitSeconds).toEqual({ kvm: 120, tcg: 1200 });
    expect(DEFAULT_BOOT_TIME_LIMITS.tcg).toBeGreaterThanOrEqual(900);
    expect(options).toMatchObject({ bootErrorIgnore: [], timeSyncWaitSeconds: 90, clockToleranceMs: 1000, rebootSettleSeconds: 600 });
    expect(parseOptions({ bootTimeLimitSeconds: { kvm: 60 } }).bootTimeLimitSeconds).toEqual({ kvm: 60, tcg: 1200 });
  });

  it('refuses a bad option with the field named', () => {
    expect(() => parseOptions({ bootErrorIgnore: ['(unclosed'] })).toThrow(/instance-lifecycle options: bootErrorIgnore\.0: not a valid regular expression/);
    expect(() => parseOptions({ bootTimeLimitSeconds: { kvm: -5 } })).toThrow(/bootTimeLimitSeconds\.kvm/);
    expect(() => parseOptions({ bootTimeLimitSeconds: { hvf: 30 } })).toThrow(/bootTimeLimitSeconds/);
    expect(() => parseOptions({ rebootTimeout: 30 })).toThrow(/rebootTimeout/);
  });

  it('a bad option fails the check that reads it as an error, not a defect', async () => {
    const world = lab();
    await expect(runCheck('life-boot-time', context([guest(1, world)], { bootTimeLimitSeconds: { kvm: 'fast' } }), world)).rejects.toThrow(/instance-lifecycle options/);
  });
});

describe('a clean pair of guests', () => {
  it('passes every check, in the suite order, and records figures', async () => {
    const world = lab();
    const ctx = context([guest(1, world), guest(2, world)]);
    const outcomes: Record<string, CheckOutcome> = {};
    for (const check of createInstanceLifecycleSuite(world.tools).checks) outcomes[check.id] = await check.run(ctx);
    for (const id of IDS) expect({ id, status: outcomes[id]!.status, message: outcomes[id]!.message }).toMatchObject({ id, status: 'pass' });
    expect(outcomes['life-boot-time']!.message).toContain('imgtest-run1-g1: 48.2 s from power-on to cloud-init done under kvm (limit 120 s)');
    expect(ctx.properties).toMatchObject({
      'life.imgtest-run1-g1.boot-seconds': '48.2',
      'life.imgtest-run1-g1.kernel-s': '1.9',
      'life.imgtest-run1-g1.userspace-s': '18',
      'life.imgtest-run1-g2.clock-offset-ms': '12',
      'life.imgtest-run1-g1.time-sync-service': 'systemd-timesyncd.service',
      'life.imgtest-run1-g1.reboot-seconds': '31.5',
    });
  });
});

describe('life-failed-units', () => {
  it('fails naming the guest and the unit, with the unit journal lines as evidence', async () => {
    const world = lab();
    const flawed = guest(1, world, { patch: { [FAILED_KEY]: s.FAILED_UNITS_FLAWED, '[sudo] journalctl -b -u imgtest-build-leftover.service -n 20 --no-pager': s.LEFTOVER_JOURNAL } });
    const outcome = await runCheck('life-failed-units', context([flawed, guest(2, world)]), world);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toBe('imgtest-run1-g1: 1 failed unit: imgtest-build-leftover.service (failed/failed: Leftover from the image build)');
    expect(outcome.evidence).toContain("imgtest-build-leftover.service: Failed with result 'exit-code'.");
    expect(outcome.evidence).toContain('=== imgtest-run1-g2 on hv2 (10.78.0.12) ===');
  });

  it('passes with no failed units', async () => {
    const world = lab();
    expect(await runCheck('life-failed-units', context([guest(1, world)]), world)).toMatchObject({ status: 'pass', message: 'imgtest-run1-g1: no failed units' });
  });
});

describe('life-boot-errors', () => {
  it('fails on the planted kernel line and the failed unit, ignoring the seed CD-ROM and what came after boot', async () => {
    const world = lab();
    const outcome = await runCheck('life-boot-errors', context([guest(1, world, { patch: { [JOURNAL_KEY]: s.JOURNAL_FLAWED } })]), world);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toBe(
      'imgtest-run1-g1: 2 error lines at priority err or above during boot: imgtest-planted: planted kernel error at boot (imgtest fixture) (+1 more); 1 ignored, 1 after boot not judged',
    );
    expect(outcome.evidence).toContain('[    8.123456] systemd: Failed to start imgtest-build-leftover.service - Leftover from the image build.');
    expect(outcome.evidence).toContain('ignored: read error probing the seed CD-ROM (sr0)');
    expect(outcome.evidence).toContain('boot ends at cloud-final.service active at 61.2 s (cloud-init done)');
  });

  it('passes on a clean boot, counting the ignored lines and leaving out sshd refusing a later login probe', async () => {
    const world = lab();
    const outcome = await runCheck('life-boot-errors', context([guest(1, world)]), world);
    expect(outcome).toMatchObject({ status: 'pass', message: 'imgtest-run1-g1: no error lines during boot (2 ignored, 1 after boot not judged)' });
    expect(outcome.evidence).toContain('maximum authentication attempts exceeded');
  });

  it('takes ignore patterns from the options, added to the built-in ones', async () => {
    const world = lab();
    const ctx = context([guest(1, world, { patch: { [JOURNAL_KEY]: s.JOURNAL_FLAWED } })], { bootErrorIgnore: ['^imgtest-planted: ', 'Failed to start imgtest-build-leftover'] });
    const outcome = await runCheck('life-boot-errors', ctx, world);
    expect(outcome.message).toBe('imgtest-run1-g1: no error lines during boot (3 ignored, 1 after boot not judged)');
    expect(outcome.evidence).toContain('ignored: suites.instance-lifecycle.bootErrorIgnore (^imgtest-planted: )');
  });

  it('without cloud-final.service, cuts off at the runner readiness on the kernel clock (cloud-init done minus the kernel stage)', async () => {
    const world = lab();
    const late = s.journalJson([
      { mono: 47_000_000, identifier: 'sshd', transport: 'syslog', message: 'error: kex_exchange_identification: Connection closed by remote host' },
      { mono: 45_000_000, message: 'EXT4-fs error (device vda2): ext4_lookup:1855: inode #2: comm cloud-init: deleted inode referenced: 131' },
    ]);
    const g = guest(1, world, { patch: { [JOURNAL_KEY]: late, [s.CLOUD_FINAL_KEY]: '0\n' } });
    const outcome = await runCheck('life-boot-errors', context([g]), world);
    // 48.2 s - 2.1 s = 46.1 s: the ext4 error at 45 s counts, sshd at 47 s does not.
    expect(outcome.message).toMatch(/1 error line at priority err or above during boot: kernel: EXT4-fs error .*1 after boot not judged/);
    expect(outcome.evidence).toContain('boot ends at 46.1 s: cloud-init done 48.2 s after power-on');
  });

  it('cannot judge without a journal: an error', async () => {
    const world = lab();
    const g = guest(1, world, { patch: { [JOURNAL_KEY]: { stdout: '', stderr: 'No journal files were found.\n', exitCode: 0 } } });
    await expect(runCheck('life-boot-errors', context([g]), world)).rejects.toThrow(/imgtest-run1-g1: cannot read the journal/);
  });
});

describe('life-boot-time', () => {
  it('fails a KVM guest over its limit, with the stages and systemd split', async () => {
    const world = lab();
    const slow = guest(1, world, { boot: { accel: 'kvm', seconds: 151.3, stages: { firmware: 0.5, kernel: 3.2, address: 95.1, ssh: 120.4, cloudInit: 151.3 } } });
    const outcome = await runCheck('life-boot-time', context([slow]), world);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toBe(
      'imgtest-run1-g1: booted too slowly: 151 s from power-on to cloud-init done under kvm (limit 120 s); stages from power-on: firmware 0.5 s, kernel 3.2 s, address 95.1 s, ssh 120 s, cloud-init 151 s; systemd-analyze: kernel 1.9 s + initrd 2.2 s + userspace 18.0 s = 22.1 s',
    );
  });

  it('allows a TCG guest 1200 s by default (650 s passes) and follows the option', async () => {
    const world = lab();
    const tcg = () => guest(1, world, { boot: { accel: 'tcg', seconds: 650, stages: { kernel: 40 } }, patch: { '[sudo] systemd-analyze time': s.ANALYZE_TCG } });
    expect((await runCheck('life-boot-time', context([tcg()]), world)).status).toBe('pass');
    const strict = await runCheck('life-boot-time', context([tcg()], { bootTimeLimitSeconds: { tcg: 600 } }), world);
    expect(strict.status).toBe('fail');
    expect(strict.message).toContain('650 s from power-on to cloud-init done under tcg (limit 600 s)');
  });

  it('says so when systemd-analyze is missing or the boot is not finished, without an error', async () => {
    const world = lab();
    const missing = await runCheck(
      'life-boot-time',
      context([guest(1, world, { patch: { '[sudo] systemd-analyze time': { exitCode: 1, stderr: 'sudo: systemd-analyze: command not found\n' } } })]),
      world,
    );
    expect(missing.status).toBe('pass');
    expect(missing.message).toContain('systemd-analyze: systemd-analyze is not installed');
    const busy = await runCheck('life-boot-time', context([guest(1, world, { patch: { '[sudo] systemd-analyze time': { exitCode: 1, stdout: s.ANALYZE_NOT_FINISHED } } })]), world);
    expect(busy.message).toContain('systemd-analyze: systemd reports the boot not finished yet');
  });
});

describe('life-disk-growth', () => {
  const notGrown = () => {
    const root = s.rootPartitionBytes(2 * s.GiB);
    return {
      [LSBLK_KEY]: s.lsblkGpt(s.DISK_BYTES, root),
      '[sudo] dumpe2fs -h /dev/vda2': s.dumpe2fs(root),
      [`[sudo] grep -E cc_growpart|cc_resizefs|growpart|resize2fs|xfs_growfs|resizefs /var/log/cloud-init.log`]: s.GROWTH_LOG_NO_GROWPART,
    };
  };

  it('passes when partition and filesystem reach the end of the grown disk', async () => {
    const world = lab();
    const outcome = await runCheck('life-disk-growth', context([guest(1, world)]), world);
    expect(outcome).toMatchObject({ status: 'pass', message: 'imgtest-run1-g1: disk vda 4.0 GiB, root partition vda2 ends at 100% of it, ext4 fills vda2 (100%)' });
    expect(outcome.evidence).toContain("'/' resized: changed (/dev/vda, 2) from 2041560576 to 4189044224");
    expect(outcome.evidence).toContain('/dev/vda2       3.8G');
  });

  it('fails an image without growpart, naming where the partition ends', async () => {
    const world = lab();
    const outcome = await runCheck('life-disk-growth', context([guest(1, world, { patch: notGrown() })]), world);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toBe('imgtest-run1-g1: root did not grow to the disk: root partition vda2 ends at 2.0 GiB of a 4.0 GiB disk (50%)');
    expect(outcome.evidence).toContain('No resizers available');
  });

  it('fails a partition that grew under a filesystem that did not', async () => {
    const world = lab();
    const outcome = await runCheck('life-disk-growth', context([guest(1, world, { patch: { '[sudo] dumpe2fs -h /dev/vda2': s.dumpe2fs(s.rootPartitionBytes(2 * s.GiB)) } })]), world);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toBe('imgtest-run1-g1: root did not grow to the disk: the ext4 filesystem is 1.9 GiB of its 3.9 GiB partition vda2 (49%, by dumpe2fs Block count x Block size)');
  });

  it('is an error, not a defect, when the disk is smaller than the run made it', async () => {
    const world = lab();
    const g = guest(1, world, { patch: { [LSBLK_KEY]: s.lsblkGpt(2 * s.GiB) } });
    await expect(runCheck('life-disk-growth', context([g]), world)).rejects.toThrow(/imgtest-run1-g1: the disk vda is 2\.0 GiB, less than the 4\.0 GiB .*the runner did not grow it/);
  });

  /** Root on LVM (vda3 the PV, vg0-root XFS); `lvm` overrides what lvs and pvs say. */
  const onLvm = (lvm: { pvBytes?: number; vgFreeBytes?: number } = {}) => {
    const pv = JSON.parse(s.lsblkLvm()) as { blockdevices: { children: { name: string; size: number; children?: { size: number }[] }[] }[] };
    const part = pv.blockdevices[0]!.children[2]!;
    const lvBytes = part.children![0]!.size;
    const vgFree = lvm.vgFreeBytes ?? 0;
    const xfs = s.XFS_INFO.replace('blocks=793600', `blocks=${Math.floor(lvBytes / 4096)}`);
    return {
      [ROOT_ARGV.join(' ')]: s.findmntRoot('/dev/mapper/vg0-root', 'xfs'),
      [LSBLK_KEY]: s.lsblkLvm(),
      '[sudo] xfs_info /': xfs,
      [`[sudo] ${lvsArgv('/dev/mapper/vg0-root').join(' ')}`]: `  vg0|root|${lvBytes}|${lvBytes + vgFree}|${vgFree}\n`,
      [`[sudo] ${pvsArgv('vg0').join(' ')}`]: `  /dev/vda3|vg0|${lvm.pvBytes ?? lvBytes + vgFree}|${part.size}\n`,
    };
  };

  it('walks LVM to the physical volume partition, reads the PV and VG with pvs and lvs, and measures XFS with xfs_info', async () => {
    const world = lab();
    const outcome = await runCheck('life-disk-growth', context([guest(1, world, { patch: onLvm() })]), world);
    expect(outcome).toMatchObject({
      status: 'pass',
      message: "imgtest-run1-g1: disk vda 4.0 GiB, root's physical volume partition vda3 ends at 100% of it, vg0/root fills vg0 (0 B free), xfs fills vg0-root (100%)",
    });
    expect(outcome.evidence).toContain('vg0|root|');
  });

  it('fails on LVM when the partition grew but pvresize or lvextend did not run, though the filesystem fills its LV', async () => {
    const world = lab();
    const noPvresize = await runCheck('life-disk-growth', context([guest(1, world, { patch: onLvm({ pvBytes: 1_800_000_000 }) })]), world);
    expect(noPvresize.status).toBe('fail');
    expect(noPvresize.message).toMatch(/^imgtest-run1-g1: root did not grow to the disk: the physical volume \/dev\/vda3 is 1\.7 GiB of its 3\.\d GiB device \(\d+%\): pvresize did not run$/);
    const noLvextend = await runCheck('life-disk-growth', context([guest(1, world, { patch: onLvm({ vgFreeBytes: 2 * s.GiB }) })]), world);
    expect(noLvextend.status).toBe('fail');
    expect(noLvextend.message).toMatch(/the volume group vg0 has 2\.0 GiB free that the root logical volume vg0\/root \(.* GiB\) did not take: lvextend did not run$/);
  });

  it('is an error, not a defect, when LVM cannot be asked (lvs missing)', async () => {
    const world = lab();
    const patch = { ...onLvm(), [`[sudo] ${lvsArgv('/dev/mapper/vg0-root').join(' ')}`]: { exitCode: 1, stderr: 'sudo: lvs: command not found\n' } };
    await expect(runCheck('life-disk-growth', context([guest(1, world, { patch })]), world)).rejects.toThrow(/imgtest-run1-g1: .*read the root logical volume/);
  });

  it('falls back to statfs with a wider margin when the filesystem tool is missing', async () => {
    const world = lab();
    const g = guest(1, world, { patch: { '[sudo] dumpe2fs -h /dev/vda2': { exitCode: 1, stderr: 'sudo: dumpe2fs: command not found\n' }, 'df -B1 --output=size /': s.DF_SIZE } });
    const outcome = await runCheck('life-disk-growth', context([g]), world);
    expect(outcome.status).toBe('pass');
    expect(outcome.evidence).toContain('note: dumpe2fs is not installed: statfs used, allowing 5%');
  });
});

describe('life-clone-unique', () => {
  it('passes when every identity differs, and says which are not present', async () => {
    const world = lab();
    const outcome = await runCheck('life-clone-unique', context([guest(1, world), guest(2, world)]), world);
    expect(outcome.status).toBe('pass');
    expect(outcome.message).toBe('machine-id, SSH host key, random seed (sha256), hostname, instance-id differ between imgtest-run1-g1 and imgtest-run1-g2; DHCP client identity: not present');
    expect(outcome.evidence).toContain('DHCP client identity: not present on any guest (nothing to compare)');
  });

  it('fails on a baked machine-id, random seed and dhclient DUID, naming the value and both guests', async () => {
    const world = lab();
    const baked = {
      'cat /etc/machine-id': 'b4k3d0000000000000000000000000ff\n',
      '[sudo] sha256sum /var/lib/systemd/random-seed': `${'5e'.repeat(32)}  /var/lib/systemd/random-seed\n`,
      '[sudo] cat /var/lib/dhcp/dhclient.enp1s0.leases': s.DHCLIENT_LEASE_BAKED_DUID,
    };
    const outcome = await runCheck('life-clone-unique', context([guest(1, world, { patch: baked }), guest(2, world, { patch: baked })]), world);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toContain('machine-id b4k3d0000000000000000000000000ff is the same on imgtest-run1-g1 and imgtest-run1-g2');
    expect(outcome.message).toContain('DHCP client identity dhclient DUID \\000\\001');
    expect(outcome.message).toContain(`random seed (sha256) ${'5e'.repeat(32)} is the same on`);
  });

  it('finds a seed baked into the image by its birth time, though systemd-random-seed rewrote its contents', async () => {
    const world = lab();
    const baked = { [s.SEED_BIRTH_KEY]: s.seedBirths(s.BTIME - 3 * 3600) };
    const outcome = await runCheck('life-clone-unique', context([guest(1, world, { patch: baked }), guest(2, world, { patch: baked })]), world);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toBe(
      "imgtest-run1-g1: /var/lib/systemd/random-seed was created 2025-11-30T03:40:11Z, before the instance's first boot (2025-11-30T06:40:11Z): baked into the image, every instance starts from the same seed; " +
        "imgtest-run1-g2: /var/lib/systemd/random-seed was created 2025-11-30T03:40:11Z, before the instance's first boot (2025-11-30T06:40:11Z): baked into the image, every instance starts from the same seed",
    );
  });

  it('does not judge the seed birth after a later boot, or where the filesystem keeps no birth time', async () => {
    const world = lab();
    const laterBoot = { [s.SEED_BIRTH_KEY]: s.seedBirths(s.BTIME - 3 * 3600, s.BTIME - 3000) };
    const noBirth = { [s.SEED_BIRTH_KEY]: s.seedBirths(0, 0) };
    expect((await runCheck('life-clone-unique', context([guest(1, world, { patch: laterBoot }), guest(2, world, { patch: noBirth })]), world)).status).toBe('pass');
  });

  it('catches a shared host key and a shared hostname', async () => {
    const world = lab();
    const outcome = await runCheck('life-clone-unique', context([guest(1, world), guest(2, world, { patch: { ...s.keygen(1), 'cat /proc/sys/kernel/hostname': 'imgtest-a1b2-g1\n' } })]), world);
    expect(outcome.message).toContain('SSH host key ED25519 SHA256:ed255191');
    expect(outcome.message).toContain('hostname imgtest-a1b2-g1 is the same on imgtest-run1-g1 and imgtest-run1-g2');
  });

  it('skips with the reason when the run gave one guest', async () => {
    const world = lab();
    expect(await runCheck('life-clone-unique', context([guest(1, world)]), world)).toMatchObject({ status: 'skip', message: 'needs two guests of the image to compare, the run gave this suite 1' });
  });
});

describe('life-time-sync', () => {
  it('passes with systemd-timesyncd enabled, active and synchronised, and the clock 12 ms ahead', async () => {
    const world = lab();
    const outcome = await runCheck('life-time-sync', context([guest(1, world)]), world);
    expect(outcome).toMatchObject({
      status: 'pass',
      message: "imgtest-run1-g1: systemd-timesyncd.service enabled and active; synchronised (/run/systemd/timesync/synchronized exists); clock +12 ms off the host's (±0 ms)",
    });
  });

  it('fails without any time sync service', async () => {
    const world = lab();
    const outcome = await runCheck('life-time-sync', context([guest(1, world, { patch: { [s.TIME_UNITS_KEY]: s.timeUnitsShow({}) } })]), world);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toBe('imgtest-run1-g1: no time synchronisation service is installed (systemd-timesyncd, chrony, ntpsec, ntp)');
  });

  it('fails a disabled service', async () => {
    const world = lab();
    const outcome = await runCheck(
      'life-time-sync',
      context([guest(1, world, { patch: { [s.TIME_UNITS_KEY]: s.timeUnitsShow({ 'systemd-timesyncd.service': ['inactive', 'dead', 'disabled'] }) } })]),
      world,
    );
    expect(outcome.message).toBe('imgtest-run1-g1: no time synchronisation service is enabled and running: systemd-timesyncd.service disabled, inactive/dead');
  });

  it('waits for synchronisation up to the limit, then fails naming the servers offered', async () => {
    const world = lab();
    const g = guest(1, world, { patch: { 'test -e /run/systemd/timesync/synchronized': { exitCode: 1 } } });
    const outcome = await runCheck('life-time-sync', context([g]), world);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toBe('imgtest-run1-g1: systemd-timesyncd.service is not synchronised after 90 s although the network offers 10.78.0.1 (no /run/systemd/timesync/synchronized yet)');
    expect(world.clock.slept).toBe(90_000);
    expect(g.calls.filter((c) => c === 'test -e /run/systemd/timesync/synchronized')).toHaveLength(19);
  });

  it('reads chrony and ntpsec their own way', async () => {
    const world = lab();
    const chrony = guest(1, world, { patch: { [s.TIME_UNITS_KEY]: s.timeUnitsShow({ 'chrony.service': ['active', 'running', 'enabled'] }), '[sudo] chronyc -n tracking': s.CHRONY_SYNCED } });
    expect((await runCheck('life-time-sync', context([chrony]), world)).message).toContain(
      'imgtest-run1-g1: chrony.service enabled and active; synchronised (reference 0A4E0001 (10.78.0.1), leap status Normal)',
    );
    const ntpsec = guest(1, world, { patch: { [s.TIME_UNITS_KEY]: s.timeUnitsShow({ 'ntpsec.service': ['active', 'running', 'enabled'] }), 'ntpq -pn': s.NTPQ_UNSYNCED } });
    const outcome = await runCheck('life-time-sync', context([ntpsec], { timeSyncWaitSeconds: 10 }), world);
    expect(outcome.message).toContain('ntpsec.service is not synchronised after 10 s although the network offers 10.78.0.1 (no system peer among 2 peer(s))');
  });

  it('fails a clock off by more than the tolerance', async () => {
    const world = lab();
    const outcome = await runCheck('life-time-sync', context([guest(1, world, { patch: { 'date +%s.%N': s.epoch(s.T0 - 4321) } })]), world);
    expect(outcome.message).toBe("imgtest-run1-g1: the guest's clock is -4321 ms off the host's (tolerance 1000 ms, ±0 ms measuring)");
  });

  it('without known time servers, does not judge synchronisation and allows the RTC second', async () => {
    const world = lab();
    const g = guest(1, world, { patch: { 'test -e /run/systemd/timesync/synchronized': { exitCode: 1 }, 'date +%s.%N': s.epoch(s.T0 + 1600) } });
    const outcome = await runCheck('life-time-sync', context([g], {}, []), world);
    expect(outcome).toMatchObject({
      status: 'pass',
      message: "imgtest-run1-g1: systemd-timesyncd.service enabled and active; clock +1600 ms off the host's (±0 ms); synchronisation not judged (no known time server)",
    });
    expect(g.calls).not.toContain('test -e /run/systemd/timesync/synchronized');
  });
});

describe('life-reboot', () => {
  it('fails when the guest drops into emergency mode, with the console as evidence', async () => {
    const world = lab();
    const console = [
      '[  OK  ] Reached target local-fs-pre.target - Preparation for Local File Systems.',
      '[ TIME ] Timed out waiting for device dev-disk-by\\x2dlabel-imgtest\\x2ddata.device - /dev/disk/by-label/imgtest-data.',
      '[DEPEND] Dependency failed for srv-data.mount - /srv/data.',
      '[DEPEND] Dependency failed for local-fs.target - Local File Systems.',
      'You are in emergency mode. After logging in, type "journalctl -xb" to view',
    ].join('\n');
    const g = guest(1, world, {
      patch: { [FSTAB_ARGV.join(' ')]: s.FSTAB_FLAWED },
      outcome: { ok: false, seconds: 104, bootIdAfter: undefined, error: 'the guest entered emergency mode', cause: 'image', console },
    });
    const outcome = await runCheck('life-reboot', context([g, guest(2, world)]), world);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toBe('imgtest-run1-g1: did not come back from a reboot: the guest entered emergency mode');
    expect(outcome.evidence).toContain('Dependency failed for srv-data.mount');
    expect(outcome.evidence).toContain('=== imgtest-run1-g2 on hv2 (10.78.0.12) ===');
  });

  it('is an error when the infrastructure lost the guest', async () => {
    const world = lab();
    const g = guest(1, world, { outcome: { ok: false, seconds: 600, bootIdAfter: undefined, error: 'no SSH after 600 s', cause: 'infrastructure' } });
    await expect(runCheck('life-reboot', context([g]), world)).rejects.toThrow('imgtest-run1-g1: the reboot could not be observed: no SSH after 600 s');
  });

  it('names every difference after the reboot', async () => {
    const world = lab();
    const after: Record<string, FakeAnswer> = {
      'cat /proc/sys/kernel/hostname': 'localhost\n',
      'cat /etc/machine-id': '00000000000000000000000000000abc\n',
      ...Object.fromEntries(Object.entries(s.keygen(7)).filter(([k]) => k.includes('ed25519'))),
      [IP_ADDR_ARGV.join(' ')]: s.ipAddr(MAC, '10.78.0.77'),
      [`[sudo] ${SEM_ARGV.join(' ')}`]: s.semListing(1_764_489_000),
      [FAILED_KEY]: 'imgtest-firstboot.service loaded failed failed imgtest first boot\n',
      '[sudo] timeout 600 systemctl is-system-running --wait': { exitCode: 1, stdout: 'degraded\n' },
    };
    const g = guest(1, world, {
      patch: { [FSTAB_ARGV.join(' ')]: s.FSTAB_FLAWED, [MOUNTED_ARGV.join(' ')]: s.mountedList(['/', '/boot/efi', '/srv/data']) },
      after: { ...after, [MOUNTED_ARGV.join(' ')]: s.mountedList(['/', '/boot/efi']) },
    });
    const outcome = await runCheck('life-reboot', context([g]), world);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toBe(
      'imgtest-run1-g1: after a reboot: hostname imgtest-a1b2-g1 -> localhost; machine-id 6f1d2c3b4a5968778695a4b3c2d1e0f1 -> 00000000000000000000000000000abc; ' +
        `ED25519 host key ${fp('ed25519', 1)} -> ${fp('ed25519', 7)}; IP 10.78.0.11 -> 10.78.0.77 on enp1s0; ` +
        '/srv/data (LABEL=imgtest-data in /etc/fstab) is not mounted; cloud-init ran per-instance modules again (semaphores rewritten: ' +
        `${s.SEM_MODULES.join(', ')}); new failed unit: imgtest-firstboot.service`,
    );
  });

  it('names a boot that does not finish and a reboot that kept the boot id', async () => {
    const world = lab();
    const g = guest(1, world, { outcome: { bootIdAfter: 'boot-1-a' }, after: { '[sudo] timeout 600 systemctl is-system-running --wait': { exitCode: 124 } } });
    const outcome = await runCheck('life-reboot', context([g]), world);
    expect(outcome.message).toBe(
      'imgtest-run1-g1: after a reboot: boot_id unchanged (boot-1-a): the guest did not reboot; the boot did not finish after the reboot (systemctl is-system-running: timed out after 600 s)',
    );
  });

  it('reboots every guest, passes the configured deadline, and keeps a nofail mount that was never there as a note', async () => {
    const world = lab();
    const seen: unknown[] = [];
    const nofail = `{"filesystems": [{"target": "/", "source": "LABEL=root", "fstype": "ext4", "options": "defaults"}, {"target": "/mnt", "source": "/dev/vdb1", "fstype": "auto", "options": "defaults,nofail,comment=cloudconfig"}]}`;
    const guests = [guest(1, world, { patch: { [FSTAB_ARGV.join(' ')]: nofail } }), guest(2, world)];
    for (const g of guests) {
      const original = g.reboot.bind(g);
      g.reboot = async (options) => {
        seen.push(options);
        return original(options);
      };
    }
    const outcome = await runCheck('life-reboot', context(guests, { rebootTimeoutSeconds: 900 }), world);
    expect(outcome.status).toBe('pass');
    expect(seen).toEqual([{ timeoutSeconds: 900 }, { timeoutSeconds: 900 }]);
    expect(outcome.message).toContain('imgtest-run1-g1: rebooted in 32 s (system running); same hostname, host keys, machine-id, IP and MAC, 2 fstab mount(s), instance-id');
    expect(outcome.evidence).toContain('note: /mnt (/dev/vdb1, nofail) is not mounted, as before the reboot');
  });
});

describe('what cannot be observed is an error, never a defect', () => {
  it('systemctl not installed (exit 127)', async () => {
    const world = lab();
    const g = guest(1, world, { patch: { [FAILED_KEY]: { exitCode: 127, stderr: 'sh: 1: systemctl: not found\n' } } });
    await expect(runCheck('life-failed-units', context([g]), world)).rejects.toThrow(/imgtest-run1-g1: cannot list failed units: the program is not installed in the guest/);
  });

  it('sudo saying command not found, a refused sudo, a dropped SSH connection', async () => {
    const world = lab();
    const cases: [string, FakeAnswer, RegExp][] = [
      ['[sudo] dumpe2fs -h /dev/vda2', { exitCode: 1, stderr: 'sudo: a password is required\n' }, /cannot measure the ext4 filesystem: sudo -n was refused/],
      [IP_ADDR_ARGV.join(' '), { exitCode: 127, stderr: 'sh: 1: ip: not found\n' }, /cannot list network interfaces: the program is not installed/],
      // The guest handle throws when the connection drops; the check lets it through as it is.
      [
        ROOT_ARGV.join(' '),
        new GuestTransportError(`SSH to cloud@10.78.0.11: the connection was closed by the remote host before \`${ROOT_ARGV.join(' ')}\` returned its exit status`, '10.78.0.11', 'closed'),
        /^SSH to cloud@10\.78\.0\.11: the connection was closed by the remote host before `findmnt/,
      ],
    ];
    await expect(runCheck('life-disk-growth', context([guest(1, world, { patch: { [cases[0]![0]]: cases[0]![1] } })]), world)).rejects.toThrow(cases[0]![2]);
    await expect(runCheck('life-reboot', context([guest(1, world, { patch: { [cases[1]![0]]: cases[1]![1] } })]), world)).rejects.toThrow(cases[1]![2]);
    await expect(runCheck('life-disk-growth', context([guest(1, world, { patch: { [cases[2]![0]]: cases[2]![1] } })]), world)).rejects.toThrow(cases[2]![2]);
  });

  it('a chrony without chronyc, and a guest without date', async () => {
    const world = lab();
    const chrony = guest(1, world, { patch: { [s.TIME_UNITS_KEY]: s.timeUnitsShow({ 'chrony.service': ['active', 'running', 'enabled'] }) } });
    await expect(runCheck('life-time-sync', context([chrony]), world)).rejects.toThrow(/cannot ask chronyd: the program is not installed/);
    const noDate = guest(1, world, { patch: { 'date +%s.%N': { exitCode: 127, stderr: 'sh: 1: date: not found\n' } } });
    await expect(runCheck('life-time-sync', context([noDate]), world)).rejects.toThrow(/cannot read the guest's clock: the program is not installed/);
  });

  it('a defect on one guest still fails when the other could not be observed', async () => {
    const world = lab();
    const broken = guest(2, world, { patch: { [FAILED_KEY]: new GuestTransportError('SSH to cloud@10.78.0.12: cannot connect: connection refused', '10.78.0.12', 'connect') } });
    const outcome = await runCheck(
      'life-failed-units',
      context([guest(1, world, { patch: { [FAILED_KEY]: s.FAILED_UNITS_FLAWED, '[sudo] journalctl -b -u imgtest-build-leftover.service -n 20 --no-pager': s.LEFTOVER_JOURNAL } }), broken]),
      world,
    );
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toContain('(and 1 guest could not be observed)');
    expect(outcome.evidence).toContain('could not observe: SSH to cloud@10.78.0.12: cannot connect: connection refused');
  });
});
