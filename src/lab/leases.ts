import { readFile, rename, writeFile } from 'node:fs/promises';
import { dnsmasqSpec, ensureDaemon } from './daemons.js';
import { withLabLock } from './lock.js';
import { labPaths, type LabPaths } from './layout.js';
import { parseDnsmasqLeases, type DnsmasqLease } from './parse.js';
import { runningDaemon, stopProcesses } from './processes.js';

/**
 * The lab's DHCP leases (dnsmasq's leases file). dnsmasq keeps its leases in memory and rewrites the
 * file on every change; SIGHUP re-reads hosts files, not leases. So a lease is dropped by stopping
 * dnsmasq, rewriting the file without it and starting dnsmasq again (it reads the file back at start),
 * under the lab's exclusive lock so `lab up` does not race it. Guests that hold a lease keep it: their
 * renewals are answered from the file. dnsmasq is down for well under a second; DHCP clients retry.
 */

type Log = (line: string) => void;

export async function readLabLeases(paths: LabPaths = labPaths()): Promise<DnsmasqLease[]> {
  return parseDnsmasqLeases(await readFile(paths.lab.leases, 'utf8').catch(() => ''));
}

/** The leases file without the lines of the given MACs (pure; other lines kept byte for byte). */
export function dropLeaseLines(text: string, macs: ReadonlySet<string>): string {
  const kept = text.split('\n').filter((line) => {
    const mac = line.trim().split(/\s+/)[1]?.toLowerCase();
    return !(mac && macs.has(mac) && /^\d+$/.test(line.trim().split(/\s+/)[0] ?? ''));
  });
  return kept.join('\n');
}

/** Removes the leases of these MACs from the lab's dnsmasq (restarting it); returns the leases removed. */
export async function releaseLabLeases(macs: readonly string[], log: Log, paths: LabPaths = labPaths()): Promise<DnsmasqLease[]> {
  const wanted = new Set(macs.map((m) => m.toLowerCase()));
  if (!wanted.size) return [];
  return withLabLock(
    paths.root,
    log,
    async () => {
      const spec = await dnsmasqSpec(paths);
      const pid = await runningDaemon(spec.pidFile, spec.expected);
      if (pid !== undefined) await stopProcesses([pid]);
      try {
        const text = await readFile(paths.lab.leases, 'utf8').catch(() => '');
        const removed = parseDnsmasqLeases(text).filter((lease) => wanted.has(lease.mac));
        if (removed.length) {
          const temporary = `${paths.lab.leases}.imgtest-clean`;
          await writeFile(temporary, dropLeaseLines(text, wanted));
          await rename(temporary, paths.lab.leases);
        }
        return removed;
      } finally {
        if (pid !== undefined) await ensureDaemon(spec, log);
      }
    },
    undefined,
    'clean',
  );
}
