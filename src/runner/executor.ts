import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AccelSetting, FirmwareSetting, ImgtestConfig } from '../config/schema.js';
import { UsageError } from '../errors.js';
import { LibvirtHost } from '../hosts/libvirt-host.js';
import { inspectImage, type InspectedImage } from '../image/inspect.js';
import { resolveFirmware } from './firmware.js';
import { type CaseResult, type GuestSummary, type HostFacts, type PlannedCase, type Reporter, type RunResult, type SuiteResult } from '../report/model.js';
import type { BootFailure, Check, Firmware, HostInfo, Suite } from '../suite-api/index.js';
import { runSuiteChecks, skippedCases } from './checks.js';
import type { CleanupRegistry } from './cleanup.js';
import { HostAccel, type VirtType } from './accel.js';
import { bootLimits, type BootLimits, type BootStage } from './boot-watch.js';
import { bootGuest, guestNames, GuestBootFailure, type BootedGuest } from './guest-boot.js';
import type { MigrationSupport } from './guest-migration.js';
import { BaseVolumes } from './guest-storage.js';
import { resolveHosts, runTimeServers } from './hosts.js';
import { planRun, type PlannedGuest, type RunPlan, type SuiteAssignment } from './planner.js';
import { checkLabDhcpPool } from './preflight.js';
import type { RunRecord } from './run-record.js';
import type { CheckSelection } from './selection.js';
import { applyWaiver, type Waivers } from './waivers.js';

