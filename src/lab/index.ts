/**
 * The local two-host lab: two libvirt hosts (hv1, hv2) on this machine, each in its own network,
 * mount and UTS namespaces with its own virtlogd, libvirtd and sshd, joined by a management
 * network (10.77.0.0/24) and one guest L2 segment (10.78.0.0/24, DHCP without a route out).
 * See layout.ts for the picture and the names.
 */
import { InfraError, isImgtestError } from '../errors.js';
import { down } from './down.js';
import { gateLabDown, joinLab } from './lab-share.js';
import { withLabLock } from './lock.js';
import { releaseLabShare } from './run-registry.js';
import { HOST_SPECS, labPaths } from './layout.js';
import { describeHost, readLabStatus, type LabHost, type LabStatus } from './status.js';
import { up } from './up.js';

export type { LabHost, LabHostStatus, LabStatus } from './status.js';

type Log = (line: string) => void;

// up and down change one shared set of namespaces: never two at once, in this process (queue) or on the machine (lock).
let queue: Promise<unknown> = Promise.resolve();
function serialized<T>(task: () => Promise<T>): Promise<T> {
  const result = queue.then(task, task);
  queue = result.catch(() => undefined);
  return result;
}

/** Every failure leaves as an InfraError (exit code 3), naming the step that failed. */
async function asInfraError<T>(what: string, task: () => Promise<T>): Promise<T> {
  try {
    return await task();
  } catch (error) {
    if (isImgtestError(error)) throw error;
    throw new InfraError(`${what}: ${(error as Error).message}`, { cause: error, code: 'E_LAB' });
  }
}

/** Starts the lab, or repairs whatever part of it is missing or dead; idempotent. Returns once both libvirtds answer over their URIs. */
export async function labUp(options: { log?: Log } = {}): Promise<LabStatus> {
  const log = options.log ?? (() => undefined);
  return asInfraError('lab up', async () => {
    const paths = labPaths();
    const status = await serialized(() =>
      withLabLock(
        paths.root,
        log,
        async () => {
          await up(paths, log);
          return readLabStatus(paths);
        },
        undefined,
        'up',
      ),
    );
    const notRunning = status.hosts.filter((h) => !h.running).map((h) => h.name);
    if (!status.up) throw new InfraError(`lab up finished but the lab is not up${notRunning.length ? ` (not answering: ${notRunning.join(', ')})` : ''}; see ${status.stateDir}`, { code: 'E_LAB' });
    return status;
  });
}

/**
 * Removes everything labUp made (domains left on the hosts included); quiet when the lab is half up or
 * already down. Refuses (exit 3, naming them) while runs hold the lab's shared lock, before touching
 * anything and again once it holds the exclusive lock; `force` stops those runs first.
 */
export async function labDown(options: { log?: Log; force?: boolean } = {}): Promise<void> {
  const log = options.log ?? (() => undefined);
  return asInfraError('lab down', async () => {
    const paths = labPaths();
    await gateLabDown({ force: options.force, log });
    return serialized(() =>
      withLabLock(
        paths.root,
        log,
        async () => {
          await gateLabDown({ force: options.force, log });
          await down(paths, log);
        },
        undefined,
        'down',
      ),
    );
  });
}

/** A run that uses the lab's hosts holds the lab's shared lock until `leaveLab` (see lab-share.ts). */
export async function useLab(runId: string, options: { log?: Log } = {}): Promise<void> {
  await joinLab(runId, labPaths().root, { log: options.log ?? (() => undefined) });
}

export async function leaveLab(runId: string): Promise<void> {
  await releaseLabShare(runId);
}

export async function labStatus(): Promise<LabStatus> {
  return readLabStatus(labPaths());
}

/** The two hosts as libvirt sees them from the root namespace (static: no side effects, valid once the lab is up). */
export function labHosts(): LabHost[] {
  const paths = labPaths();
  return HOST_SPECS.map((host) => describeHost(host, paths));
}

export async function labIsUp(): Promise<boolean> {
  return (await labStatus()).up;
}
