import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { InfraError } from '../errors.js';
import { run } from '../util/exec.js';
import { dnsmasqSpec, localSocketUri, processArgs } from './daemons.js';
import { exists } from './files.js';
import { hostMountNsId, removeHostNamespaces, rootMounts } from './host-namespace.js';
import { HOST_SPECS, LAB_NETNS, netnsPath, type LabPaths } from './layout.js';
import { readManifest } from './manifest.js';
import { deleteRedirectRules, listRedirectRules } from './metadata-redirect.js';
import { existingLabNetns, removeLabNetwork } from './network.js';
import { mountPointsUnder, parseDomainNames } from './parse.js';
import { namespaceId, pidsInNamespaces, processInfo, readPidFile, stopProcesses } from './processes.js';

/**
 * `lab down`: removes everything `lab up` made, from whatever state it finds (up, half up, down).
 * Order matters: domains, then processes (they hold namespaces), then mounts, links, namespaces,
 * and last the state folder.
 */

type Log = (line: string) => void;

/** True when the state folder is absent or carries the lab's marker: the only kind down deletes. */
async function isLabStateDir(paths: LabPaths): Promise<boolean> {
  if (!(await exists(paths.root))) return true;
  if (!(await stat(paths.root)).isDirectory()) return false;
  return exists(paths.marker);
}

/** Test leftovers: destroy and undefine every domain a host still has (over its local socket, sshd may be gone). */
async function removeDomains(paths: LabPaths, log: Log): Promise<void> {
  await Promise.all(
    HOST_SPECS.map(async (host) => {
      const target = { host, paths: paths.host(host.name) };
      if (!(await exists(target.paths.libvirtSocket))) return;
      const uri = localSocketUri(target);
      const virsh = (args: string[]) => run('virsh', ['-c', uri, ...args], { allowFailure: true, timeoutMs: 30_000 }).catch(() => ({ exitCode: -1, stdout: '', stderr: '' }));
      const list = await virsh(['list', '--all', '--name']);
      if (list.exitCode !== 0) return;
      for (const domain of parseDomainNames(list.stdout)) {
        log(`${host.name}: removing domain ${domain}`);
        await virsh(['destroy', domain]);
        const undefine = await virsh(['undefine', '--nvram', '--managed-save', '--snapshots-metadata', '--checkpoints-metadata', domain]);
        if (undefine.exitCode !== 0) await virsh(['undefine', domain]);
      }
    }),
  );
}

/** Processes in the lab's network and mount namespaces, and daemons named in its pid files (checked by program name). */
async function labProcesses(paths: LabPaths): Promise<number[]> {
  const net: number[] = [];
  for (const name of await existingLabNetns()) {
    const id = await namespaceId(netnsPath(name));
    if (id !== undefined) net.push(id);
  }
  const mnt: number[] = [];
  for (const host of HOST_SPECS) {
    const id = await hostMountNsId({ host, paths: paths.host(host.name) });
    if (id !== undefined) mnt.push(id);
  }
  const pids = new Set(await pidsInNamespaces({ net, mnt }));
  // chronyd cannot delete its pid file once it runs as _chrony: a pid left there may be another chronyd
  // by now (the machine's own), so it counts only with the lab's config file in its arguments.
  const pidFiles: [string, string, string?][] = [
    [(await dnsmasqSpec(paths)).pidFile, 'dnsmasq'],
    [paths.lab.chrony.pid, 'chronyd', paths.lab.chrony.config],
  ];
  for (const host of HOST_SPECS) {
    const hostPaths = paths.host(host.name);
    pidFiles.push([hostPaths.libvirtdPid, 'libvirtd'], [hostPaths.virtlogdPid, 'virtlogd'], [hostPaths.sshd.pid, 'sshd']);
  }
  for (const [file, comm, argument] of pidFiles) {
    const pid = await readPidFile(file);
    const info = pid === undefined ? undefined : await processInfo(pid);
    if (info?.comm !== comm) continue;
    if (argument !== undefined && !(await processArgs(info.pid))?.includes(argument)) continue;
    pids.add(info.pid);
  }
  return [...pids];
}

/** Unmounts everything the machine's mount tree has below the state folder (namespace files, the ns/ folder). */
async function unmountStateDir(paths: LabPaths, log: Log): Promise<void> {
  for (const point of mountPointsUnder(await rootMounts(), paths.root)) {
    log(`unmounting ${point}`);
    const result = await run('umount', [point], { allowFailure: true });
    if (result.exitCode !== 0) await run('umount', ['--lazy', point], { allowFailure: true });
  }
  const left = mountPointsUnder(await rootMounts(), paths.root);
  if (left.length) throw new InfraError(`lab down: still mounted: ${left.join(', ')}`, { code: 'E_LAB' });
}

async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch {
    return false;
  }
}

/** Mountpoint folders up made in the machine's tree, and /run/netns if the lab made it and nothing else uses it. */
async function removeMachineTraces(paths: LabPaths, log: Log): Promise<void> {
  const manifest = await readManifest(paths.manifest);
  if (!manifest) return;
  for (const dir of [...manifest.createdDirs].reverse()) {
    if (await isEmptyDir(dir)) {
      log(`removing ${dir}`);
      await rmdir(dir).catch(() => undefined);
    }
  }
  if (!manifest.runNetns.wasMountpoint && (await isEmptyDir('/run/netns'))) {
    if ((await rootMounts()).some((m) => m.mountPoint === '/run/netns')) await run('umount', ['/run/netns'], { allowFailure: true });
    if (!manifest.runNetns.existed) await rmdir('/run/netns').catch(() => undefined);
  }
}

export async function down(paths: LabPaths, log: Log): Promise<void> {
  if (!(await isLabStateDir(paths))) {
    throw new InfraError(`${paths.root} exists but is not a lab state folder (no ${paths.marker}); not deleting it`, { code: 'E_LAB' });
  }
  await removeDomains(paths, log);

  const pids = await labProcesses(paths);
  if (pids.length) log(`stopping ${pids.length} lab process(es)`);
  await stopProcesses(pids);
  const survivors = (await Promise.all(pids.map(processInfo))).filter(Boolean);
  if (survivors.length) throw new InfraError(`lab down: processes did not stop: ${survivors.map((p) => `${p?.pid} (${p?.comm})`).join(', ')}`, { code: 'E_LAB' });

  for (const host of HOST_SPECS) await removeHostNamespaces({ host, paths: paths.host(host.name) }, log);
  if (await exists(paths.root)) await unmountStateDir(paths, log);
  await removeLabNetwork(log);
  // Lab down refuses while a run holds the lab, so every metadata redirect left is a dead run's.
  for (const [runId, rules] of await listRedirectRules()) {
    log(`metadata redirects of run ${runId}: removing ${rules.length}`);
    await deleteRedirectRules(rules);
  }
  await removeMachineTraces(paths, log);
  if (await exists(paths.root)) {
    log(`removing ${paths.root}`);
    await rm(paths.root, { recursive: true, force: true });
  }
  const leftNetns = (await existingLabNetns()).filter((n) => n === LAB_NETNS || HOST_SPECS.some((h) => h.netns === n));
  if (leftNetns.length) throw new InfraError(`lab down: network namespaces left: ${leftNetns.join(', ')}`, { code: 'E_LAB' });
}
