import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { InfraError } from '../errors.js';
import { run, type RunResult } from '../util/exec.js';
import { exists, readText } from './files.js';
import { POOL_TARGET, SHARED_POOL_TARGET, netnsPath, type HostPaths, type HostSpec } from './layout.js';
import { mountsToDrop, parseMountInfo, type MountInfoEntry } from './parse.js';
import { namespaceId, pidsInNamespaces, stopProcesses } from './processes.js';

/**
 * A host's mount and UTS namespaces. They are persistent: `unshare --mount=FILE --uts=FILE` binds them
 * to files in the lab's `ns/` folder, so they outlive any daemon (a dead libvirtd is restarted in the
 * same namespace) and are entered with `nsenter --mount=FILE --uts=FILE --net=/run/netns/NAME`.
 *
 * Inside, the host gets its own view of the machine (mounts beyond the system ones are dropped, see mountsToDrop):
 *   /sys                   a sysfs of its network namespace (as `ip netns exec` does)
 *   /run                   a private tmpfs (own /run/sshd, nothing of the machine's daemons)
 *   /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt
 *                          bind mounts of the host's folders in the lab state folder
 *   /var/lib/imgtest/images  the host's image folder (the `imgtest` storage pool)
 *   /var/lib/imgtest/shared  the lab's shared image folder, the same for both hosts (the `imgtest-shared` pool)
 */

type Log = (line: string) => void;

export interface HostNamespaceFiles {
  host: HostSpec;
  paths: HostPaths;
}

/** argv for running a command inside a host: `nsenter --mount --uts --net -- argv`. */
export function nsenterArgs(target: HostNamespaceFiles, argv: readonly string[]): string[] {
  return [`--mount=${target.paths.mountNs}`, `--uts=${target.paths.utsNs}`, `--net=${netnsPath(target.host.netns)}`, '--', ...argv];
}

