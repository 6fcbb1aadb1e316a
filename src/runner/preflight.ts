import { InfraError, UsageError } from '../errors.js';
import type { Suite } from '../suite-api/index.js';

/**
 * A selected suite that needs more hosts than there are is a usage error before the run starts.
 * The planner would otherwise skip all its checks and the run could pass with nothing tested.
 * Pure: the caller knows how many hosts the run will have (the config's, or the local lab's).
 */
export function requireEnoughHosts(suites: readonly Pick<Suite, 'id' | 'requires'>[], hostCount: number): void {
  const short = suites.filter((suite) => (suite.requires.minHosts ?? 1) > hostCount);
  if (!short.length) return;
  const needs = short.map((suite) => `${suite.id} needs ${suite.requires.minHosts}`).join(', ');
  throw new UsageError(`${needs} hosts, the config has ${hostCount}: add hosts, or leave the suite out with --suite`);
}

/** A DHCP pool: its first and last address (IPv4, bounds included) and how long a lease lasts. */
export interface DhcpPool {
  first: string;
  last: string;
  /** dnsmasq's lease time (`10m`, `1h`, `600`), for the message. */
  lease: string;
}

export interface DhcpPoolState {
  /** Addresses in the pool. */
  size: number;
  /** Distinct addresses of the pool with a lease that has not expired. */
  leased: number;
  free: number;
}

function ipv4(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/**
 * How full the pool is (pure): the leases that have not expired (dnsmasq writes `0` for a lease that
 * never expires) on distinct addresses inside the pool. A lease expired a moment ago is free: dnsmasq
 * hands its address out again.
 */
export function dhcpPoolState(pool: DhcpPool, leases: readonly { expires: number; address: string }[], nowSeconds: number): DhcpPoolState {
  const first = ipv4(pool.first)!;
  const last = ipv4(pool.last)!;
  const size = last - first + 1;
  const held = new Set<number>();
  for (const lease of leases) {
    const at = ipv4(lease.address);
    if (at === undefined || at < first || at > last) continue;
    if (lease.expires === 0 || lease.expires > nowSeconds) held.add(at);
  }
  return { size, leased: held.size, free: size - held.size };
}

/**
 * The plan needs `guests` addresses at once; fails (exit 3) in one line when the pool has fewer free,
 * before anything is uploaded or booted: guests that get no address would each wait out their boot
 * limits and end as "no DHCP address seen".
 */
export function requireDhcpAddresses(guests: number, pool: DhcpPool, state: DhcpPoolState): void {
  if (guests <= state.free) return;
  throw new InfraError(
    `the lab's DHCP pool has ${state.free} of ${state.size} addresses free (${pool.first}-${pool.last}; ${state.leased} leased, ${pool.lease} leases), ` +
      `this run needs ${guests}: wait for other runs to end (a gone guest's lease frees in ${pool.lease}), or run imgtest clean to drop the leases of runs that are over`,
    { code: 'E_DHCP_POOL' },
  );
}
