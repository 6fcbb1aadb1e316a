import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeItem, planHostClean, planLeaseClean, runIdOf, unregisteredRuns } from '../../src/clean/plan.js';
import { libvirtUriEndpoint, parseDomIfListMacs, parseNameList, parseVolList } from '../../src/hosts/parse.js';
import { dropLeaseLines } from '../../src/lab/leases.js';
import { parseDnsmasqLeases } from '../../src/lab/parse.js';

const recorded = (name: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'virsh-doctor', name), 'utf8');

const DEAD = '20261130T030131-3c3a';
const LIVE = '20261130T032236-9885';
/** The lab's leases file as dnsmasq wrote it (recorded), plus a guest of a live run and an unnamed client. */
const LEASES = [
  `1796011573 52:54:00:b3:ac:2a 10.78.0.199 imgtest-3c3a-g1 ff:00:b3:ac:2a:00:01:00:01:32:9f:a4:a1:52:54:00:b3:ac:2a`,
  `1796011561 52:54:00:c1:44:58 10.78.0.119 imgtest-3c3a-g3 ff:00:c1:44:58:00:01:00:01:32:9f:a4:96:52:54:00:c1:44:58`,
  `1796011561 52:54:00:d8:4a:b0 10.78.0.150 imgtest-9885-g1 *`,
  `1796011561 52:54:00:00:00:01 10.78.0.151 * *`,
].join('\n');

describe('clean: parsers', () => {
  it('reads vol-list, pool-list and domiflist (recorded)', () => {
    expect(parseVolList(recorded('vol-list.txt')).map((v) => v.name)).toEqual([
      `imgtest-${DEAD}-base.qcow2`,
      `imgtest-${DEAD}-g1-seed.iso`,
      `imgtest-${DEAD}-g1.qcow2`,
      `imgtest-${DEAD}-g3-seed.iso`,
      `imgtest-${DEAD}-g3.qcow2`,
    ]);
    expect(parseVolList(recorded('vol-list.txt'))[0]!.path).toBe(`/var/lib/imgtest/images/imgtest-${DEAD}-base.qcow2`);
    expect(parseVolList(' Name   Path\n--------------\n a.qcow2   /p/a.qcow2\n')).toEqual([{ name: 'a.qcow2', path: '/p/a.qcow2' }]);
    expect(parseNameList(recorded('pool-list.txt'))).toEqual(['imgtest', 'imgtest-shared']);
    expect(parseDomIfListMacs(recorded('domiflist.txt'))).toEqual(['52:54:00:d8:4a:b0']);
  });

  it('finds the TCP endpoint of remote libvirt URIs only', () => {
    expect(libvirtUriEndpoint('qemu+ssh://root@10.77.0.1/system?keyfile=/k&command=/c')).toEqual({ host: '10.77.0.1', port: 22 });
    expect(libvirtUriEndpoint('qemu+ssh://root@hv1:2222/system')).toEqual({ host: 'hv1', port: 2222 });
    expect(libvirtUriEndpoint('qemu+tcp://10.77.0.2/system')).toEqual({ host: '10.77.0.2', port: 16509 });
    expect(libvirtUriEndpoint('qemu://hv1/system')).toEqual({ host: 'hv1', port: 16514 });
    expect(libvirtUriEndpoint('qemu+ssh://[fd00::1]/system')).toEqual({ host: 'fd00::1', port: 22 });
    expect(libvirtUriEndpoint('qemu:///system')).toBeUndefined();
    expect(libvirtUriEndpoint('qemu+unix:///system?socket=/x')).toBeUndefined();
  });
});

