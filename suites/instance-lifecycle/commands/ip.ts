/** `ip -j addr` (iproute2): interfaces, their MACs and addresses. */
import type { GuestHandle } from '../api.js';
import { cannotObserve, run } from '../guest.js';

export const IP_ADDR_ARGV = ['ip', '-j', 'addr'] as const;

export interface Interface {
  name: string;
  mac: string;
  /** IPv4 addresses (scope global), no prefix length. */
  ipv4: string[];
}

export function parseIpAddr(output: string): Interface[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return (parsed as Record<string, unknown>[]).map((link) => {
    const infos = Array.isArray(link.addr_info) ? (link.addr_info as Record<string, unknown>[]) : [];
    return {
      name: typeof link.ifname === 'string' ? link.ifname : '?',
      mac: typeof link.address === 'string' ? link.address.toLowerCase() : '',
      ipv4: infos.filter((a) => a.family === 'inet' && a.scope !== 'host').map((a) => String(a.local)),
    };
  });
}

export async function readInterfaces(guest: GuestHandle): Promise<{ interfaces: Interface[]; evidence: string }> {
  const what = 'list network interfaces';
  const ran = await run(guest, IP_ADDR_ARGV, {}, what);
  const interfaces = parseIpAddr(ran.result.stdout);
  if (ran.result.exitCode !== 0 || !interfaces.length) throw cannotObserve(guest, what, ran);
  const evidence = `$ ${IP_ADDR_ARGV.join(' ')}   (exit 0)\n${interfaces.map((i) => `${i.name} ${i.mac} ${i.ipv4.join(' ')}`).join('\n')}`;
  return { interfaces, evidence };
}
