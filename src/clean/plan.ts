import type { DnsmasqLease } from '../lab/parse.js';

/**
 * What `imgtest clean` removes, decided from what the hosts and the lab hold and which runs are in
 * progress: pure functions, no I/O. Everything a run makes carries `imgtest-<run id>` in its name
 * (domains `imgtest-<run id>-<guest>`, volumes `imgtest-<run id>-...`, NVRAM `<domain>_VARS.fd`, temporary
 * pools `imgtest-<run id>-<guest>-nvram`); a guest's DHCP hostname carries the run id's last 4 characters
 * (`imgtest-3c3a-g1`).
 */

/** A run id as newRunId makes it: 20261130T030131-3c3a. */
const RUN_ID_IN_NAME = /imgtest-(\d{8}T\d{6}-[0-9a-f]{4})(?![0-9a-f])/;

export function runIdOf(name: string): string | undefined {
  return RUN_ID_IN_NAME.exec(name)?.[1];
}

export interface HostInventory {
  host: string;
  domains: string[];
  /** Every pool with its volumes (undefined: the pool could not be listed, e.g. not running). */
  pools: { name: string; volumes?: string[] }[];
}

export type CleanItem =
  | { kind: 'domain'; host: string; name: string; runId: string }
  | { kind: 'volume'; host: string; pool: string; name: string; runId: string }
  | { kind: 'pool'; host: string; name: string; runId: string }
  | { kind: 'lease'; mac: string; address: string; hostname?: string; runId?: string };

/**
 * A host's leftovers: domains, then volumes in every pool, then temporary pools, of runs not in
 * progress. The NVRAM file of a domain removed here goes with it (`undefine --nvram`), so it is not
 * listed twice; an NVRAM file whose domain is already gone is a volume like any other.
 */
export function planHostClean(inventory: HostInventory, running: ReadonlySet<string>): CleanItem[] {
  const dead = (name: string) => {
    const runId = runIdOf(name);
    return runId !== undefined && !running.has(runId) ? runId : undefined;
  };
  const items: CleanItem[] = [];
  const removedDomains: string[] = [];
  for (const name of inventory.domains) {
    const runId = dead(name);
    if (runId === undefined) continue;
    items.push({ kind: 'domain', host: inventory.host, name, runId });
    removedDomains.push(name);
  }
  const pools: CleanItem[] = [];
  for (const pool of inventory.pools) {
    for (const name of pool.volumes ?? []) {
      const runId = dead(name);
      if (runId === undefined || removedDomains.some((domain) => name.startsWith(`${domain}_VARS`))) continue;
      items.push({ kind: 'volume', host: inventory.host, pool: pool.name, name, runId });
    }
    const runId = dead(pool.name);
    if (runId !== undefined) pools.push({ kind: 'pool', host: inventory.host, name: pool.name, runId });
  }
  return [...items, ...pools];
}

/** The last part of a guest's DHCP hostname's run tag: `imgtest-3c3a-g1` -> `3c3a`. */
export function leaseRunTag(hostname: string | undefined): string | undefined {
  return hostname ? /^imgtest-([0-9a-f]{4})-/.exec(hostname)?.[1] : undefined;
}

/**
 * The lab's leases to drop: a lease of a guest that is gone (its MAC is on no domain of the hosts after
 * cleaning) and whose run is not in progress. A lease without an imgtest hostname is dropped only when no
 * run is in progress at all (its guest cannot be told apart). Expired leases are dnsmasq's own business.
 */
export function planLeaseClean(leases: readonly DnsmasqLease[], domainMacs: ReadonlySet<string>, running: ReadonlySet<string>, nowSeconds: number): CleanItem[] {
  const items: CleanItem[] = [];
  for (const lease of leases) {
    if (lease.expires !== 0 && lease.expires <= nowSeconds) continue;
    if (domainMacs.has(lease.mac.toLowerCase())) continue;
    const tag = leaseRunTag(lease.hostname);
    if (tag === undefined) {
      if (running.size) continue;
      items.push({ kind: 'lease', mac: lease.mac, address: lease.address, hostname: lease.hostname });
      continue;
    }
    if ([...running].some((runId) => runId.endsWith(`-${tag}`))) continue;
    items.push({ kind: 'lease', mac: lease.mac, address: lease.address, hostname: lease.hostname, runId: `…-${tag}` });
  }
  return items;
}

/** One line's subject: `hv1: domain imgtest-...-g1 (run ..., not running)`. */
export function describeItem(item: CleanItem): string {
  const why = (runId: string | undefined) => (runId ? ` (run ${runId}, not running)` : ' (its guest is gone)');
  switch (item.kind) {
    case 'domain':
      return `${item.host}: domain ${item.name} and its NVRAM${why(item.runId)}`;
    case 'volume':
      return `${item.host}: volume ${item.name} in pool ${item.pool}${why(item.runId)}`;
    case 'pool':
      return `${item.host}: temporary pool ${item.name}${why(item.runId)}`;
    case 'lease':
      return `lab: DHCP lease ${item.address} (${item.mac}${item.hostname ? `, ${item.hostname}` : ''})${why(item.runId)}`;
  }
}

/**
 * Live `imgtest run` processes of this machine that are not in the run registry (started by an older
 * imgtest, or registration failed): their run ids are unknown, so clean must not remove anything.
 * `processes`: pid and argv of every live process.
 */
export function unregisteredRuns(processes: readonly { pid: number; argv: readonly string[] }[], registeredPids: ReadonlySet<number>, selfPid: number): number[] {
  const found: number[] = [];
  for (const { pid, argv } of processes) {
    if (pid === selfPid || registeredPids.has(pid)) continue;
    const cli = argv.findIndex((arg) => /(^|\/)imgtest(\.js)?$/.test(arg));
    if (cli >= 0 && argv.slice(cli + 1).find((arg) => !arg.startsWith('-')) === 'run') found.push(pid);
  }
  return found;
}
