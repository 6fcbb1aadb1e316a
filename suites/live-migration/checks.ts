/**
 * The checks: four preflight checks, then ten per leg (`mig-leg<N>-...`, for N = 1..MAX_LEGS). A run
 * has the preflight checks and those of the legs it is configured for (`checksForLegs`, the suite's
 * `checksFor`); run without it, the checks of legs beyond the configured number skip.
 */
import { fail, pass, skip, type Check, type CheckContext, type CheckOutcome, type Severity } from './api.js';
import { performLeg, type LegRecord, type LegResult } from './leg.js';
import { MAX_LEGS, parseOptions, type LiveMigrationOptions } from './options.js';
import { addressesOfMac, domainFacts, formatMiB, isNoSuchDomain, oneLine, parseDomState } from './parse.js';
import { PREFLIGHT_IDS, route, runPreflight, theGuest, type Preflight } from './preflight.js';
import type { SuiteTools } from './tools.js';

const optionsOf = (context: CheckContext) => context.memo('options', async () => parseOptions(context.options));
const preflightOf = (context: CheckContext, tools: SuiteTools) => context.memo('preflight', async () => runPreflight(context, await optionsOf(context), tools));

/** Leg `index`, performed once (legs run in order: leg N asks for leg N-1 first). */
function legOf(context: CheckContext, index: number, tools: SuiteTools): Promise<LegResult> {
  return context.memo(`leg${index}`, async (): Promise<LegResult> => {
    const options = await optionsOf(context);
    if (index > options.legs) return { kind: 'not-run', reason: `not run: ${options.legs} leg${options.legs > 1 ? 's' : ''} configured (suites.live-migration.legs)` };
    let preflight: Preflight;
    try {
      preflight = await preflightOf(context, tools);
    } catch (error) {
      return { kind: 'not-run', reason: `not run: the preflight checks could not run (${oneLine((error as Error).message, 200)})` };
    }
    if (preflight.failed.length || !preflight.mode) return { kind: 'not-run', reason: `not run: preflight failed (${preflight.failed.join(', ')})` };
    if (index > 1) {
      let previous: LegResult;
      try {
        previous = await legOf(context, index - 1, tools);
      } catch (error) {
        return { kind: 'not-run', reason: `not run: leg ${index - 1} could not run (${oneLine((error as Error).message, 200)})` };
      }
      if (previous.kind === 'not-run') return previous;
      if (!previous.record.outcome.ok) return { kind: 'not-run', reason: `not run: leg ${index - 1} failed to move the guest` };
    }
    const guest = theGuest(context);
    const to = route(context.hosts, guest.hypervisor.currentHost(), 1)[1]!;
    return { kind: 'done', record: await performLeg(context, guest, index, to, preflight.mode, options, tools) };
  });
}

type Judge = (record: LegRecord, options: LiveMigrationOptions, context: CheckContext) => CheckOutcome | Promise<CheckOutcome>;

interface LegCheckSpec {
  suffix: string;
  title: string;
  severity: Severity;
  /** Tags beyond the suite's (`migration`). */
  tags?: readonly string[];
  /** Judged only when the move succeeded (otherwise skipped); the `migrate` check judges every leg that ran. */
  needsMove: boolean;
  judge: Judge;
}

/** Why the guest could not be read after the move, with what its agent says of its address when SSH failed. */
function unreadableAfterMove(record: LegRecord): string {
  const error = record.after?.ok === false ? record.after.error : 'no answer';
  return `the guest could not be read after the move: ${error}${record.agent.network ? `; ${record.agent.network}` : ''}`;
}

const ms = (value: number | undefined) => (value === undefined ? '?' : `${value} ms`);

