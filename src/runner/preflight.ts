import { UsageError } from '../errors.js';
import type { Suite } from '../suite-api/index.js';

/**
 * A selected suite that needs more hosts than there are is a usage error before the run starts.
 * The planner would otherwise skip all its checks and the run could pass with nothing tested.
 * Pure: the caller knows how many hosts the run will have (the config's, or the local lab's).
 */
export function requireEnoughHosts(suites: readonly Pick<Suite, 'id' | 'requires'>[], hostCount: number): void {
  const short = suites.filter((suite) => (suite.requires.minHosts ?? 1) > hostCount);
  if (!short.length) return;
  const needs = short.map((suite) => `${suite.id} needs ${suite.requires.minHosts}`).join(', ');
  throw new UsageError(`${needs} hosts, the config has ${hostCount}: add hosts, or leave the suite out with --suite`);
}
