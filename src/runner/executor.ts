import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccelSetting, FirmwareSetting, ImgtestConfig } from '../config/schema.js';
import { UsageError } from '../errors.js';
import type { HostFactsRead, HypervisorHost } from '../hosts/host.js';
import { inspectImage, type InspectedImage } from '../image/inspect.js';
import { resolveFirmware } from './firmware.js';
import { type CaseResult, type GuestSummary, type HostFacts, type PlannedCase, type Reporter, type RunResult, type SuiteResult } from '../report/model.js';
import type { BootFailure, Check, Datasource, Firmware, HostInfo, Suite } from '../suite-api/index.js';
import { runSuiteChecks, skippedCases, type SuiteRunInput } from './checks.js';
import type { CleanupRegistry } from './cleanup.js';
import { HostAccel, type VirtType } from './accel.js';
import { bootLimits, type BootLimits, type BootStage } from './boot-watch.js';
import type { RunEnvironment } from './environment.js';
import { bootGuest, guestNames, GuestBootFailure, type BootedGuest } from './guest-boot.js';
import type { MigrationSupport } from './guest-migration.js';
import { GuestAddressBook } from './address-book.js';
import { BaseVolumes } from './guest-storage.js';
import { guestsLeftIdle, planRun, type PlannedGuest, type RunPlan, type SuiteAssignment } from './planner.js';
import type { RunRecord } from './run-record.js';
import type { CheckSelection } from './selection.js';
import { applyWaiver, type Waivers } from './waivers.js';

export interface RunOptions {
  imagePath: string;
  suites: readonly Suite[];
  config: ImgtestConfig;
  firmware?: FirmwareSetting;
  accel?: AccelSetting;
  /** --datasource: how guests get their cloud-init data (default: the config's `datasource`). */
  datasources?: readonly Datasource[];
  /** The run's id, report folder, and results as they come (written even if the run ends early). */
  record: RunRecord;
  keep: boolean;
  bootTimeoutSeconds?: number;
  reporters: readonly Reporter[];
  cleanup: CleanupRegistry;
  signal?: AbortSignal;
  /** --check/--skip/--tag/--exclude-tag: checks not selected are reported skipped; a suite with none selected boots nothing. */
  selection?: CheckSelection;
  /** --retries: how many more times a check that ends in an infrastructure `error` runs (default: the config's `retries`). */
  retries?: number;
  /** --waivers: a failure a waiver covers is reported skipped (`waived: ...`). */
  waivers?: Waivers;
}

/** A run under way: its options, its environment, and what it learnt so far (image, hosts, plan, key). */
interface RunContext extends RunOptions {
  env: RunEnvironment;
  runId: string;
  image: InspectedImage;
  accelSetting: AccelSetting;
  hosts: HypervisorHost[];
  facts: HostFactsRead[];
  hostInfos: HostInfo[];
  plan: RunPlan;
  reportDir: string;
  workDir: string;
  keyFile: string;
  publicKey: string;
  emit(line: string): void;
  suiteById: Map<string, Suite>;
}

/**
 * One run: reads the image, contacts the hosts, plans, then runs the offline suites beside the guests'
 * boots and the suites on them. Its hosts, key and clock come from `env` (the CLI's, or a test's fakes).
 */
