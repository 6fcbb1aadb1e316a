/**
 * One leg: the guest moves from one host to the next while it works, and everything the leg's checks
 * judge is observed here, once:
 *   before: boot_id, uptime, interfaces and addresses, clock offset, whether the guest agent answers;
 *   during: a workload in the guest (memory kept dirty; a writer appending fsynced chunks), a held SSH
 *           session with a heartbeat, ICMP and TCP probes from outside, a marker in the kernel log;
 *   after:  the same facts again, the writer's file checksum, the kernel log since the marker, where
 *           libvirt says the guest is, the agent.
 * Trouble reading the guest after a successful move is recorded (the checks fail on it), including the
 * SSH connection failing (exec throws GuestTransportError: recorded, and the guest agent is asked what
 * became of the guest's address); only trouble outside the guest (a host gone, the move could not be
 * prepared) throws.
 */
import { GuestTransportError, done, notYet, poll, type CheckContext, type ExecResult, type GuestHandle, type HostInfo, type MigrationOutcome, type MigrationStorageMode } from './api.js';
import { HEARTBEAT_SCRIPT, KMSG_SCRIPT, STATE_SCRIPT, WORKLOAD_START_SCRIPT, WORKLOAD_STOP_SCRIPT, splitStopOutput } from './guest-scripts.js';
import type { LiveMigrationOptions } from './options.js';
import {
  addressesOfMac,
  agentAnswered,
  clockOffset,
  describeAgentNetwork,
  expectedWriterSha256,
  kernelErrors,
  kernelLinesSince,
  oneLine,
  parseGuestState,
  parseHeartbeat,
  parseSha256sum,
  parseWriterProgress,
  type GuestState,
  type Heartbeat,
  type WriterProgress,
} from './parse.js';
import { seriesGap, type ProbeReport } from './probes.js';
import type { SuiteTools } from './tools.js';

/** A failed attempt keeps what the command printed before its connection dropped (`output`), if it did. */
export type Attempt<T> = { ok: true; value: T } | { ok: false; error: string; output?: { stdout: string; stderr: string } };

async function attempt<T>(task: () => Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: true, value: await task() };
  } catch (error) {
    return { ok: false, error: oneLine((error as Error).message, 400), output: error instanceof GuestTransportError ? error.output : undefined };
  }
}

export interface Observation {
  state: GuestState;
  stateText: string;
  clock: { offsetMs: number; uncertaintyMs: number };
}

export interface LegRecord {
  index: number;
  from: HostInfo;
  to: HostInfo;
  mode: MigrationStorageMode;
  outcome: MigrationOutcome;
  /** Epoch ms around `migrate()`, as seen here. */
  moveStartedAt: number;
  moveEndedAt: number;
  before: Observation;
  after?: Attempt<Observation>;
  heartbeat: { result: Attempt<ExecResult>; parsed: Heartbeat };
  probes: ProbeReport;
  gaps: { icmpMs?: number; tcpMs?: number; guestMs?: number };
  writer: { token: string; stop: Attempt<ExecResult>; progress: WriterProgress; sha256?: string; expected?: string; duringMove: number };
  kernel?: Attempt<{ lines: string[]; markerFound: boolean; errors: { label: string; line: string }[] }>;
  marker: string;
  markerWritten: boolean;
  agent: { before: boolean; beforeText: string; after?: { answered: boolean; text: string; tries: number }; network?: string };
  placement?: { destination: ExecResult; source: ExecResult };
}

export type LegResult = { kind: 'not-run'; reason: string } | { kind: 'done'; record: LegRecord };

async function observe(guest: GuestHandle, tools: SuiteTools): Promise<Observation> {
  const result = await guest.script(STATE_SCRIPT, [], { timeoutMs: 60_000 });
  if (result.exitCode !== 0) throw new Error(`reading the guest's state failed (exit ${result.exitCode}): ${oneLine(result.stderr, 200)}`);
  const state = parseGuestState(result.stdout);
  if (!state.bootId) throw new Error(`the guest reported no boot_id: ${oneLine(result.stdout, 200)}`);
  return { state, stateText: result.stdout.trim(), clock: await measureClock(guest, tools) };
}

/** The guest clock's offset from ours: the best of three round trips. */
export async function measureClock(guest: GuestHandle, tools: SuiteTools): Promise<{ offsetMs: number; uncertaintyMs: number }> {
  let best: { offsetMs: number; uncertaintyMs: number } | undefined;
  for (let i = 0; i < 3; i++) {
    const sentAt = tools.now();
    const result = await guest.exec(['date', '+%s.%N'], { timeoutMs: 30_000 });
    const receivedAt = tools.now();
    const seconds = Number(result.stdout.trim());
    if (result.exitCode !== 0 || !Number.isFinite(seconds)) throw new Error(`date +%s.%N in the guest failed: ${oneLine(result.stderr || result.stdout, 200)}`);
    const sample = clockOffset(seconds, sentAt, receivedAt);
    if (!best || sample.uncertaintyMs < best.uncertaintyMs) best = sample;
  }
  return best!;
}

