import type { HostConfig } from '../config/schema.js';
import { labHosts, labIsUp, labUp } from '../lab/index.js';

/**
 * The hosts a run uses: the config's, or else the local lab's (started if needed). Lab hosts are
 * plain libvirt URIs from here on: nothing after this function knows they are local.
 */
export async function resolveHosts(configured: readonly HostConfig[] | undefined, log: (line: string) => void): Promise<HostConfig[]> {
  if (configured?.length) return [...configured];
  if (!(await labIsUp())) {
    log('no hosts configured: starting the local lab (imgtest lab up)');
    await labUp({ log });
  }
  return labHosts().map((host) => ({
    name: host.name,
    uri: host.uri,
    migrationUri: host.migrationUri,
    pool: host.pool,
    network: { bridge: 'brg' },
  }));
}