export async function executeRun(options: RunOptions, env: RunEnvironment): Promise<RunResult> {
  const { record } = options;
  const runId = record.runId;
  const emit = (line: string) => options.reporters.forEach((r) => r.onLog?.(line));
  options.reporters.forEach((r) => r.onRunBegin?.({ runId, imagePath: options.imagePath }));
  const workDir = await mkdtemp(join(tmpdir(), `imgtest-${runId}-`));
  // With --keep the run's key and known_hosts stay, so the printed ssh command keeps working.
  if (!options.keep) options.cleanup.add('local work folder', () => rm(workDir, { recursive: true, force: true }));
  const { image, firmwares, accelSetting } = await readImage(options, workDir, emit);
  const { hosts, facts, hostInfos } = await contactHosts(options, env, emit);
  const datasources = options.datasources ?? options.config.datasource;
  const { plan, idle } = planSelected({ suites: options.suites, selection: options.selection, hosts: hosts.map((h) => h.name), firmware: firmwares, datasources });
  const suiteById = new Map(options.suites.map((s) => [s.id, s]));
  record.expect(
    [...plan.unrunnable, ...plan.offline, ...plan.online].map((a) => ({
      suite: suiteById.get(a.suiteId)!,
      firmware: 'firmware' in a ? a.firmware : undefined,
      datasource: 'datasource' in a ? a.datasource : undefined,
    })),
  );
  // Where the hosts' network has a DHCP pool to see (the local lab), the guests need addresses from it
  // beside those other runs hold: say so now, in one line, rather than boot guests that never get one.
  if (env.checkAddresses && plan.guests.length) emit(await env.checkAddresses(plan.guests.length));

  const planned: PlannedCase[] = options.suites.flatMap((suite) => selectedChecks(options.selection, suite).map((c) => ({ suiteId: suite.id, checkId: c.id, title: c.title, severity: c.severity })));
  options.reporters.forEach((r) => r.onRunStart?.({ runId, image, hosts: record.hosts, planned, guests: plan.guests.length }));
  const allSkipped = (suite: Suite, reason: string) => record.add(suiteResult(suite, undefined, [], skippedCases(suite, reason, notSelected(options.selection, suite)), [], new Date(env.now()), 0));
  for (const suite of idle) allSkipped(suite, 'not selected');
  for (const { suiteId, reason } of plan.unrunnable) allSkipped(suiteById.get(suiteId)!, `not run: ${reason}`);

  // Per-run SSH key: lives in the work folder only, reaches guests through the seed, never the image.
  const { keyFile, publicKey } = await env.generateKey(workDir, runId);
  const ctx: RunContext = { ...options, env, runId, image, accelSetting, hosts, facts, hostInfos, plan, reportDir: record.dir, workDir, keyFile, publicKey, emit, suiteById };
  const offlineRuns = plan.offline.map((assignment) => runOfflineSuite(ctx, assignment));
  const guestRuns = runOnlineSuites(ctx);
  // Every part ends before the run does, also when another failed or the run was interrupted: an offline
  // suite stopping its appliance (context.signal) is waited for, so cleanup and exit come after it.
  const parts = await Promise.allSettled([...offlineRuns, guestRuns]);
  const failed = parts.find((part): part is PromiseRejectedResult => part.status === 'rejected');
  if (failed) throw failed.reason;
  return record.completed(options.suites);
}

/** The image as the run sees it, and the firmware matrix it decides; said in the log and kept in the record. */
async function readImage(options: RunOptions, workDir: string, emit: (line: string) => void): Promise<{ image: InspectedImage; firmwares: Firmware[]; accelSetting: AccelSetting }> {
  const { record } = options;
  record.doing('run', 'reading the image');
  const image = await inspectImage(options.imagePath, { workDir, signal: options.signal });
  const firmwareSetting = options.firmware ?? options.config.firmware;
  const accelSetting = options.accel ?? options.config.accel;
  const firmwareChoice = resolveFirmware(firmwareSetting, image.boot);
  const firmwares = firmwareChoice.firmwares;
  Object.assign(record, { image, firmware: `${firmwareSetting} -> ${firmwares.join(', ')}`, accel: accelSetting });
  emit(`image ${image.name}: ${image.format}, ${(image.virtualSize / 2 ** 30).toFixed(1)} GiB virtual, sha256 ${image.sha256.slice(0, 16)}…; ${image.boot.reasons.join('; ')}`);
  emit(firmwareChoice.reason);
  if (firmwareChoice.warning) emit(`note: ${firmwareChoice.warning}`);
  return { image, firmwares, accelSetting };
}