const AGENT_PING = '{"execute":"guest-ping"}';
const AGENT_INTERFACES = '{"execute":"guest-network-get-interfaces"}';

async function agentPing(guest: GuestHandle, host: HostInfo): Promise<{ answered: boolean; text: string }> {
  const result = await guest.hypervisor.virsh(host, ['qemu-agent-command', guest.name, AGENT_PING, '--timeout', '10']);
  return { answered: result.exitCode === 0 && agentAnswered(result.stdout), text: oneLine(`${result.stdout} ${result.stderr}`, 300) };
}

export async function performLeg(
  context: CheckContext,
  guest: GuestHandle,
  index: number,
  to: HostInfo,
  mode: MigrationStorageMode,
  options: LiveMigrationOptions,
  tools: SuiteTools,
): Promise<LegRecord> {
  const from = guest.hypervisor.currentHost();
  const token = tools.token();
  const dir = `/var/tmp/imgtest-migration-leg${index}-${token}`;
  const stopFile = `${dir}/stop`;
  const marker = `imgtest: live migration leg ${index} ${from.name} -> ${to.name} begins (${token})`;
  context.log(`[live-migration] leg ${index}: ${guest.name} ${from.name} -> ${to.name} (${mode})`);

  // Uploading the base image to a host that lacks it takes a while and loads the hosts: not part of the move.
  const prepared = await guest.hypervisor.prepareMigration(to, { storage: mode, allowUnsafe: options.allowUnsafe, timeoutSeconds: options.timeoutSeconds });
  context.log(`[live-migration] leg ${index}: ${to.name} prepared: ${prepared.join('; ')}`);
  const before = await observe(guest, tools);
  const agentBefore = await agentPing(guest, from);
  const started = await guest.script(WORKLOAD_START_SCRIPT, [dir, token, String(options.dirtyMiB), String(options.dirtyIntervalMs / 1000), stopFile], { timeoutMs: 120_000 });
  if (started.exitCode !== 0 || !started.stdout.includes('started'))
    throw new Error(`the in-guest workload did not start (exit ${started.exitCode}): ${oneLine(started.stderr || started.stdout, 200)}`);
  const markerWritten = (await guest.script(KMSG_SCRIPT, [marker], { sudo: true, timeoutMs: 30_000 })).exitCode === 0;

  // The held session: opened before the move, expected to carry beats through it to the end.
  const heartbeatRun = attempt(() => guest.script(HEARTBEAT_SCRIPT, [stopFile], { timeoutMs: (options.timeoutSeconds + 300) * 1000 }));
  const probes = tools.startProbes(guest.address, options.sshPort);
  let outcome: MigrationOutcome;
  let moveStartedAt = 0;
  let moveEndedAt = 0;
  try {
    await tools.sleep(options.settleSeconds * 1000);
    moveStartedAt = tools.now();
    outcome = await guest.hypervisor.migrate(to, { storage: mode, allowUnsafe: options.allowUnsafe, timeoutSeconds: options.timeoutSeconds });
    moveEndedAt = tools.now();
    await tools.sleep(options.settleSeconds * 1000);
  } catch (error) {
    // Infrastructure trouble: stop what runs in the guest and on this machine, then report it.
    await probes.stop().catch(() => undefined);
    await guest.script(WORKLOAD_STOP_SCRIPT, [dir, stopFile], { timeoutMs: 60_000 }).catch(() => undefined);
    await heartbeatRun;
    throw error;
  }
  const probeReport = await probes.stop();
  const stop = await attempt(() => guest.script(WORKLOAD_STOP_SCRIPT, [dir, stopFile], { timeoutMs: 90_000 }));
  const heartbeatResult = await heartbeatRun;
  // A session that broke still shows the beats it carried before (the connection's error keeps them).
  const heartbeat = { result: heartbeatResult, parsed: parseHeartbeat(heartbeatResult.ok ? heartbeatResult.value.stdout : (heartbeatResult.output?.stdout ?? '')) };

  const split = stop.ok ? splitStopOutput(stop.value.stdout) : { progress: '', sha256: '' };
  const progress = parseWriterProgress(split.progress);
  const count = progress.chunks.length ? progress.chunks[progress.chunks.length - 1]!.index : 0;
  const offsetSeconds = before.clock.offsetMs / 1000;
  const duringMove = progress.chunks.filter((c) => c.at - offsetSeconds >= moveStartedAt / 1000 && c.at - offsetSeconds <= moveEndedAt / 1000).length;
  const writer = { token, stop, progress, sha256: parseSha256sum(split.sha256), expected: count ? expectedWriterSha256(token, count) : undefined, duringMove };

  const icmpMs = seriesGap(probeReport.icmp, probeReport);
  const tcpMs = seriesGap(probeReport.tcp, probeReport);
  const record: LegRecord = {
    index,
    from,
    to,
    mode,
    outcome,
    moveStartedAt,
    moveEndedAt,
    before,
    heartbeat,
    probes: probeReport,
    // ICMP (5/s) measures finest; TCP connects (1/s) only when ping could not run.
    gaps: { icmpMs, tcpMs, guestMs: icmpMs ?? tcpMs },
    writer,
    marker,
    markerWritten,
    agent: { before: agentBefore.answered, beforeText: agentBefore.text },
  };

  if (outcome.ok) {
    record.after = await attempt(() => observe(guest, tools));
    record.kernel = await attempt(async () => {
      const dmesg = await guest.exec(['dmesg'], { sudo: true, timeoutMs: 60_000 });
      if (dmesg.exitCode !== 0) throw new Error(`dmesg failed (exit ${dmesg.exitCode}): ${oneLine(dmesg.stderr, 200)}`);
      const since = kernelLinesSince(dmesg.stdout, markerWritten ? marker : `\u0000no marker\u0000`);
      return { ...since, errors: kernelErrors(since.lines) };
    });
    record.placement = {
      destination: await guest.hypervisor.virsh(to, ['domstate', guest.name]),
      source: await guest.hypervisor.virsh(from, ['domstate', guest.name]),
    };
    if (agentBefore.answered) {
      // The agent's channel reconnects on the destination; give it a little time (6 pings, 5 s apart).
      const pinged = await poll(
        async () => {
          const ping = await agentPing(guest, to);
          return ping.answered ? done(ping) : notYet(ping);
        },
        { intervalMs: 5000, maxAttempts: 6, signal: context.signal, now: () => tools.now(), sleep: (ms) => tools.sleep(ms) },
      );
      const last = pinged.ok ? pinged.value : pinged.last;
      record.agent.after = { ...last, tries: pinged.attempts };
      // SSH could not read the guest, but its agent answers: ask the agent whether it still has its address.
      if (!record.after.ok && last.answered) {
        const nics = await guest.hypervisor.virsh(to, ['qemu-agent-command', guest.name, AGENT_INTERFACES, '--timeout', '10']);
        const had = addressesOfMac(before.state, guest.mac).addresses;
        if (nics.exitCode === 0) record.agent.network = describeAgentNetwork(nics.stdout, guest.mac, had);
      }
    }
  }
  recordFigures(context, record);
  return record;
}

