import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BootError, InfraError } from '../errors.js';
import { macFromBytes, renderDomainXml, type DomainSpec, type GuestVideo } from '../hosts/domain-xml.js';
import type { HypervisorHost } from '../hosts/host.js';
import { buildSeedIso } from '../hosts/seed.js';
import { addressFromConsole, bootRefusal, hostKeysFromConsole, lastLines } from '../guest/serial.js';
import { kvmFallbackReason } from './accel.js';
import { sharedAddressMessage, type GuestAddressBook } from './address-book.js';
import { BootWatch, consoleStage, type BootLimits, type BootStage } from './boot-watch.js';
import { closeMaster, sshExec, sshReady, sshTryLogin, writeKnownHosts, type SshTarget } from '../guest/ssh.js';
import { GuestSession } from '../guest/ssh-session.js';
import type { Firmware, GuestBootStages, GuestHandle, HostInfo, SeedInfo } from '../suite-api/index.js';
import type { CleanupRegistry } from './cleanup.js';
import { RunnerGuestHypervisor, type MigrationSupport } from './guest-migration.js';
import { rebootGuest } from './guest-reboot.js';
import { abortableSleep, done, notYet, poll } from '../util/poll.js';

export interface GuestBootSpec {
  runId: string;
  key: string;
  host: HypervisorHost;
  hostInfo: HostInfo;
  firmware: Firmware;
  virtType: 'kvm' | 'qemu';
  baseVolume: string;
  baseFormat: string;
  overlayBytes: number;
  memoryMiB: number;
  vcpus: number;
  video?: GuestVideo;
  user: string;
  publicKey: string;
  privateKeyFile: string;
  workDir: string;
  /** Silence limits per stage and the overall cap (see boot-watch.ts). */
  limits: BootLimits;
  cleanup: CleanupRegistry;
  keep: boolean;
  onState(state: string, detail?: string): void;
  /** Each stage the boot reaches, as it reaches it (the accelerator probe waits for `kernel`). */
  onStage?(stage: BootStage): void;
  signal?: AbortSignal;
  /** The run's hosts and base volumes, so the guest can move live (`handle.hypervisor.migrate`). */
  migration?: MigrationSupport;
  /** The addresses the run's other guests hold: a guest given one of them fails its boot at once, saying why. */
  addresses?: GuestAddressBook;
  /** Poll interval; tests make it short. */
  pollMs?: number;
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
    /** Set when the failure looks like KVM's, not the image's: why a TCG retry may succeed. */
    readonly kvmFallback?: string,
    /** `image`: the firmware refused the image's loader or found nothing to boot on it. */
    readonly cause: 'image' | 'infrastructure' = 'infrastructure',
  ) {
    super(message, evidence);
  }
}

/** Stops at once when the run is cancelled (rejects with InterruptedError). */
const sleep = abortableSleep;

/** `cloud-init status` says its last stage is over (done, or finished with errors). */
export function cloudInitFinished(statusOutput: string): boolean {
  return /^status:\s*(done|error|degraded done|degraded error|disabled)\s*$/m.test(statusOutput);
}

export function guestNames(runId: string, key: string) {
  const domain = `imgtest-${runId}-${key}`;
  return { domain, overlay: `${domain}.qcow2`, seed: `${domain}-seed.iso`, serialLog: `${domain}.serial.log` };
}

type GuestNames = ReturnType<typeof guestNames>;

/**
 * Creates one guest on one host (seed, overlay, domain), powers it on, and waits until SSH answers
 * with the run's key and cloud-init has finished. Every thing it creates is registered for cleanup
 * the moment it exists.
 */
