/**
 * What a run has done so far, kept as it happens, so a report can be written however the run ends:
 * complete, failed early (a host that does not answer), or interrupted (Ctrl-C, SIGTERM, SIGHUP).
 * The run's report folder and `latest` link are made first, and a provisional report saying the run
 * has not finished is written into it at once: a run killed outright (SIGKILL, a crash) still leaves
 * a junit.xml with an `<error>`, never the previous run's green one under `latest`.
 */
import { mkdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { renderJson, JSON_FILE_NAME } from '../report/json.js';
import { JUNIT_FILE_NAME, renderJunit } from '../report/junit.js';
import { writeReportFile } from '../report/files.js';
import { verdictOf, type CaseResult, type HostFacts, type RunResult, type SuiteResult } from '../report/model.js';
import type { Datasource, Firmware, ImageInfo, Suite } from '../suite-api/index.js';
import { newRunId } from './run-id.js';
import type { CheckSelection } from './selection.js';
import { expiredWaiverSuite, type Waivers } from './waivers.js';

/** The pseudo-suite that carries what happened to the run as a whole (JUnit class `<image>.imgtest`). */
export const RUN_SUITE_ID = 'imgtest';

/** One run of a suite: the suite, and the firmware and datasource that run is about. */
const runKey = (r: Pick<SuiteResult, 'suiteId' | 'firmware' | 'datasource'>) => `${r.suiteId}/${r.firmware ?? ''}/${r.datasource ?? ''}`;

export class RunRecord {
  readonly runId: string;
  readonly startedAt: Date;
  readonly dir: string;
  image?: ImageInfo;
  hosts: HostFacts[] = [];
  firmware = '';
  accel = '';
  /** --check/--skip/--tag/--exclude-tag: a check not selected is reported with that reason, however the run ends. */
  selection?: CheckSelection;
  /** --waivers: each expired waiver that applies to the image is a failed case (suite `waivers`), however the run ends. */
  waivers?: Waivers;
  private readonly results: SuiteResult[] = [];
  /** Suite runs still to report: (suite, firmware) pairs in plan order. */
  private expected: { suite: Suite; firmware?: Firmware; datasource?: Datasource }[] = [];
  /** What is going on now, per actor (a guest, a suite): for "interrupted while ...". */
  private readonly activities = new Map<string, string>();

  constructor(
    readonly suites: readonly Suite[],
    reportRoot: string,
    readonly imagePath: string,
    readonly version: string,
    now = new Date(),
  ) {
    this.startedAt = now;
    this.runId = newRunId(now);
    this.dir = resolve(reportRoot, this.runId);
    this.expected = suites.map((suite) => ({ suite }));
  }

  /** Makes the run's folder, points `latest` at it and writes the provisional report. */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await pointLatest(this.dir);
    await this.write(this.ended('error', 'the run did not finish: imgtest stopped before it wrote its final report (killed, or the machine went down)'));
  }

  /** The plan is known: which suite runs how often (once per firmware for some). */
  expect(runs: { suite: Suite; firmware?: Firmware; datasource?: Datasource }[]): void {
    this.expected = runs;
  }

  add(result: SuiteResult): void {
    this.results.push(result);
  }

  doing(actor: string, what: string | undefined): void {
    if (what === undefined) this.activities.delete(actor);
    else this.activities.set(actor, what);
  }

  /** "booting g2 on hv2; running package-audit [uefi]", or '' when nothing is under way. */
  get activity(): string {
    // Guests on one host wait for the same copy of the image: said once.
    return [...new Set(this.activities.values())].join('; ');
  }

  /** The results so far, each suite run not reported yet skipped, plus a run case with `message`. */
  ended(status: 'error', message: string, code?: string, exitCode?: 2 | 3): RunResult {
    const now = new Date();
    const reported = new Set(this.results.map(runKey));
    const notRun: SuiteResult[] = this.expected
      .filter(({ suite, firmware, datasource }) => !reported.has(runKey({ suiteId: suite.id, firmware, datasource })))
      .map(({ suite, firmware, datasource }) => ({
        suiteId: suite.id,
        title: suite.title,
        firmware,
        ...(datasource ? { datasource } : {}),
        guests: [],
        attachments: [],
        properties: {},
        startedAt: now.toISOString(),
        durationMs: 0,
        cases: suite.checks.map((c): CaseResult => ({
          checkId: c.id,
          title: c.title,
          severity: c.severity,
          status: 'skipped',
          message: this.selection?.reasonFor(suite, c) ?? `not run: ${message}`,
          durationMs: 0,
          attachments: [],
          attempts: 0,
        })),
      }));
    const runCase: CaseResult = {
      checkId: 'run',
      title: 'the run completes',
      severity: 'must',
      status,
      message: code ? `${message} [${code}]` : message,
      durationMs: now.getTime() - this.startedAt.getTime(),
      attachments: [],
      attempts: 1,
    };
    const runSuite: SuiteResult = {
      suiteId: RUN_SUITE_ID,
      title: 'imgtest run',
      guests: [],
      cases: [runCase],
      attachments: [],
      properties: {},
      startedAt: this.startedAt.toISOString(),
      durationMs: runCase.durationMs,
    };
    return { ...this.result([runSuite, ...this.results, ...notRun]), ...(exitCode ? { exitCode } : {}) };
  }

  /** The complete run's result, suites in the order they were selected, each suite's runs in plan order. */
  completed(order: readonly Suite[]): RunResult {
    const suiteRank = new Map(order.map((s, i) => [s.id, i]));
    const planRank = new Map(this.expected.map((e, i) => [runKey({ suiteId: e.suite.id, firmware: e.firmware, datasource: e.datasource }), i]));
    const rank = (r: SuiteResult) => [suiteRank.get(r.suiteId) ?? 0, planRank.get(runKey(r)) ?? 0] as const;
    return this.result([...this.results].sort((a, b) => rank(a)[0] - rank(b)[0] || rank(a)[1] - rank(b)[1]));
  }

  private result(reported: SuiteResult[]): RunResult {
    const finishedAt = new Date();
    const image: RunResult['image'] = this.image ?? {
      path: resolve(this.imagePath),
      name: basename(this.imagePath).replace(/\.(qcow2|img|raw)$/i, ''),
      format: 'unknown',
      virtualSize: 0,
      actualSize: 0,
      sha256: '',
    };
    // Expired waivers fail the run whatever else happened: last, after the suites.
    const expired = this.waivers?.expired(image.name) ?? [];
    const suites = expired.length ? [...reported, expiredWaiverSuite(expired, this.startedAt.toISOString())] : reported;
    const { verdict, exitCode } = verdictOf(suites);
    return {
      runId: this.runId,
      imgtestVersion: this.version,
      startedAt: this.startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - this.startedAt.getTime(),
      image: { path: image.path, name: image.name, format: image.format, virtualSize: image.virtualSize, actualSize: image.actualSize, sha256: image.sha256, boot: image.boot },
      hosts: this.hosts,
      firmware: this.firmware,
      accel: this.accel,
      reportDir: this.dir,
      suites,
      verdict,
      exitCode,
    };
  }

  /** junit.xml and results.json, each replaced atomically. */
  async write(result: RunResult): Promise<void> {
    await writeReportFile(this.dir, JUNIT_FILE_NAME, renderJunit(result));
    await writeReportFile(this.dir, JSON_FILE_NAME, renderJson(result));
  }
}

/**
 * `<reportDir>/latest` -> `<run id>`: relative (the folder can be moved or mounted elsewhere, e.g. a
 * Jenkins workspace), and replaced atomically (a new link under a temporary name renamed over the
 * old one), so a reader never finds no link or one to an older run. Errors are not swallowed.
 */
export async function pointLatest(runDir: string): Promise<void> {
  const link = join(dirname(runDir), 'latest');
  const temporary = `${link}.tmp-${process.pid}`;
  await rm(temporary, { force: true });
  await symlink(basename(runDir), temporary);
  await rename(temporary, link);
}

/** Where `latest` points, as an absolute path (undefined when there is no link). */
export async function latestTarget(reportRoot: string): Promise<string | undefined> {
  const target = await readlink(join(reportRoot, 'latest')).catch(() => undefined);
  return target === undefined ? undefined : resolve(reportRoot, target);
}
