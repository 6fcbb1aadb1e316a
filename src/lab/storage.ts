import { run } from '../util/exec.js';
import { POOL_NAME, POOL_TARGET } from './layout.js';
import { parsePoolInfo } from './parse.js';

/** The `imgtest` dir storage pool on a host: defined, built, started and autostarted. */

type Log = (line: string) => void;

async function virsh(uri: string, args: readonly string[], allowFailure = false) {
  return run('virsh', ['-c', uri, ...args], { allowFailure, timeoutMs: 60_000 });
}

export async function ensurePool(hostName: string, uri: string, log: Log): Promise<void> {
  let info = await virsh(uri, ['pool-info', POOL_NAME], true);
  if (info.exitCode !== 0) {
    log(`${hostName}: defining storage pool ${POOL_NAME} at ${POOL_TARGET}`);
    await virsh(uri, ['pool-define-as', POOL_NAME, 'dir', '--target', POOL_TARGET]);
    await virsh(uri, ['pool-build', POOL_NAME]);
    info = await virsh(uri, ['pool-info', POOL_NAME]);
  }
  const pool = parsePoolInfo(info.stdout);
  if (pool.state !== 'running') {
    log(`${hostName}: starting storage pool ${POOL_NAME}`);
    await virsh(uri, ['pool-start', POOL_NAME]);
  }
  if (pool.autostart !== true) await virsh(uri, ['pool-autostart', POOL_NAME]);
}