export async function bootGuest(spec: GuestBootSpec): Promise<BootedGuest> {
  const names = guestNames(spec.runId, spec.key);
  const mac = macFromBytes(randomBytes(3));
  const hostname = `imgtest-${spec.runId.slice(-4)}-${spec.key}`;
  const seed: SeedInfo = { datasource: 'nocloud', instanceId: `iid-${names.domain}`, hostname, user: spec.user, authorizedKeys: [spec.publicKey], privateKeyFile: spec.privateKeyFile };
  const { iso, xmlFile } = await createGuest(spec, names, seed, mac);
  const started = Date.now();
  await powerOn(spec, names);
  const domainXml = await spec.host.dumpXml(names.domain).catch(() => readFile(xmlFile, 'utf8'));

  const ssh: SshTarget = {
    address: '',
    user: spec.user,
    keyFile: spec.privateKeyFile,
    knownHostsFile: join(spec.workDir, `${names.domain}.known_hosts`),
    pinned: false,
    controlPath: join(spec.workDir, `${spec.key}.ctl`),
  };
  const progress = new BootProgress(spec, names, started);
  const hostKeys = await waitForSsh(spec, names, mac, ssh, progress);
  await waitForCloudInit(spec, names, ssh, progress);
  const consoleHostKeys = ssh.pinned && hostKeys.length ? hostKeys : await verifyTrustedKey(spec, ssh, progress);
  const bootSeconds = Math.round((Date.now() - started) / 1000);
  spec.onState('ready', `cloud-init finished after ${bootSeconds} s`);
  if (!spec.keep) spec.cleanup.add(`${names.domain}: ssh master`, () => closeMaster(ssh));
  // The checks' exec channel (ssh2, in process): closed at teardown also with --keep, which keeps the guest, not our connection.
  const session = new GuestSession(ssh);
  spec.cleanup.add(`${names.domain}: ssh session`, () => session.close());
  return guestHandle(spec, names, { iso, mac, seed, ssh, session, hostKeys: consoleHostKeys, domainXml, bootSeconds, stages: progress.stageSeconds(), serialLog: () => progress.readConsole() });
}

/** Seed ISO, overlay and domain definition, each registered for cleanup as it comes to exist. */
async function createGuest(spec: GuestBootSpec, names: GuestNames, seed: SeedInfo, mac: string): Promise<{ iso: string; xmlFile: string }> {
  const { host } = spec;
  // Between steps, a run that was interrupted stops making things (cleanup undoes what exists).
  const stopIfInterrupted = () => spec.signal?.throwIfAborted();
  stopIfInterrupted();
  const iso = await buildSeedIso({ instanceId: seed.instanceId, hostname: seed.hostname, user: spec.user, authorizedKeys: seed.authorizedKeys }, spec.workDir);
  if (!spec.keep) spec.cleanup.add(`${host.name}: seed ${names.seed}`, () => host.deleteVolume(names.seed));
  await host.uploadVolume(names.seed, iso, spec.signal);
  stopIfInterrupted();
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
    video: spec.video,
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
  stopIfInterrupted();
  await host.defineDomain(xmlFile);
  stopIfInterrupted();
  return { iso, xmlFile };
}

async function powerOn(spec: GuestBootSpec, names: GuestNames): Promise<void> {
  spec.onState('starting', `${spec.firmware}, ${spec.virtType === 'kvm' ? 'KVM' : 'TCG'}`);
  try {
    await spec.host.startDomain(names.domain);
  } catch (error) {
    const message = (error as Error).message;
    // Under KVM, QEMU refusing to start ("failed to set MSR", "System Management Mode not supported")
    // is the host's KVM until TCG shows otherwise.
    const fallback = spec.virtType === 'kvm' ? kvmFallbackReason({ phase: 'start', message }) : undefined;
    throw new GuestBootFailure(`${names.domain}: could not start: ${message.split('\n').filter(Boolean).pop() ?? message}`, message, fallback);
  }
}

/** The console and the stage a boot has reached, watched against its limits. */
class BootProgress {
  readonly watch: BootWatch;
  console = '';

  constructor(
    private readonly spec: GuestBootSpec,
    private readonly names: GuestNames,
    readonly started: number,
  ) {
    this.watch = new BootWatch(spec.limits, started);
  }

  async readConsole(): Promise<string> {
    return this.spec.host.readPoolFile(this.names.serialLog);
  }

  /** Reads the console; records output and how far it shows the boot got. */
  async poll(): Promise<void> {
    this.console = (await this.readConsole().catch(() => '')) || this.console;
    this.reach(consoleStage(this.console));
    this.watch.observe(Date.now(), { consoleLength: this.console.length });
  }

  reach(stage: BootStage): void {
    const before = this.watch.current;
    this.watch.observe(Date.now(), { stage });
    if (this.watch.current !== before) {
      this.reachedAt.set(this.watch.current, Date.now());
      this.spec.onStage?.(this.watch.current);
    }
  }

  private readonly reachedAt = new Map<BootStage, number>();

  /** Seconds from power-on to each stage the boot reached. */
  stageSeconds(): GuestBootStages {
    const at = (stage: BootStage) => {
      const time = this.reachedAt.get(stage);
      return time === undefined ? undefined : Math.round((time - this.started) / 100) / 10;
    };
    const stages: GuestBootStages = { firmware: at('firmware'), kernel: at('kernel'), address: at('address'), ssh: at('ssh'), cloudInit: at('cloud-init-done') };
    return Object.fromEntries(Object.entries(stages).filter(([, value]) => value !== undefined));
  }

  get elapsed(): number {
    return Math.round((Date.now() - this.started) / 1000);
  }