/** The run's hosts, each asked for its facts (a host that does not answer ends the run, named). */
async function contactHosts(options: RunOptions, env: RunEnvironment, emit: (line: string) => void): Promise<{ hosts: HypervisorHost[]; facts: HostFactsRead[]; hostInfos: HostInfo[] }> {
  const { record } = options;
  record.doing('run', 'contacting the hosts');
  const hostConfigs = await env.hosts(emit);
  // With a shared pool every guest volume goes there, on every host (see BaseVolumes).
  const sharedPool = options.config.storage.sharedPool;
  const hosts = hostConfigs.map((config) => env.connect(sharedPool ? { ...config, pool: sharedPool } : config));
  const facts = await Promise.all(hosts.map((host) => host.facts()));
  const hostFacts: HostFacts[] = hosts.map((host, i) => ({ name: host.name, uri: host.config.uri, libvirtVersion: facts[i]!.libvirtVersion, qemuVersion: facts[i]!.qemuVersion }));
  const hostInfos: HostInfo[] = hosts.map((host, i) => ({
    name: host.name,
    uri: host.config.uri,
    migrationUri: host.migrationUri,
    libvirtVersion: facts[i]!.libvirtVersion,
    qemuVersion: facts[i]!.qemuVersion,
  }));
  record.hosts = hostFacts;
  record.doing('run', undefined);
  return { hosts, facts, hostInfos };
}

const notSelected = (selection: CheckSelection | undefined, suite: Suite) => (check: Check) => selection?.reasonFor(suite, check);
const selectedChecks = (selection: CheckSelection | undefined, suite: Suite) => (selection ? selection.selected(suite) : suite.checks);

/** What every suite run of the run passes to the checks, beside its suite, guests and reporting. */
function checkInput(ctx: RunContext, suite: Suite, firmware: Firmware | undefined, properties: Record<string, string>, datasource?: Datasource): Omit<SuiteRunInput, 'guests' | 'onCase'> {
  return {
    suite,
    image: ctx.image,
    firmware,
    datasource,
    hosts: ctx.hostInfos,
    options: ctx.config.suites[suite.id] ?? {},
    artifactDir: join(ctx.reportDir, suite.id),
    log: ctx.emit,
    properties,
    signal: ctx.signal,
    notSelected: notSelected(ctx.selection, suite),
    waiverFor: (check) => ctx.waivers?.find({ suiteId: suite.id, checkId: check.id, image: ctx.image.name, firmware }),
    timeServers: ctx.env.timeServers,
    retries: ctx.retries ?? ctx.config.retries,
  };
}

/** An offline suite, on the image file; its cases are printed as they end. */
async function runOfflineSuite(ctx: RunContext, assignment: SuiteAssignment): Promise<void> {
  const suite = ctx.suiteById.get(assignment.suiteId)!;
  const started = new Date(ctx.env.now());
  const properties: Record<string, string> = {};
  ctx.record.doing(`suite ${suite.id}`, `running ${suite.id}`);
  const cases = await runSuiteChecks({
    ...checkInput(ctx, suite, undefined, properties),
    guests: [],
    onCase: (c) => ctx.reporters.forEach((r) => r.onCaseEnd?.(suite.id, undefined, c)),
  }).finally(() => ctx.record.doing(`suite ${suite.id}`, undefined));
  ctx.record.add(suiteResult(suite, undefined, [], cases, [], started, ctx.env.now() - started.getTime(), properties));
}

/** Boots every planned guest (both hosts in parallel), then runs each suite on its guests as they come up. */
async function runOnlineSuites(ctx: RunContext): Promise<void> {
  if (!ctx.plan.guests.length) return;
  const boots = bootPlannedGuests(ctx, new GuestBooter(ctx));
  await runAssignments(ctx, boots);
  if (ctx.keep) await sayKeptGuests(ctx, boots.booted);
}

/** The guests' boots: each promise is observed by the suites that wait for it. */
interface GuestBoots {
  booted: Map<string, Promise<BootedGuest>>;
  /** Guests whose boot was stopped because no suite could use them any more (see guestsLeftIdle). */
  idle: ReadonlySet<string>;
}

/**
 * Starts every planned guest's boot at once. When one fails, the boots of guests that every suite
 * would share with it stop (their suites can only report that failure), so the verdict comes at once
 * and the hosts' CPU goes to the guests that still matter.
 */
