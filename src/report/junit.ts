/**
 * JUnit XML for Jenkins (junit plugin, junit-attachments plugin, xUnit's junit-10.xsd).
 *
 * Layout:
 *   <testsuites name="imgtest" tests failures errors time>
 *     <testsuite name="<image>.<suite>" tests failures errors skipped time timestamp [hostname]>
 *       <properties>  image, hosts, versions, firmware, accel, run id, guests, suite's own
 *       <testcase name="<checkId>: <title>" classname="<image>.<suite>" time>
 *         <failure type="must|should"> | <error type="infrastructure"> | <skipped>   (passed: none;
 *                                         a failure a waiver accepts: <skipped message="waived: ...">)
 *         <flakyError> | <rerunError>  one per earlier attempt of a check run again (--retries)
 *         <system-out>  message, evidence, [[ATTACHMENT|path]] lines
 *       <system-out>  guests, suite attachments
 *
 * Jenkins splits `classname` at its last dot into package (the image) and class (the suite), so
 * the suite part never contains a dot. When one suite ran several times (once per firmware), the
 * suite part becomes `<suite>-<firmware>` so names stay unique and stable between runs.
 */
import path from 'node:path';
import { retryOutcome, type CaseResult, type GuestSummary, type Reporter, type RunResult, type SuiteResult } from './model.js';
import { writeReportFile } from './files.js';
import { capBlock, cleanText, oneLine, XmlWriter, type XmlAttrs } from './xml.js';

export const JUNIT_FILE_NAME = 'junit.xml';

/** Longest `message` attribute (characters); Jenkins shows it as the one-line error message. */
const MESSAGE_MAX = 300;
/** Longest block of evidence per element; Jenkins keeps 50,000 characters of a failing test's output. */
const BLOCK_MAX = 100_000;

/** Seconds with three decimals, never negative (the schema's SUREFIRE_TIME has no sign). */
export function junitTime(ms: number): string {
  return Number.isFinite(ms) && ms > 0 ? (ms / 1000).toFixed(3) : '0.000';
}

/** `YYYY-MM-DDTHH:mm:ss` in UTC (Jenkins reads a zone-less timestamp as UTC); undefined if unparsable. */
export function junitTimestamp(iso: string): string | undefined {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return undefined;
  return date.toISOString().slice(0, 19);
}

/** A class-name part: no dots (Jenkins' package/class split), no whitespace. */
function namePart(text: string): string {
  const cleaned = oneLine(text, 200).replace(/[.\s]+/g, '_');
  return cleaned === '' ? '_' : cleaned;
}

/**
 * Defuses `[[ATTACHMENT|...]]`-style markers inside untrusted text (guest output), so an image
 * cannot make the junit-attachments plugin pick up arbitrary files from the Jenkins agent.
 */
