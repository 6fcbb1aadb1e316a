import { InfraError } from '../errors.js';
import { readFile, rm } from 'node:fs/promises';
import { run } from '../util/exec.js';
import { done, notYet, poll } from '../util/poll.js';
import { writeIfChanged } from './files.js';
import { chronyConf, chronydArgs, dnsmasqArgs } from './host-config.js';
import { inHost, type HostNamespaceFiles } from './host-namespace.js';
import { DHCP_RANGE, GUEST_BRIDGE, GUEST_CIDR, LAB_NETNS, NTP_LOCAL_STRATUM, METADATA_ADDRESS, METADATA_GATEWAY, NTP_SERVER_ADDRESS, netnsPath, type LabPaths } from './layout.js';
import { namespaceId, processInfo, readPidFile, runningDaemon, stopProcesses, type DaemonExpectation } from './processes.js';

/** Starting, checking and restarting the lab's daemons: virtlogd, libvirtd (per host), dnsmasq and chronyd (lab). */

type Log = (line: string) => void;

export interface DaemonSpec {
  label: string;
  pidFile: string;
  expected: DaemonExpectation;
  /** Starts the daemon; it must fork into the background and write `pidFile`. */
  start: () => Promise<unknown>;
  /** When set, a stale process named in the pid file is stopped only if its arguments include this. */
  ownArgument?: string;
}

/**
 * Starts the daemon unless it runs (right program, right namespaces); with `restart`, stops it first.
 * A stale process named in the pid file (e.g. left in a namespace that was rebuilt) is stopped.
 * Returns the pid.
 */
export async function ensureDaemon(spec: DaemonSpec, log: Log, restart = false): Promise<number> {
  const running = await runningDaemon(spec.pidFile, spec.expected);
  if (running !== undefined && !restart) return running;
  const previous = await readPidFile(spec.pidFile);
  const stale = previous === undefined ? undefined : await processInfo(previous);
  const ours = stale && stale.comm === spec.expected.comm && (spec.ownArgument === undefined || (await processArgs(stale.pid))?.includes(spec.ownArgument));
  if (stale && ours) {
    log(`${spec.label}: stopping pid ${stale.pid}${restart ? ' to restart it' : ' (outside the lab namespaces)'}`);
    await stopProcesses([stale.pid]);
  }
  log(`${spec.label}: starting`);
  await spec.start();
  const started = await poll(
    async () => {
      const pid = await runningDaemon(spec.pidFile, spec.expected);
      return pid === undefined ? notYet() : done(pid);
    },
    { intervalMs: 100, timeoutMs: 10_000 },
  );
  if (started.ok) return started.value;
  throw new InfraError(`${spec.label} did not start (no live process in ${spec.pidFile})`, { code: 'E_LAB' });
}

export async function hostDaemonExpectation(target: HostNamespaceFiles, comm: string): Promise<DaemonExpectation> {
  return { comm, netns: await namespaceId(netnsPath(target.host.netns)), mntns: await namespaceId(target.paths.mountNs) };
}

export async function virtlogdSpec(target: HostNamespaceFiles): Promise<DaemonSpec> {
  return {
    label: `${target.host.name}: virtlogd`,
    pidFile: target.paths.virtlogdPid,
    expected: await hostDaemonExpectation(target, 'virtlogd'),
    start: () => inHost(target, ['virtlogd', '--daemon', '--pid-file', '/run/libvirt/virtlogd.pid']),
  };
}

export async function libvirtdSpec(target: HostNamespaceFiles): Promise<DaemonSpec> {
  return {
    label: `${target.host.name}: libvirtd`,
    pidFile: target.paths.libvirtdPid,
    expected: await hostDaemonExpectation(target, 'libvirtd'),
    start: () => inHost(target, ['libvirtd', '--daemon', '--listen', '--pid-file', '/run/libvirt/libvirtd.pid']),
  };
}

/** The URI of a host's own UNIX socket, as seen from the root namespace (no ssh involved). */
export function localSocketUri(target: HostNamespaceFiles): string {
  return `qemu+unix:///system?socket=${target.paths.libvirtSocket}`;
}

/** Polls `virsh -c URI hostname` until it answers; returns the hostname. */
export async function waitForLibvirt(uri: string, label: string, timeoutMs: number): Promise<string> {
  const answered = await poll(
    async () => {
      const result = await run('virsh', ['-c', uri, 'hostname'], { allowFailure: true, timeoutMs: 30_000 }).catch((error: Error) => ({ exitCode: -1, stdout: '', stderr: error.message }));
      if (result.exitCode === 0 && result.stdout.trim()) return done(result.stdout.trim());
      return notYet(result.stderr.trim().split('\n').slice(-2).join(' | '));
    },
    { intervalMs: 300, timeoutMs },
  );
  if (answered.ok) return answered.value;
  throw new InfraError(`${label} did not answer on ${uri} within ${Math.round(timeoutMs / 1000)} s: ${answered.last}`, { code: 'E_LAB' });
}

