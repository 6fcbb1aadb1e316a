import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { InfraError } from '../errors.js';
import { commandExists } from '../util/exec.js';
import { chronydOutdated, chronydSpec, dnsmasqOutdated, dnsmasqSpec, ensureDaemon, libvirtdSpec, localSocketUri, virtlogdSpec, waitForLibvirt, writeChronyConf } from './daemons.js';
import { exists } from './files.js';
import { ensureHostFiles, ensureMountpointDirs } from './host-files.js';
import { ensureHostNamespaces, ensureImageBinds, ensurePrivateNsDir, rootMounts, rootMountpoints, type HostNamespaceFiles } from './host-namespace.js';
import { HOST_SPECS, LAB_NETNS, ROOT_LINKS, type LabPaths } from './layout.js';
import { emptyManifest, readManifest, writeManifest, type LabManifest } from './manifest.js';
import { ensureHostNetwork, ensureLabNetwork, flushManagementNeighbours } from './network.js';
import { ensureClientAccess, ensureHostSshFiles, hostSshUri, sshdSpec, writeKnownHosts } from './ssh-access.js';
import { ensurePools } from './storage.js';

/** `lab up`: every step checks before it acts, so a second run changes nothing and a half-started lab is repaired. */

type Log = (line: string) => void;

const REQUIRED_TOOLS = ['ip', 'nsenter', 'unshare', 'mount', 'virsh', 'libvirtd', 'virtlogd', 'dnsmasq', 'chronyd', 'ssh', 'ssh-keygen', 'iptables-restore'];
const LIBVIRTD_START_TIMEOUT_MS = 120_000;

async function checkPrerequisites(): Promise<void> {
  if (process.getuid?.() !== 0) throw new InfraError('the local lab needs root (network, mount and UTS namespaces)', { code: 'E_LAB' });
  const missing = [];
  for (const tool of REQUIRED_TOOLS) if (!(await commandExists(tool))) missing.push(tool);
  if (!(await exists('/usr/sbin/sshd'))) missing.push('/usr/sbin/sshd');
  if (missing.length) {
    throw new InfraError(`the local lab needs ${missing.join(', ')} (Debian: libvirt-daemon-system qemu-system-x86 dnsmasq-base chrony openssh-server openssh-client iproute2 iptables)`, {
      code: 'E_LAB',
    });
  }
}

async function prepareStateDir(paths: LabPaths): Promise<LabManifest> {
  if ((await exists(paths.root)) && !(await exists(paths.marker)) && (await readdir(paths.root)).length > 0) {
    throw new InfraError(`${paths.root} is not empty and not a lab state folder (no ${paths.marker}); choose another IMGTEST_LAB_DIR`, { code: 'E_LAB' });
  }
  await mkdir(paths.root, { recursive: true, mode: 0o700 });
  if (!(await exists(paths.marker))) await writeFile(paths.marker, 'imgtest local lab state folder: remove with `imgtest lab down`\n');
  await mkdir(paths.lab.dir, { recursive: true, mode: 0o700 });
  const previous = await readManifest(paths.manifest);
  if (previous) return previous;
  // Recorded before the first `ip netns add`, which creates and mounts /run/netns when it is missing.
  const runNetnsExisted = await exists('/run/netns');
  const wasMountpoint = (await rootMounts()).some((m) => m.mountPoint === '/run/netns');
  const manifest = emptyManifest({ existed: runNetnsExisted, wasMountpoint });
  await writeManifest(paths.manifest, manifest);
  return manifest;
}

/** One host: files, namespaces, daemons, ssh access, storage pools. Returns its daemons' pids. */
async function upHost(target: HostNamespaceFiles, labPaths: LabPaths, netnsRemade: boolean, sshFilesChanged: boolean, log: Log): Promise<Record<string, number>> {
  const { host, paths } = target;
  const configChanged = await ensureHostFiles(host, paths, log);
  // A mount namespace holds a sysfs of the network namespace it was made for: remake it with that.
  const rebuilt = await ensureHostNamespaces(target, log, netnsRemade);
  if (!rebuilt) await ensureImageBinds(target, log);

  const pids: Record<string, number> = {};
  const virtlogd = await virtlogdSpec(target);
  pids[virtlogd.label] = await ensureDaemon(virtlogd, log);
  const libvirtd = await libvirtdSpec(target);
  pids[libvirtd.label] = await ensureDaemon(libvirtd, log, configChanged && !rebuilt);
  await waitForLibvirt(localSocketUri(target), libvirtd.label, LIBVIRTD_START_TIMEOUT_MS);

  const sshd = await sshdSpec(target);
  pids[sshd.label] = await ensureDaemon(sshd, log, sshFilesChanged && !rebuilt);
  const uri = hostSshUri(host, labPaths);
  const hostname = await waitForLibvirt(uri, `${host.name} over ssh`, 30_000);
  if (hostname !== host.name) throw new InfraError(`${uri} answered as '${hostname}', expected '${host.name}'`, { code: 'E_LAB' });
  await ensurePools(host.name, uri, log);
  return pids;
}

export async function up(paths: LabPaths, log: Log): Promise<void> {
  await checkPrerequisites();
  const started = Date.now();
  const manifest = await prepareStateDir(paths);

  let linksChanged = await ensureLabNetwork(log);
  const hostNetnsRemade: boolean[] = [];
  for (const host of HOST_SPECS) {
    const result = await ensureHostNetwork(host, log);
    hostNetnsRemade.push(result.netnsRemade);
    if (result.changed) linksChanged = true;
  }
  if (linksChanged) await flushManagementNeighbours();
  manifest.namespaces = [LAB_NETNS, ...HOST_SPECS.map((h) => h.netns)];
  manifest.rootLinks = Object.values(ROOT_LINKS).map((l) => l.root);
  await writeManifest(paths.manifest, manifest);

  const dnsmasq = await dnsmasqSpec(paths);
  // A dnsmasq started by an older version (other lease time or range) is restarted; it reads its leases file back.
  const processes: Record<string, number> = { [dnsmasq.label]: await ensureDaemon(dnsmasq, log, await dnsmasqOutdated(paths)) };
  // The NTP server DHCP names (10.78.0.1): restarted when its config or arguments changed.
  const chronyChanged = await writeChronyConf(paths);
  const chronyd = await chronydSpec(paths);
  processes[chronyd.label] = await ensureDaemon(chronyd, log, chronyChanged || (await chronydOutdated(paths)));

  await ensureClientAccess(paths, log);
  const sshChanged: boolean[] = [];
  for (const host of HOST_SPECS) sshChanged.push(await ensureHostSshFiles(host, paths));
  await writeKnownHosts(paths);

  await ensurePrivateNsDir(paths.nsDir);
  const mountpoints = HOST_SPECS.flatMap((host) => rootMountpoints(paths.host(host.name)));
  const created = await ensureMountpointDirs([...new Set(mountpoints)]);
  manifest.createdDirs = [...manifest.createdDirs, ...created.filter((d) => !manifest.createdDirs.includes(d))];
  await writeManifest(paths.manifest, manifest);

  const hostPids = await Promise.all(HOST_SPECS.map((host, i) => upHost({ host, paths: paths.host(host.name) }, paths, hostNetnsRemade[i] ?? false, sshChanged[i] ?? false, log)));
  manifest.processes = Object.assign(processes, ...hostPids) as Record<string, number>;
  await writeManifest(paths.manifest, manifest);
  log(`lab up in ${((Date.now() - started) / 1000).toFixed(1)} s (state in ${paths.root}); reading host status (a fresh libvirtd probes QEMU first)`);
}
