/**
 * Before anything moves: can this guest move at all? Each answer is its own check; if one fails, no leg
 * is attempted (the legs are reported skipped, naming the failed preflight checks).
 */
import { fail, pass, type CheckContext, type CheckOutcome, type GuestHandle, type HostInfo, type MigrationStorageMode } from './api.js';
import type { LiveMigrationOptions } from './options.js';
import { capabilitiesHostCpu, domainFacts, oneLine, parseCpuCompare, type DomainFacts } from './parse.js';
import type { SuiteTools } from './tools.js';

export interface Preflight {
  cpu: CheckOutcome;
  hostDevices: CheckOutcome;
  diskCache: CheckOutcome;
  storage: CheckOutcome;
  /** The storage mode the moves use, when it could be settled. */
  mode?: MigrationStorageMode;
  /** Ids of the preflight checks that did not pass. */
  failed: string[];
}

export const PREFLIGHT_IDS = { cpu: 'mig-cpu-migratable', hostDevices: 'mig-no-host-devices', diskCache: 'mig-disk-cache', storage: 'mig-storage-mode' } as const;

/** The single guest this suite moves. */
export function theGuest(context: CheckContext): GuestHandle {
  const guest = context.guests[0];
  if (!guest) throw new Error('live-migration: the runner planned no guest for this suite');
  return guest;
}

/** The hosts the legs visit, in order: from the guest's host, round the run's hosts. */
export function route(hosts: readonly HostInfo[], start: HostInfo, legs: number): HostInfo[] {
  const at = Math.max(
    0,
    hosts.findIndex((h) => h.name === start.name),
  );
  return Array.from({ length: legs + 1 }, (_, i) => hosts[(at + i) % hosts.length]!);
}

export async function runPreflight(context: CheckContext, options: LiveMigrationOptions, tools: SuiteTools): Promise<Preflight> {
  const guest = theGuest(context);
  const xml = await guest.hypervisor.domainXml();
  const facts = domainFacts(xml);
  const start = guest.hypervisor.currentHost();
  const destinations = [
    ...new Map(
      route(context.hosts, start, options.legs)
        .slice(1)
        .filter((h) => h.name !== start.name)
        .map((h) => [h.name, h]),
    ).values(),
  ];
  const cpu = await checkCpu(guest, facts, start, destinations, tools);
  const hostDevices = facts.hostDevices.length
    ? fail(`the guest has host devices, which cannot move with it: ${facts.hostDevices.join(', ')}`, xml)
    : pass('no PCI or other host devices passed through', facts.hostDevices.join('\n') || 'no <hostdev> elements');
  const diskCache = checkCache(facts, options);
  const { outcome: storage, mode } = checkStorage(guest, options);
  const preflight: Preflight = { cpu, hostDevices, diskCache, storage, mode, failed: [] };
  for (const key of Object.keys(PREFLIGHT_IDS) as (keyof typeof PREFLIGHT_IDS)[]) if (preflight[key].status !== 'pass') preflight.failed.push(PREFLIGHT_IDS[key]);
  context.property('migration.storage', mode ?? 'unknown');
  context.property(
    'migration.route',
    route(context.hosts, start, options.legs)
      .map((h) => h.name)
      .join(' -> '),
  );
  return preflight;
}

