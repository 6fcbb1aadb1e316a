/**
 * What waivers (src/config/waivers.ts) do to a run. Pure, the clock given (`now`: when the run started,
 * so one run judges every waiver by the same day).
 *
 * - A `failed` case (any severity) that an unexpired waiver covers becomes `skipped`, its message
 *   `waived: <reason> (<ticket>, until <expires>): <the failure's message>`, its evidence kept, and the
 *   waiver on the case (`CaseResult.waiver`). A waiver covers a case when its `check` glob matches as
 *   --check's do (`checkPattern`: the check id, or with a `/` `<suite id>/<check id>`), its `image` glob (if any) the
 *   image's name, and its `firmware` (if any) the firmware of the suite's run: a suite run with no
 *   firmware of its own (offline suites, and those that take guests of any firmware) is never covered by
 *   a waiver that names one. The first waiver of the file that covers a case is the one used.
 * - An infrastructure `error` is never waived (it is not a known defect of the image), nor is a case
 *   that passed or was skipped.
 * - `expires` is the last day a waiver holds, in UTC. An expired waiver waives nothing; each one that
 *   applies to the image (its image glob matches, or it has none) is a failed `must` case of its own, in
 *   a suite `waivers` (`expiredWaiverSuite`), so the run fails until it is renewed or removed.
 */
import { parseDay, type Waiver } from '../config/waivers.js';
import type { CaseResult, SuiteResult } from '../report/model.js';
import type { Firmware } from '../suite-api/index.js';
import { globToRegExp } from '../util/glob.js';
import { checkPattern } from './selection.js';

/** The suite id of the expired waivers' cases (JUnit class `<image>.waivers`). */
export const WAIVERS_SUITE_ID = 'waivers';

/** Where a failure happened, as a waiver is matched against it. */
export interface WaiverScope {
  suiteId: string;
  checkId: string;
  /** The image's name (file name without .qcow2/.img/.raw). */
  image: string;
  /** The firmware of the suite's run; absent for offline suites and those of `firmwareMatrix: 'any'`. */
  firmware?: Firmware;
}

/** Whether `waiver` no longer holds at `now`: its `expires` day (UTC) is over. */
export function isExpired(waiver: Pick<Waiver, 'expires'>, now: Date): boolean {
  if (waiver.expires === undefined) return false;
  const day = parseDay(waiver.expires);
  if (!day) return true; // the loader refuses such a file; a hand-made waiver with a bad date holds nothing
  return now.getTime() >= Date.UTC(day.year, day.month - 1, day.day + 1);
}

/** Whether the waiver's image glob takes this image (a waiver without one takes every image). */
export function appliesToImage(waiver: Pick<Waiver, 'image'>, image: string): boolean {
  return waiver.image === undefined || globToRegExp(waiver.image).test(image);
}

/** Whether the waiver covers a failure here, expiry aside. */
export function covers(waiver: Waiver, scope: WaiverScope): boolean {
  if (!checkPattern(waiver.check).matches(scope.suiteId, scope.checkId) || !appliesToImage(waiver, scope.image)) return false;
  return waiver.firmware === undefined || waiver.firmware === scope.firmware;
}

/** `waived: <reason> (<ticket>, until <expires>): <message>`, the parts a waiver lacks left out. */
export function waivedMessage(waiver: Pick<Waiver, 'reason' | 'ticket' | 'expires'>, message: string): string {
  const about = [waiver.ticket, waiver.expires && `until ${waiver.expires}`].filter(Boolean).join(', ');
  return `waived: ${waiver.reason}${about ? ` (${about})` : ''}${message ? `: ${message}` : ''}`;
}

/**
 * The case as a waiver leaves it: a `failed` case for which `find` gives a waiver becomes skipped (see
 * above); any other case is returned as it is, and `find` is not asked.
 */
export function applyWaiver(result: CaseResult, find: () => Waiver | undefined): CaseResult {
  if (result.status !== 'failed') return result;
  const waiver = find();
  if (!waiver) return result;
  const { check, reason, ticket, expires, source } = waiver;
  return {
    ...result,
    status: 'skipped',
    message: waivedMessage(waiver, result.message),
    waiver: { check, reason, source, ...(ticket !== undefined ? { ticket } : {}), ...(expires !== undefined ? { expires } : {}) },
  };
}

/** A run's waivers: which covers a failure, which have expired, which were never used. */
export class Waivers {
  private readonly used = new Set<Waiver>();

  constructor(
    readonly all: readonly Waiver[],
    /** When the run started: every waiver is judged by this day. */
    readonly now: Date,
  ) {}

  /** The first unexpired waiver that covers a failure here (it counts as used), or undefined. */
  find(scope: WaiverScope): Waiver | undefined {
    const waiver = this.all.find((w) => !isExpired(w, this.now) && covers(w, scope));
    if (waiver) this.used.add(waiver);
    return waiver;
  }

  /** The expired waivers that apply to this image (each is a failure of the run). */
  expired(image: string): Waiver[] {
    return this.all.filter((w) => isExpired(w, this.now) && appliesToImage(w, image));
  }

  /** The unexpired waivers for this image that covered no failure of the run (so far). */
  unused(image: string): Waiver[] {
    return this.all.filter((w) => !this.used.has(w) && !isExpired(w, this.now) && appliesToImage(w, image));
  }
}

/**
 * The expired waivers as a suite of failed `must` cases, one per waiver (`waiver-expired[<check>]`), so
 * an expired waiver fails the run (exit 1) and shows in JUnit and results.json.
 */
export function expiredWaiverSuite(expired: readonly Waiver[], startedAt: string): SuiteResult {
  return {
    suiteId: WAIVERS_SUITE_ID,
    title: 'waiver file',
    guests: [],
    attachments: [],
    properties: {},
    startedAt,
    durationMs: 0,
    cases: expired.map((w): CaseResult => ({
      checkId: `waiver-expired[${w.check}]`,
      title: `the waiver at ${w.source} still holds`,
      severity: 'must',
      status: 'failed',
      message: `waiver for ${w.check} (${w.source}${w.ticket ? `, ${w.ticket}` : ''}) expired on ${w.expires}: renew it or fix the defect`,
      evidence: [
        `check: ${w.check}`,
        w.image !== undefined ? `image: ${w.image}` : '',
        w.firmware !== undefined ? `firmware: ${w.firmware}` : '',
        `reason: ${w.reason}`,
        w.ticket !== undefined ? `ticket: ${w.ticket}` : '',
        `expires: ${w.expires}`,
      ]
        .filter(Boolean)
        .join('\n'),
      durationMs: 0,
      attachments: [],
      attempts: 1,
    })),
  };
}
