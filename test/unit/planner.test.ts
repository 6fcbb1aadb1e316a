import { describe, expect, it } from 'vitest';
import { guestsLeftIdle, planRun } from '../../src/runner/planner.js';
import type { SuiteRequirements } from '../../src/suite-api/index.js';

const suite = (id: string, requires: SuiteRequirements) => ({ id, requires });
const shared = (count = 1, placement: 'any' | 'spread' = 'any'): SuiteRequirements => ({ guests: { count, placement, sharing: 'shared' } });

describe('planRun', () => {
  it('shares one set of guests between suites that only read them', () => {
    const plan = planRun({ suites: [suite('a', shared(2, 'spread')), suite('b', shared(1)), suite('c', shared(1))], hosts: ['hv1', 'hv2'], firmware: ['uefi'] });
    expect(plan.guests).toEqual([
      { key: 'g1', host: 'hv1', firmware: 'uefi', datasource: 'nocloud' },
      { key: 'g2', host: 'hv2', firmware: 'uefi', datasource: 'nocloud' },
    ]);
    expect(plan.online).toEqual([
      { suiteId: 'a', firmware: 'uefi', guests: ['g1', 'g2'] },
      { suiteId: 'b', firmware: 'uefi', guests: ['g1'] },
      { suiteId: 'c', firmware: 'uefi', guests: ['g1'] },
    ]);
  });

  it('runs a suite that changes its guest last, on a shared guest the other suites have finished with', () => {
    const plan = planRun({
      suites: [suite('migrate', { guests: { count: 1, placement: 'any', sharing: 'exclusive' }, minHosts: 2 }), suite('read', shared(1))],
      hosts: ['hv1', 'hv2'],
      firmware: ['bios'],
    });
    expect(plan.guests).toEqual([{ key: 'g1', host: 'hv1', firmware: 'bios', datasource: 'nocloud' }]);
    expect(plan.online).toEqual([
      { suiteId: 'read', firmware: 'bios', guests: ['g1'] },
      { suiteId: 'migrate', firmware: 'bios', guests: ['g1'], exclusive: true },
    ]);
  });

  it('gives two suites that change their guests different guests when there are enough, and queues them on one guest rather than booting another', () => {
    const exclusive = { guests: { count: 1, placement: 'any' as const, sharing: 'exclusive' as const } };
    const roomy = planRun({ suites: [suite('read', shared(2)), suite('reboot', exclusive), suite('migrate', exclusive)], hosts: ['hv1', 'hv2'], firmware: ['uefi'] });
    expect(roomy.guests.map((g) => g.key)).toEqual(['g1', 'g2']);
    expect(roomy.online.filter((a) => a.exclusive).map((a) => a.guests)).toEqual([['g1'], ['g2']]);

    const tight = planRun({ suites: [suite('read', shared(1)), suite('reboot', exclusive), suite('migrate', exclusive)], hosts: ['hv1', 'hv2'], firmware: ['uefi'] });
    expect(tight.guests.map((g) => g.key)).toEqual(['g1']);
    // In plan order, so the executor's per-guest queue runs read, then reboot, then migrate on g1.
    expect(tight.online.map((a) => [a.suiteId, a.guests])).toEqual([
      ['read', ['g1']],
      ['reboot', ['g1']],
      ['migrate', ['g1']],
    ]);
  });

  it('adds instance-lifecycle (two guests, spread, changes them) to the default suites without booting another guest', () => {
    const lifecycle = suite('instance-lifecycle', { guests: { count: 2, placement: 'spread', sharing: 'exclusive', firmwareMatrix: 'any' } });
    const base = [
      suite('cloud-init-auth', { guests: { count: 2, placement: 'spread', sharing: 'shared', firmwareMatrix: 'any' } }),
      suite('package-audit', shared(1)),
      suite('live-migration', { guests: { count: 1, placement: 'any', sharing: 'exclusive', firmwareMatrix: 'first' }, minHosts: 2 }),
    ];
    for (const firmware of [['uefi', 'bios', 'uefi-secureboot'], ['uefi']] as const) {
      const without = planRun({ suites: base, hosts: ['hv1', 'hv2'], firmware });
      const withIt = planRun({ suites: [...base, lifecycle], hosts: ['hv1', 'hv2'], firmware });
      expect(withIt.guests).toEqual(without.guests);
      const assigned = withIt.online.find((a) => a.suiteId === 'instance-lifecycle')!;
      expect(assigned.exclusive).toBe(true);
      expect(new Set(assigned.guests.map((key) => withIt.guests.find((g) => g.key === key)!.host))).toEqual(new Set(['hv1', 'hv2']));
    }
  });

  it('boots one guest per firmware for the default suites of a hybrid Secure Boot image: three, over both hosts', () => {
    const plan = planRun({
      suites: [
        suite('hygiene', { offline: true }),
        suite('cloud-init-auth', { guests: { count: 2, placement: 'spread', sharing: 'shared', firmwareMatrix: 'any' } }),
        suite('ssh-hardening', { guests: { count: 1, placement: 'any', sharing: 'shared', firmwareMatrix: 'first' } }),
        suite('package-audit', shared(1)),
        suite('uefi-boot', { guests: { count: 1, placement: 'any', sharing: 'shared', seesFailedBoots: true } }),
        suite('live-migration', { guests: { count: 1, placement: 'any', sharing: 'exclusive', firmwareMatrix: 'first' }, minHosts: 2 }),
      ],
      hosts: ['hv1', 'hv2'],
      firmware: ['uefi', 'bios', 'uefi-secureboot'],
    });
    expect(plan.guests).toEqual([
      { key: 'g1', host: 'hv1', firmware: 'uefi', datasource: 'nocloud' },
      { key: 'g2', host: 'hv2', firmware: 'bios', datasource: 'nocloud' },
      { key: 'g3', host: 'hv1', firmware: 'uefi-secureboot', datasource: 'nocloud' },
    ]);
    // cloud-init-auth compares two guests on different hosts, whatever they booted with.
    expect(plan.online.find((a) => a.suiteId === 'cloud-init-auth')).toEqual({ suiteId: 'cloud-init-auth', guests: ['g1', 'g2'] });
    // Migration last, on the preferred firmware's guest, which starts on the first host.
    expect(plan.online.at(-1)).toEqual({ suiteId: 'live-migration', firmware: 'uefi', guests: ['g1'], exclusive: true });
    expect(plan.online.filter((a) => a.suiteId === 'package-audit').map((a) => a.guests)).toEqual([['g1'], ['g2'], ['g3']]);
  });

  it('keeps a pair for cross-guest checks when the run tests one firmware: two guests, one per host', () => {
    const plan = planRun({
      suites: [
        suite('cloud-init-auth', { guests: { count: 2, placement: 'spread', sharing: 'shared', firmwareMatrix: 'any' } }),
        suite('package-audit', shared(1)),
        suite('live-migration', { guests: { count: 1, placement: 'any', sharing: 'exclusive', firmwareMatrix: 'first' }, minHosts: 2 }),
      ],
      hosts: ['hv1', 'hv2'],
      firmware: ['uefi'],
    });
    expect(plan.guests).toEqual([
      { key: 'g1', host: 'hv1', firmware: 'uefi', datasource: 'nocloud' },
      { key: 'g2', host: 'hv2', firmware: 'uefi', datasource: 'nocloud' },
    ]);
    expect(plan.online.find((a) => a.suiteId === 'cloud-init-auth')!.guests).toEqual(['g1', 'g2']);
    expect(plan.online.find((a) => a.suiteId === 'live-migration')!.guests).toEqual(['g1']);
  });

  it('boots nothing for offline suites', () => {
    const plan = planRun({ suites: [suite('hygiene', { offline: true })], hosts: ['hv1', 'hv2'], firmware: ['bios'] });
    expect(plan.guests).toEqual([]);
    expect(plan.offline).toEqual([{ suiteId: 'hygiene', guests: [] }]);
  });

  it('runs a shared suite once per firmware in the matrix, and honours a pinned firmware', () => {
    const plan = planRun({
      suites: [suite('a', shared(1)), suite('uefi-only', { guests: { count: 1, placement: 'any', sharing: 'shared', firmware: 'uefi' } })],
      hosts: ['hv1', 'hv2'],
      firmware: ['bios', 'uefi'],
    });
    expect(plan.guests.map((g) => g.firmware).sort()).toEqual(['bios', 'uefi']);
    expect(plan.online.filter((a) => a.suiteId === 'a').map((a) => a.firmware)).toEqual(['bios', 'uefi']);
    expect(plan.online.filter((a) => a.suiteId === 'uefi-only').map((a) => a.firmware)).toEqual(['uefi']);
  });

  it('runs a firmwareMatrix "first" suite once, with the first firmware', () => {
    const plan = planRun({
      suites: [suite('read', shared(1)), suite('once', { guests: { count: 1, placement: 'any', sharing: 'shared', firmwareMatrix: 'first' } })],
      hosts: ['hv1', 'hv2'],
      firmware: ['uefi', 'bios', 'uefi-secureboot'],
    });
    expect(plan.online.filter((a) => a.suiteId === 'read').map((a) => a.firmware)).toEqual(['uefi', 'bios', 'uefi-secureboot']);
    expect(plan.online.filter((a) => a.suiteId === 'once')).toEqual([{ suiteId: 'once', firmware: 'uefi', guests: ['g1'] }]);
    expect(plan.guests).toHaveLength(3);
  });

  describe('datasource matrix', () => {
    const cloudInit = suite('cloud-init-auth', { guests: { count: 2, placement: 'spread', sharing: 'shared', firmwareMatrix: 'any', datasourceMatrix: 'every' } });
    const migration = suite('live-migration', { guests: { count: 1, placement: 'any', sharing: 'exclusive', firmwareMatrix: 'first' }, minHosts: 2 });

    it('gives a per-datasource suite a pair per datasource; the other suites stay on the first datasource and share its pair', () => {
      const plan = planRun({ suites: [cloudInit, suite('package-audit', shared(1)), migration], hosts: ['hv1', 'hv2'], firmware: ['uefi'], datasources: ['nocloud', 'ec2'] });
      expect(plan.guests).toEqual([
        { key: 'g1', host: 'hv1', firmware: 'uefi', datasource: 'nocloud' },
        { key: 'g2', host: 'hv2', firmware: 'uefi', datasource: 'nocloud' },
        { key: 'g3', host: 'hv1', firmware: 'uefi', datasource: 'ec2' },
        { key: 'g4', host: 'hv2', firmware: 'uefi', datasource: 'ec2' },
      ]);
      expect(plan.online.filter((a) => a.suiteId === 'cloud-init-auth')).toEqual([
        { suiteId: 'cloud-init-auth', datasource: 'nocloud', guests: ['g1', 'g2'] },
        { suiteId: 'cloud-init-auth', datasource: 'ec2', guests: ['g3', 'g4'] },
      ]);
      expect(plan.online.find((a) => a.suiteId === 'package-audit')).toEqual({ suiteId: 'package-audit', firmware: 'uefi', guests: ['g1'] });
      expect(plan.online.at(-1)).toEqual({ suiteId: 'live-migration', firmware: 'uefi', guests: ['g1'], exclusive: true });
    });

    it('runs only the provisioning suite on the listed datasources when it is the only one selected: four pairs over both hosts', () => {
      const plan = planRun({ suites: [cloudInit], hosts: ['hv1', 'hv2'], firmware: ['uefi'], datasources: ['nocloud', 'configdrive', 'ec2-imdsv2-only', 'exoscale'] });
      expect(plan.guests.map((g) => `${g.key}:${g.host}:${g.datasource}`)).toEqual([
        'g1:hv1:nocloud',
        'g2:hv2:nocloud',
        'g3:hv1:configdrive',
        'g4:hv2:configdrive',
        'g5:hv1:ec2-imdsv2-only',
        'g6:hv2:ec2-imdsv2-only',
        'g7:hv1:exoscale',
        'g8:hv2:exoscale',
      ]);
      expect(plan.online.map((a) => a.datasource)).toEqual(['nocloud', 'configdrive', 'ec2-imdsv2-only', 'exoscale']);
    });

    it('puts every suite on the first datasource when it is not nocloud', () => {
      const plan = planRun({ suites: [suite('package-audit', shared(1))], hosts: ['hv1'], firmware: ['bios'], datasources: ['exoscale', 'nocloud'] });
      expect(plan.guests).toEqual([{ key: 'g1', host: 'hv1', firmware: 'bios', datasource: 'exoscale' }]);
    });
  });

  it('marks a suite that needs more hosts than configured as unrunnable', () => {
    const plan = planRun({ suites: [suite('migrate', { guests: { count: 1, placement: 'any', sharing: 'exclusive' }, minHosts: 2 })], hosts: ['only'], firmware: ['bios'] });
    expect(plan.guests).toEqual([]);
    expect(plan.unrunnable).toEqual([{ suiteId: 'migrate', reason: 'needs 2 hosts, 1 configured' }]);
  });

  it('spreads two guests over one host when only one exists', () => {
    const plan = planRun({ suites: [suite('a', shared(2, 'spread'))], hosts: ['hv1'], firmware: ['bios'] });
    expect(plan.guests.map((g) => g.host)).toEqual(['hv1', 'hv1']);
  });
});