/** The arguments this version starts the lab's dnsmasq with. */
function labDnsmasqArgs(paths: LabPaths): string[] {
  return dnsmasqArgs({
    interfaceName: GUEST_BRIDGE,
    range: DHCP_RANGE,
    ntpServer: NTP_SERVER_ADDRESS,
    metadataRoute: { address: METADATA_ADDRESS, gateway: METADATA_GATEWAY },
    leasesFile: paths.lab.leases,
    pidFile: paths.lab.dnsmasqPid,
    logFile: paths.lab.dnsmasqLog,
  });
}

export async function dnsmasqSpec(paths: LabPaths): Promise<DaemonSpec> {
  const args = labDnsmasqArgs(paths);
  return {
    label: 'lab: dnsmasq (DHCP)',
    pidFile: paths.lab.dnsmasqPid,
    expected: { comm: 'dnsmasq', netns: await namespaceId(netnsPath(LAB_NETNS)) },
    start: () => run('nsenter', [`--net=${netnsPath(LAB_NETNS)}`, '--', 'dnsmasq', ...args], { timeoutMs: 30_000 }),
  };
}

/** The arguments of a running process (/proc/<pid>/cmdline), program name dropped; undefined when gone. */
export async function processArgs(pid: number): Promise<string[] | undefined> {
  const text = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return text === undefined
    ? undefined
    : text
        .split('\0')
        .filter((arg, i, all) => !(i === all.length - 1 && arg === ''))
        .slice(1);
}

/**
 * True when the lab's dnsmasq runs with other arguments than this version asks for (e.g. the old 1-hour
 * leases, or no NTP server option): `lab up` restarts it.
 */
export async function dnsmasqOutdated(paths: LabPaths): Promise<boolean> {
  const spec = await dnsmasqSpec(paths);
  return runsWithOtherArgs(spec, labDnsmasqArgs(paths));
}

async function runsWithOtherArgs(spec: DaemonSpec, wanted: readonly string[]): Promise<boolean> {
  const pid = await runningDaemon(spec.pidFile, spec.expected);
  if (pid === undefined) return false;
  const args = await processArgs(pid);
  return args !== undefined && !sameArgs(args, wanted);
}

/** The text of the lab's chrony.conf (see chronyConf for every directive). */
export function labChronyConf(paths: LabPaths): string {
  return chronyConf({ bindAddress: NTP_SERVER_ADDRESS, allow: GUEST_CIDR, stratum: NTP_LOCAL_STRATUM, pidFile: paths.lab.chrony.pid });
}

function labChronydArgs(paths: LabPaths): string[] {
  return chronydArgs({ configFile: paths.lab.chrony.config, logFile: paths.lab.chrony.log });
}

/**
 * The lab's NTP server: chronyd in the lab namespace (where dnsmasq runs), serving this machine's clock
 * on the guest network and never adjusting it. Its config must be written first (writeChronyConf).
 */
export async function chronydSpec(paths: LabPaths): Promise<DaemonSpec> {
  return {
    label: 'lab: chronyd (NTP)',
    pidFile: paths.lab.chrony.pid,
    // Its pid file outlives it (see start): a chronyd of the machine's may have that pid now.
    ownArgument: paths.lab.chrony.config,
    expected: { comm: 'chronyd', netns: await namespaceId(netnsPath(LAB_NETNS)) },
    // chronyd refuses to start while the pid in its pid file is alive, and after dropping root it cannot
    // delete the file on exit: a pid left there may belong to another process by now. ensureDaemon
    // starts only when no lab chronyd runs, so the file is stale here.
    start: async () => {
      await rm(paths.lab.chrony.pid, { force: true });
      return run('nsenter', [`--net=${netnsPath(LAB_NETNS)}`, '--', 'chronyd', ...labChronydArgs(paths)], { timeoutMs: 30_000 });
    },
  };
}

/** Writes the lab's chrony.conf; true when it changed (a running chronyd then reads it only on restart). */
export async function writeChronyConf(paths: LabPaths): Promise<boolean> {
  return writeIfChanged(paths.lab.chrony.config, labChronyConf(paths), 0o644);
}

/** True when the lab's chronyd runs with other arguments than this version asks for: `lab up` restarts it. */
export async function chronydOutdated(paths: LabPaths): Promise<boolean> {
  return runsWithOtherArgs(await chronydSpec(paths), labChronydArgs(paths));
}

export function sameArgs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((arg, i) => arg === b[i]);
}
