/**
 * The lab's DHCP pool in the plan: the guests a run plans must fit into the addresses of the pool that
 * no live lease holds (other runs' guests, guests gone less than a lease time ago). Pure counting, the
 * one-line refusal (exit 3), and the reader of dnsmasq's leases file.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, InfraError } from '../../src/errors.js';
import { DHCP_RANGE, labPaths } from '../../src/lab/layout.js';
import { checkLabDhcpPool } from '../../src/cli/run-environment.js';
import { dhcpPoolState, requireDhcpAddresses } from '../../src/runner/preflight.js';

const NOW = 1_800_000_000;
const pool = { first: '10.78.0.10', last: '10.78.0.249', lease: '10m' };
const lease = (n: number, expires: number, mac = `52:54:00:00:00:${n.toString(16).padStart(2, '0')}`) => ({ expires, mac, address: `10.78.0.${n}` });

describe('dhcpPoolState', () => {
  it("counts the lab's pool: 240 addresses", () => {
    expect(dhcpPoolState(DHCP_RANGE, [], NOW)).toEqual({ size: 240, leased: 0, free: 240 });
  });

  it('counts live leases on distinct addresses of the pool; expired ones and addresses outside it are free', () => {
    const leases = [
      lease(10, NOW + 600), // live
      lease(11, NOW + 1), // live, about to expire
      lease(12, NOW), // expired this second: dnsmasq hands it out again
      lease(13, NOW - 300), // expired
      lease(14, 0), // dnsmasq's "never expires"
      lease(10, NOW + 300, '52:54:00:aa:bb:cc'), // the same address again (a stale line): one address
      { expires: NOW + 600, mac: '52:54:00:00:00:fe', address: '10.78.0.253' }, // this machine's static address, outside the pool
      { expires: NOW + 600, mac: '52:54:00:00:00:fd', address: 'not-an-address' },
    ];
    expect(dhcpPoolState(pool, leases, NOW)).toEqual({ size: 240, leased: 3, free: 237 });
  });
});

describe('requireDhcpAddresses', () => {
  it('passes when the guests fit, exactly as well', () => {
    expect(() => requireDhcpAddresses(3, pool, { size: 240, leased: 237, free: 3 })).not.toThrow();
    expect(() => requireDhcpAddresses(0, pool, { size: 240, leased: 240, free: 0 })).not.toThrow();
  });

  it('refuses in one line with the infrastructure exit code when the pool cannot hold the plan', () => {
    let error: unknown;
    try {
      requireDhcpAddresses(3, pool, { size: 240, leased: 238, free: 2 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InfraError);
    const infra = error as InfraError;
    expect(infra.exitCode).toBe(ExitCode.infrastructure);
    expect(infra.code).toBe('E_DHCP_POOL');
    expect(infra.message).not.toContain('\n');
    expect(infra.message).toBe(
      "the lab's DHCP pool has 2 of 240 addresses free (10.78.0.10-10.78.0.249; 238 leased, 10m leases), this run needs 3: " +
        "wait for other runs to end (a gone guest's lease frees in 10m), or run imgtest clean to drop the leases of runs that are over",
    );
  });
});

describe("checkLabDhcpPool (the lab's leases file)", () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'dhcp-pool-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads dnsmasq leases from the lab folder; no file yet means an empty pool', async () => {
    const paths = labPaths(join(root, 'none'));
    expect(await checkLabDhcpPool(3, paths, NOW)).toEqual({ size: 240, leased: 0, free: 240 });
  });

  it('fails the plan that the live leases leave no room for, and passes one that fits', async () => {
    const paths = labPaths(join(root, 'full'));
    mkdirSync(paths.lab.dir, { recursive: true });
    const lines = [];
    for (let n = 10; n <= 247; n++)
      lines.push(
        `${NOW + 400} 52:54:00:00:${Math.floor(n / 256)
          .toString(16)
          .padStart(2, '0')}:${(n % 256).toString(16).padStart(2, '0')} 10.78.0.${n} imgtest-g${n} 01:52:54:00:00:00:${(n % 256).toString(16).padStart(2, '0')}`,
      );
    lines.push(`${NOW - 10} 52:54:00:00:01:00 10.78.0.248 * *`); // expired
    writeFileSync(paths.lab.leases, `${lines.join('\n')}\n`);
    expect(await checkLabDhcpPool(2, paths, NOW)).toEqual({ size: 240, leased: 238, free: 2 });
    await expect(checkLabDhcpPool(3, paths, NOW)).rejects.toThrow(/^the lab's DHCP pool has 2 of 240 addresses free .* this run needs 3: /);
  });
});
