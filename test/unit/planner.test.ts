import { describe, expect, it } from 'vitest';
import { planRun } from '../../src/runner/planner.js';
import type { SuiteRequirements } from '../../src/suite-api/index.js';

const suite = (id: string, requires: SuiteRequirements) => ({ id, requires });
const shared = (count = 1, placement: 'any' | 'spread' = 'any'): SuiteRequirements => ({ guests: { count, placement, sharing: 'shared' } });

describe('planRun', () => {
  it('shares one set of guests between suites that only read them', () => {
    const plan = planRun({ suites: [suite('a', shared(2, 'spread')), suite('b', shared(1)), suite('c', shared(1))], hosts: ['hv1', 'hv2'], firmware: ['uefi'] });
    expect(plan.guests).toEqual([
      { key: 'g1', host: 'hv1', firmware: 'uefi' },
      { key: 'g2', host: 'hv2', firmware: 'uefi' },
    ]);
    expect(plan.online).toEqual([
      { suiteId: 'a', firmware: 'uefi', guests: ['g1', 'g2'] },
      { suiteId: 'b', firmware: 'uefi', guests: ['g1'] },
      { suiteId: 'c', firmware: 'uefi', guests: ['g1'] },
    ]);
  });

  it('gives a suite that changes its guest a guest of its own', () => {
    const plan = planRun({
      suites: [suite('read', shared(1)), suite('migrate', { guests: { count: 1, placement: 'any', sharing: 'exclusive' }, minHosts: 2 })],
      hosts: ['hv1', 'hv2'],
      firmware: ['bios'],
    });
    expect(plan.guests).toHaveLength(2);
    const [read, migrate] = plan.online;
    expect(read!.guests).not.toEqual(migrate!.guests);
    // The two guests land on different hosts, so both hosts work in parallel.
    expect(new Set(plan.guests.map((g) => g.host))).toEqual(new Set(['hv1', 'hv2']));
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

  it('runs a firmwareMatrix "first" suite once, with the first firmware, on a guest of its own', () => {
    const plan = planRun({
      suites: [suite('read', shared(1)), suite('migrate', { guests: { count: 1, placement: 'any', sharing: 'exclusive', firmwareMatrix: 'first' }, minHosts: 2 })],
      hosts: ['hv1', 'hv2'],
      firmware: ['uefi', 'bios', 'uefi-secureboot'],
    });
    expect(plan.online.filter((a) => a.suiteId === 'read').map((a) => a.firmware)).toEqual(['uefi', 'bios', 'uefi-secureboot']);
    expect(plan.online.filter((a) => a.suiteId === 'migrate')).toEqual([{ suiteId: 'migrate', firmware: 'uefi', guests: ['g4'] }]);
    expect(plan.guests).toHaveLength(4);
    // The three shared guests and the migration guest use both hosts.
    expect(new Set(plan.guests.map((g) => g.host))).toEqual(new Set(['hv1', 'hv2']));
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