function moveEvidence(record: LegRecord): string {
  const { outcome } = record;
  return [
    `leg ${record.index}: ${record.from.name} -> ${record.to.name}, storage ${outcome.storage}${outcome.unsafe ? ', --unsafe' : ''}`,
    `virsh ${outcome.command.join(' ')}`,
    outcome.unsafeReason ? `first attempt refused by libvirt: ${outcome.unsafeReason}` : '',
    'prepared on the destination:',
    ...outcome.prepared.map((line) => `  ${line}`),
    outcome.error ? `libvirt: ${outcome.error}` : '',
    outcome.stats ? 'domjobinfo --completed (destination):' : '',
    ...Object.entries(outcome.stats?.raw ?? {}).map(([k, v]) => `  ${k}: ${v}`),
    `probes: icmp gap ${ms(record.gaps.icmpMs)} (${record.probes.icmp.available ? `${record.probes.icmp.lost}/${record.probes.icmp.sent} lost` : (record.probes.icmp.note ?? 'unavailable')}), tcp gap ${ms(record.gaps.tcpMs)} (${record.probes.tcp.lost}/${record.probes.tcp.sent} failed)`,
  ]
    .filter(Boolean)
    .join('\n');
}

const LEG_CHECKS: readonly LegCheckSpec[] = [
  {
    suffix: 'migrate',
    title: 'libvirt moves the guest live to the next host',
    severity: 'must',
    needsMove: false,
    judge: (record) => {
      const { outcome } = record;
      if (!outcome.ok) return fail(`${record.from.name} -> ${record.to.name}: ${oneLine(outcome.error ?? 'failed', 300)}`, moveEvidence(record));
      const stats = outcome.stats;
      const seconds = ((outcome.finishedAt - outcome.startedAt) / 1000).toFixed(1);
      const unsafe = outcome.unsafe ? '; with --unsafe: libvirt calls this shared storage unsafe (a local filesystem)' : '';
      const disk = stats?.diskProcessedBytes ? ` + ${formatMiB(stats.diskProcessedBytes)} disk` : '';
      return pass(
        `${record.from.name} -> ${record.to.name} in ${seconds} s, libvirt downtime ${ms(stats?.downtimeMs)}, ${formatMiB(stats?.memoryProcessedBytes ?? stats?.dataProcessedBytes)} memory${disk}${unsafe}`,
        moveEvidence(record),
      );
    },
  },
  {
    suffix: 'running-on-destination',
    title: 'the guest runs on the destination and is gone from the source',
    severity: 'must',
    needsMove: true,
    judge: (record) => {
      const placement = record.placement!;
      const evidence = `${record.to.name}: domstate -> exit ${placement.destination.exitCode}: ${oneLine(placement.destination.stdout || placement.destination.stderr)}\n${record.from.name}: domstate -> exit ${placement.source.exitCode}: ${oneLine(placement.source.stdout || placement.source.stderr)}`;
      if (placement.source.exitCode !== 0 && !isNoSuchDomain(placement.source.stderr)) throw new Error(`${record.from.name}: virsh domstate failed: ${oneLine(placement.source.stderr, 200)}`);
      if (placement.destination.exitCode !== 0 && !isNoSuchDomain(placement.destination.stderr))
        throw new Error(`${record.to.name}: virsh domstate failed: ${oneLine(placement.destination.stderr, 200)}`);
      const there = placement.destination.exitCode === 0 ? parseDomState(placement.destination.stdout) : 'not defined';
      const left = placement.source.exitCode === 0 ? parseDomState(placement.source.stdout) : undefined;
      if (there !== 'running') return fail(`on ${record.to.name} the guest is ${there}`, evidence);
      if (left !== undefined) return fail(`the guest is still defined on ${record.from.name} (${left}) after --undefinesource`, evidence);
      return pass(`running on ${record.to.name}, gone from ${record.from.name}`, evidence);
    },
  },
  {
    suffix: 'same-boot',
    title: 'the same boot goes on: boot_id unchanged, uptime still growing',
    severity: 'must',
    needsMove: true,
    judge: (record) => {
      if (!record.after?.ok) return fail(unreadableAfterMove(record));
      const before = record.before.state;
      const after = record.after.value.state;
      const evidence = `before: boot_id ${before.bootId}, uptime ${before.uptimeSeconds} s\nafter:  boot_id ${after.bootId}, uptime ${after.uptimeSeconds} s`;
      if (after.bootId !== before.bootId) return fail(`the guest rebooted during the move: boot_id ${before.bootId} -> ${after.bootId}`, evidence);
      if (!(after.uptimeSeconds > before.uptimeSeconds)) return fail(`uptime did not grow across the move: ${before.uptimeSeconds} s -> ${after.uptimeSeconds} s`, evidence);
      return pass(`boot_id unchanged, uptime ${before.uptimeSeconds.toFixed(0)} s -> ${after.uptimeSeconds.toFixed(0)} s`, evidence);
    },
  },
  {
    suffix: 'same-address',
    title: 'the guest keeps its IP address and MAC',
    severity: 'must',
    tags: ['network'],
    needsMove: true,
    judge: async (record, _options, context) => {
      if (!record.after?.ok) return fail(unreadableAfterMove(record));
      const guest = theGuest(context);
      const before = addressesOfMac(record.before.state, guest.mac);
      const after = addressesOfMac(record.after.value.state, guest.mac);
      const definedMacs = domainFacts(await guest.hypervisor.domainXml()).macs;
      const evidence = `MAC ${guest.mac}, address ${guest.address}\nbefore: ${before.name ?? '(no interface)'} ${before.addresses.join(', ')}\nafter:  ${after.name ?? '(no interface)'} ${after.addresses.join(', ')}\n${record.to.name} domain XML MACs: ${definedMacs.join(', ')}\n\n${record.after.value.stateText}`;
      if (!definedMacs.includes(guest.mac.toLowerCase())) return fail(`the domain on ${record.to.name} has MAC(s) ${definedMacs.join(', ') || 'none'}, not ${guest.mac}`, evidence);
      if (!after.name) return fail(`no interface with MAC ${guest.mac} in the guest after the move`, evidence);
      if (!after.addresses.includes(guest.address)) return fail(`the interface ${after.name} no longer has ${guest.address} (now: ${after.addresses.join(', ') || 'none'})`, evidence);
      if (before.name && before.name !== after.name) return fail(`the interface with MAC ${guest.mac} changed name: ${before.name} -> ${after.name}`, evidence);
      return pass(`${after.name} keeps ${guest.mac} and ${guest.address}`, evidence);
    },
  },
  {
    suffix: 'ssh-session',
    title: 'an SSH session opened before the move survives it',
    severity: 'must',
    tags: ['ssh', 'network'],
    needsMove: true,
    judge: (record) => {
      const { result, parsed } = record.heartbeat;
      const text = result.ok ? `exit ${result.value.exitCode}\n${result.value.stderr.trim()}` : result.error;
      const evidence = `${parsed.beats.length} beats, ended: ${parsed.ended}, longest pause the guest saw: ${parsed.longestPauseMs} ms\n${text}`;
      const agent = record.agent.network ? `; ${record.agent.network}` : '';
      if (!result.ok) return fail(`the held session broke after ${parsed.beats.length} beat${parsed.beats.length === 1 ? '' : 's'}: ${result.error}${agent}`, evidence);
      if (result.value.exitCode !== 0 || !parsed.ended)
        return fail(
          `the held session broke (exit ${result.value.exitCode}${result.value.stderr.trim() ? `: ${oneLine(result.value.stderr, 160)}` : ''}) after ${parsed.beats.length} beats${agent}`,
          evidence,
        );
      return pass(`the session held through the move: ${parsed.beats.length} beats, longest pause ${parsed.longestPauseMs} ms`, evidence);
    },
  },
  {
    suffix: 'clock',
    title: "the guest's clock stays within tolerance of the host's",
    severity: 'must',
    tags: ['time'],
    needsMove: true,
    judge: (record, options) => {
      if (!record.after?.ok) return fail(unreadableAfterMove(record));
      const before = record.before.clock;
      const after = record.after.value.clock;
      const shift = after.offsetMs - before.offsetMs;
      const slack = after.uncertaintyMs + before.uncertaintyMs;
      const evidence = `guest clock minus host clock: before ${before.offsetMs} ms (±${before.uncertaintyMs}), after ${after.offsetMs} ms (±${after.uncertaintyMs}); the move shifted it by ${shift} ms; tolerances: ${options.clockToleranceMs} ms off, ${options.clockShiftToleranceMs} ms shift`;
      if (Math.abs(after.offsetMs) - after.uncertaintyMs > options.clockToleranceMs) {
        return fail(`after the move the guest's clock is ${after.offsetMs} ms off the host's (tolerance ${options.clockToleranceMs} ms; before the move: ${before.offsetMs} ms)`, evidence);
      }
      if (Math.abs(shift) - slack > options.clockShiftToleranceMs) {
        return fail(`the move shifted the guest's clock by ${shift} ms against the host's (tolerance ${options.clockShiftToleranceMs} ms; now ${after.offsetMs} ms off)`, evidence);
      }
      return pass(`${after.offsetMs} ms off the host's clock after the move (before: ${before.offsetMs} ms)`, evidence);
    },
  },
  {
    suffix: 'kernel-log',
    title: 'no kernel errors since the move began (soft lockup, hung task, clocksource, I/O)',
    severity: 'must',
    needsMove: true,
    judge: (record) => {
      const kernel = record.kernel!;
      if (!kernel.ok) return fail(`the kernel log could not be read after the move: ${kernel.error}${record.agent.network ? `; ${record.agent.network}` : ''}`);
      const { lines, markerFound, errors } = kernel.value;
      const scope = markerFound ? `since the marker "${record.marker}"` : 'in the whole log (the marker could not be written or was not found)';
      const evidence = `${lines.length} kernel log lines ${scope}:\n${lines.slice(-200).join('\n')}`;
      if (errors.length) return fail(`${errors.length} kernel error line(s) ${markerFound ? 'since the move began' : 'in the log'}: ${errors[0]!.label}: ${oneLine(errors[0]!.line, 200)}`, evidence);
      return pass(`no kernel errors ${markerFound ? 'since the move began' : 'in the log'} (${lines.length} lines)`, evidence);
    },
  },
  {
    suffix: 'file-integrity',
    title: 'a file written and fsynced during the move has its checksum on the destination',
    severity: 'must',
    tags: ['storage'],
    needsMove: true,
    judge: (record) => {
      const { writer } = record;
      if (!writer.stop.ok) return fail(`the writer's results could not be read after the move: ${writer.stop.error}`);
      const count = writer.progress.chunks.length;
      const evidence = `token ${writer.token}; ${count} chunk(s) of 64 KiB fsynced, ${writer.duringMove} while the move ran; writer finished: ${writer.progress.done}\nexpected sha256 ${writer.expected ?? '-'}\nfile sha256     ${writer.sha256 ?? '-'}\n\n${writer.stop.value.stdout.trim()}`;
      if (!count) return fail('the writer fsynced no chunk at all during the move', evidence);
      if (!writer.progress.done) return fail(`the writer did not finish after the move (${count} chunks written)`, evidence);
      if (!writer.sha256) return fail('the file the writer wrote is missing on the destination', evidence);
      if (writer.sha256 !== writer.expected)
        return fail(`the file's checksum on the destination does not match the ${count} fsynced chunks (${writer.sha256.slice(0, 12)}… != ${writer.expected?.slice(0, 12)}…)`, evidence);
      return pass(`${count} fsynced chunks (${writer.duringMove} during the move) read back intact on ${record.to.name}`, evidence);
    },
  },
  {
    suffix: 'guest-agent',
    title: 'qemu-guest-agent answers on the destination',
    severity: 'must',
    needsMove: true,
    judge: (record) => {
      if (!record.agent.before) return skip(`the guest agent did not answer before the move either (the image may not have qemu-guest-agent): ${record.agent.beforeText}`);
      const after = record.agent.after!;
      const evidence = `before (${record.from.name}): ${record.agent.beforeText}\nafter (${record.to.name}, ${after.tries} tries): ${after.text}`;
      if (!after.answered) return fail(`the guest agent answered on ${record.from.name} but not on ${record.to.name}: ${oneLine(after.text, 160)}`, evidence);
      return pass(`guest-ping answered on ${record.to.name}`, evidence);
    },
  },
  {
    suffix: 'network-gap',
    title: "the guest's network is silent no longer than allowed during the move",
    severity: 'should',
    tags: ['network'],
    needsMove: true,
    judge: (record, options) => {
      const { gaps } = record;
      const evidence = moveEvidence(record);
      if (gaps.guestMs === undefined) return skip('no probe could run', evidence);
      const figures = `ICMP ${ms(gaps.icmpMs)}, TCP connect ${ms(gaps.tcpMs)}; libvirt downtime ${ms(record.outcome.stats?.downtimeMs)}`;
      const longest = Math.max(gaps.icmpMs ?? 0, gaps.tcpMs ?? 0);
      if (longest > options.maxNetworkGapMs) return fail(`the guest did not answer for ${longest} ms (allowed ${options.maxNetworkGapMs} ms): ${figures}`, evidence);
      return pass(`longest silence ${gaps.guestMs} ms (${figures})`, evidence);
    },
  },
];

