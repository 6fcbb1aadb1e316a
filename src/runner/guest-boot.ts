import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BootError, InfraError } from '../errors.js';
import { macFromBytes, renderDomainXml, type DomainSpec } from '../hosts/domain-xml.js';
import type { LibvirtHost } from '../hosts/libvirt-host.js';
import { buildSeedIso } from '../hosts/seed.js';
import { addressFromConsole, bootRefusal, hostKeysFromConsole, kvmFailure, lastLines } from '../guest/serial.js';
import { closeMaster, sshExec, sshReady, sshScript, sshTryLogin, writeKnownHosts, type SshTarget } from '../guest/ssh.js';
import type { Firmware, GuestHandle, HostInfo, SeedInfo } from '../suite-api/index.js';
import type { CleanupRegistry } from './cleanup.js';
import { RunnerGuestHypervisor, type MigrationSupport } from './guest-migration.js';

export interface GuestBootSpec {
  runId: string;
  key: string;
  host: LibvirtHost;
  hostInfo: HostInfo;
  firmware: Firmware;
  virtType: 'kvm' | 'qemu';
  baseVolume: string;
  baseFormat: string;
  overlayBytes: number;
  memoryMiB: number;
  vcpus: number;
  user: string;
  publicKey: string;
  privateKeyFile: string;
  workDir: string;
  bootTimeoutSeconds: number;
  cleanup: CleanupRegistry;
  keep: boolean;
  onState(state: string, detail?: string): void;
  signal?: AbortSignal;
  /** The run's hosts and base volumes, so the guest can move live (`handle.hypervisor.migrate`). */
  migration?: MigrationSupport;
}

export interface BootedGuest {
  handle: GuestHandle;
  ssh: SshTarget;
  domainXml: string;
  bootSeconds: number;
  pinnedHostKeys: boolean;
  virtType: 'kvm' | 'qemu';
}