export interface RunOptions {
  imagePath: string;
  suites: readonly Suite[];
  config: ImgtestConfig;
  firmware?: FirmwareSetting;
  accel?: AccelSetting;
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

const execFileAsync = promisify(execFile);

export async function executeRun(options: RunOptions): Promise<RunResult> {
  const { record } = options;
  const runId = record.runId;
  const emit = (line: string) => options.reporters.forEach((r) => r.onLog?.(line));
  const workDir = await mkdtemp(join(tmpdir(), `imgtest-${runId}-`));
  // With --keep the run's key and known_hosts stay, so the printed ssh command keeps working.
  if (!options.keep) options.cleanup.add('local work folder', () => rm(workDir, { recursive: true, force: true }));
  record.doing('run', 'reading the image');
  const image = await inspectImage(options.imagePath, { workDir });
  const firmwareSetting = options.firmware ?? options.config.firmware;
  const accelSetting = options.accel ?? options.config.accel;
  const firmwareChoice = resolveFirmware(firmwareSetting, image.boot);
  const firmwares = firmwareChoice.firmwares;
  Object.assign(record, { image, firmware: `${firmwareSetting} -> ${firmwares.join(', ')}`, accel: accelSetting });
  emit(`image ${image.name}: ${image.format}, ${(image.virtualSize / 2 ** 30).toFixed(1)} GiB virtual, sha256 ${image.sha256.slice(0, 16)}…; ${image.boot.reasons.join('; ')}`);
  emit(firmwareChoice.reason);
  if (firmwareChoice.warning) emit(`note: ${firmwareChoice.warning}`);

  record.doing('run', 'contacting the hosts');
  const hostConfigs = await resolveHosts(options.config.hosts, emit);
  // With a shared pool every guest volume goes there, on every host (see BaseVolumes).
  const sharedPool = options.config.storage.sharedPool;
  const hosts = hostConfigs.map((config) => new LibvirtHost(sharedPool ? { ...config, pool: sharedPool } : config));
  const facts = await Promise.all(hosts.map((host) => host.facts()));
  const hostFacts: HostFacts[] = hosts.map((host, i) => ({ name: host.name, uri: host.config.uri, libvirtVersion: facts[i]!.libvirtVersion, qemuVersion: facts[i]!.qemuVersion }));
  const hostInfos: HostInfo[] = hosts.map((host, i) => ({ name: host.name, uri: host.config.uri, migrationUri: host.migrationUri, libvirtVersion: facts[i]!.libvirtVersion, qemuVersion: facts[i]!.qemuVersion }));
  record.hosts = hostFacts;
  record.doing('run', undefined);

  const selection = options.selection;
  const notSelected = (suite: Suite) => (check: Check) => selection?.reasonFor(suite, check);
  const selectedChecks = (suite: Suite) => (selection ? selection.selected(suite) : suite.checks);
  const { plan, idle } = planSelected({ suites: options.suites, selection, hosts: hosts.map((h) => h.name), firmware: firmwares });
  const suiteById = new Map(options.suites.map((s) => [s.id, s]));
  record.expect([...plan.unrunnable, ...plan.offline, ...plan.online].map((a) => ({ suite: suiteById.get(a.suiteId)!, firmware: 'firmware' in a ? a.firmware : undefined })));
  const reportDir = record.dir;
  // On the local lab, the guests need addresses from its DHCP pool beside those other runs hold: say so
  // now, in one line, rather than boot guests that never get one. (Configured hosts: not ours to see.)
  if (!options.config.hosts?.length && plan.guests.length) {
    const pool = await checkLabDhcpPool(plan.guests.length);
    emit(`lab DHCP pool: ${pool.free} of ${pool.size} addresses free, this run needs ${plan.guests.length}`);
  }

  const planned: PlannedCase[] = options.suites.flatMap((suite) => selectedChecks(suite).map((c) => ({ suiteId: suite.id, checkId: c.id, title: c.title, severity: c.severity })));
  options.reporters.forEach((r) => r.onRunStart?.({ runId, image, hosts: hostFacts, planned, guests: plan.guests.length }));

  for (const suite of idle) record.add(suiteResult(suite, undefined, [], skippedCases(suite, 'not selected', notSelected(suite)), [], new Date(), 0));
  for (const { suiteId, reason } of plan.unrunnable) {
    const suite = suiteById.get(suiteId)!;
    record.add(suiteResult(suite, undefined, [], skippedCases(suite, `not run: ${reason}`, notSelected(suite)), [], new Date(), 0));
  }

  // Per-run SSH key: lives in the work folder only, reaches guests through the seed, never the image.
  const keyFile = join(workDir, 'id_ed25519');
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `imgtest-${runId}`, '-f', keyFile]);
  const publicKey = (await readFile(`${keyFile}.pub`, 'utf8')).trim();

  const offlineRuns = plan.offline.map(async (assignment) => {
    const suite = suiteById.get(assignment.suiteId)!;
    const started = new Date();
    const properties: Record<string, string> = {};
    record.doing(`suite ${suite.id}`, `running ${suite.id}`);
    const cases = await runSuiteChecks({
      suite, image, guests: [], hosts: hostInfos, options: options.config.suites[suite.id] ?? {}, artifactDir: join(reportDir, suite.id), log: emit, properties, signal: options.signal, notSelected: notSelected(suite),
      waiverFor: (check) => options.waivers?.find({ suiteId: suite.id, checkId: check.id, image: image.name }),
      timeServers: runTimeServers(options.config), retries: options.retries ?? options.config.retries,
      onCase: (c) => options.reporters.forEach((r) => r.onCaseEnd?.(suite.id, undefined, c)),
    }).finally(() => record.doing(`suite ${suite.id}`, undefined));
    record.add(suiteResult(suite, undefined, [], cases, [], started, Date.now() - started.getTime(), properties));
  });

  const guestRuns = runOnlineSuites({ ...options, runId, image, hosts, hostInfos, plan, reportDir, workDir, keyFile, publicKey, accelSetting, kvmAvailable: facts.map((f) => f.kvmAvailable), hostCpus: facts.map((f) => f.cpus), emit, suiteById });
  // Every part ends before the run does, also when another failed or the run was interrupted: an offline
  // suite stopping its appliance (context.signal) is waited for, so cleanup and exit come after it.
  const parts = await Promise.allSettled([...offlineRuns, guestRuns]);
  const failed = parts.find((part): part is PromiseRejectedResult => part.status === 'rejected');
  if (failed) throw failed.reason;
  return record.completed(options.suites);
}

interface OnlineContext extends RunOptions {
  runId: string;
  image: InspectedImage;
  hosts: LibvirtHost[];
  hostInfos: HostInfo[];
  plan: RunPlan;
  reportDir: string;
  workDir: string;
  keyFile: string;
  publicKey: string;
  accelSetting: AccelSetting;
  kvmAvailable: boolean[];
  hostCpus: (number | undefined)[];
  emit(line: string): void;
  suiteById: Map<string, Suite>;
}

