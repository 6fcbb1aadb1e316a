/** Typed reading of `virsh net-dumpxml`, over the parsed tree of ./tree.ts. */
import { attr, children, tryParseXml } from './tree.js';

export interface NetworkIp {
  address: string;
  prefix?: number;
  netmask?: string;
}

/** The network's own IPv4 `<ip address=... prefix|netmask=...>`, if it has one. */
export function readNetworkIp(xml: string): NetworkIp | undefined {
  const network = tryParseXml(xml);
  if (!network) return undefined;
  const ip = children(network, 'ip').find((element) => (attr(element, 'family') ?? 'ipv4') === 'ipv4' && /^[\d.]+$/.test(attr(element, 'address') ?? ''));
  if (!ip) return undefined;
  const prefix = attr(ip, 'prefix');
  return { address: attr(ip, 'address')!, prefix: prefix === undefined ? undefined : Number(prefix), netmask: attr(ip, 'netmask') };
}
