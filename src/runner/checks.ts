import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError, isImgtestError } from '../errors.js';
import type { CaseAttempt, CaseResult } from '../report/model.js';
import {
  DEFAULT_CHECK_TIMEOUT_SECONDS,
  type BootFailure,
  type Check,
  type CheckContext,
  type Datasource,
  type Firmware,
  type GuestHandle,
  type HostInfo,
  type ImageInfo,
  type Suite,
} from '../suite-api/index.js';
import type { Waiver } from '../config/waivers.js';
import { applyWaiver } from './waivers.js';

export interface SuiteRunInput {
  suite: Suite;
  image: ImageInfo;
  firmware?: Firmware;
  /** The datasource this run of the suite is about (suites that run once per datasource). */
  datasource?: Datasource;
  guests: readonly GuestHandle[];
  bootFailures?: readonly BootFailure[];
  hosts: readonly HostInfo[];
  options: Record<string, unknown>;
  /** NTP servers the guests' network offers them (empty: none known). */
  timeServers?: readonly string[];
  artifactDir: string;
  /** Figures the checks record with `context.property` land here (the suite's JUnit <properties>). */
  properties?: Record<string, string>;
  /** The run's cancellation: no further check starts once it fires. */
  signal?: AbortSignal;
  /** Why a check is not run (`not selected (--skip ssh-*)`), or undefined to run it: --check/--skip/--tag/--exclude-tag. */
  notSelected?(check: Check): string | undefined;
  /**
   * --waivers: the waiver that covers a failure of this check here (suite, image, firmware), or
   * undefined. Asked only for a case that `failed`; with a waiver it becomes `skipped`
   * (`waived: ...`, see ./waivers.ts) before `onCase` hears of it.
   */
  waiverFor?(check: Check): Waiver | undefined;
  /**
   * --retries: how many more times a check whose outcome is an infrastructure `error` runs, on the
   * same guests (default 0). A `failure` (a defect found) is never run again.
   */
  retries?: number;
  log(line: string): void;
  onCase(result: CaseResult): void;
}

/** The signal of a run that cannot be cancelled (callers without one, e.g. tests). */
const NOT_CANCELLED = new AbortController().signal;

/** Runs a suite's checks in order. A check that throws is an infrastructure `error`, not a defect. */
export async function runSuiteChecks(input: SuiteRunInput): Promise<CaseResult[]> {
  const memo = new Memo();
  const results: CaseResult[] = [];
  for (const check of input.suite.checks) {
    input.signal?.throwIfAborted();
    const reason = input.notSelected?.(check);
    const result = reason === undefined ? applyWaiver(await runCheckWithRetries(check, input, memo), () => input.waiverFor?.(check)) : skippedCase(check, reason);
    results.push(result);
    input.onCase(result);
  }
  return results;
}

/** The suite's `context.memo` values; what failed can be dropped, so a retry computes it again. */
class Memo {
  private readonly values = new Map<string, Promise<unknown>>();
  private readonly failed = new Set<string>();

  get<T>(key: string, compute: () => Promise<T>): Promise<T> {
    if (!this.values.has(key)) {
      const value = compute();
      value.catch(() => this.failed.add(key));
      this.values.set(key, value);
    }
    return this.values.get(key) as Promise<T>;
  }

  /** Forgets the values whose computation failed (a rejected promise would fail the retry the same way). */
  dropFailed(): void {
    for (const key of this.failed) this.values.delete(key);
    this.failed.clear();
  }
}

/**
 * Runs a check, and again while its outcome is an infrastructure `error` (up to `input.retries` more
 * times, not once the run is cancelled). A pass, a failure or a skip ends it: a defect found is never
 * run again. The result is the last attempt's, with the earlier ones (all errors) and the time of all.
 * Not p-retry (src/util/retry.ts), on purpose: an attempt's end is a result, not an exception, every
 * attempt is reported (JUnit <flakyError>, results.json), and reruns follow each other without a delay.
 */
