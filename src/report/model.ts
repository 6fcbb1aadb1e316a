/**
 * The public model of a run's results. Reporters (JUnit, JSON, console) read only this,
 * never the runner's internals.
 */
import type { Datasource, Firmware, ImageInfo, Severity } from '../suite-api/index.js';

export type CaseStatus = 'passed' | 'failed' | 'error' | 'skipped';

export interface CaseResult {
  checkId: string;
  title: string;
  severity: Severity;
  status: CaseStatus;
  /** One line: what was found (failed), what broke (error), why not run (skipped). */
  message: string;
  evidence?: string;
  durationMs: number;
  /** Files attached to this case (absolute paths). */
  attachments: string[];
  /**
   * How many times the check ran: 1, or more when an infrastructure `error` was run again
   * (`--retries`); 0 for a check that was not run. The case's status, message and evidence are the
   * last attempt's; `durationMs` is the time of every attempt together.
   */
  attempts?: number;
  /** The run's `--retries` (how many more times an `error` may run), on a case that ran more than once. */
  retries?: number;
  /** The attempts before the last one, oldest first (each an `error`), on a case that ran more than once. */
  earlierAttempts?: CaseAttempt[];
  /**
   * The waiver (`--waivers`) that turned this case's failure into a skip: the case is `skipped`, its
   * message `waived: <reason> (<ticket>, until <expires>): <the failure's message>`, its evidence the failure's.
   */
  waiver?: CaseWaiver;
}

/** A waiver as a case carries it: which entry of the waiver file accepted the failure, and why. */
export interface CaseWaiver {
  /** The entry's check glob, as written (`ssh-weak-macs`, `ssh-hardening/ssh-weak-*`). */
  check: string;
  reason: string;
  ticket?: string;
  /** Last day the waiver holds (UTC), `YYYY-MM-DD`. */
  expires?: string;
  /** Where the entry is: `waivers.yaml:12`. */
  source: string;
}

/** One earlier run of a check that was run again (`--retries`): always an infrastructure `error`. */
export interface CaseAttempt {
  status: 'error';
  message: string;
  evidence?: string;
  durationMs: number;
}

export interface GuestSummary {
  name: string;
  host: string;
  address?: string;
  mac: string;
  firmware: Firmware;
  /** How the guest got its cloud-init data. */
  datasource?: Datasource;
  /** Seconds from power-on to SSH + cloud-init done, when it booted. */
  bootSeconds?: number;
  /** The accelerator it ran under: `kvm`, or `tcg` (software emulation, also after a KVM fallback). */
  accel?: 'kvm' | 'tcg';
  serialLog?: string;
}

export interface SuiteResult {
  suiteId: string;
  title: string;
  /** Firmware the suite's guests booted with (absent for offline suites). */
  firmware?: Firmware;
  /** The datasource this run of the suite is about (suites that run once per datasource). */
  datasource?: Datasource;
  guests: GuestSummary[];
  cases: CaseResult[];
  /** Files that belong to the whole suite (serial logs, domain XML, cloud-init logs). */
  attachments: string[];
  /** Extra facts for JUnit <properties> (suite-specific figures). */
  properties: Record<string, string>;
  startedAt: string;
  durationMs: number;
}

export interface HostFacts {
  name: string;
  uri: string;
  libvirtVersion?: string;
  qemuVersion?: string;
}

export type Verdict = 'passed' | 'failed' | 'error';

export interface RunResult {
  runId: string;
  imgtestVersion: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** `format: 'unknown'` (and no sha256) when the run ended before the image was read. */
  image: Omit<ImageInfo, 'format' | 'boot'> & { format: ImageInfo['format'] | 'unknown'; boot?: ImageInfo['boot'] };
  hosts: HostFacts[];
  firmware: string;
  accel: string;
  reportDir: string;
  suites: SuiteResult[];
  verdict: Verdict;
  /** The process's exit code: the verdict's, or 2 when the run ended on bad input. */
  exitCode: 0 | 1 | 2 | 3;
}

export interface PlannedCase {
  suiteId: string;
  checkId: string;
  title: string;
  severity: Severity;
}

/** Hooks a reporter may implement; all optional, all called in run order. */
export interface Reporter {
  /** The run has its id; nothing is read yet. Said first, so every line after it belongs to this run. */
  onRunBegin?(info: { runId: string; imagePath: string }): void;
  /** The image is read, the hosts answered and the plan is made. */
  onRunStart?(info: { runId: string; image: RunResult['image']; hosts: HostFacts[]; planned: PlannedCase[]; guests: number }): void;
  onGuestState?(guest: { name: string; host: string; firmware: Firmware }, state: string, detail?: string): void;
  onCaseEnd?(suiteId: string, guestLabel: string | undefined, result: CaseResult): void;
  onSuiteEnd?(result: SuiteResult): void;
  onLog?(line: string): void;
  onRunEnd?(result: RunResult): Promise<void> | void;
}

/** Verdict rule: any `error` case -> error (exit 3); else any failed `must` -> failed (exit 1); else passed. */
export function verdictOf(suites: readonly SuiteResult[]): { verdict: Verdict; exitCode: 0 | 1 | 3 } {
  const cases = suites.flatMap((s) => s.cases);
  if (cases.some((c) => c.status === 'error')) return { verdict: 'error', exitCode: 3 };
  if (cases.some((c) => c.status === 'failed' && c.severity === 'must')) return { verdict: 'failed', exitCode: 1 };
  return { verdict: 'passed', exitCode: 0 };
}

/** `passed on retry 2 of 3`, `error on all 4 attempts`: how a check that ran more than once ended. */
export function retryOutcome(c: CaseResult): string | undefined {
  const retried = c.earlierAttempts?.length ?? 0;
  if (retried === 0) return undefined;
  const retries = Math.max(c.retries ?? retried, retried);
  if (c.status === 'error' && retried >= retries) return `error on all ${retried + 1} attempts`;
  return `${c.status} on retry ${retried} of ${retries}`;
}
