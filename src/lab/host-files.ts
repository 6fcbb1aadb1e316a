import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { run } from '../util/exec.js';
import { exists, writeIfChanged } from './files.js';
import { libvirtdConf, qemuConf } from './host-config.js';
import { MIGRATION_PORTS, type HostPaths, type HostSpec } from './layout.js';

/** A host's folders in the lab state folder, and its libvirt configuration. */

type Log = (line: string) => void;

const STOCK_LIBVIRT_ETC = '/etc/libvirt';

/**
 * A copy of the stock /etc/libvirt (libvirtd needs its default files) without anything that would
 * define networks, pools or domains of the machine: above all not the `default` NAT network.
 */
async function copyStockLibvirtEtc(target: string, log: Log): Promise<void> {
  log(`copying ${STOCK_LIBVIRT_ETC} to ${target}`);
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  const partial = `${target}.partial`;
  await rm(partial, { recursive: true, force: true });
  await run('cp', ['-a', '--', STOCK_LIBVIRT_ETC, partial]);
  for (const dir of ['qemu/networks', 'qemu/autostart', 'storage', 'secrets']) await rm(join(partial, dir), { recursive: true, force: true });
  const qemuDir = join(partial, 'qemu');
  await mkdir(join(qemuDir, 'networks/autostart'), { recursive: true });
  for (const entry of await readdir(qemuDir)) if (entry.endsWith('.xml')) await rm(join(qemuDir, entry), { force: true });
  await run('mv', ['-T', '--', partial, target]);
}

/** Creates the host's folders and writes its config; returns true when libvirtd's config changed. */
export async function ensureHostFiles(host: HostSpec, paths: HostPaths, log: Log): Promise<boolean> {
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  if (!(await exists(paths.etcLibvirt))) await copyStockLibvirtEtc(paths.etcLibvirt, (line) => log(`${host.name}: ${line}`));
  for (const bind of paths.binds) await mkdir(bind.source, { recursive: true, mode: 0o755 });
  await mkdir(paths.images, { recursive: true, mode: 0o755 });
  await mkdir(paths.sharedImages, { recursive: true, mode: 0o755 });
  const daemonConf = libvirtdConf({ hostName: host.name, listenAddress: host.managementAddress, hostUuid: host.hostUuid });
  const qemu = qemuConf({ hostName: host.name, migrationAddress: host.managementAddress, migrationPortMin: MIGRATION_PORTS.min, migrationPortMax: MIGRATION_PORTS.max });
  const changedDaemon = await writeIfChanged(join(paths.etcLibvirt, 'libvirtd.conf'), daemonConf, 0o644);
  const changedQemu = await writeIfChanged(join(paths.etcLibvirt, 'qemu.conf'), qemu, 0o600);
  return changedDaemon || changedQemu;
}

/**
 * Creates missing mountpoint folders in the machine's tree (e.g. /var/lib/imgtest/images) and
 * returns the ones it created, parents first, so that down can remove them again.
 */
export async function ensureMountpointDirs(targets: readonly string[]): Promise<string[]> {
  const created: string[] = [];
  for (const target of targets) {
    const missing: string[] = [];
    for (let dir = target; dir !== '/' && !(await exists(dir)); dir = dirname(dir)) missing.unshift(dir);
    for (const dir of missing) {
      await mkdir(dir, { mode: 0o755 });
      created.push(dir);
    }
    if (!(await stat(target)).isDirectory()) throw new Error(`${target} is not a folder`);
  }
  return created;
}