function bootPlannedGuests(ctx: RunContext, booter: GuestBooter): GuestBoots {
  const booted = new Map<string, Promise<BootedGuest>>();
  const stops = new Map(ctx.plan.guests.map((g) => [g.key, new AbortController()]));
  const failed = new Set<string>();
  const ended = new Set<string>();
  const idle = new Set<string>();
  const seesFailedBoots = (suiteId: string) => ctx.suiteById.get(suiteId)?.requires.guests?.seesFailedBoots === true;
  const stopIdleGuests = (failedKey: string) => {
    failed.add(failedKey);
    for (const key of guestsLeftIdle(ctx.plan, failed, seesFailedBoots)) {
      if (idle.has(key) || ended.has(key)) continue;
      idle.add(key);
      const host = ctx.plan.guests.find((g) => g.key === key)!.host;
      ctx.emit(`[${host}] ${guestNames(ctx.runId, booter.attemptKey(key)).domain}: boot stopped: every suite planned on it also needs ${booter.attemptKey(failedKey)}, which did not boot`);
      stops.get(key)!.abort();
    }
  };
  for (const guest of ctx.plan.guests) {
    const own = stops.get(guest.key)!.signal;
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, own]) : own;
    const promise = booter.boot(guest, signal).finally(() => ctx.record.doing(guest.key, undefined));
    void promise.then(
      () => ended.add(guest.key),
      async () => {
        ended.add(guest.key);
        if (ctx.signal?.aborted) return; // the run's cleanup removes everything
        if (!own.aborted) return stopIdleGuests(guest.key);
        // Stopped as idle: it goes now (a TCG guest holds a host CPU), not at the end of the run.
        await booter.discard(guest).catch(() => undefined);
      },
    );
    booted.set(guest.key, promise);
  }
  return { booted, idle };
}

/**
 * Boots the run's guests: the image's copy on each host (once), the accelerator per host (KVM, or TCG
 * when KVM fails a guest: that guest is discarded and booted again), and the boot limits for each host's load.
 */
class GuestBooter {
  private readonly baseVolume: string;
  private readonly migration: MigrationSupport;
  private readonly bases: BaseVolumes;
  private readonly accelByHost: Map<string, HostAccel>;
  private readonly limitsSaid = new Set<string>();
  private readonly addresses = new GuestAddressBook();
  /** The key of each guest's latest boot attempt (`g1`, or `g1t` for its TCG retry). */
  private readonly attemptKeys = new Map<string, string>();

  constructor(private readonly ctx: RunContext) {
    this.baseVolume = `imgtest-${ctx.runId}-base.${ctx.image.format}`;
    const sharedPool = ctx.config.storage.sharedPool;
    const bases = new BaseVolumes({
      name: this.baseVolume,
      imagePath: ctx.image.path,
      imageName: ctx.image.name,
      sharedPool,
      cleanup: ctx.cleanup,
      keep: ctx.keep,
      emit: ctx.emit,
      signal: ctx.signal,
    });
    this.bases = bases;
    this.migration = {
      hosts: ctx.hosts.map((host, i) => ({ host, info: ctx.hostInfos[i]! })),
      ensureBase: (host) => bases.ensure(host),
      shared: sharedPool !== undefined,
      signal: ctx.signal,
      doing: (key, what) => ctx.record.doing(key, what),
    };
    this.accelByHost = new Map(ctx.hosts.map((host, i) => [host.name, new HostAccel(host.config.accel ?? ctx.accelSetting, ctx.facts[i]!.kvmAvailable)]));
  }