  failure(message: string, options: { kvmFallback?: string; cause?: 'image' | 'infrastructure' } = {}): GuestBootFailure {
    return new GuestBootFailure(message, lastLines(this.console, 30), options.kvmFallback, options.cause);
  }

  /** Throws when the guest is stuck by the watch's limits, naming where it stalled. */
  assertMoving(): void {
    const verdict = this.watch.verdict(Date.now());
    if (!verdict.stuck) return;
    throw this.failure(`${this.names.domain}: ${verdict.message}${stallHint(this.console, verdict.stage)}`);
  }

  /** The domain must be running; a stopped or paused one is explained from its console. */
  async assertRunning(): Promise<void> {
    const state = await this.spec.host.domainState(this.names.domain).catch((error: unknown) => {
      // The host stopped answering, not the guest: still the host's error, said for this guest.
      if (error instanceof InfraError) throw new InfraError(`${this.names.domain} (${this.spec.firmware}) on ${this.spec.host.name}: ${error.message}`, { code: error.code, cause: error });
      throw error;
    });
    if (!state || state.state === 'running') return;
    await this.poll();
    const fallback = this.spec.virtType === 'kvm' ? kvmFallbackReason({ phase: 'run', message: '', state: state.state, stateReason: state.reason, console: this.console }) : undefined;
    const refusal = bootRefusal(this.console);
    const why = fallback && state.state === 'paused' ? fallback : `guest is ${state.state}${state.reason ? ` (${state.reason})` : ''}`;
    throw this.failure(`${this.names.domain}: ${why} after ${this.elapsed} s${refusal ? `: ${refusal}` : ''}`, {
      kvmFallback: refusal ? undefined : fallback,
      cause: refusal ? 'image' : 'infrastructure',
    });
  }
}

