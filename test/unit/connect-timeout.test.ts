import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { LibvirtHost } from '../../src/hosts/libvirt-host.js';
import { DHCP_RANGE } from '../../src/lab/layout.js';
import { sameArgs } from '../../src/lab/daemons.js';

const host = (connectTimeoutSeconds?: number, uri = 'qemu+ssh://root@10.255.255.1/system') =>
  new LibvirtHost(configSchema.parse({ hosts: [{ name: 'hv9', uri, ...(connectTimeoutSeconds ? { connectTimeoutSeconds } : {}) }] }).hosts![0]!);

describe('connect timeout to hosts', () => {
  it('is 10 s by default and configurable per host (1..600)', () => {
    expect(host().connectTimeoutMs).toBe(10_000);
    expect(host(3).connectTimeoutMs).toBe(3_000);
    expect(configSchema.safeParse({ hosts: [{ name: 'a', uri: 'qemu:///system', connectTimeoutSeconds: 0 }] }).success).toBe(false);
    expect(configSchema.safeParse({ hosts: [{ name: 'a', uri: 'qemu:///system', connectTimeoutSeconds: 601 }] }).success).toBe(false);
  });

  it('a refused port fails at once, naming the endpoint', async () => {
    const reached = await host(5, 'qemu+tcp://127.0.0.1:1/system').reach();
    expect(reached).toMatchObject({ ok: false, error: expect.stringMatching(/^127\.0\.0\.1:1: connect ECONNREFUSED/) });
  });
});

describe('lab DHCP', () => {
  it('short leases in a range large enough for many runs', () => {
    expect(DHCP_RANGE.lease).toBe('10m');
    expect(Number(DHCP_RANGE.last.split('.')[3]) - Number(DHCP_RANGE.first.split('.')[3]) + 1).toBe(240);
    expect(sameArgs(['a', 'b'], ['a', 'b'])).toBe(true);
    expect(sameArgs(['--dhcp-range=10.78.0.100,10.78.0.199,255.255.255.0,1h'], ['--dhcp-range=10.78.0.10,10.78.0.249,255.255.255.0,10m'])).toBe(false);
  });
});
