/**
 * The planning core: a pure function from (suites, hosts, firmware) to the guests to boot and which
 * suite runs where. It boots the fewest guests: suites that only read a guest share one set of
 * guests per firmware; a suite that changes its guests gets its own.
 */
import type { Firmware, Suite } from '../suite-api/index.js';

export interface PlannedGuest {
  /** Stable within a run: g1, g2, ... */
  key: string;
  host: string;
  firmware: Firmware;
}

export interface SuiteAssignment {
  suiteId: string;
  firmware?: Firmware;
  /** Guest keys, in the order the suite sees them; empty for offline suites. */
  guests: string[];
}

export interface RunPlan {
  guests: PlannedGuest[];
  offline: SuiteAssignment[];
  online: SuiteAssignment[];
  /** Suites that cannot run with these hosts, with the reason (their checks are reported skipped). */
  unrunnable: { suiteId: string; reason: string }[];
}

export interface PlanInput {
  suites: readonly Pick<Suite, 'id' | 'requires'>[];
  hosts: readonly string[];
  /** Firmware the run tests with (a matrix: every suite that does not pin one runs once per entry). */
  firmware: readonly Firmware[];
}

export function planRun(input: PlanInput): RunPlan {
  const plan: RunPlan = { guests: [], offline: [], online: [], unrunnable: [] };
  let counter = 0;
  // Round-robin start per group so consecutive groups use both hosts instead of piling on the first.
  let nextHost = 0;
  const place = (count: number, placement: 'any' | 'spread', firmware: Firmware): string[] => {
    const keys: string[] = [];
    for (let i = 0; i < count; i++) {
      const host = input.hosts[(nextHost + i) % input.hosts.length]!;
      const key = `g${++counter}`;
      plan.guests.push({ key, host, firmware });
      keys.push(key);
    }
    nextHost = (nextHost + (placement === 'spread' ? count : 1)) % input.hosts.length;
    return keys;
  };

  const sharedGroups = new Map<Firmware, { count: number; spread: boolean; suites: string[] }>();
  const exclusive: { suite: Pick<Suite, 'id' | 'requires'>; firmware: Firmware }[] = [];

  for (const suite of input.suites) {
    const needs = suite.requires;
    if (needs.minHosts && input.hosts.length < needs.minHosts) {
      plan.unrunnable.push({ suiteId: suite.id, reason: `needs ${needs.minHosts} hosts, ${input.hosts.length} configured` });
      continue;
    }
    if (needs.offline || !needs.guests) {
      plan.offline.push({ suiteId: suite.id, guests: [] });
      continue;
    }
    const firmwares = needs.guests.firmware ? [needs.guests.firmware] : needs.guests.firmwareMatrix === 'first' ? input.firmware.slice(0, 1) : input.firmware;
    for (const firmware of firmwares) {
      if (needs.guests.sharing === 'exclusive') {
        exclusive.push({ suite, firmware });
        continue;
      }
      const group = sharedGroups.get(firmware) ?? { count: 0, spread: false, suites: [] };
      group.count = Math.max(group.count, needs.guests.count);
      group.spread ||= needs.guests.placement === 'spread';
      group.suites.push(suite.id);
      sharedGroups.set(firmware, group);
    }
  }

  for (const [firmware, group] of sharedGroups) {
    const keys = place(group.count, group.spread ? 'spread' : 'any', firmware);
    const wanted = new Map(input.suites.map((s) => [s.id, s.requires.guests?.count ?? 1]));
    for (const suiteId of group.suites) plan.online.push({ suiteId, firmware, guests: keys.slice(0, wanted.get(suiteId)) });
  }
  for (const { suite, firmware } of exclusive) {
    const guests = suite.requires.guests!;
    plan.online.push({ suiteId: suite.id, firmware, guests: place(guests.count, guests.placement, firmware) });
  }
  return plan;
}