/** A guest whose boot failed; carries what was seen so the report can say it. */
export class GuestBootFailure extends BootError {
  constructor(
    message: string,
    evidence: string,
    readonly kvmBroken = false,
    /** `image`: the firmware refused the image's loader or found nothing to boot on it. */
    readonly cause: 'image' | 'infrastructure' = 'infrastructure',
  ) {
    super(message, evidence);
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new InfraError('interrupted', { code: 'E_INTERRUPTED' }));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new InfraError('interrupted', { code: 'E_INTERRUPTED' }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** `cloud-init status` says its last stage is over (done, or finished with errors). */
export function cloudInitFinished(statusOutput: string): boolean {
  return /^status:\s*(done|error|degraded done|degraded error|disabled)\s*$/m.test(statusOutput);
}

export function guestNames(runId: string, key: string) {
  const domain = `imgtest-${runId}-${key}`;
  return { domain, overlay: `${domain}.qcow2`, seed: `${domain}-seed.iso`, serialLog: `${domain}.serial.log` };
}

/**
 * Creates one guest on one host (seed, overlay, domain), powers it on, and waits until SSH answers
 * with the run's key and cloud-init has finished. Every thing it creates is registered for cleanup
 * the moment it exists.
 */
export async function bootGuest(spec: GuestBootSpec): Promise<BootedGuest> {
  const { host } = spec;
  const names = guestNames(spec.runId, spec.key);
  const mac = macFromBytes(randomBytes(3));
  const hostname = `imgtest-${spec.runId.slice(-4)}-${spec.key}`;
  const seed: SeedInfo = { instanceId: `iid-${names.domain}`, hostname, user: spec.user, authorizedKeys: [spec.publicKey], privateKeyFile: spec.privateKeyFile };

  const iso = await buildSeedIso({ instanceId: seed.instanceId, hostname, user: spec.user, authorizedKeys: seed.authorizedKeys }, spec.workDir);
  if (!spec.keep) spec.cleanup.add(`${host.name}: seed ${names.seed}`, () => host.deleteVolume(names.seed));
  await host.uploadVolume(names.seed, iso);
  if (!spec.keep) spec.cleanup.add(`${host.name}: overlay ${names.overlay}`, () => host.deleteVolume(names.overlay));
  await host.createOverlay(names.overlay, spec.baseVolume, spec.baseFormat, spec.overlayBytes);

  const poolPath = await host.poolPath();
  const domainSpec: DomainSpec = {
    name: names.domain,
    runId: spec.runId,
    virtType: spec.virtType,
    memoryMiB: spec.memoryMiB,
    vcpus: spec.vcpus,
    firmware: spec.firmware,
    pool: host.pool,
    diskVolume: names.overlay,
    seedVolume: names.seed,
    mac,
    network: host.config.network,
    serialLogPath: join(poolPath, names.serialLog),
  };
  const xmlFile = join(spec.workDir, `${names.domain}.xml`);
  await writeFile(xmlFile, renderDomainXml(domainSpec));
  if (!spec.keep) {
    spec.cleanup.add(`${host.name}: serial log ${names.serialLog}`, async () => {
      await host.refreshPool();
      await host.deleteVolume(names.serialLog);
    });
    spec.cleanup.add(`${host.name}: domain ${names.domain}`, () => host.removeDomain(names.domain));
  }
  await host.defineDomain(xmlFile);
  const started = Date.now();
  spec.onState('starting', `${spec.firmware}, ${spec.virtType === 'kvm' ? 'KVM' : 'TCG'}`);
  try {
    await host.startDomain(names.domain);
  } catch (error) {
    const message = (error as Error).message;
    // QEMU refusing to start under KVM (e.g. "failed to set MSR") is the host's KVM, not the image.
    throw new GuestBootFailure(`${names.domain}: could not start: ${message}`, '', spec.virtType === 'kvm' && /kvm|MSR/i.test(message));
  }
  const domainXml = await host.dumpXml(names.domain).catch(() => readFile(xmlFile, 'utf8'));

  const knownHostsFile = join(spec.workDir, `${names.domain}.known_hosts`);
  const ssh: SshTarget = { address: '', user: spec.user, keyFile: spec.privateKeyFile, knownHostsFile, pinned: false, controlPath: join(spec.workDir, `${spec.key}.ctl`) };
  const serialLog = async () => host.readPoolFile(names.serialLog);
  const deadline = started + spec.bootTimeoutSeconds * 1000;
  let console = '';
  let addressSince = 0;
  let lastSshDetail = '';
  let hostKeys: string[] = [];
  let polls = 0;

  const failure = (message: string, kvmBroken = false, cause: 'image' | 'infrastructure' = 'infrastructure') => new GuestBootFailure(message, lastLines(console, 30), kvmBroken, cause);

  while (true) {
    const elapsed = Math.round((Date.now() - started) / 1000);
    if (Date.now() > deadline) {
      console = (await serialLog()) || console;
      if (!ssh.address) throw failure(`${names.domain}: no DHCP address seen after ${elapsed} s${console.trim() ? '' : ' (serial console empty)'}`);
      if (!lastSshDetail.startsWith('ok')) throw failure(`${names.domain}: SSH at ${ssh.address} not answering after ${elapsed} s (${lastSshDetail || 'no answer'})`);
      throw failure(`${names.domain}: cloud-init did not finish within ${elapsed} s`);
    }
    const state = await host.domainState(names.domain);
    if (state && state.state !== 'running') {
      console = (await serialLog()) || console;
      if (state.state === 'paused' && spec.virtType === 'kvm') throw failure(`${names.domain}: KVM stopped the guest (${state.state}, ${state.reason ?? 'no reason'})${kvmFailure(console) ? `: ${kvmFailure(console)}` : ''}`, true);
      const refusal = bootRefusal(console);
      throw failure(`${names.domain}: guest is ${state.state}${state.reason ? ` (${state.reason})` : ''} after ${elapsed} s${refusal ? `: ${refusal}` : ''}`, false, refusal ? 'image' : 'infrastructure');
    }
    if (polls++ % 2 === 0 || !ssh.address) console = (await serialLog()) || console;
    if (!ssh.address) {
      const refusal = bootRefusal(console);
      if (refusal) throw failure(`${names.domain} (${spec.firmware}): ${refusal}`, false, 'image');
    }

    if (!ssh.address) {
      const address = addressFromConsole(console, mac) ?? (elapsed > 30 ? (await host.agentAddresses(names.domain)).find((a) => a.mac === mac)?.address : undefined);
      if (address) {
        ssh.address = address;
        addressSince = Date.now();
        spec.onState('address', `${address} after ${elapsed} s`);
      }
    }
    if (!hostKeys.length) {
      hostKeys = hostKeysFromConsole(console);
      if (hostKeys.length && ssh.address) {
        await writeKnownHosts(knownHostsFile, ssh.address, hostKeys);
        ssh.pinned = true;
      }
    }
    // Host keys are printed late in cloud-init's final stage; wait for them before trusting the first
    // key we are shown, and fall back to trust-on-first-use only for images that never print them.
    const tofuAllowed = addressSince && Date.now() - addressSince > 120_000;
    if (ssh.address && (ssh.pinned || tofuAllowed)) {
      const ready = await sshReady(ssh);
      lastSshDetail = ready.ready ? 'ok' : ready.detail;
      if (ready.ready) break;
    }
    await sleep(3000, spec.signal);
  }
  spec.onState('ssh', `${ssh.address} after ${Math.round((Date.now() - started) / 1000)} s${ssh.pinned ? ', host key pinned from console' : ', host key trusted on first use'}`);

  // `--wait` can return early when the SSH connection drops under load (exit 255): only cloud-init's
  // own word that it finished ends the wait.
  while (true) {
    const remaining = Math.max(10_000, deadline - Date.now());
    const wait = await sshExec(ssh, ['cloud-init', 'status', '--wait'], { timeoutMs: remaining }).catch((error: Error) => ({ exitCode: -1, stdout: '', stderr: error.message }));
    if (wait.exitCode === -1) throw failure(`${names.domain}: cloud-init did not finish: ${wait.stderr.split('\n').pop()}`);
    const status = await sshExec(ssh, ['cloud-init', 'status'], { timeoutMs: 60_000 }).catch(() => undefined);
    if (status && cloudInitFinished(status.stdout)) break;
    if (Date.now() > deadline) throw failure(`${names.domain}: cloud-init did not finish within ${Math.round((Date.now() - started) / 1000)} s (${status?.stdout.trim() || 'no answer'})`);
    await sleep(3000, spec.signal);
  }
  if (!ssh.pinned) {
    // cloud-init prints the host keys in its final stage, which has now finished: the key we
    // trusted on first use must be one of them, before any check talks to this guest.
    console = (await serialLog()) || console;
    hostKeys = hostKeysFromConsole(console);
    if (hostKeys.length) {
      const seen = await readFile(knownHostsFile, 'utf8').catch(() => '');
      const seenKeys = seen.split('\n').map((line) => line.split(/\s+/).slice(1, 3).join(' ')).filter(Boolean);
      if (!seenKeys.some((key) => hostKeys.includes(key))) {
        throw failure(`${names.domain}: the SSH host key at ${ssh.address} is not one the guest printed on its console (someone else answered?)`);
      }
      await writeKnownHosts(knownHostsFile, ssh.address, hostKeys);
      ssh.pinned = true;
      spec.onState('pinned', 'host key verified against the console after cloud-init finished');
    }
  }
  const bootSeconds = Math.round((Date.now() - started) / 1000);
  spec.onState('ready', `cloud-init finished after ${bootSeconds} s`);
  if (!spec.keep) spec.cleanup.add(`${names.domain}: ssh master`, () => closeMaster(ssh));

  const hypervisor = new RunnerGuestHypervisor({
    name: names.domain, runId: spec.runId, key: spec.key, boot: { host, info: spec.hostInfo },
    overlay: names.overlay, seed: names.seed, seedIso: iso, serialLog: names.serialLog, overlayBytes: spec.overlayBytes,
    baseVolume: spec.baseVolume, baseFormat: spec.baseFormat, cleanup: spec.cleanup, keep: spec.keep, workDir: spec.workDir, support: spec.migration,
  });
  const handle: GuestHandle = {
    name: names.domain,
    get host() {
      return hypervisor.currentHost();
    },
    address: ssh.address,
    mac,
    firmware: spec.firmware,
    seed,
    consoleHostKeys: hostKeys,
    exec: (argv, options) => sshExec(ssh, argv, options),
    script: (text, args, options) => sshScript(ssh, text, args, options),
    tryLogin: (options) => sshTryLogin(ssh, options),
    // After a move to per-host storage, what the guest printed since is in the current host's file.
    serialLog: async () => {
      const now = hypervisor.currentLibvirtHost();
      const boot = await serialLog();
      if (now === host || spec.migration?.shared) return boot;
      const since = await now.readPoolFile(names.serialLog).catch(() => '');
      return since ? `${boot}\n[imgtest: console on ${now.name} since the guest moved there]\n${since}` : boot;
    },
    hypervisor,
  };
  return { handle, ssh, domainXml, bootSeconds, pinnedHostKeys: ssh.pinned, virtType: spec.virtType };
}