/** Boots every planned guest (both hosts in parallel), then runs each suite on its guests as they come up. */
async function runOnlineSuites(ctx: OnlineContext): Promise<void> {
  if (!ctx.plan.guests.length) return;
  const hostByName = new Map(ctx.hosts.map((h) => [h.name, h]));
  const baseVolume = `imgtest-${ctx.runId}-base.${ctx.image.format}`;
  const sharedPool = ctx.config.storage.sharedPool;
  const bases = new BaseVolumes({ name: baseVolume, imagePath: ctx.image.path, imageName: ctx.image.name, sharedPool, cleanup: ctx.cleanup, keep: ctx.keep, emit: ctx.emit });
  const migration: MigrationSupport = { hosts: ctx.hosts.map((host, i) => ({ host, info: ctx.hostInfos[i]! })), ensureBase: (host) => bases.ensure(host), shared: sharedPool !== undefined };
  const upload = (host: LibvirtHost) => bases.ensure(host);
  const accelByHost = new Map(ctx.hosts.map((host, i) => [host.name, new HostAccel(host.config.accel ?? ctx.accelSetting, ctx.kvmAvailable[i]!)]));
  const limitsSaid = new Set<string>();
  const limitsFor = (host: LibvirtHost, virtType: VirtType): BootLimits => {
    const limits = bootLimits({
      virtType,
      guestsOnHost: ctx.plan.guests.filter((g) => g.host === host.name).length,
      hostCpus: ctx.hostCpus[ctx.hosts.indexOf(host)] ?? 1,
      overrideSeconds: ctx.bootTimeoutSeconds ?? ctx.config.guest.bootTimeoutSeconds,
    });
    if (!limitsSaid.has(`${host.name}/${virtType}`)) {
      limitsSaid.add(`${host.name}/${virtType}`);
      const s = limits.silenceSeconds;
      ctx.emit(`[${host.name}] boot limits (${limits.basis}): silence ${s['power-on']}/${s.firmware}/${s.kernel}/${s.address}/${s.ssh} s before firmware output/kernel/address/SSH/cloud-init done, ${limits.totalSeconds} s overall`);
    }
    return limits;
  };
  const boot = async (guest: PlannedGuest): Promise<BootedGuest> => {
    const host = hostByName.get(guest.host)!;
    const hostInfo = ctx.hostInfos[ctx.hosts.indexOf(host)]!;
    await upload(host);
    const accel = accelByHost.get(host.name)!;
    const attempt = (virtType: VirtType, key: string, onStage?: (stage: BootStage) => void) =>
      bootGuest({
        runId: ctx.runId, key, host, hostInfo, firmware: guest.firmware, virtType, baseVolume, baseFormat: ctx.image.format,
        overlayBytes: guestDiskBytes(ctx.image.virtualSize, ctx.config.guest.diskGrowthGiB), memoryMiB: ctx.config.guest.memoryMiB, vcpus: ctx.config.guest.vcpus, video: ctx.config.guest.video, user: ctx.config.guest.user,
        publicKey: ctx.publicKey, privateKeyFile: ctx.keyFile, workDir: ctx.workDir, limits: limitsFor(host, virtType),
        cleanup: ctx.cleanup, keep: ctx.keep, signal: ctx.signal, migration, onStage,
        onState: (state, detail) => ctx.reporters.forEach((r) => r.onGuestState?.({ name: `imgtest-${ctx.runId}-${key}`, host: host.name, firmware: guest.firmware }, state, detail)),
      });
    ctx.record.doing(guest.key, `booting ${guest.key} (${guest.firmware}) on ${host.name}`);
    const { virtType, probe } = await accel.choose();
    // The probe's kernel running under KVM settles the question for the host's other guests.
    const onStage = probe ? (stage: BootStage) => stage !== 'power-on' && stage !== 'firmware' && accel.works() : undefined;
    try {
      return await attempt(virtType, guest.key, onStage);
    } catch (error) {
      if (virtType === 'kvm' && accel.mayFallBack && error instanceof GuestBootFailure && error.kvmFallback) {
        const first = !accel.isBroken;
        accel.broken(error.kvmFallback);
        ctx.emit(`[${host.name}] ${guestNames(ctx.runId, guest.key).domain}: KVM failed it (${error.kvmFallback}); retrying under TCG (software emulation)${first ? `; later guests on ${host.name} start under TCG` : ''}`);
        // The failed guest (often paused, holding its memory) goes now, not at the end of the run.
        await discardGuest(host, guestNames(ctx.runId, guest.key));
        return attempt('qemu', `${guest.key}t`);
      }
      if (probe) accel.works(); // failed for reasons that are not KVM's: the others may use it
      throw error;
    }
  };

  const booted = new Map<string, Promise<BootedGuest>>();
  for (const guest of ctx.plan.guests) {
    const promise = boot(guest).finally(() => ctx.record.doing(guest.key, undefined));
    promise.catch(() => undefined); // observed below, per suite
    booted.set(guest.key, promise);
  }

  // Suites run as soon as their guests are up, each guest serving one suite at a time, in plan
  // order: suites on different guests run side by side, and a suite that changes its guest (planned
  // last) starts only after every other suite on that guest has finished.
  const guestArtifacts = new Map<string, Promise<string[]>>();
  const guestQueue = new Map<string, Promise<unknown>>();
  const runs = ctx.plan.online.map((assignment) => {
    const before = Promise.all(assignment.guests.map((key) => guestQueue.get(key)));
    const run = before.then(() => runAssignment(ctx, assignment, booted, guestArtifacts, hostByName));
    for (const key of assignment.guests) guestQueue.set(key, run.catch(() => undefined));
    return run;
  });
  await Promise.all(runs);
  if (ctx.keep) {
    for (const [key, promise] of booted) {
      const guest = await promise.catch(() => undefined);
      if (guest) ctx.emit(`kept ${guest.handle.name} on ${guest.handle.host.name}: ssh -i ${ctx.keyFile} -o UserKnownHostsFile=${guest.ssh.knownHostsFile} ${guest.ssh.user}@${guest.handle.address}   (remove: virsh -c '${guest.handle.host.uri}' undefine --nvram --remove-all-storage ${guest.handle.name}) [${key}]`);
    }
  }
}

