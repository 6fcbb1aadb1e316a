/**
 * Live progress and the final summary on the terminal (or in Jenkins' console log).
 *
 * Plain text unless the stream is a TTY (colour can be forced either way with `options.color`;
 * NO_COLOR is honoured). Every line fits in 100 columns; text from guests is stripped of escape
 * sequences before it is printed, so an image cannot draw on the operator's terminal.
 */
import path from 'node:path';
import { retryOutcome, type CaseResult, type CaseStatus, type HostFacts, type PlannedCase, type Reporter, type RunResult, type SuiteResult, type Verdict } from './model.js';
import type { Firmware } from '../suite-api/index.js';
import { JUNIT_FILE_NAME } from './junit.js';
import { JSON_FILE_NAME } from './json.js';
import { oneLine, truncate } from './xml.js';

export interface ConsoleReporterOptions {
  /** Colour output; default: when the stream is a TTY and NO_COLOR is not set. */
  color?: boolean;
  /** Line width to fit; default 100. */
  width?: number;
  /** Report files to name at the end (absolute, or relative to the report dir); default junit.xml and results.json. */
  reportFiles?: string[];
}

type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'magenta' | 'cyan';
const SGR: Record<Style, [string, string]> = {
  bold: ['1', '22'],
  dim: ['2', '22'],
  red: ['31', '39'],
  green: ['32', '39'],
  yellow: ['33', '39'],
  magenta: ['35', '39'],
  cyan: ['36', '39'],
};

const STATUS_LABEL: Record<CaseStatus, string> = { passed: 'PASS', failed: 'FAIL', skipped: 'SKIP', error: 'ERROR' };
const STATUS_STYLE: Record<CaseStatus, Style> = { passed: 'green', failed: 'red', skipped: 'yellow', error: 'magenta' };
const VERDICT_LABEL: Record<Verdict, string> = { passed: 'PASSED', failed: 'FAILED', error: 'ERROR' };
const VERDICT_STYLE: Record<Verdict, Style> = { passed: 'green', failed: 'red', error: 'magenta' };

/** `12.3 s`, `5m 12s`, `1h 02m`. */
export function formatDuration(ms: number): string {
  const seconds = Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}

/** `512 MiB`, `2.0 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Number.isFinite(bytes) && bytes > 0 ? bytes : 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Word-wraps one line of text into lines of at most `width` columns (over-long words are cut). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line: string[] = [];
  for (const word of text.split(' ')) {
    let chars = Array.from(word);
    if (line.length > 0 && line.length + 1 + chars.length > width) {
      lines.push(line.join(''));
      line = [];
    }
    if (line.length > 0) line.push(' ');
    while (line.length + chars.length > width) {
      const room = width - line.length;
      lines.push([...line, ...chars.slice(0, room)].join(''));
      line = [];
      chars = chars.slice(room);
    }
    line.push(...chars);
  }
  if (line.length > 0) lines.push(line.join(''));
  return lines;
}

/** Untrusted text made printable and one line (escape sequences from guests never reach the terminal). */
function clean(text: string): string {
  return oneLine(text, 1000);
}

function counts(cases: readonly CaseResult[]): Record<CaseStatus, number> {
  const result: Record<CaseStatus, number> = { passed: 0, failed: 0, error: 0, skipped: 0 };
  for (const c of cases) result[c.status]++;
  return result;
}

export class ConsoleReporter implements Reporter {
  private readonly color: boolean;
  private readonly width: number;
  private titled = false;

  constructor(
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly options: ConsoleReporterOptions = {},
  ) {
    const isTty = (out as Partial<NodeJS.WriteStream>).isTTY === true;
    const noColor = (process.env.NO_COLOR ?? '') !== '';
    this.color = options.color ?? (isTty && !noColor);
    this.width = Math.max(60, options.width ?? 100);
  }

  private paint(style: Style, text: string): string {
    if (!this.color || text === '') return text;
    const [on, off] = SGR[style];
    return `\u001b[${on}m${text}\u001b[${off}m`;
  }

  private line(text = ''): void {
    this.out.write(`${text}\n`);
  }

  /** Cuts an assembled line (its parts already cleaned with `clean`) to `room` columns. */
  private fit(text: string, room: number): string {
    return truncate(text, Math.max(10, room));
  }