/** Where a boot stalled, in the console's own words, for stages before the kernel runs. */
export function stallHint(console: string, stage: BootStage): string {
  if (stage !== 'firmware') return stage === 'power-on' ? ' (serial console empty)' : '';
  const last = lastLines(console, 1);
  const inGrub = /GRUB/i.test(console) && !/Loading Linux|Booting `/i.test(console);
  return last ? `; the console stopped${inGrub ? ' in GRUB' : ''} after '${last.slice(0, 120)}'` : '';
}

/** Until SSH answers with the run's key: the address from the console (or agent), host keys pinned. */
async function waitForSsh(spec: GuestBootSpec, names: GuestNames, mac: string, ssh: SshTarget, progress: BootProgress): Promise<string[]> {
  let hostKeys: string[] = [];
  let addressSince = 0;
  // No deadline of the poll's own: the boot watch is the deadline (judged by progress, see
  // boot-watch.ts), and assertMoving throws with the stage the guest is stuck in.
  await poll(
    async () => {
      await progress.assertRunning();
      await progress.poll();
      if (!ssh.address) {
        const refusal = bootRefusal(progress.console);
        if (refusal) throw progress.failure(`${names.domain} (${spec.firmware}): ${refusal}`, { cause: 'image' });
        const address = addressFromConsole(progress.console, mac) ?? (progress.elapsed > 30 ? (await spec.host.agentAddresses(names.domain)).find((a) => a.mac === mac)?.address : undefined);
        if (address) {
          const other = spec.addresses?.claim(spec.host.name, address, { domain: names.domain, mac });
          if (other) throw progress.failure(sharedAddressMessage(names.domain, mac, address, other, spec.host.name), { cause: 'image' });
          ssh.address = address;
          addressSince = Date.now();
          progress.reach('address');
          spec.onState('address', `${address} after ${progress.elapsed} s`);
        }
      }
      if (!hostKeys.length) {
        hostKeys = hostKeysFromConsole(progress.console);
        if (hostKeys.length && ssh.address) {
          await writeKnownHosts(ssh.knownHostsFile, ssh.address, hostKeys);
          ssh.pinned = true;
        }
      }
      // Host keys are printed late in cloud-init's final stage; wait for them before trusting the first
      // key we are shown, and fall back to trust-on-first-use only for images that never print them.
      const tofuAllowed = addressSince && Date.now() - addressSince > 120_000;
      if (ssh.address && (ssh.pinned || tofuAllowed)) {
        const ready = await sshReady(ssh);
        if (ready.ready) return done(undefined);
      }
      progress.assertMoving();
      return notYet();
    },
    { intervalMs: spec.pollMs ?? 3000, signal: spec.signal },
  );
  progress.reach('ssh');
  spec.onState('ssh', `${ssh.address} after ${progress.elapsed} s${ssh.pinned ? ', host key pinned from console' : ', host key trusted on first use'}`);
  return hostKeys;
}

/**
 * Until cloud-init says its last stage is over. Polled rather than `status --wait`: under load a
 * dropped SSH connection ended the wait early (exit 255), and a poll lets the watch see progress.
 */
async function waitForCloudInit(spec: GuestBootSpec, names: GuestNames, ssh: SshTarget, progress: BootProgress): Promise<void> {
  let last = '';
  // As waitForSsh: the boot watch is the deadline.
  await poll(
    async () => {
      const status = await sshExec(ssh, ['cloud-init', 'status', '--long'], { timeoutMs: 60_000 }).catch(() => undefined);
      if (status && cloudInitFinished(status.stdout)) return done(undefined);
      // A new cloud-init stage or module is progress, as is console output.
      const detail = status?.stdout.trim() ?? '';
      if (detail && detail !== last) progress.watch.observe(Date.now(), { activity: true });
      last = detail || last;
      await progress.assertRunning();
      await progress.poll();
      try {
        progress.assertMoving();
      } catch (error) {
        throw progress.failure(`${(error as Error).message}${last ? ` (cloud-init: ${last.split('\n')[0]})` : ''}`);
      }
      return notYet();
    },
    { intervalMs: spec.pollMs ?? 5000, signal: spec.signal },
  );
  progress.reach('cloud-init-done');
}

/**
 * A host key trusted on first use must be one the guest printed on its console once cloud-init's
 * final stage (which prints them) is over, before any check talks to this guest.
 */
async function verifyTrustedKey(spec: GuestBootSpec, ssh: SshTarget, progress: BootProgress): Promise<string[]> {
  await progress.poll();
  const hostKeys = hostKeysFromConsole(progress.console);
  if (ssh.pinned || !hostKeys.length) return hostKeys;
  const seen = await readFile(ssh.knownHostsFile, 'utf8').catch(() => '');
  const seenKeys = seen
    .split('\n')
    .map((line) => line.split(/\s+/).slice(1, 3).join(' '))
    .filter(Boolean);
  if (!seenKeys.some((key) => hostKeys.includes(key))) {
    throw progress.failure(`${ssh.address}: the SSH host key is not one the guest printed on its console (someone else answered?)`);
  }
  await writeKnownHosts(ssh.knownHostsFile, ssh.address, hostKeys);
  ssh.pinned = true;
  spec.onState('pinned', 'host key verified against the console after cloud-init finished');
  return hostKeys;
}

function guestHandle(
  spec: GuestBootSpec,
  names: GuestNames,
  booted: {
    iso: string;
    mac: string;
    seed: SeedInfo;
    ssh: SshTarget;
    session: GuestSession;
    hostKeys: string[];
    domainXml: string;
    bootSeconds: number;
    stages: GuestBootStages;
    serialLog: () => Promise<string>;
  },
): BootedGuest {
  const { host } = spec;
  const { ssh, session, mac, seed, iso, serialLog } = booted;
  const hostKeys = booted.hostKeys;
  const hypervisor = new RunnerGuestHypervisor({
    name: names.domain,
    runId: spec.runId,
    key: spec.key,
    boot: { host, info: spec.hostInfo },
    overlay: names.overlay,
    seed: names.seed,
    seedIso: iso,
    serialLog: names.serialLog,
    overlayBytes: spec.overlayBytes,
    baseVolume: spec.baseVolume,
    baseFormat: spec.baseFormat,
    cleanup: spec.cleanup,
    keep: spec.keep,
    workDir: spec.workDir,
    support: spec.migration,
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
    metadataRequests: () => [],
    // Commands run over the ssh2 session; logins from outside stay with the OpenSSH client.
    exec: (argv, options) => session.exec(argv, options),
    script: (text, args, options) => session.script(text, args, options),
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
    boot: { accel: spec.virtType === 'kvm' ? 'kvm' : 'tcg', seconds: booted.bootSeconds, stages: booted.stages },
    diskBytes: spec.overlayBytes,
    reboot: (options) =>
      rebootGuest(
        {
          exec: (argv, execOptions) => session.exec(argv, execOptions),
          dropConnection: () => session.close(),
          readConsole: () => handle.serialLog(),
          now: () => Date.now(),
          sleep: (ms) => sleep(ms, spec.signal),
        },
        { timeoutSeconds: options?.timeoutSeconds ?? spec.limits.totalSeconds, pollMs: spec.pollMs },
      ),
  };
  return { handle, ssh, domainXml: booted.domainXml, bootSeconds: booted.bootSeconds, pinnedHostKeys: ssh.pinned, virtType: spec.virtType };
}
