/**
 * The planning core: a pure function from (suites, hosts, firmware, datasources) to the guests to boot
 * and which suite runs where. It boots the fewest guests:
 * - one set of shared guests per firmware, as many as the most demanding suite of that firmware needs;
 * - a suite whose subject is not the firmware (`firmwareMatrix: 'any'`) takes guests of any firmware,
 *   spread over the hosts, so comparing two guests costs no extra boot when the run tests two firmwares;
 * - the datasource is a second matrix: a guest is provisioned one way, so a suite about provisioning
 *   (`datasourceMatrix: 'every'`) gets guests of each datasource of the run; every other suite runs on
 *   guests of the first one, which the provisioning suite then shares;
 * - a suite that changes its guest (`sharing: 'exclusive'`) runs last, on a shared guest the read-only
 *   suites have finished with. It prefers a guest no other such suite changes; when none is left it
 *   queues after that suite on the same guest (a reboot after a live migration costs no boot), and
 *   only when the shared guests cannot hold it at all does it get a guest of its own.
 * Guests go round-robin over the hosts, so both hosts boot in parallel.
 */
import type { Datasource, Firmware, Suite } from '../suite-api/index.js';

export interface PlannedGuest {
  /** Stable within a run: g1, g2, ... */
  key: string;
  host: string;
  firmware: Firmware;
  /** How the guest gets its cloud-init data. */
  datasource: Datasource;
}

export interface SuiteAssignment {
  suiteId: string;
  /** The firmware this run of the suite is about; absent when its guests may differ in firmware. */
  firmware?: Firmware;
  /** The datasource this run of the suite is about: set for suites that run once per datasource. */
  datasource?: Datasource;
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
  /** Datasources the run provisions with (default `nocloud`); the first is every other suite's. */
  datasources?: readonly Datasource[];
}

type PlannedSuite = Pick<Suite, 'id' | 'requires'>;

/** Shared guests are grouped by what they were made with: firmware and datasource. */
const shapeKey = (firmware: Firmware, datasource: Datasource) => `${firmware}/${datasource}`;

export function planRun(input: PlanInput): RunPlan {
  const plan: RunPlan = { guests: [], offline: [], online: [], unrunnable: [] };
  const datasources = input.datasources?.length ? input.datasources : (['nocloud'] as const);
  const place = (firmware: Firmware, datasource: Datasource): PlannedGuest => {
    const guest = { key: `g${plan.guests.length + 1}`, host: input.hosts[plan.guests.length % input.hosts.length]!, firmware, datasource };
    plan.guests.push(guest);
    return guest;
  };

  // 1. What each shape's shared set must hold, and who runs where.
  const sharedCount = new Map<string, { firmware: Firmware; datasource: Datasource; count: number }>();
  const perFirmware: { suite: PlannedSuite; firmware: Firmware; datasource: Datasource; perDatasource: boolean }[] = [];
  const anyFirmware: { suite: PlannedSuite; datasource: Datasource; perDatasource: boolean }[] = [];
  const exclusive: { suite: PlannedSuite; firmware?: Firmware; datasource: Datasource; perDatasource: boolean }[] = [];
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
    const perDatasource = guests.datasourceMatrix === 'every';
    for (const datasource of perDatasource ? datasources : datasources.slice(0, 1)) {
      for (const firmware of firmwares) {
        if (guests.sharing === 'exclusive') exclusive.push({ suite, firmware, datasource, perDatasource });
        else if (firmware === undefined) anyFirmware.push({ suite, datasource, perDatasource });
        else {
          const key = shapeKey(firmware, datasource);
          sharedCount.set(key, { firmware, datasource, count: Math.max(sharedCount.get(key)?.count ?? 0, guests.count) });
          perFirmware.push({ suite, firmware, datasource, perDatasource });
        }
      }
    }
  }

  // 2. Shared guests, in the matrix's order (the image's preferred firmware first, the first datasource first).
  const shapes = [...sharedCount.values()].sort((a, b) => datasources.indexOf(a.datasource) - datasources.indexOf(b.datasource) || rank(input.firmware, a.firmware) - rank(input.firmware, b.firmware));
  const shared = new Map<string, PlannedGuest[]>();
  for (const { firmware, datasource, count } of shapes) {
    shared.set(
      shapeKey(firmware, datasource),
      Array.from({ length: count }, () => place(firmware, datasource)),
    );
  }
  const sharedOf = (datasource: Datasource) => [...shared.values()].flat().filter((g) => g.datasource === datasource);
  // Suites that take any firmware: enough guests of their datasource in all, topped up with the preferred firmware.
  for (const datasource of datasources) {
    const anyNeed = Math.max(0, ...anyFirmware.filter((a) => a.datasource === datasource).map((a) => a.suite.requires.guests!.count));
    while (sharedOf(datasource).length < anyNeed) {
      const key = shapeKey(input.firmware[0]!, datasource);
      shared.set(key, [...(shared.get(key) ?? []), place(input.firmware[0]!, datasource)]);
    }
  }
  const tagged = (datasource: Datasource, perDatasource: boolean) => (perDatasource ? { datasource } : {});

  for (const { suite, firmware, datasource, perDatasource } of perFirmware) {
    plan.online.push({
      suiteId: suite.id,
      firmware,
      ...tagged(datasource, perDatasource),
      guests: shared
        .get(shapeKey(firmware, datasource))!
        .slice(0, suite.requires.guests!.count)
        .map((g) => g.key),
    });
  }
  for (const { suite, datasource, perDatasource } of anyFirmware) {
    const { count, placement } = suite.requires.guests!;
    plan.online.push({ suiteId: suite.id, ...tagged(datasource, perDatasource), guests: pick(sharedOf(datasource), count, placement).map((g) => g.key) });
  }

  // 3. Suites that change their guests, last; on guests no other such suite has where there are
  //    enough, otherwise queued after one on its guest, in plan order.
  const claimed = new Set<string>();
  for (const { suite, firmware, datasource, perDatasource } of exclusive) {
    const { count, placement } = suite.requires.guests!;
    const fits = sharedOf(datasource).filter((g) => firmware === undefined || g.firmware === firmware);
    const free = fits.filter((g) => !claimed.has(g.key));
    const chosen = pick([...free, ...fits.filter((g) => claimed.has(g.key))], count, placement);
    while (chosen.length < count) chosen.push(place(firmware ?? input.firmware[0]!, datasource));
    chosen.forEach((g) => claimed.add(g.key));
    plan.online.push({ suiteId: suite.id, ...(firmware ? { firmware } : {}), ...tagged(datasource, perDatasource), guests: chosen.map((g) => g.key), exclusive: true });
  }
  return plan;
}

/** A firmware's place in the run's matrix; one the matrix does not list (a suite pins it) comes after. */
function rank(matrix: readonly Firmware[], firmware: Firmware): number {
  const index = matrix.indexOf(firmware);
  return index < 0 ? matrix.length : index;
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