/** Runs a command inside a host's namespaces. */
export async function inHost(target: HostNamespaceFiles, argv: readonly string[], options: { allowFailure?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
  return run('nsenter', nsenterArgs(target, argv), { allowFailure: options.allowFailure, timeoutMs: options.timeoutMs ?? 60_000 });
}

export async function rootMounts(): Promise<MountInfoEntry[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** The lab's `ns/` folder as a private bind mount of itself: namespace files can only be bound on a non-shared mount. */
export async function ensurePrivateNsDir(nsDir: string): Promise<void> {
  await mkdir(nsDir, { recursive: true, mode: 0o700 });
  if ((await rootMounts()).some((m) => m.mountPoint === nsDir)) return;
  await run('mount', ['--bind', nsDir, nsDir]);
  await run('mount', ['--make-private', nsDir]);
}

interface ReadyMarker {
  netns: number;
}

/** Mount and UTS namespace files are mounted, setup finished, and made for the current network namespace. */
async function namespacesReady(target: HostNamespaceFiles, mounts: readonly MountInfoEntry[]): Promise<boolean> {
  const { paths, host } = target;
  const isNsMount = (file: string) => mounts.some((m) => m.mountPoint === file && m.fsType === 'nsfs');
  if (!isNsMount(paths.mountNs) || !isNsMount(paths.utsNs)) return false;
  const marker = await readText(paths.mountNsReady);
  if (!marker) return false;
  try {
    return (JSON.parse(marker) as ReadyMarker).netns === (await namespaceId(netnsPath(host.netns)));
  } catch {
    return false;
  }
}

/** Stops every process in the host's mount namespace and unbinds its namespace files. */
export async function removeHostNamespaces(target: HostNamespaceFiles, log: Log): Promise<void> {
  const { paths, host } = target;
  const mounts = await rootMounts();
  const mntns = mounts.some((m) => m.mountPoint === paths.mountNs && m.fsType === 'nsfs') ? await namespaceId(paths.mountNs) : undefined;
  if (mntns !== undefined) {
    const pids = await pidsInNamespaces({ mnt: [mntns] });
    if (pids.length) log(`${host.name}: stopping ${pids.length} process(es) in its mount namespace`);
    await stopProcesses(pids);
  }
  for (const file of [paths.mountNs, paths.utsNs]) {
    if (mounts.some((m) => m.mountPoint === file)) await run('umount', [file], { allowFailure: true });
    await rm(file, { force: true });
  }
  await rm(paths.mountNsReady, { force: true });
}

/** Folders in the machine's own tree that bind mounts need as mountpoints (created if missing, recorded by the caller). */
export function rootMountpoints(paths: HostPaths): string[] {
  return [...paths.binds.map((b) => b.target).filter((t) => !t.startsWith('/run/')), POOL_TARGET, SHARED_POOL_TARGET];
}

/** The image folders bound into a host: its own, and the one both hosts share. */
function imageBinds(paths: HostPaths): { source: string; target: string }[] {
  return [
    { source: paths.images, target: POOL_TARGET },
    { source: paths.sharedImages, target: SHARED_POOL_TARGET },
  ];
}

/**
 * Binds the image folders a host lacks into its running mount namespace (a lab made before the shared
 * folder existed gets it on the next `lab up`, without restarting anything). Returns the targets bound.
 */
export async function ensureImageBinds(target: HostNamespaceFiles, log: Log): Promise<string[]> {
  const mounted = parseMountInfo((await inHost(target, ['cat', '/proc/self/mountinfo'])).stdout).map((m) => m.mountPoint);
  const bound: string[] = [];
  for (const bind of imageBinds(target.paths)) {
    if (mounted.includes(bind.target)) continue;
    if (!(await exists(bind.source))) throw new InfraError(`${target.host.name}: missing ${bind.source}`, { code: 'E_LAB' });
    log(`${target.host.name}: binding ${bind.source} at ${bind.target}`);
    await inHost(target, ['mount', '--bind', bind.source, bind.target]);
    bound.push(bind.target);
  }
  return bound;
}

/**
 * Makes the host's mount + UTS namespaces, or keeps them when they are intact. They are rebuilt
 * (daemons inside stopped) when setup never finished or the network namespace was remade.
 * Returns true when (re)built: the caller then starts the host's daemons afresh.
 */
export async function ensureHostNamespaces(target: HostNamespaceFiles, log: Log, force = false): Promise<boolean> {
  const { host, paths } = target;
  if (!force && (await namespacesReady(target, await rootMounts()))) return false;
  await removeHostNamespaces(target, log);
  log(`${host.name}: creating mount and UTS namespaces`);
  await writeFile(paths.mountNs, '');
  await writeFile(paths.utsNs, '');
  await run('unshare', [`--mount=${paths.mountNs}`, `--uts=${paths.utsNs}`, '--propagation', 'private', 'true']);

  // Nothing below may leak into the machine's mount tree: refuse to go on unless every mount is private.
  const inside = parseMountInfo((await inHost(target, ['cat', '/proc/self/mountinfo'])).stdout);
  const shared = inside.filter((m) => m.propagation.some((p) => p.startsWith('shared:')));
  if (shared.length) throw new InfraError(`${host.name}: its mount namespace still shares ${shared.map((m) => m.mountPoint).join(', ')} with the machine`, { code: 'E_LAB' });

  await inHost(target, ['hostname', host.name]);
  // The copy of the machine's tree holds whatever was mounted a moment ago (a chroot being built, the
  // lab's other namespaces under /run/netns and ns/): drop it, or it would stay mounted in here.
  // (Repeated: a mountpoint may hold several stacked mounts.)
  for (let round = 0, drop = mountsToDrop(inside); drop.length && round < 5; round++) {
    for (const point of drop) await inHost(target, ['umount', '--recursive', '--lazy', point]);
    drop = mountsToDrop(parseMountInfo((await inHost(target, ['cat', '/proc/self/mountinfo'])).stdout));
  }
  await inHost(target, ['mount', '-t', 'sysfs', '-o', 'rw,nosuid,nodev,noexec', 'sysfs', '/sys']);
  await inHost(target, ['mount', '-t', 'tmpfs', '-o', 'rw,nosuid,nodev,mode=0755,size=64m', 'tmpfs', '/run']);
  await inHost(target, ['mkdir', '-p', '-m', '0755', '/run/libvirt', '/run/sshd', '/run/lock']);
  for (const bind of [...paths.binds, ...imageBinds(paths)]) {
    if (!(await exists(bind.source))) throw new InfraError(`${host.name}: missing ${bind.source}`, { code: 'E_LAB' });
    await inHost(target, ['mount', '--bind', bind.source, bind.target]);
  }
  const marker: ReadyMarker = { netns: (await namespaceId(netnsPath(host.netns))) ?? -1 };
  await writeFile(paths.mountNsReady, `${JSON.stringify(marker)}\n`);
  return true;
}

/** The mount namespace's id (inode) while its file is bound, for checking which processes run inside. */
export async function hostMountNsId(target: HostNamespaceFiles): Promise<number | undefined> {
  const mounted = (await rootMounts()).some((m) => m.mountPoint === target.paths.mountNs && m.fsType === 'nsfs');
  return mounted ? namespaceId(target.paths.mountNs) : undefined;
}