export const LEG_CHECK_SUFFIXES = LEG_CHECKS.map((c) => c.suffix);

function legCheck(index: number, spec: LegCheckSpec, tools: SuiteTools): Check {
  return {
    id: `mig-leg${index}-${spec.suffix}`,
    title: `leg ${index}: ${spec.title}`,
    severity: spec.severity,
    tags: spec.tags,
    run: async (context) => {
      const leg = await legOf(context, index, tools);
      if (leg.kind === 'not-run') return skip(leg.reason);
      if (spec.needsMove && !leg.record.outcome.ok) return skip(`not run: the move failed (see mig-leg${index}-migrate): ${oneLine(leg.record.outcome.error ?? '', 200)}`);
      return spec.judge(leg.record, await optionsOf(context), context);
    },
  };
}

function preflightCheck(key: keyof typeof PREFLIGHT_IDS, title: string, tools: SuiteTools, tags?: readonly string[]): Check {
  return { id: PREFLIGHT_IDS[key], title, severity: 'must', tags, run: async (context) => (await preflightOf(context, tools))[key] };
}

export function createChecks(tools: SuiteTools): Check[] {
  return [
    preflightCheck('cpu', "the guest's CPU model can run on the other hosts (hypervisor-cpu-compare; host-passthrough only between identical hosts)", tools),
    preflightCheck('hostDevices', 'no PCI or other host devices passed through', tools),
    preflightCheck('diskCache', 'writable disks use a cache mode allowed for live migration', tools, ['storage']),
    preflightCheck('storage', 'the storage mode is known and matches where the guest lives (copy or shared)', tools, ['storage']),
    ...Array.from({ length: MAX_LEGS }, (_, i) => LEG_CHECKS.map((spec) => legCheck(i + 1, spec, tools))).flat(),
  ];
}

/** The checks of a run of `legs` legs, of `checks`: the preflight, then those of legs 1..`legs`. */
export function checksForLegs(checks: readonly Check[], legs: number): Check[] {
  return checks.filter((check) => {
    const leg = /^mig-leg(\d+)-/.exec(check.id);
    return !leg || Number(leg[1]) <= legs;
  });
}