/** One suite on its planned guests: waits for them to boot, runs the checks (or reports the failed boot). */
async function runAssignment(
  ctx: OnlineContext,
  assignment: SuiteAssignment,
  booted: Map<string, Promise<BootedGuest>>,
  guestArtifacts: Map<string, Promise<string[]>>,
  hostByName: Map<string, LibvirtHost>,
): Promise<void> {
  ctx.signal?.throwIfAborted();
  const suite = ctx.suiteById.get(assignment.suiteId)!;
  const started = new Date();
  const label = `${suite.id}${assignment.firmware ? ` [${assignment.firmware}]` : ''}`;
  const planned = assignment.guests.map((key) => ctx.plan.guests.find((g) => g.key === key)!);
  const settled = await Promise.allSettled(assignment.guests.map((key) => booted.get(key)!));
  // Interrupted while waiting: the run's report says so for this suite ("not run: interrupted ..."),
  // not a boot error of guests that were stopped on purpose.
  ctx.signal?.throwIfAborted();
  const ready = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const summaries: GuestSummary[] = await Promise.all(
    planned.map(async (p, i) => {
      const s = settled[i]!;
      const name = s.status === 'fulfilled' ? s.value.handle.name : `imgtest-${ctx.runId}-${p.key}`;
      if (s.status !== 'fulfilled') return { name, host: p.host, firmware: p.firmware, mac: '' };
      const { handle, bootSeconds, virtType } = s.value;
      return { name, host: p.host, firmware: p.firmware, mac: handle.mac, address: handle.address, bootSeconds, accel: virtType === 'kvm' ? ('kvm' as const) : ('tcg' as const) };
    }),
  );
  // Artifacts are collected once per guest, then attached to every suite the guest served.
  for (const [i, p] of planned.entries()) {
    if (!guestArtifacts.has(p.key)) guestArtifacts.set(p.key, collectGuestArtifacts(ctx, hostByName.get(p.host)!, p.key, settled[i]!));
  }
  const attachments = (await Promise.all(planned.map((p) => guestArtifacts.get(p.key)!))).flat();
  const failures = planned.flatMap((p, i) => {
    const s = settled[i]!;
    return s.status === 'rejected' ? [bootFailureOf(p, summaries[i]!.name, s.reason as unknown)] : [];
  });
  let cases: CaseResult[];
  const properties: Record<string, string> = {};
  if (failures.length && !suite.requires.guests?.seesFailedBoots) {
    const first = failures[0]!;
    // A firmware refusing the image's loader is the image's defect (a failure); anything else is ours (an error).
    const status = failures.every((f) => f.cause === 'image') ? 'failed' : 'error';
    const failedBoot: CaseResult = { checkId: 'boot', title: 'guests boot to SSH with cloud-init done', severity: 'must', status, message: first.message, evidence: first.evidence, durationMs: Date.now() - started.getTime(), attachments, attempts: 1 };
    // A firmware refusing the image is a failure like a check's: a waiver (`check: boot`) may cover it.
    const bootCase = applyWaiver(failedBoot, () => ctx.waivers?.find({ suiteId: suite.id, checkId: 'boot', image: ctx.image.name, firmware: assignment.firmware }));
    cases = [bootCase, ...skippedCases(suite, 'not run: guest did not boot', (check) => ctx.selection?.reasonFor(suite, check))];
  } else {
    const on = `running ${label} on ${assignment.guests.join(', ')}`;
    ctx.record.doing(`suite ${label}`, on);
    ctx.emit(on);
    cases = await runSuiteChecks({
      suite, image: ctx.image, firmware: assignment.firmware, guests: ready.map((b) => b.handle), bootFailures: failures.map(({ evidence: _evidence, ...f }) => f), hosts: ctx.hostInfos, options: ctx.config.suites[suite.id] ?? {},
      artifactDir: join(ctx.reportDir, suite.id), log: ctx.emit, properties, signal: ctx.signal,
      notSelected: (check) => ctx.selection?.reasonFor(suite, check),
      waiverFor: (check) => ctx.waivers?.find({ suiteId: suite.id, checkId: check.id, image: ctx.image.name, firmware: assignment.firmware }),
      timeServers: runTimeServers(ctx.config), retries: ctx.retries ?? ctx.config.retries,
      onCase: () => undefined,
    }).finally(() => ctx.record.doing(`suite ${label}`, undefined));
  }
  // Suites on different guests run side by side: their cases are printed together when each ends.
  cases.forEach((c) => ctx.reporters.forEach((r) => r.onCaseEnd?.(suite.id, undefined, c)));
  const result = suiteResult(suite, assignment.firmware, summaries, cases, attachments, started, Date.now() - started.getTime(), properties);
  ctx.reporters.forEach((r) => r.onSuiteEnd?.(result));
  ctx.record.add(result);
}