describe('clean: what is removed', () => {
  it('takes the run id from domain, volume, NVRAM and pool names', () => {
    expect(runIdOf(`imgtest-${DEAD}-g1`)).toBe(DEAD);
    expect(runIdOf(`imgtest-${DEAD}-g1_VARS.fd`)).toBe(DEAD);
    expect(runIdOf(`imgtest-${DEAD}-g2-nvram`)).toBe(DEAD);
    expect(runIdOf('imgtest-shared')).toBeUndefined();
    expect(runIdOf('debian.qcow2')).toBeUndefined();
  });

  it("removes a dead run's domains, volumes in every pool, orphan NVRAM and temporary pools; keeps live runs and foreign names", () => {
    const items = planHostClean(
      {
        host: 'hv1',
        domains: [`imgtest-${DEAD}-g1`, `imgtest-${LIVE}-g1`, 'someone-elses-vm'],
        pools: [
          {
            name: 'imgtest',
            volumes: parseVolList(recorded('vol-list.txt'))
              .map((v) => v.name)
              .concat([`imgtest-${LIVE}-base.qcow2`, 'golden.qcow2']),
          },
          { name: 'imgtest-shared', volumes: [`imgtest-${DEAD}-g2.qcow2`] },
          { name: `imgtest-${DEAD}-g2-nvram`, volumes: [`imgtest-${DEAD}-g2_VARS.fd`, `imgtest-${LIVE}-g1_VARS.fd`] },
          { name: 'imgtest-clean-nvram', volumes: [`imgtest-${DEAD}-g1_VARS.fd`, `imgtest-${DEAD}-g9_VARS.fd`, 'win11_VARS.fd'] },
          { name: 'stopped-pool' },
        ],
      },
      new Set([LIVE]),
    );
    expect(items.map(describeItem)).toEqual([
      `hv1: domain imgtest-${DEAD}-g1 and its NVRAM (run ${DEAD}, not running)`,
      ...parseVolList(recorded('vol-list.txt')).map((v) => `hv1: volume ${v.name} in pool imgtest (run ${DEAD}, not running)`),
      `hv1: volume imgtest-${DEAD}-g2.qcow2 in pool imgtest-shared (run ${DEAD}, not running)`,
      `hv1: volume imgtest-${DEAD}-g2_VARS.fd in pool imgtest-${DEAD}-g2-nvram (run ${DEAD}, not running)`,
      // g1's NVRAM goes with its domain (undefine --nvram); g9's domain is gone already.
      `hv1: volume imgtest-${DEAD}-g9_VARS.fd in pool imgtest-clean-nvram (run ${DEAD}, not running)`,
      `hv1: temporary pool imgtest-${DEAD}-g2-nvram (run ${DEAD}, not running)`,
    ]);
  });

  it('removes nothing when every run is in progress', () => {
    expect(planHostClean({ host: 'hv1', domains: [`imgtest-${DEAD}-g1`], pools: [{ name: 'imgtest', volumes: [`imgtest-${DEAD}-base.qcow2`] }] }, new Set([DEAD]))).toEqual([]);
  });

  it("drops the leases of dead runs' guests that are gone; keeps live runs', live domains' and expired ones", () => {
    const leases = parseDnsmasqLeases(LEASES);
    const now = 1796011000;
    expect(planLeaseClean(leases, new Set(), new Set([LIVE]), now).map(describeItem)).toEqual([
      'lab: DHCP lease 10.78.0.199 (52:54:00:b3:ac:2a, imgtest-3c3a-g1) (run …-3c3a, not running)',
      'lab: DHCP lease 10.78.0.119 (52:54:00:c1:44:58, imgtest-3c3a-g3) (run …-3c3a, not running)',
    ]);
    // A MAC still on a domain keeps its lease (whatever its hostname says).
    expect(planLeaseClean(leases, new Set(['52:54:00:b3:ac:2a']), new Set([LIVE]), now).map((i) => (i.kind === 'lease' ? i.address : ''))).toEqual(['10.78.0.119']);
    // With no run in progress, an unnamed lease of no domain goes too; the 9885 one as well.
    expect(planLeaseClean(leases, new Set(), new Set(), now).map((i) => (i.kind === 'lease' ? i.address : ''))).toEqual(['10.78.0.199', '10.78.0.119', '10.78.0.150', '10.78.0.151']);
    // Expired leases are left to dnsmasq.
    expect(planLeaseClean(leases, new Set(), new Set(), 1796011600)).toEqual([]);
  });

  it('rewrites the leases file without the dropped MACs, other lines unchanged', () => {
    const text = `${LEASES}\nduid 00:01:00:01:2c:aa:bb:cc\n`;
    const out = dropLeaseLines(text, new Set(['52:54:00:b3:ac:2a', '52:54:00:00:00:01']));
    expect(out.split('\n')).toEqual([LEASES.split('\n')[1], LEASES.split('\n')[2], 'duid 00:01:00:01:2c:aa:bb:cc', '']);
  });

  it('spots imgtest run processes that are not registered (an older imgtest): clean must not guess', () => {
    const processes = [
      { pid: 14385, argv: ['node', '/work/wt/bin/imgtest.js', 'run', '/x.qcow2', '--report-dir', 'r'] },
      { pid: 200, argv: ['node', '/usr/local/bin/imgtest', 'run', 'x.qcow2'] },
      { pid: 201, argv: ['node', '/work/main/bin/imgtest.js', 'clean', '--dry-run'] },
      { pid: 202, argv: ['node', 'bin/imgtest.js', 'lab', 'status'] },
      { pid: 203, argv: ['vim', 'run'] },
      { pid: 300, argv: ['node', 'bin/imgtest.js', 'run', 'y.qcow2'] },
    ];
    expect(unregisteredRuns(processes, new Set([300]), 201)).toEqual([14385, 200]);
  });
});
