import type { HostConfig, ImgtestConfig } from '../config/schema.js';
import { labHosts, labIsUp, labUp } from '../lab/index.js';
import { NTP_SERVER_ADDRESS } from '../lab/layout.js';

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

/**
 * The NTP servers the run's guests are offered (CheckContext.timeServers): the config's
 * `network.timeServers` when set (even empty), else the lab's NTP server when the run uses the lab's
 * hosts (no `hosts` in the config: see resolveHosts), else none.
 */
export function runTimeServers(config: Pick<ImgtestConfig, 'hosts' | 'network'>): string[] {
  if (config.network.timeServers) return [...config.network.timeServers];
  return config.hosts?.length ? [] : [NTP_SERVER_ADDRESS];
}
