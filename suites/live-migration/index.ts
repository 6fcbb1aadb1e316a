/**
 * Live migration: the guest moves from one hypervisor host to the next and back while it works, and
 * nobody using it may notice.
 *
 * Preflight (each a check): the CPU model can run on the other hosts, no host devices, disk cache mode,
 * storage mode. Then per leg (hv1 -> hv2, hv2 -> hv1, ...: `legs`), with a dirty-memory workload and an
 * fsyncing writer in the guest, an SSH session held open with a heartbeat, and ICMP + TCP probes from
 * outside: libvirt moves it (`--live --p2p --persistent --undefinesource`, `--copy-storage-inc` or
 * shared storage); it runs on the destination and is gone from the source; same boot_id, uptime
 * growing; same IP and MAC; the session survived; clock within tolerance; no kernel errors since the
 * move began; the file's checksum; the guest agent answers. Per-leg figures (libvirt downtime, the
 * longest gap the guest's network showed, total time, bytes moved) become suite properties.
 *
 * Written only against the plugin contract (GuestHandle.hypervisor moves the guest). Options: see ./options.ts.
 */
import { defineSuite, type Suite } from './api.js';
import { checksForLegs, createChecks } from './checks.js';
import { optionsSchema, type LiveMigrationOptions } from './options.js';
import { realTools, type SuiteTools } from './tools.js';

/** The suite with the machine-side tools injectable (tests pass fake probes, clock and sleep). */
export function createLiveMigrationSuite(tools: SuiteTools = realTools): Suite<LiveMigrationOptions> {
  const checks = createChecks(tools);
  return defineSuite({
    id: 'live-migration',
    title: 'Live migration between hypervisor hosts, there and back, unnoticed by the guest',
    description:
      'Moves one guest live between the hosts (there and back by default) while it dirties memory, writes and fsyncs ' +
      'a file and holds an SSH session; probes it from outside; checks it kept running the same boot with the same ' +
      'address, session, clock, data and guest agent, with no kernel errors; reports libvirt downtime, the ' +
      "guest's network gap, time and bytes per leg.",
    tags: ['migration'],
    requires: { guests: { count: 1, placement: 'any', sharing: 'exclusive', firmwareMatrix: 'first' }, minHosts: 2 },
    optionsSchema,
    // Checks for MAX_LEGS legs; a run lists the preflight and the legs it is configured for.
    checks,
    checksFor: (options) => checksForLegs(checks, options.legs),
  });
}

export const liveMigrationSuite = createLiveMigrationSuite();
export default liveMigrationSuite;
