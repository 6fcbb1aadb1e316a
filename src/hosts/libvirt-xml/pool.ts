/** Typed reading of `virsh pool-dumpxml`, over the parsed tree of ./tree.ts. */
import { attr, path, text, tryParseXml } from './tree.js';

export interface PoolXml {
  /** `<pool type=...>`: dir, netfs, logical... */
  type?: string;
  name?: string;
  /** `<target><path>`: the pool's folder on the host. */
  targetPath?: string;
}

/** `virsh pool-dumpxml`; output that is not XML reads as an empty pool description. */
export function readPool(xml: string): PoolXml {
  const pool = tryParseXml(xml);
  if (pool?.tagName !== 'pool') return {};
  return { type: attr(pool, 'type'), name: text(path(pool, 'name')), targetPath: text(path(pool, 'target', 'path')) };
}