  /** One planned guest, up to SSH with cloud-init done; under KVM that fails it, once more under TCG. `signal` stops it (the run's, or the guest's own). */
  async boot(guest: PlannedGuest, signal: AbortSignal): Promise<BootedGuest> {
    const { ctx } = this;
    const host = ctx.hosts.find((h) => h.name === guest.host)!;
    ctx.record.doing(guest.key, `copying the image to ${host.name}`);
    await this.bases.ensure(host);
    const accel = this.accelByHost.get(host.name)!;
    ctx.record.doing(guest.key, `booting ${guest.key} (${guest.firmware}) on ${host.name}`);
    const { virtType, probe } = await accel.choose();
    // The probe's kernel running under KVM settles the question for the host's other guests.
    const onStage = probe ? (stage: BootStage) => stage !== 'power-on' && stage !== 'firmware' && accel.works() : undefined;
    try {
      return await this.attempt(guest, host, virtType, guest.key, signal, onStage);
    } catch (error) {
      if (virtType === 'kvm' && accel.mayFallBack && error instanceof GuestBootFailure && error.kvmFallback) {
        const first = !accel.isBroken;
        accel.broken(error.kvmFallback);
        ctx.emit(
          `[${host.name}] ${guestNames(ctx.runId, guest.key).domain}: KVM failed it (${error.kvmFallback}); retrying under TCG (software emulation)${first ? `; later guests on ${host.name} start under TCG` : ''}`,
        );
        // The failed guest (often paused, holding its memory) goes now, not at the end of the run.
        await this.discard(guest);
        return this.attempt(guest, host, 'qemu', `${guest.key}t`, signal);
      }
      if (probe) accel.works(); // failed for reasons that are not KVM's: the others may use it
      throw error;
    }
  }

  /** The key of the guest's latest boot attempt, as its domain is named: `g1`, or `g1t` once KVM failed it. */
  attemptKey(key: string): string {
    return this.attemptKeys.get(key) ?? key;
  }

  /** Removes what the guest's latest boot attempt made, now, and frees its address; the run's cleanup would otherwise remove it at the end. */
  async discard(guest: PlannedGuest): Promise<void> {
    const names = guestNames(this.ctx.runId, this.attemptKey(guest.key));
    await discardGuest(
      this.ctx.hosts.find((h) => h.name === guest.host)!,
      names,
    );
    this.addresses.release(names.domain);
  }

  private attempt(guest: PlannedGuest, host: HypervisorHost, virtType: VirtType, key: string, signal: AbortSignal, onStage?: (stage: BootStage) => void): Promise<BootedGuest> {
    const { ctx } = this;
    this.attemptKeys.set(guest.key, key);
    const { guest: sizes } = ctx.config;
    return bootGuest({
      runId: ctx.runId,
      key,
      host,
      hostInfo: ctx.hostInfos[ctx.hosts.indexOf(host)]!,
      firmware: guest.firmware,
      virtType,
      baseVolume: this.baseVolume,
      baseFormat: ctx.image.format,
      overlayBytes: guestDiskBytes(ctx.image.virtualSize, sizes.diskGrowthGiB),
      memoryMiB: sizes.memoryMiB,
      vcpus: sizes.vcpus,
      video: sizes.video,
      user: sizes.user,
      publicKey: ctx.publicKey,
      privateKeyFile: ctx.keyFile,
      workDir: ctx.workDir,
      limits: this.limitsFor(host, virtType),
      cleanup: ctx.cleanup,
      keep: ctx.keep,
      signal,
      migration: this.migration,
      addresses: this.addresses,
      onStage,
      onState: (state, detail) => ctx.reporters.forEach((r) => r.onGuestState?.({ name: `imgtest-${ctx.runId}-${key}`, host: host.name, firmware: guest.firmware }, state, detail)),
    });
  }

  /** The boot limits for a guest on `host`, scaled by its load; said once per host and accelerator. */
  private limitsFor(host: HypervisorHost, virtType: VirtType): BootLimits {
    const { ctx } = this;
    const limits = bootLimits({
      virtType,
      guestsOnHost: ctx.plan.guests.filter((g) => g.host === host.name).length,
      hostCpus: ctx.facts[ctx.hosts.indexOf(host)]?.cpus ?? 1,
      overrideSeconds: ctx.bootTimeoutSeconds ?? ctx.config.guest.bootTimeoutSeconds,
    });
    if (!this.limitsSaid.has(`${host.name}/${virtType}`)) {
      this.limitsSaid.add(`${host.name}/${virtType}`);
      const s = limits.silenceSeconds;
      ctx.emit(
        `[${host.name}] boot limits (${limits.basis}): silence ${s['power-on']}/${s.firmware}/${s.kernel}/${s.address}/${s.ssh} s before firmware output/kernel/address/SSH/cloud-init done, ${limits.totalSeconds} s overall`,
      );
    }
    return limits;
  }
}