/** Removes a guest that failed (domain, NVRAM, overlay, seed, console file); quiet for what is gone. */
async function discardGuest(host: LibvirtHost, names: ReturnType<typeof guestNames>): Promise<void> {
  await host.removeDomain(names.domain).catch(() => undefined);
  await host.refreshPool();
  for (const volume of [names.overlay, names.seed, names.serialLog]) await host.deleteVolume(volume).catch(() => undefined);
}

/** Serial log, domain XML and cloud-init logs of one guest, saved into the report folder. */
async function collectGuestArtifacts(ctx: OnlineContext, host: LibvirtHost, key: string, settled: PromiseSettledResult<BootedGuest>): Promise<string[]> {
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
    guestName, host: guest.host, firmware: guest.firmware, message,
    cause: boot?.cause ?? 'infrastructure',
    consoleTail: boot?.evidence ?? '',
    evidence: boot ? boot.evidence : reason instanceof Error ? reason.stack : undefined,
  };
}

function suiteResult(suite: Suite, firmware: Firmware | undefined, guests: GuestSummary[], cases: CaseResult[], attachments: string[], started: Date, durationMs: number, properties: Record<string, string> = {}): SuiteResult {
  return { suiteId: suite.id, title: suite.title, firmware, guests, cases, attachments, properties, startedAt: started.toISOString(), durationMs };
}



/**
 * The plan for the suites that have a selected check (--check/--skip/--tag/--exclude-tag); the others (`idle`) are left
 * out of it, so they boot nothing: their checks are only reported skipped.
 */
export function planSelected(input: { suites: readonly Suite[]; selection?: CheckSelection; hosts: string[]; firmware: Firmware[] }): { plan: RunPlan; idle: Suite[] } {
  const idle = input.selection ? input.suites.filter((suite) => !input.selection!.selected(suite).length) : [];
  const plan = planRun({ suites: input.suites.filter((suite) => !idle.includes(suite)), hosts: input.hosts, firmware: input.firmware });
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