describe('guestsLeftIdle', () => {
  const twoFirmwares = planRun({ suites: [suite('pair', shared(2, 'spread')), suite('one', shared(1))], hosts: ['hv1', 'hv2'], firmware: ['uefi', 'bios'] });
  const never = () => false;

  it('names a guest whose every suite also needs a failed guest, and only that one', () => {
    // pair[uefi] on g1+g2, one[uefi] on g1; pair[bios] on g3+g4, one[bios] on g3.
    expect(twoFirmwares.online.map((a) => `${a.suiteId}[${a.firmware}] ${a.guests.join('+')}`).sort()).toEqual(['one[bios] g3', 'one[uefi] g1', 'pair[bios] g3+g4', 'pair[uefi] g1+g2']);
    // g3 failing leaves g4 with nothing to do; g1 failing leaves g2 idle too, and nothing else.
    expect(guestsLeftIdle(twoFirmwares, new Set(['g3']), never)).toEqual(['g4']);
    expect(guestsLeftIdle(twoFirmwares, new Set(['g1', 'g3']), never)).toEqual(['g2', 'g4']);
    // g4 failing: g3 still serves one[bios] alone.
    expect(guestsLeftIdle(twoFirmwares, new Set(['g4']), never)).toEqual([]);
    expect(guestsLeftIdle(twoFirmwares, new Set(), never)).toEqual([]);
  });

  it('keeps every guest of a suite that sees failed boots (its checks judge the boot)', () => {
    expect(guestsLeftIdle(twoFirmwares, new Set(['g3']), (id) => id === 'pair')).toEqual([]);
  });
});