async function runCheckWithRetries(check: Check, input: SuiteRunInput, memo: Memo): Promise<CaseResult> {
  const retries = Math.max(0, Math.floor(input.retries ?? 0));
  const earlier: CaseAttempt[] = [];
  const attachments: string[] = [];
  for (;;) {
    const result = await runOneCheck(check, input, memo);
    attachments.push(...result.attachments.filter((file) => !attachments.includes(file)));
    if (result.status !== 'error' || earlier.length >= retries || input.signal?.aborted) {
      if (!earlier.length) return { ...result, attempts: 1 };
      const durationMs = earlier.reduce((sum, a) => sum + a.durationMs, result.durationMs);
      return { ...result, attachments, durationMs, attempts: earlier.length + 1, retries, earlierAttempts: earlier };
    }
    earlier.push({ status: 'error', message: result.message, evidence: result.evidence, durationMs: result.durationMs });
    input.log(`${check.id}: ${result.message}; retry ${earlier.length} of ${retries} on the same guests`);
    memo.dropFailed();
  }
}

async function runOneCheck(check: Check, input: SuiteRunInput, memo: Memo): Promise<CaseResult> {
  const attachments: string[] = [];
  // The check's signal: the run's cancellation or the check's own timeout, whichever comes first.
  const limitSeconds = check.timeoutSeconds ?? DEFAULT_CHECK_TIMEOUT_SECONDS;
  const deadline = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new InfraError(`did not finish within ${limitSeconds} s (the check's timeout)`, { code: 'E_CHECK_TIMEOUT' });
      reject(error); // first, so the case says it timed out rather than what the check threw on the signal
      deadline.abort(error);
    }, limitSeconds * 1000);
  });
  const context: CheckContext = {
    image: input.image,
    firmware: input.firmware,
    datasource: input.datasource,
    guests: input.guests,
    bootFailures: input.bootFailures ?? [],
    hosts: input.hosts,
    options: input.options,
    timeServers: input.timeServers ?? [],
    signal: AbortSignal.any([input.signal ?? NOT_CANCELLED, deadline.signal]),
    log: input.log,
    property(name: string, value: string | number) {
      if (input.properties) input.properties[name] = String(value);
    },
    memo<T>(key: string, compute: () => Promise<T>): Promise<T> {
      return memo.get(key, compute);
    },
    artifacts: {
      async write(fileName: string, content: string | Uint8Array) {
        await mkdir(input.artifactDir, { recursive: true });
        const path = join(input.artifactDir, fileName.replace(/[^\w.-]/g, '_'));
        await writeFile(path, content);
        attachments.push(path);
        return path;
      },
      attach(path: string) {
        attachments.push(path);
      },
    },
  };
  const started = Date.now();
  const base = { checkId: check.id, title: check.title, severity: check.severity, attachments };
  try {
    // A check that ignores its signal is left behind when the timeout runs out: its case ends now.
    const outcome = await Promise.race([check.run(context), timedOut]);
    const status = outcome.status === 'pass' ? 'passed' : outcome.status === 'fail' ? 'failed' : 'skipped';
    return { ...base, severity: outcome.severity ?? check.severity, status, message: outcome.message, evidence: outcome.evidence, durationMs: Date.now() - started };
  } catch (error) {
    const message = isImgtestError(error) || error instanceof Error ? error.message : String(error);
    return { ...base, status: 'error', message: `check could not run: ${message.split('\n')[0]}`, evidence: error instanceof Error ? error.stack : undefined, durationMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Every check of a suite, not run, with the reason (so trend graphs keep their counts); a check that
 * was not selected says so instead (`notSelected`, from --check/--skip/--tag/--exclude-tag).
 */
export function skippedCases(suite: Suite, reason: string, notSelected?: (check: Check) => string | undefined): CaseResult[] {
  return suite.checks.map((check) => skippedCase(check, notSelected?.(check) ?? reason));
}

function skippedCase(check: Check, reason: string): CaseResult {
  return { checkId: check.id, title: check.title, severity: check.severity, status: 'skipped', message: reason, durationMs: 0, attachments: [], attempts: 0 };
}
