import { UsageError } from '../errors.js';
import { DATASOURCES, type Datasource } from '../suite-api/index.js';

/**
 * The datasources a run provisions its guests with: `datasource:` in the config (one, or a list) and
 * `--datasource a,b` (which wins). Order matters: the first is the one every suite but the
 * provisioning suite runs on. Duplicates are refused, not merged: a list is a matrix, and a doubled
 * entry is a typo that would boot guests twice.
 */
export function parseDatasourceList(value: string, source = '--datasource'): Datasource[] {
  const names = value.split(',').map((name) => name.trim());
  return checkDatasources(names, source);
}

export function checkDatasources(names: readonly string[], source: string): Datasource[] {
  if (!names.length || names.some((name) => !name)) throw new UsageError(`${source}: a comma-separated list of datasources (${DATASOURCES.join(', ')})`);
  const seen = new Set<string>();
  for (const name of names) {
    if (!(DATASOURCES as readonly string[]).includes(name)) throw new UsageError(`${source}: unknown datasource '${name}' (available: ${DATASOURCES.join(', ')})`);
    if (seen.has(name)) throw new UsageError(`${source}: '${name}' is listed twice`);
    seen.add(name);
  }
  return names as Datasource[];
}

/**
 * Datasources served by imgtest's metadata service over HTTP at 169.254.169.254 (the others come on
 * a seed disk attached to the guest, which any libvirt host can take).
 */
export function servedOverHttp(datasource: Datasource): boolean {
  return datasource !== 'nocloud' && datasource !== 'configdrive';
}

/**
 * The HTTP datasources need the guests' traffic for 169.254.169.254 brought to imgtest's metadata
 * service. imgtest arranges that on the local lab's guest network (a DHCP route and a redirect per
 * guest, src/lab/metadata-redirect.ts); on configured hosts the network is someone else's, so such a
 * run is refused before anything is hashed or booted, rather than booting guests that cannot provision.
 */
export function requireMetadataReach(datasources: readonly Datasource[], configuredHosts: boolean): void {
  const served = datasources.filter(servedOverHttp);
  if (configuredHosts && served.length)
    throw new UsageError(
      `datasource ${served.join(', ')}: imgtest's metadata service reaches only the local lab's guests (a config without hosts); on your own hosts use nocloud or configdrive, which come on a disk`,
    );
}