/**
 * Suites run as soon as their guests are up, each guest serving one suite at a time, in plan order:
 * suites on different guests run side by side, and a suite that changes its guest (planned last)
 * starts only after every other suite on that guest has finished.
 */
async function runAssignments(ctx: RunContext, boots: GuestBoots): Promise<void> {
  const guestArtifacts = new Map<string, Promise<string[]>>();
  const guestQueue = new Map<string, Promise<unknown>>();
  const runs = ctx.plan.online.map((assignment) => {
    const before = Promise.all(assignment.guests.map((key) => guestQueue.get(key)));
    const run = before.then(() => runAssignment(ctx, assignment, boots, guestArtifacts));
    const settled = run.catch(() => undefined);
    for (const key of assignment.guests) guestQueue.set(key, settled);
    return run;
  });
  await Promise.all(runs);
}

/** With --keep: how to reach each guest that booted, and how to remove it. */
async function sayKeptGuests(ctx: RunContext, booted: Map<string, Promise<BootedGuest>>): Promise<void> {
  for (const [key, promise] of booted) {
    const guest = await promise.catch(() => undefined);
    if (guest)
      ctx.emit(
        `kept ${guest.handle.name} on ${guest.handle.host.name}: ssh -i ${ctx.keyFile} -o UserKnownHostsFile=${guest.ssh.knownHostsFile} ${guest.ssh.user}@${guest.handle.address}   (remove: virsh -c '${guest.handle.host.uri}' undefine --nvram --remove-all-storage ${guest.handle.name}) [${key}]`,
      );
  }
}

/** A suite run's guests once their boots have ended: booted or failed, in the order the suite sees them. */
interface AssignedGuests {
  planned: PlannedGuest[];
  settled: PromiseSettledResult<BootedGuest>[];
  summaries: GuestSummary[];
  failures: (BootFailure & { evidence?: string })[];
}

/** One suite on its planned guests: waits for them to boot, runs the checks (or reports the failed boot). */
async function runAssignment(ctx: RunContext, assignment: SuiteAssignment, boots: GuestBoots, guestArtifacts: Map<string, Promise<string[]>>): Promise<void> {
  ctx.signal?.throwIfAborted();
  const suite = ctx.suiteById.get(assignment.suiteId)!;
  const waitStarted = new Date(ctx.env.now());
  const guests = await awaitGuests(ctx, assignment, boots);
  // Interrupted while waiting: the run's report says so for this suite ("not run: interrupted ..."),
  // not a boot error of guests that were stopped on purpose.
  ctx.signal?.throwIfAborted();
  // The suite's own time starts once its guests are up (their boot time is each guest's bootSeconds);
  // a failed boot's case keeps the wait, which is what it reports.
  const started = guests.failures.length ? waitStarted : new Date(ctx.env.now());
  // Artifacts are collected once per guest, then attached to every suite the guest served.
  for (const [i, p] of guests.planned.entries()) {
    if (!guestArtifacts.has(p.key))
      guestArtifacts.set(
        p.key,
        collectGuestArtifacts(
          ctx,
          ctx.hosts.find((h) => h.name === p.host)!,
          p.key,
          guests.settled[i]!,
        ),
      );
  }
  const attachments = (await Promise.all(guests.planned.map((p) => guestArtifacts.get(p.key)!))).flat();
  const properties: Record<string, string> = {};
  const cases =
    guests.failures.length && !suite.requires.guests?.seesFailedBoots
      ? failedBootCases(ctx, suite, assignment, guests.failures, attachments, started)
      : await runChecksOnGuests(ctx, suite, assignment, guests, properties);
  // Suites on different guests run side by side: their cases are printed together when each ends.
  cases.forEach((c) => ctx.reporters.forEach((r) => r.onCaseEnd?.(suite.id, undefined, c)));
  const result = {
    ...suiteResult(suite, assignment.firmware, guests.summaries, cases, attachments, started, ctx.env.now() - started.getTime(), properties),
    ...(assignment.datasource ? { datasource: assignment.datasource } : {}),
  };
  ctx.reporters.forEach((r) => r.onSuiteEnd?.(result));
  ctx.record.add(result);
}

