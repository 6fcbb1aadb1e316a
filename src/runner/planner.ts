/**
 * The planning core: a pure function from (suites, hosts, firmware) to the guests to boot and which
 * suite runs where. It boots the fewest guests:
 * - one set of shared guests per firmware, as many as the most demanding suite of that firmware needs;
 * - a suite whose subject is not the firmware (`firmwareMatrix: 'any'`) takes guests of any firmware,
 *   spread over the hosts, so comparing two guests costs no extra boot when the run tests two firmwares;
 * - a suite that changes its guest (`sharing: 'exclusive'`) runs last, on a shared guest the read-only
 *   suites have finished with. It prefers a guest no other such suite changes; when none is left it
 *   queues after that suite on the same guest (a reboot after a live migration costs no boot), and
 *   only when the shared guests cannot hold it at all does it get a guest of its own.
 * Guests go round-robin over the hosts, so both hosts boot in parallel.
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
  /** The firmware this run of the suite is about; absent when its guests may differ in firmware. */
  firmware?: Firmware;
  /** Guest keys, in the order the suite sees them; empty for offline suites. */
  guests: string[];
  /** The suite changes its guests: it runs after every shared suite (and after any earlier such suite on the same guest). */
  exclusive?: boolean;
}

export interface RunPlan {
  guests: PlannedGuest[];
  offline: SuiteAssignment[];
  /** In execution order: shared suites first, then the ones that change their guests. */
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

type PlannedSuite = Pick<Suite, 'id' | 'requires'>;

export function planRun(input: PlanInput): RunPlan {
  const plan: RunPlan = { guests: [], offline: [], online: [], unrunnable: [] };
  const place = (firmware: Firmware): PlannedGuest => {
    const guest = { key: `g${plan.guests.length + 1}`, host: input.hosts[plan.guests.length % input.hosts.length]!, firmware };
    plan.guests.push(guest);
    return guest;
  };

  // 1. What each firmware's shared set must hold, and who runs where.
  const sharedCount = new Map<Firmware, number>();
  const perFirmware: { suite: PlannedSuite; firmware: Firmware }[] = [];
  const anyFirmware: PlannedSuite[] = [];
  const exclusive: { suite: PlannedSuite; firmware?: Firmware }[] = [];
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
    const guests = needs.guests;
    const matrix = guests.firmwareMatrix ?? 'every';
    const firmwares: (Firmware | undefined)[] = guests.firmware ? [guests.firmware] : matrix === 'any' ? [undefined] : matrix === 'first' ? input.firmware.slice(0, 1) : [...input.firmware];
    for (const firmware of firmwares) {
      if (guests.sharing === 'exclusive') exclusive.push({ suite, firmware });
      else if (firmware === undefined) anyFirmware.push(suite);
      else {
        sharedCount.set(firmware, Math.max(sharedCount.get(firmware) ?? 0, guests.count));
        perFirmware.push({ suite, firmware });
      }
    }
  }

  // 2. Shared guests, in the matrix's order (the image's preferred firmware first).
  const order = [...new Set([...input.firmware, ...sharedCount.keys()])];
  const shared = new Map<Firmware, PlannedGuest[]>();
  for (const firmware of order) {
    const count = sharedCount.get(firmware) ?? 0;
    if (count)
      shared.set(
        firmware,
        Array.from({ length: count }, () => place(firmware)),
      );
  }
  const allShared = () => [...shared.values()].flat();
  // Suites that take any firmware: enough guests in all, topped up with the preferred firmware.
  const anyNeed = Math.max(0, ...anyFirmware.map((s) => s.requires.guests!.count));
  while (allShared().length < anyNeed) {
    const firmware = input.firmware[0]!;
    shared.set(firmware, [...(shared.get(firmware) ?? []), place(firmware)]);
  }

  for (const { suite, firmware } of perFirmware) {
    plan.online.push({
      suiteId: suite.id,
      firmware,
      guests: shared
        .get(firmware)!
        .slice(0, suite.requires.guests!.count)
        .map((g) => g.key),
    });
  }
  for (const suite of anyFirmware) {
    const { count, placement } = suite.requires.guests!;
    plan.online.push({ suiteId: suite.id, guests: pick(allShared(), count, placement).map((g) => g.key) });
  }

  // 3. Suites that change their guests, last; on guests no other such suite has where there are
  //    enough, otherwise queued after one on its guest, in plan order.
  const claimed = new Set<string>();
  for (const { suite, firmware } of exclusive) {
    const { count, placement } = suite.requires.guests!;
    const fits = allShared().filter((g) => firmware === undefined || g.firmware === firmware);
    const free = fits.filter((g) => !claimed.has(g.key));
    const chosen = pick([...free, ...fits.filter((g) => claimed.has(g.key))], count, placement);
    while (chosen.length < count) chosen.push(place(firmware ?? input.firmware[0]!));
    chosen.forEach((g) => claimed.add(g.key));
    plan.online.push({ suiteId: suite.id, ...(firmware ? { firmware } : {}), guests: chosen.map((g) => g.key), exclusive: true });
  }
  return plan;
}

/** `count` guests from `candidates` in order; `spread` takes one per host before a second on any host. */
function pick(candidates: readonly PlannedGuest[], count: number, placement: 'any' | 'spread'): PlannedGuest[] {
  if (placement !== 'spread') return candidates.slice(0, count);
  const chosen: PlannedGuest[] = [];
  const hosts = new Set<string>();
  for (const guest of candidates) {
    if (chosen.length < count && !hosts.has(guest.host)) {
      chosen.push(guest);
      hosts.add(guest.host);
    }
  }
  for (const guest of candidates) if (chosen.length < count && !chosen.includes(guest)) chosen.push(guest);
  return chosen;
}

/**
 * Guests no suite can use any more once the guests in `failed` did not boot: every suite planned on
 * them also needs a failed guest, so it will only report that failure. Booting them on is minutes of a
 * host's CPU for nothing (a TCG boot) and delays the verdict. A suite that sees failed boots
 * (`seesFailedBoots`: its checks judge the boot itself) still needs all of its guests.
 */
export function guestsLeftIdle(plan: Pick<RunPlan, 'guests' | 'online'>, failed: ReadonlySet<string>, seesFailedBoots: (suiteId: string) => boolean): string[] {
  const stillUseful = (a: SuiteAssignment) => seesFailedBoots(a.suiteId) || !a.guests.some((key) => failed.has(key));
  return plan.guests
    .map((g) => g.key)
    .filter((key) => !failed.has(key))
    .filter((key) => !plan.online.some((a) => a.guests.includes(key) && stillUseful(a)));
}