/** The leg's figures as suite properties (JUnit <properties>, results.json). */
function recordFigures(context: CheckContext, record: LegRecord): void {
  const p = (name: string, value: string | number | undefined) => {
    if (value !== undefined) context.property(`migration.leg${record.index}.${name}`, value);
  };
  const { outcome } = record;
  const stats = outcome.stats;
  p('route', `${record.from.name} -> ${record.to.name}`);
  p('result', outcome.ok ? 'moved' : `failed: ${oneLine(outcome.error ?? '', 300)}`);
  p('storage', outcome.storage);
  if (outcome.unsafe) p('unsafe', `yes (libvirt: ${oneLine(outcome.unsafeReason ?? '', 200)})`);
  p('libvirt-downtime-ms', stats?.downtimeMs);
  p('libvirt-total-ms', stats?.timeElapsedMs);
  p('wall-ms', outcome.finishedAt - outcome.startedAt);
  p('guest-gap-ms', record.gaps.guestMs);
  p('icmp-gap-ms', record.gaps.icmpMs);
  if (record.probes.icmp.available) p('icmp-lost', `${record.probes.icmp.lost}/${record.probes.icmp.sent}`);
  p('tcp-gap-ms', record.gaps.tcpMs);
  p('heartbeat-pause-ms', record.heartbeat.parsed.beats.length ? record.heartbeat.parsed.longestPauseMs : undefined);
  const memory = stats?.memoryProcessedBytes ?? stats?.dataProcessedBytes;
  p('memory-bytes', memory);
  p('disk-bytes', stats?.diskProcessedBytes);
  if (memory !== undefined || stats?.diskProcessedBytes !== undefined) p('bytes', (memory ?? 0) + (stats?.diskProcessedBytes ?? 0));
  if (record.after?.ok) p('clock-offset-ms', record.after.value.clock.offsetMs);
}