/** Waits for the suite's guests to boot (or fail to); what each came to, for the report. */
async function awaitGuests(ctx: RunContext, assignment: SuiteAssignment, boots: GuestBoots): Promise<AssignedGuests> {
  const planned = assignment.guests.map((key) => ctx.plan.guests.find((g) => g.key === key)!);
  const settled = await Promise.allSettled(assignment.guests.map((key) => boots.booted.get(key)!));
  const summaries: GuestSummary[] = planned.map((p, i) => {
    const s = settled[i]!;
    if (s.status !== 'fulfilled') return { name: `imgtest-${ctx.runId}-${p.key}`, host: p.host, firmware: p.firmware, datasource: p.datasource, mac: '' };
    const { handle, bootSeconds, virtType } = s.value;
    return {
      name: handle.name,
      host: p.host,
      firmware: p.firmware,
      datasource: p.datasource,
      mac: handle.mac,
      address: handle.address,
      bootSeconds,
      accel: virtType === 'kvm' ? ('kvm' as const) : ('tcg' as const),
    };
  });
  const failures = planned.flatMap((p, i) => {
    const s = settled[i]!;
    // A guest stopped as idle is not a failure: the failure that made it idle is this suite's too.
    return s.status === 'rejected' && !boots.idle.has(p.key) ? [bootFailureOf(p, summaries[i]!.name, s.reason as unknown)] : [];
  });
  return { planned, settled, summaries, failures };
}

/** A suite whose guests did not all boot: one `boot` case for the first failure, every check skipped. */
function failedBootCases(ctx: RunContext, suite: Suite, assignment: SuiteAssignment, failures: AssignedGuests['failures'], attachments: string[], started: Date): CaseResult[] {
  const first = failures[0]!;
  // A firmware refusing the image's loader is the image's defect (a failure); anything else is ours (an error).
  const status = failures.every((f) => f.cause === 'image') ? 'failed' : 'error';
  const failedBoot: CaseResult = {
    checkId: 'boot',
    title: 'guests boot to SSH with cloud-init done',
    severity: 'must',
    status,
    message: first.message,
    evidence: first.evidence,
    durationMs: ctx.env.now() - started.getTime(),
    attachments,
    attempts: 1,
  };
  // A firmware refusing the image is a failure like a check's: a waiver (`check: boot`) may cover it.
  const bootCase = applyWaiver(failedBoot, () => ctx.waivers?.find({ suiteId: suite.id, checkId: 'boot', image: ctx.image.name, firmware: assignment.firmware }));
  return [bootCase, ...skippedCases(suite, 'not run: guest did not boot', notSelected(ctx.selection, suite))];
}

/** The suite's checks on the guests that booted (a suite that sees failed boots gets those too). */
async function runChecksOnGuests(ctx: RunContext, suite: Suite, assignment: SuiteAssignment, guests: AssignedGuests, properties: Record<string, string>): Promise<CaseResult[]> {
  const label = `${suite.id}${assignment.firmware ? ` [${assignment.firmware}]` : ''}`;
  const on = `running ${label} on ${assignment.guests.join(', ')}`;
  ctx.record.doing(`suite ${label}`, on);
  ctx.emit(on);
  const ready = guests.settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.handle] : []));
  return runSuiteChecks({
    ...checkInput(ctx, suite, assignment.firmware, properties, assignment.datasource),
    guests: ready,
    bootFailures: guests.failures.map(({ evidence: _evidence, ...f }) => f),
    onCase: () => undefined,
  }).finally(() => ctx.record.doing(`suite ${label}`, undefined));
}

/** Removes a guest that failed (domain, NVRAM, overlay, seed, console file); quiet for what is gone. */
async function discardGuest(host: HypervisorHost, names: ReturnType<typeof guestNames>): Promise<void> {
  await host.removeDomain(names.domain).catch(() => undefined);
  await host.refreshPool();
  for (const volume of [names.overlay, names.seed, names.serialLog]) await host.deleteVolume(volume).catch(() => undefined);
}

