import { mkdir, readFile } from 'node:fs/promises';
import { run } from '../util/exec.js';
import { exists, writeIfChanged } from './files.js';
import { knownHosts, sshdConfig, sshUri, sshWrapperScript } from './host-config.js';
import { inHost, type HostNamespaceFiles } from './host-namespace.js';
import { HOST_SPECS, type HostSpec, type LabPaths } from './layout.js';
import { hostDaemonExpectation, type DaemonSpec } from './daemons.js';

/**
 * Access from the root namespace over qemu+ssh: each host runs its own sshd inside its namespaces,
 * so libvirt's remote helper (virt-ssh-helper) reaches that host's libvirtd socket. The lab owns the
 * client key, the authorized_keys file, the hosts' keys and the known_hosts file that pins them.
 */

type Log = (line: string) => void;

/** Creates an ed25519 key pair unless the private key exists; returns true when it made one. */
async function ensureKeyPair(file: string, comment: string): Promise<boolean> {
  if ((await exists(file)) && (await exists(`${file}.pub`))) return false;
  await run('rm', ['-f', file, `${file}.pub`]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  return true;
}

async function publicKey(file: string): Promise<string> {
  return (await readFile(`${file}.pub`, 'utf8')).trim();
}

/** The lab's client key, authorized on every host for root, key only, no forwarding or pty. */
export async function ensureClientAccess(paths: LabPaths, log: Log): Promise<void> {
  await mkdir(paths.ssh.dir, { recursive: true, mode: 0o700 });
  if (await ensureKeyPair(paths.ssh.clientKey, 'imgtest-lab')) log('ssh: lab client key created');
  await writeIfChanged(paths.ssh.authorizedKeys, `restrict ${await publicKey(paths.ssh.clientKey)}\n`, 0o600);
  await writeIfChanged(paths.ssh.wrapper, sshWrapperScript(), 0o755);
}

/**
 * A host's sshd key and config. Returns true when either changed (a running sshd must then restart).
 * known_hosts is rewritten from all hosts' keys by `writeKnownHosts`.
 */
export async function ensureHostSshFiles(host: HostSpec, paths: LabPaths): Promise<boolean> {
  const sshd = paths.host(host.name).sshd;
  await mkdir(sshd.dir, { recursive: true, mode: 0o700 });
  const newKey = await ensureKeyPair(sshd.hostKey, host.name);
  const config = sshdConfig({
    hostName: host.name,
    listenAddress: host.managementAddress,
    hostKey: sshd.hostKey,
    pidFile: sshd.pid,
    authorizedKeysFile: paths.ssh.authorizedKeys,
  });
  const newConfig = await writeIfChanged(sshd.config, config, 0o600);
  return newKey || newConfig;
}

export async function writeKnownHosts(paths: LabPaths): Promise<void> {
  const entries = await Promise.all(HOST_SPECS.map(async (host) => ({ address: host.managementAddress, publicKey: await publicKey(paths.host(host.name).sshd.hostKey) })));
  await writeIfChanged(paths.ssh.knownHosts, knownHosts(entries), 0o644);
}

export async function sshdSpec(target: HostNamespaceFiles): Promise<DaemonSpec> {
  const { sshd } = target.paths;
  return {
    label: `${target.host.name}: sshd`,
    pidFile: sshd.pid,
    expected: await hostDaemonExpectation(target, 'sshd'),
    // sshd re-executes itself, so it needs its absolute path.
    start: () => inHost(target, ['/usr/sbin/sshd', '-f', sshd.config, '-E', sshd.log]),
  };
}

/** The libvirt URI of a host as the root namespace reaches it: over ssh to the host's own sshd. */
export function hostSshUri(host: HostSpec, paths: LabPaths): string {
  return sshUri({ address: host.managementAddress, keyFile: paths.ssh.clientKey, sshCommand: paths.ssh.wrapper });
}
