import { describe, expect, it } from 'vitest';
import { runSuiteChecks } from '../../src/runner/checks.js';
import { defineSuite, pass } from '../../src/suite-api/index.js';
import { HYBRID_BOOT } from './helpers/fake-guest.js';

describe('suite properties', () => {
  it('context.property lands in the properties the runner reports (last value wins), from any check', async () => {
    const suite = defineSuite({
      id: 'figures',
      title: 'figures',
      requires: { offline: true },
      checks: [
        { id: 'f-one', title: 'one', severity: 'must', run: async (context) => (context.property('x.leg1.downtime-ms', 120), context.property('x.route', 'a'), pass('ok')) },
        { id: 'f-two', title: 'two', severity: 'must', run: async (context) => (context.property('x.route', 'a -> b'), pass('ok')) },
      ],
    });
    const properties: Record<string, string> = {};
    const cases = await runSuiteChecks({
      suite,
      image: { path: '/i.qcow2', name: 'i', format: 'qcow2', virtualSize: 1, actualSize: 1, sha256: '0'.repeat(64), boot: HYBRID_BOOT },
      guests: [],
      hosts: [],
      options: {},
      artifactDir: '/nonexistent',
      log: () => undefined,
      onCase: () => undefined,
      properties,
    });
    expect(cases.map((c) => c.status)).toEqual(['passed', 'passed']);
    expect(properties).toEqual({ 'x.leg1.downtime-ms': '120', 'x.route': 'a -> b' });
  });
});