  onRunBegin(info: { runId: string }): void {
    this.title(info.runId);
  }

  /** The run's first line, once: before reading the image prints its own lines (hashing, firmware). */
  private title(runId: string): void {
    if (this.titled) return;
    this.titled = true;
    this.line(this.paint('bold', `imgtest run ${clean(runId)}`));
  }

  onRunStart(info: { runId: string; image: RunResult['image']; hosts: HostFacts[]; planned: PlannedCase[]; guests: number }): void {
    const image = info.image;
    const suites = new Set(info.planned.map((p) => p.suiteId)).size;
    this.title(info.runId);
    this.line(`  image  ${clean(image.path)}`);
    this.line(`         ${clean(image.format)}, ${formatBytes(image.virtualSize)} virtual, sha256 ${clean(image.sha256).slice(0, 16)}`);
    for (const host of info.hosts) {
      const versions = [host.libvirtVersion && `libvirt ${clean(host.libvirtVersion)}`, host.qemuVersion && `QEMU ${clean(host.qemuVersion)}`].filter(Boolean);
      this.line(`  host   ${clean(host.name)}  ${clean(host.uri)}${versions.length > 0 ? `  (${versions.join(', ')})` : ''}`);
    }
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    this.line(`  plan   ${plural(info.planned.length, 'check')} in ${plural(suites, 'suite')}, ${plural(info.guests, 'guest')}`);
    this.line();
  }

  onGuestState(guest: { name: string; host: string; firmware: Firmware }, state: string, detail?: string): void {
    const prefix = `[${oneLine(guest.host, 20)}]`;
    let text = `${oneLine(guest.name, 60)} ${oneLine(state, 40)}`;
    // Say which firmware a guest starts with, unless the runner's detail already does.
    if ((state === 'booting' || state === 'starting') && !(detail ?? '').includes(guest.firmware)) text += ` (${guest.firmware})`;
    if (detail !== undefined && detail !== '') text += ` ${oneLine(detail, this.width)}`;
    const room = this.width - prefix.length - 1;
    this.line(`${this.paint('cyan', prefix)} ${this.fit(text, room)}`);
  }

  onCaseEnd(_suiteId: string, guestLabel: string | undefined, result: CaseResult): void {
    const label = STATUS_LABEL[result.status];
    let head = `${oneLine(result.checkId, 40)}`;
    if (guestLabel !== undefined && guestLabel !== '') head += ` [${oneLine(guestLabel, 30)}]`;
    if (result.status === 'failed' && result.severity === 'should') head += ' (should)';
    // Run again after infrastructure errors (--retries): `(passed on retry 2 of 3)`.
    const retried = retryOutcome(result);
    if (retried !== undefined) head += ` (${retried})`;
    const plainPrefix = `  ${label} ${head}  `;
    const message = this.fit(clean(result.message), this.width - Array.from(plainPrefix).length);
    this.line(`  ${this.paint(STATUS_STYLE[result.status], label)} ${head}  ${message}`.trimEnd());
  }

  onSuiteEnd(result: SuiteResult): void {
    const n = counts(result.cases);
    const name = this.suiteLabel(result);
    const summary = `${n.passed} passed, ${n.failed} failed, ${n.error} error${n.error === 1 ? '' : 's'}, ${n.skipped} skipped in ${formatDuration(result.durationMs)}`;
    this.line(this.paint('dim', this.fit(`  -- ${name}: ${summary}`, this.width)));
  }

  /** A progress line, wrapped rather than cut (what comes last is often the point: "retrying under TCG"); continuations indented two more. */
  onLog(line: string): void {
    const [first, ...rest] = wrap(oneLine(line, 600), this.width - 5);
    this.line(this.paint('dim', `     ${first ?? ''}`));
    for (const more of wrap(rest.join(' '), this.width - 7)) this.line(this.paint('dim', `       ${more}`));
  }

