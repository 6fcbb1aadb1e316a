import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { AccelSetting, FirmwareSetting, ImgtestConfig } from '../config/schema.js';
import { UsageError } from '../errors.js';
import { LibvirtHost } from '../hosts/libvirt-host.js';
import { inspectImage, type InspectedImage } from '../image/inspect.js';
import { resolveFirmware } from './firmware.js';
import { verdictOf, type CaseResult, type GuestSummary, type HostFacts, type PlannedCase, type Reporter, type RunResult, type SuiteResult } from '../report/model.js';
import type { BootFailure, Firmware, HostInfo, Suite } from '../suite-api/index.js';
import { runSuiteChecks, skippedCases } from './checks.js';
import type { CleanupRegistry } from './cleanup.js';
import { bootGuest, GuestBootFailure, type BootedGuest } from './guest-boot.js';
import type { MigrationSupport } from './guest-migration.js';
import { BaseVolumes } from './guest-storage.js';
import { resolveHosts } from './hosts.js';
import { planRun, type PlannedGuest, type RunPlan } from './planner.js';
import { newRunId } from './run-id.js';

export interface RunOptions {
  imagePath: string;
  suites: readonly Suite[];
  config: ImgtestConfig;
  firmware?: FirmwareSetting;
  accel?: AccelSetting;
  reportDir?: string;
  keep: boolean;
  bootTimeoutSeconds?: number;
  reporters: readonly Reporter[];
  cleanup: CleanupRegistry;
  signal?: AbortSignal;
  version: string;
}

const execFileAsync = promisify(execFile);

export async function executeRun(options: RunOptions): Promise<RunResult> {
  const startedAt = new Date();
  const runId = newRunId(startedAt);
  const emit = (line: string) => options.reporters.forEach((r) => r.onLog?.(line));
  const workDir = await mkdtemp(join(tmpdir(), `imgtest-${runId}-`));
  // With --keep the run's key and known_hosts stay, so the printed ssh command keeps working.
  if (!options.keep) options.cleanup.add('local work folder', () => rm(workDir, { recursive: true, force: true }));
  const image = await inspectImage(options.imagePath, { workDir });
  const firmwareSetting = options.firmware ?? options.config.firmware;
  const accelSetting = options.accel ?? options.config.accel;
  const firmwareChoice = resolveFirmware(firmwareSetting, image.boot);
  const firmwares = firmwareChoice.firmwares;
  emit(`image ${image.name}: ${image.format}, ${(image.virtualSize / 2 ** 30).toFixed(1)} GiB virtual, sha256 ${image.sha256.slice(0, 16)}…; ${image.boot.reasons.join('; ')}`);
  emit(firmwareChoice.reason);
  if (firmwareChoice.warning) emit(`note: ${firmwareChoice.warning}`);

  const hostConfigs = await resolveHosts(options.config.hosts, emit);
  // With a shared pool every guest volume goes there, on every host (see BaseVolumes).
  const sharedPool = options.config.storage.sharedPool;
  const hosts = hostConfigs.map((config) => new LibvirtHost(sharedPool ? { ...config, pool: sharedPool } : config));
  const facts = await Promise.all(hosts.map((host) => host.facts()));
  const hostFacts: HostFacts[] = hosts.map((host, i) => ({ name: host.name, uri: host.config.uri, libvirtVersion: facts[i]!.libvirtVersion, qemuVersion: facts[i]!.qemuVersion }));
  const hostInfos: HostInfo[] = hosts.map((host, i) => ({ name: host.name, uri: host.config.uri, migrationUri: host.migrationUri, libvirtVersion: facts[i]!.libvirtVersion, qemuVersion: facts[i]!.qemuVersion }));

  const plan = planRun({ suites: options.suites, hosts: hosts.map((h) => h.name), firmware: firmwares });
  const reportDir = resolve(options.reportDir ?? options.config.reportDir, runId);
  await mkdir(reportDir, { recursive: true });
  await pointLatest(reportDir);

  const planned: PlannedCase[] = options.suites.flatMap((suite) => suite.checks.map((c) => ({ suiteId: suite.id, checkId: c.id, title: c.title, severity: c.severity })));
  options.reporters.forEach((r) => r.onRunStart?.({ runId, image, hosts: hostFacts, planned, guests: plan.guests.length }));

  const suiteResults: SuiteResult[] = [];
  const suiteById = new Map(options.suites.map((s) => [s.id, s]));
  for (const { suiteId, reason } of plan.unrunnable) {
    const suite = suiteById.get(suiteId)!;
    suiteResults.push(suiteResult(suite, undefined, [], skippedCases(suite, `not run: ${reason}`), [], new Date(), 0));
  }

  // Per-run SSH key: lives in the work folder only, reaches guests through the seed, never the image.
  const keyFile = join(workDir, 'id_ed25519');
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `imgtest-${runId}`, '-f', keyFile]);
  const publicKey = (await readFile(`${keyFile}.pub`, 'utf8')).trim();

  const offlineRuns = plan.offline.map(async (assignment) => {
    const suite = suiteById.get(assignment.suiteId)!;
    const started = new Date();
    const properties: Record<string, string> = {};
    const cases = await runSuiteChecks({
      suite, image, guests: [], hosts: hostInfos, options: options.config.suites[suite.id] ?? {}, artifactDir: join(reportDir, suite.id), log: emit, properties,
      onCase: (c) => options.reporters.forEach((r) => r.onCaseEnd?.(suite.id, undefined, c)),
    });
    return suiteResult(suite, undefined, [], cases, [], started, Date.now() - started.getTime(), properties);
  });

  const guestRuns = runOnlineSuites({ ...options, runId, image, hosts, hostInfos, plan, reportDir, workDir, keyFile, publicKey, accelSetting, kvmAvailable: facts.map((f) => f.kvmAvailable), emit, suiteById });
  suiteResults.push(...(await Promise.all(offlineRuns)), ...(await guestRuns));

  const { verdict, exitCode } = verdictOf(suiteResults);
  const finishedAt = new Date();
  const result: RunResult = {
    runId, imgtestVersion: options.version, startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), durationMs: finishedAt.getTime() - startedAt.getTime(),
    image: { path: image.path, name: image.name, format: image.format, virtualSize: image.virtualSize, actualSize: image.actualSize, sha256: image.sha256, boot: image.boot },
    hosts: hostFacts, firmware: `${firmwareSetting} -> ${firmwares.join(', ')}`, accel: accelSetting, reportDir, suites: orderLike(options.suites, suiteResults), verdict, exitCode,
  };
  return result;
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
  emit(line: string): void;
  suiteById: Map<string, Suite>;
}

