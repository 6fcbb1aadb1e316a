import { run } from '../util/exec.js';
import { POOL_NAME, POOL_TARGET, SHARED_POOL_NAME, SHARED_POOL_TARGET } from './layout.js';
import { parsePoolInfo } from './parse.js';

/**
 * The host's dir storage pools, each defined, built, started and autostarted: `imgtest` (its own
 * folder) and `imgtest-shared` (the folder both hosts see).
 */

type Log = (line: string) => void;

async function virsh(uri: string, args: readonly string[], allowFailure = false) {
  return run('virsh', ['-c', uri, ...args], { allowFailure, timeoutMs: 60_000 });
}

export async function ensurePools(hostName: string, uri: string, log: Log): Promise<void> {
  await ensurePool(hostName, uri, POOL_NAME, POOL_TARGET, log);
  await ensurePool(hostName, uri, SHARED_POOL_NAME, SHARED_POOL_TARGET, log);
}

export async function ensurePool(hostName: string, uri: string, name: string, target: string, log: Log): Promise<void> {
  let info = await virsh(uri, ['pool-info', name], true);
  if (info.exitCode !== 0) {
    log(`${hostName}: defining storage pool ${name} at ${target}`);
    await virsh(uri, ['pool-define-as', name, 'dir', '--target', target]);
    await virsh(uri, ['pool-build', name]);
    info = await virsh(uri, ['pool-info', name]);
  }
  const pool = parsePoolInfo(info.stdout);
  if (pool.state !== 'running') {
    log(`${hostName}: starting storage pool ${name}`);
    await virsh(uri, ['pool-start', name]);
  }
  if (pool.autostart !== true) await virsh(uri, ['pool-autostart', name]);
}