async function checkCpu(guest: GuestHandle, facts: DomainFacts, start: HostInfo, destinations: readonly HostInfo[], tools: SuiteTools): Promise<CheckOutcome> {
  if (!destinations.length) return fail('no other host to move to');
  if (!facts.cpuXml) return pass("no <cpu> element: QEMU's default CPU model, the same on every host", 'domain XML has no <cpu>');
  if (facts.cpuMode === 'host-passthrough' || facts.cpuMode === 'maximum') {
    // The guest sees the host's own CPU: it may only move between hosts with the same one.
    const own = capabilitiesHostCpu((await guest.hypervisor.virsh(start, ['capabilities'])).stdout);
    const evidence: string[] = [`guest <cpu mode='${facts.cpuMode}'>`, `${start.name}: ${own ?? '(no host CPU in capabilities)'}`];
    const differing: string[] = [];
    for (const host of destinations) {
      const other = capabilitiesHostCpu((await guest.hypervisor.virsh(host, ['capabilities'])).stdout);
      evidence.push(`${host.name}: ${other ?? '(no host CPU in capabilities)'}`);
      if (!own || other !== own) differing.push(host.name);
    }
    if (differing.length)
      return fail(`CPU mode ${facts.cpuMode} passes ${start.name}'s own CPU to the guest, and ${differing.join(', ')} report a different host CPU: use a named CPU model`, evidence.join('\n'));
    return pass(`CPU mode ${facts.cpuMode}, but every host reports the identical host CPU`, evidence.join('\n'));
  }
  const args = (file: string) => [
    'hypervisor-cpu-compare',
    file,
    ...(facts.virtType ? ['--virttype', facts.virtType] : []),
    ...(facts.arch ? ['--arch', facts.arch] : []),
    ...(facts.machine ? ['--machine', facts.machine] : []),
  ];
  const evidence: string[] = [facts.cpuXml];
  const refusing: string[] = [];
  for (const host of destinations) {
    const result = await tools.withTempFile('cpu.xml', `${facts.cpuXml}\n`, (file) => guest.hypervisor.virsh(host, args(file)));
    const verdict = parseCpuCompare(`${result.stdout}\n${result.stderr}`);
    evidence.push(`${host.name}: virsh hypervisor-cpu-compare (exit ${result.exitCode}): ${oneLine(`${result.stdout} ${result.stderr}`, 400)}`);
    if (verdict === 'incompatible') refusing.push(host.name);
    else if (verdict === 'unknown') throw new Error(`${host.name}: virsh hypervisor-cpu-compare gave no answer: ${oneLine(result.stderr || result.stdout, 200)}`);
  }
  const model = `${facts.cpuMode ?? 'custom'}${facts.cpuModel ? ` ${facts.cpuModel}` : ''}`;
  if (refusing.length) return fail(`CPU model ${model} cannot run on ${refusing.join(', ')} (virsh hypervisor-cpu-compare: incompatible)`, evidence.join('\n'));
  return pass(`CPU model ${model} runs on ${destinations.map((h) => h.name).join(', ')} (hypervisor-cpu-compare)`, evidence.join('\n'));
}

function checkCache(facts: DomainFacts, options: LiveMigrationOptions): CheckOutcome {
  const writable = facts.disks.filter((d) => d.device === 'disk' && !d.readonly);
  const lines = facts.disks.map((d) => `${d.target} (${d.device}${d.readonly ? ', read-only' : ''}): cache=${d.cache ?? 'default'} ${d.source ?? ''}`.trim());
  const bad = writable.filter((d) => !options.allowedCacheModes.includes((d.cache ?? 'default') as never));
  if (!writable.length) return pass('no writable disk', lines.join('\n'));
  if (bad.length) {
    return fail(
      `disk cache mode not allowed for a live migration: ${bad.map((d) => `${d.target} cache=${d.cache ?? 'default (writeback)'}`).join(', ')} (allowed: ${options.allowedCacheModes.join(', ')})`,
      lines.join('\n'),
    );
  }
  return pass(`writable disks use cache=${[...new Set(writable.map((d) => d.cache ?? 'default'))].join(', ')}`, lines.join('\n'));
}

function checkStorage(guest: GuestHandle, options: LiveMigrationOptions): { outcome: CheckOutcome; mode?: MigrationStorageMode } {
  const storage = guest.hypervisor.storage();
  const has = storage.kind === 'shared' ? 'shared' : 'copy';
  const mode: MigrationStorageMode = options.storage === 'auto' ? has : options.storage;
  const evidence = `option storage: ${options.storage}; the guest's volumes: ${storage.kind} pool '${storage.pool}'; allowUnsafe: ${options.allowUnsafe}`;
  if (mode !== has) {
    const why =
      mode === 'shared'
        ? `storage: shared, but the guest's volumes are in the per-host pool '${storage.pool}' (set storage.sharedPool in the run config to a pool every host sees)`
        : `storage: copy, but the guest's volumes are in the shared pool '${storage.pool}' (copy mode needs per-host pools: unset storage.sharedPool, or use storage: shared)`;
    return { outcome: fail(why, evidence) };
  }
  if (mode === 'copy') {
    return {
      mode,
      outcome: pass(
        `copy: per-host pool '${storage.pool}'; before each move the destination gets the base image, an empty overlay and the seed, then libvirt copies the overlay (--copy-storage-inc)`,
        evidence,
      ),
    };
  }
  const unsafe = options.allowUnsafe
    ? 'on a filesystem libvirt does not trust (a local one) it refuses the move as unsafe; then it is retried with --unsafe and the report says so'
    : 'on a filesystem libvirt does not trust (a local one) it refuses the move as unsafe, and allowUnsafe is off';
  return { mode, outcome: pass(`shared: pool '${storage.pool}' on every host; no disk is copied; ${unsafe}`, evidence) };
}