/** Boots every planned guest (both hosts in parallel), then runs each suite on its guests as they come up. */
async function runOnlineSuites(ctx: OnlineContext): Promise<SuiteResult[]> {
  if (!ctx.plan.guests.length) return [];
  const hostByName = new Map(ctx.hosts.map((h) => [h.name, h]));
  const baseVolume = `imgtest-${ctx.runId}-base.${ctx.image.format}`;
  const sharedPool = ctx.config.storage.sharedPool;
  const bases = new BaseVolumes({ name: baseVolume, imagePath: ctx.image.path, imageName: ctx.image.name, sharedPool, cleanup: ctx.cleanup, keep: ctx.keep, emit: ctx.emit });
  const migration: MigrationSupport = { hosts: ctx.hosts.map((host, i) => ({ host, info: ctx.hostInfos[i]! })), ensureBase: (host) => bases.ensure(host), shared: sharedPool !== undefined };
  const kvmBroken = new Set<string>();
  const upload = (host: LibvirtHost) => bases.ensure(host);
  const virtTypeFor = (host: LibvirtHost): 'kvm' | 'qemu' => {
    const setting = host.config.accel ?? ctx.accelSetting;
    if (setting === 'tcg' || kvmBroken.has(host.name)) return 'qemu';
    if (setting === 'kvm') return 'kvm';
    return ctx.kvmAvailable[ctx.hosts.indexOf(host)] ? 'kvm' : 'qemu';
  };
  const boot = async (guest: PlannedGuest): Promise<BootedGuest> => {
    const host = hostByName.get(guest.host)!;
    const hostInfo = ctx.hostInfos[ctx.hosts.indexOf(host)]!;
    await upload(host);
    const attempt = (virtType: 'kvm' | 'qemu', key: string) =>
      bootGuest({
        runId: ctx.runId, key, host, hostInfo, firmware: guest.firmware, virtType, baseVolume, baseFormat: ctx.image.format,
        overlayBytes: Math.max(ctx.image.virtualSize, 4 * 2 ** 30), memoryMiB: ctx.config.guest.memoryMiB, vcpus: ctx.config.guest.vcpus, user: ctx.config.guest.user,
        publicKey: ctx.publicKey, privateKeyFile: ctx.keyFile, workDir: ctx.workDir, bootTimeoutSeconds: ctx.bootTimeoutSeconds ?? ctx.config.guest.bootTimeoutSeconds,
        cleanup: ctx.cleanup, keep: ctx.keep, signal: ctx.signal, migration,
        onState: (state, detail) => ctx.reporters.forEach((r) => r.onGuestState?.({ name: `imgtest-${ctx.runId}-${key}`, host: host.name, firmware: guest.firmware }, state, detail)),
      });
    const virtType = virtTypeFor(host);
    try {
      return await attempt(virtType, guest.key);
    } catch (error) {
      // KVM that exists but cannot run guests (seen on nested setups): say so, and retry under TCG.
      if (error instanceof GuestBootFailure && error.kvmBroken && (host.config.accel ?? ctx.accelSetting) === 'auto') {
        kvmBroken.add(host.name);
        ctx.emit(`[${host.name}] KVM is present but failed this guest (${error.message}); falling back to TCG (software emulation)`);
        return attempt('qemu', `${guest.key}t`);
      }
      throw error;
    }
  };

  const booted = new Map<string, Promise<BootedGuest>>();
  for (const guest of ctx.plan.guests) {
    const promise = boot(guest);
    promise.catch(() => undefined); // observed below, per suite
    booted.set(guest.key, promise);
  }

  const results: SuiteResult[] = [];
  const collected = new Set<string>();
  const guestArtifacts = new Map<string, Promise<string[]>>();
  for (const assignment of ctx.plan.online) {
    const suite = ctx.suiteById.get(assignment.suiteId)!;
    const started = new Date();
    const planned = assignment.guests.map((key) => ctx.plan.guests.find((g) => g.key === key)!);
    const settled = await Promise.allSettled(assignment.guests.map((key) => booted.get(key)!));
    const ready = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const summaries: GuestSummary[] = await Promise.all(
      planned.map(async (p, i) => {
        const s = settled[i]!;
        const name = s.status === 'fulfilled' ? s.value.handle.name : `imgtest-${ctx.runId}-${p.key}`;
        return { name, host: p.host, firmware: p.firmware, mac: s.status === 'fulfilled' ? s.value.handle.mac : '', address: s.status === 'fulfilled' ? s.value.handle.address : undefined, bootSeconds: s.status === 'fulfilled' ? s.value.bootSeconds : undefined };
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
      const bootCase: CaseResult = { checkId: 'boot', title: 'guests boot to SSH with cloud-init done', severity: 'must', status, message: first.message, evidence: first.evidence, durationMs: Date.now() - started.getTime(), attachments };
      cases = [bootCase, ...skippedCases(suite, 'not run: guest did not boot')];
      cases.forEach((c) => ctx.reporters.forEach((r) => r.onCaseEnd?.(suite.id, undefined, c)));
    } else {
      cases = await runSuiteChecks({
        suite, image: ctx.image, firmware: assignment.firmware, guests: ready.map((b) => b.handle), bootFailures: failures.map(({ evidence: _evidence, ...f }) => f), hosts: ctx.hostInfos, options: ctx.config.suites[suite.id] ?? {},
        artifactDir: join(ctx.reportDir, suite.id), log: ctx.emit, properties,
        onCase: (c) => ctx.reporters.forEach((r) => r.onCaseEnd?.(suite.id, undefined, c)),
      });
    }
    collected.add(suite.id);
    const result = suiteResult(suite, assignment.firmware, summaries, cases, attachments, started, Date.now() - started.getTime(), properties);
    ctx.reporters.forEach((r) => r.onSuiteEnd?.(result));
    results.push(result);
  }
  if (ctx.keep) {
    for (const [key, promise] of booted) {
      const guest = await promise.catch(() => undefined);
      if (guest) ctx.emit(`kept ${guest.handle.name} on ${guest.handle.host.name}: ssh -i ${ctx.keyFile} -o UserKnownHostsFile=${guest.ssh.knownHostsFile} ${guest.ssh.user}@${guest.handle.address}   (remove: virsh -c '${guest.handle.host.uri}' undefine --nvram --remove-all-storage ${guest.handle.name}) [${key}]`);
    }
  }
  return results;
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

function orderLike(suites: readonly Suite[], results: SuiteResult[]): SuiteResult[] {
  const order = new Map(suites.map((s, i) => [s.id, i]));
  return [...results].sort((a, b) => (order.get(a.suiteId) ?? 0) - (order.get(b.suiteId) ?? 0));
}

/** `<reportDir>/latest` points at the newest run, so humans and Jenkins globs find it. */
async function pointLatest(runDir: string): Promise<void> {
  const link = join(dirname(runDir), 'latest');
  await unlink(link).catch(() => undefined);
  await symlink(runDir, link).catch(() => undefined);
}

export function selectSuites(ids: readonly string[] | undefined, available: readonly Suite[]): Suite[] {
  if (!ids?.length) return [...available];
  return ids.map((id) => {
    const suite = available.find((s) => s.id === id);
    if (!suite) throw new UsageError(`unknown suite '${id}' (available: ${available.map((s) => s.id).join(', ')})`);
    return suite;
  });
}