  onRunEnd(result: RunResult): void {
    const w = this.width;
    this.line();
    this.line(this.paint('bold', this.fit(`Summary of run ${clean(result.runId)} (${clean(result.image.name)}, ${formatDuration(result.durationMs)})`, w)));
    this.line();

    // Per-suite counts.
    const rows = result.suites.map((s) => ({ name: this.suiteLabel(s), n: counts(s.cases) }));
    const total = counts(result.suites.flatMap((s) => s.cases));
    const nameWidth = Math.min(w - 2 - 4 * 9, Math.max(5, ...rows.map((r) => Array.from(r.name).length)));
    const cell = (value: string | number) => String(value).padStart(9);
    const row = (name: string, values: Array<string | number>) => `  ${truncate(name, nameWidth).padEnd(nameWidth)}${values.map(cell).join('')}`;
    this.line(this.paint('bold', row('suite', ['passed', 'failed', 'error', 'skipped'])));
    for (const r of rows) {
      const text = row(r.name, [r.n.passed, r.n.failed, r.n.error, r.n.skipped]);
      this.line(r.n.error > 0 ? this.paint('magenta', text) : r.n.failed > 0 ? this.paint('red', text) : text);
    }
    if (rows.length === 0) this.line('  (no suites ran)');
    this.line(row('total', [total.passed, total.failed, total.error, total.skipped]));

    // Every failure and error, with its suite and full message (wrapped, not cut).
    const problems = result.suites.flatMap((s) => s.cases.filter((c) => c.status === 'failed' || c.status === 'error').map((c) => ({ suite: s, c })));
    if (problems.length > 0) {
      this.line();
      this.line(this.paint('bold', 'Failures and errors:'));
      for (const { suite, c } of problems) {
        const label = STATUS_LABEL[c.status];
        const severity = c.status === 'failed' && c.severity === 'should' ? ' (should: not fatal)' : '';
        const head = `${oneLine(c.checkId, 40)} in ${this.suiteLabel(suite)}${severity}`;
        this.line(`  ${this.paint(STATUS_STYLE[c.status], label)} ${this.fit(head, w - 3 - label.length)}`);
        for (const l of wrap(oneLine(c.message, 300) || '(no message)', w - 8)) this.line(`        ${l}`);
      }
    }

    // Failures a waiver accepted (counted as skipped): which, and why, so they are not forgotten.
    const waived = result.suites.flatMap((s) => s.cases.filter((c) => c.waiver !== undefined).map((c) => ({ suite: s, c })));
    if (waived.length > 0) {
      this.line();
      this.line(this.paint('bold', 'Waived failures:'));
      for (const { suite, c } of waived) {
        this.line(`  ${this.paint(STATUS_STYLE.skipped, 'WAIVED')} ${this.fit(`${oneLine(c.checkId, 40)} in ${this.suiteLabel(suite)} (${clean(c.waiver!.source)})`, w - 9)}`);
        for (const l of wrap(oneLine(c.message, 300), w - 8)) this.line(`        ${l}`);
      }
    }

    // Verdict and where the reports are.
    this.line();
    const verdict = `${VERDICT_LABEL[result.verdict]} (exit ${result.exitCode})`;
    const why =
      result.verdict === 'error'
        ? `: ${total.error} check${total.error === 1 ? '' : 's'} could not run (infrastructure)`
        : result.verdict === 'failed'
          ? `: ${result.suites.flatMap((s) => s.cases).filter((c) => c.status === 'failed' && c.severity === 'must').length} must check(s) failed`
          : total.failed > 0
            ? `: ${total.failed} should check(s) failed`
            : '';
    this.line(this.paint('bold', this.paint(VERDICT_STYLE[result.verdict], verdict)) + why);
    const reportDir = path.resolve(result.reportDir);
    const files = (this.options.reportFiles ?? [JUNIT_FILE_NAME, JSON_FILE_NAME]).map((f) => path.resolve(reportDir, f));
    this.line('Reports:');
    // Paths are printed whole even when long: a cut path is useless.
    for (const file of files) this.line(`  ${path.basename(file).padEnd(14)}${clean(file)}`);
    this.line(`  ${'report dir'.padEnd(14)}${clean(reportDir)}`);
  }

  private suiteLabel(suite: SuiteResult): string {
    const id = oneLine(suite.suiteId, 40);
    // NoCloud is the default datasource: named only when it is not the one used.
    const shape = [suite.firmware, suite.datasource === 'nocloud' ? undefined : suite.datasource].filter((part) => part !== undefined);
    return shape.length ? `${id} [${shape.join(', ')}]` : id;
  }
}