function defuseMarkers(text: string): string {
  return text.replace(/\[\[([A-Za-z]+)\|/g, '[ [$1|');
}

/** Untrusted single-line text (messages). */
function messageText(text: string): string {
  return defuseMarkers(oneLine(text, MESSAGE_MAX));
}

/** Untrusted multi-line text (evidence). */
function blockText(text: string | undefined): string {
  if (text === undefined) return '';
  return defuseMarkers(capBlock(cleanText(text), BLOCK_MAX)).replace(/\s+$/, '');
}

function attachmentLine(file: string, reportDir: string): string {
  const cleaned = oneLine(file, 4096);
  const absolute = path.isAbsolute(cleaned) ? cleaned : path.resolve(reportDir, cleaned);
  return `[[ATTACHMENT|${absolute}]]`;
}

function unique<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}

/** A guest's serial log, when the model carries it as a file path (not as the log text). */
function serialLogFile(guest: GuestSummary): string | undefined {
  const log = guest.serialLog;
  return log !== undefined && path.isAbsolute(log) && !log.includes('\n') ? log : undefined;
}

/** The suite's files: its own attachments plus its guests' serial logs. */
function suiteFiles(suite: SuiteResult): string[] {
  return unique([...suite.attachments, ...suite.guests.map(serialLogFile).filter((f): f is string => f !== undefined)]);
}

/**
 * The `<suite>` part of each SuiteResult's names, in order: the suite id without dots, plus
 * `-<firmware>` when the suite ran with several firmwares, plus `-<datasource>` when it ran once per
 * datasource and that is not only the default NoCloud (so a default run's names never change), plus
 * `-2`, `-3`... if that is still not unique.
 */
export function suiteNameParts(suites: readonly SuiteResult[]): string[] {
  const distinct = (suiteId: string, value: (s: SuiteResult) => string | undefined) => new Set(suites.filter((s) => s.suiteId === suiteId).map(value)).size;
  const candidates = suites.map((s) => {
    let name = namePart(s.suiteId);
    if (s.firmware !== undefined && distinct(s.suiteId, (r) => r.firmware) > 1) name += `-${namePart(s.firmware)}`;
    if (s.datasource !== undefined && (s.datasource !== 'nocloud' || distinct(s.suiteId, (r) => r.datasource) > 1)) name += `-${namePart(s.datasource)}`;
    return name;
  });
  const taken = new Set<string>();
  const seen = new Map<string, number>();
  return candidates.map((candidate) => {
    let name = candidate;
    let n = seen.get(candidate) ?? 1;
    while (taken.has(name)) name = `${candidate}-${++n}`;
    seen.set(candidate, n);
    taken.add(name);
    return name;
  });
}

function suiteProperties(result: RunResult, suite: SuiteResult): Array<[string, string]> {
  const props: Array<[string, string]> = [
    ['imgtest.version', result.imgtestVersion],
    ['run.id', result.runId],
    ['suite.id', suite.suiteId],
    ['suite.title', suite.title],
    ['image.name', result.image.name],
    ['image.path', result.image.path],
    ['image.format', result.image.format],
    ['image.virtual-size', String(result.image.virtualSize)],
    ['image.actual-size', String(result.image.actualSize)],
    ['image.sha256', result.image.sha256],
    ['run.firmware', result.firmware],
  ];
  // What the image claims about booting, and why (read offline before any boot).
  const claims = result.image.boot?.claims;
  if (claims) props.push(['image.boot-claims', [claims.uefi && 'uefi', claims.bios && 'bios', claims.secureBoot && 'secure-boot'].filter(Boolean).join(',') || 'none']);
  if (result.image.boot?.reasons.length) props.push(['image.boot-reasons', result.image.boot.reasons.join('; ')]);
  if (suite.firmware !== undefined) props.push(['firmware', suite.firmware]);
  if (suite.datasource !== undefined) props.push(['datasource', suite.datasource]);
  props.push(['accel', result.accel]);
  props.push(['hosts', result.hosts.map((h) => h.name).join(',')]);
  for (const host of result.hosts) {
    props.push([`host.${host.name}.uri`, host.uri]);
    if (host.libvirtVersion !== undefined) props.push([`host.${host.name}.libvirt-version`, host.libvirtVersion]);
    if (host.qemuVersion !== undefined) props.push([`host.${host.name}.qemu-version`, host.qemuVersion]);
  }
  for (const guest of suite.guests) {
    const key = `guest.${guest.name}`;
    props.push([`${key}.host`, guest.host]);
    props.push([`${key}.firmware`, guest.firmware]);
    if (guest.datasource !== undefined) props.push([`${key}.datasource`, guest.datasource]);
    if (guest.mac !== '') props.push([`${key}.mac`, guest.mac]);
    if (guest.address !== undefined && guest.address !== '') props.push([`${key}.address`, guest.address]);
    if (guest.bootSeconds !== undefined) props.push([`${key}.boot-seconds`, String(guest.bootSeconds)]);
    if (guest.accel !== undefined) props.push([`${key}.accel`, guest.accel]);
  }
  for (const [name, value] of Object.entries(suite.properties)) props.push([name, String(value)]);
  // Checks run more than once (--retries): how often, and how they ended each time.
  for (const c of suite.cases) {
    if (!c.earlierAttempts?.length) continue;
    props.push([`check.${c.checkId}.attempts`, String(c.attempts ?? c.earlierAttempts.length + 1)]);
    props.push([`check.${c.checkId}.outcomes`, [...c.earlierAttempts.map((a) => a.status), c.status].join(',')]);
  }
  // Failures a waiver accepted (reported <skipped>): which entry of the waiver file, and its reason.
  for (const c of suite.cases) {
    if (c.waiver) props.push([`check.${c.checkId}.waived-by`, `${c.waiver.source}: ${c.waiver.reason}`]);
  }
  // Property values are single facts: keep them on one line.
  return props.map(([name, value]) => [oneLine(name, 200), oneLine(value, 2000)]);
}

function guestLine(guest: GuestSummary): string {
  const facts: string[] = [guest.firmware];
  if (guest.mac !== '') facts.push(`mac ${guest.mac}`);
  if (guest.address !== undefined && guest.address !== '') facts.push(`address ${guest.address}`);
  if (guest.accel !== undefined) facts.push(guest.accel.toUpperCase());
  facts.push(guest.bootSeconds !== undefined ? `booted in ${guest.bootSeconds} s` : 'did not boot');
  return oneLine(`guest ${guest.name} on ${guest.host}: ${facts.join(', ')}`, 1000);
}

/** One line per attempt, for readers that only show `<system-out>` (the plain JUnit plugin). */
function attemptLines(c: CaseResult): string | undefined {
  const earlier = c.earlierAttempts ?? [];
  const outcome = retryOutcome(c);
  if (!earlier.length || outcome === undefined) return undefined;
  const total = earlier.length + 1;
  const lines = earlier.map((a, i) => `attempt ${i + 1} of ${total}: ${a.status} after ${junitTime(a.durationMs)} s: ${messageText(a.message)}`);
  return [`ran ${total} times (--retries): ${outcome}`, ...lines, `attempt ${total} of ${total}: ${c.status}`].join('\n');
}

function caseOutput(c: CaseResult, suite: SuiteResult, reportDir: string): string {
  const parts: string[] = [];
  const message = messageText(c.message);
  if (message !== '') parts.push(message);
  const attempts = attemptLines(c);
  if (attempts !== undefined) parts.push(attempts);
  const evidence = blockText(c.evidence);
  if (evidence !== '') parts.push(evidence);
  // Failing cases repeat the suite's files (serial logs, domain XML): that is where one looks.
  const files = c.status === 'failed' || c.status === 'error' ? unique([...c.attachments, ...suiteFiles(suite)]) : unique(c.attachments);
  if (files.length > 0) parts.push(files.map((f) => attachmentLine(f, reportDir)).join('\n'));
  return parts.join('\n\n');
}

function writeCase(xml: XmlWriter, c: CaseResult, suite: SuiteResult, className: string, reportDir: string): void {
  const name = oneLine(`${c.checkId}: ${c.title}`, 500);
  xml.open('testcase', [
    ['name', name],
    ['classname', className],
    ['time', junitTime(c.durationMs)],
  ]);
  const message = messageText(c.message);
  const body = blockText(c.evidence) || message;
  switch (c.status) {
    case 'failed':
      xml.textElement(
        'failure',
        [
          ['message', message],
          ['type', c.severity],
        ],
        body,
      );
      break;
    case 'error':
      xml.textElement(
        'error',
        [
          ['message', message],
          ['type', 'infrastructure'],
        ],
        body,
      );
      break;
    case 'skipped':
      xml.empty('skipped', [['message', message]]);
      break;
    case 'passed':
      break;
  }
  writeEarlierAttempts(xml, c);
  const output = caseOutput(c, suite, reportDir);
  if (output !== '') xml.textElement('system-out', [], output);
  xml.close();
}

/**
 * Maven Surefire's rerun elements (what Jenkins' junit and flaky-test-handler plugins read; junit-10.xsd's
 * `rerunType`): a check that errored and then ended otherwise keeps its earlier attempts as
 * `<flakyError>`; one still in error (or failing) at the end keeps them as `<rerunError>`. The case's
 * own `<error>`/`<failure>`/`<skipped>` is always the last attempt's, so the plain JUnit plugin
 * counts it exactly as without retries (a failure is never rerun, so never hidden).
 */
function writeEarlierAttempts(xml: XmlWriter, c: CaseResult): void {
  const earlier = c.earlierAttempts ?? [];
  if (!earlier.length) return;
  const element = c.status === 'error' || c.status === 'failed' ? 'rerunError' : 'flakyError';
  const total = earlier.length + 1;
  earlier.forEach((attempt, i) => {
    const message = messageText(attempt.message);
    xml.open(element, [
      ['message', message],
      ['type', 'infrastructure'],
    ]);
    // The schema's order: stackTrace, then system-out.
    xml.textElement('stackTrace', [], blockText(attempt.evidence) || message);
    xml.textElement('system-out', [], `attempt ${i + 1} of ${total}: ${attempt.status} after ${junitTime(attempt.durationMs)} s\n${message}`);
    xml.close();
  });
}

function count(cases: readonly CaseResult[], status: CaseResult['status']): number {
  return cases.filter((c) => c.status === status).length;
}

/** Renders a run as JUnit XML that validates against xUnit's junit-10.xsd. Pure. */
export function renderJunit(result: RunResult): string {
  const xml = new XmlWriter();
  const allCases = result.suites.flatMap((s) => s.cases);
  xml.open('testsuites', [
    ['name', 'imgtest'],
    ['tests', allCases.length],
    ['failures', count(allCases, 'failed')],
    ['errors', count(allCases, 'error')],
    ['time', junitTime(result.durationMs)],
  ]);
  // Dots are kept in the image part: Jenkins splits at the last dot only.
  const imagePart = oneLine(result.image.name, 200).replace(/\s+/g, '_') || 'image';
  const parts = suiteNameParts(result.suites);
  result.suites.forEach((suite, index) => {
    const className = `${imagePart}.${parts[index] ?? namePart(suite.suiteId)}`;
    const hostNames = unique(suite.guests.map((g) => g.host));
    const attrs: XmlAttrs = [
      ['name', className],
      ['tests', suite.cases.length],
      ['failures', count(suite.cases, 'failed')],
      ['errors', count(suite.cases, 'error')],
      ['skipped', count(suite.cases, 'skipped')],
      ['time', junitTime(suite.durationMs)],
      ['timestamp', junitTimestamp(suite.startedAt)],
      ['hostname', hostNames.length > 0 ? hostNames.join(',') : undefined],
    ];
    xml.open('testsuite', attrs);
    xml.open('properties');
    for (const [name, value] of suiteProperties(result, suite))
      xml.empty('property', [
        ['name', name],
        ['value', value],
      ]);
    xml.close();
    for (const c of suite.cases) writeCase(xml, c, suite, className, result.reportDir);
    const suiteOut = [...suite.guests.map(guestLine), ...suiteFiles(suite).map((f) => attachmentLine(f, result.reportDir))].join('\n');
    if (suiteOut !== '') xml.textElement('system-out', [], suiteOut);
    xml.close();
  });
  xml.close();
  return xml.toString();
}

/** Writes `<reportDir>/junit.xml` when the run ends. */
export class JunitReporter implements Reporter {
  /** Absolute path of the last file written. */
  written: string | undefined;

  constructor(private readonly options: { fileName?: string } = {}) {}

  async onRunEnd(result: RunResult): Promise<void> {
    this.written = await writeReportFile(result.reportDir, this.options.fileName ?? JUNIT_FILE_NAME, renderJunit(result));
  }
}