/** Serial log, domain XML and cloud-init logs of one guest, saved into the report folder. */
async function collectGuestArtifacts(ctx: RunContext, host: HypervisorHost, key: string, settled: PromiseSettledResult<BootedGuest>): Promise<string[]> {
  const dir = join(ctx.reportDir, 'guests');
  await mkdir(dir, { recursive: true });
  const name = settled.status === 'fulfilled' ? settled.value.handle.name : `imgtest-${ctx.runId}-${key}`;
  const files: string[] = [];
  const save = async (file: string, content: string | undefined) => {
    if (!content) return;
    const path = join(dir, file);
    await writeFile(path, content);
    files.push(path);
  };
  // Through the handle when the guest booted: it follows a guest that migrated to another host.
  const serial = settled.status === 'fulfilled' ? settled.value.handle.serialLog() : host.readPoolFile(`${name}.serial.log`);
  await save(`${name}.serial.log`, await serial.catch(() => ''));
  if (settled.status === 'fulfilled') {
    await save(`${name}.domain.xml`, settled.value.domainXml);
    for (const log of ['/var/log/cloud-init.log', '/var/log/cloud-init-output.log']) {
      const out = await settled.value.handle.exec(['cat', log], { sudo: true }).catch(() => undefined);
      if (out?.exitCode === 0) await save(`${name}.${log.split('/').pop()}`, out.stdout);
    }
  } else {
    await save(`${name}.domain.xml`, await host.dumpXml(name).catch(() => ''));
  }
  return files;
}

function bootFailureOf(guest: PlannedGuest, guestName: string, reason: unknown): BootFailure & { evidence?: string } {
  const message = reason instanceof Error ? reason.message : String(reason);
  const boot = reason instanceof GuestBootFailure ? reason : undefined;
  return {
    guestName,
    host: guest.host,
    firmware: guest.firmware,
    message,
    cause: boot?.cause ?? 'infrastructure',
    consoleTail: boot?.evidence ?? '',
    evidence: boot ? boot.evidence : reason instanceof Error ? reason.stack : undefined,
  };
}

function suiteResult(
  suite: Suite,
  firmware: Firmware | undefined,
  guests: GuestSummary[],
  cases: CaseResult[],
  attachments: string[],
  started: Date,
  durationMs: number,
  properties: Record<string, string> = {},
): SuiteResult {
  return { suiteId: suite.id, title: suite.title, firmware, guests, cases, attachments, properties, startedAt: started.toISOString(), durationMs };
}

/**
 * The plan for the suites that have a selected check (--check/--skip/--tag/--exclude-tag); the others (`idle`) are left
 * out of it, so they boot nothing: their checks are only reported skipped.
 */
export function planSelected(input: { suites: readonly Suite[]; selection?: CheckSelection; hosts: string[]; firmware: Firmware[]; datasources?: readonly Datasource[] }): {
  plan: RunPlan;
  idle: Suite[];
} {
  const idle = input.selection ? input.suites.filter((suite) => !input.selection!.selected(suite).length) : [];
  const plan = planRun({ suites: input.suites.filter((suite) => !idle.includes(suite)), hosts: input.hosts, firmware: input.firmware, datasources: input.datasources });
  return { plan, idle };
}

export function selectSuites(ids: readonly string[] | undefined, available: readonly Suite[]): Suite[] {
  if (!ids?.length) return [...available];
  return ids.map((id) => {
    const suite = available.find((s) => s.id === id);
    if (!suite) throw new UsageError(`unknown suite '${id}' (available: ${available.map((s) => s.id).join(', ')})`);
    return suite;
  });
}

/** The guest's disk: the image's virtual size plus the configured growth, rounded up to a MiB. */
export function guestDiskBytes(virtualSize: number, growthGiB: number): number {
  const MiB = 2 ** 20;
  return Math.ceil((virtualSize + growthGiB * 2 ** 30) / MiB) * MiB;
}
