/**
 * The plugin contract. A suite is a plain module that exports a `Suite`; built-in suites in
 * `suites/<id>/` use only what this file exports, exactly as a third party would.
 *
 * The runner reads `requires` to plan guests (the planner boots the fewest guests that serve the
 * selected suites and shares one between suites that leave it unchanged), then calls each check's
 * `run` with a `CheckContext`. A check returns pass/fail/skip with a one-line message and evidence;
 * it throws only when something outside the image broke (that becomes a JUnit `<error>`).
 */

import type { StandardSchemaV1 } from './standard-schema.js';

export type { StandardSchemaV1 } from './standard-schema.js';

export type Severity = 'must' | 'should';
export type Firmware = 'bios' | 'uefi' | 'uefi-secureboot';

/**
 * How a guest receives its cloud-init data, as the cloud the image is meant for delivers it (see
 * docs/datasources.md for what each one emulates):
 * - `nocloud`: a seed disk labelled `cidata` (the default);
 * - `configdrive`: OpenStack's config drive, a disk labelled `config-2`;
 * - `openstack`: OpenStack's metadata service over HTTP, the domain's SMBIOS saying `OpenStack Nova`;
 * - `ec2`: AWS's instance metadata service (IMDS), IMDSv1 and IMDSv2 both answered;
 * - `ec2-imdsv2-only`: the same, but a request without an IMDSv2 session token is refused (401), as on
 *   an instance launched with `HttpTokens=required`;
 * - `exoscale`: Exoscale's metadata service and its password server (port 8080).
 * The HTTP ones are served by imgtest itself at 169.254.169.254, per guest, and every request is logged.
 */
export type Datasource = 'nocloud' | 'configdrive' | 'openstack' | 'ec2' | 'ec2-imdsv2-only' | 'exoscale';
export const DATASOURCES: readonly Datasource[] = ['nocloud', 'configdrive', 'openstack', 'ec2', 'ec2-imdsv2-only', 'exoscale'];

export interface GuestRequirements {
  /** How many guests the suite needs at once (e.g. 2 to compare host keys between guests). */
  count: number;
  /** `spread`: put guests on different hosts when there are enough; `any`: wherever the planner likes. */
  placement: 'any' | 'spread';
  /**
   * `shared`: the suite only reads the guest, so the guest may serve other suites too.
   * `exclusive`: the suite changes the guest (reboots, migrates it, edits config): it runs after every
   * shared suite, on a guest they have finished with (or one of its own when none is free), and no
   * other suite runs on that guest after it.
   */
  sharing: 'shared' | 'exclusive';
  /** Firmware the guests must boot with; default: whatever the run's firmware setting resolves to. */
  firmware?: Firmware;
  /**
   * Run the checks even when a guest failed to boot, with the failure in `context.bootFailures`
   * (e.g. a UEFI suite reports the firmware refusing the loader as its own check's failure).
   * Without it, a failed boot becomes one `boot` case and every check is skipped.
   */
  seesFailedBoots?: boolean;
  /**
   * `every` (default): the suite runs once per firmware of the run's matrix.
   * `first`: once, with the matrix's first firmware (what the image prefers): for costly suites
   * whose subject is not the firmware, e.g. live migration.
   * `any`: once, on guests of any firmware of the run (they may differ): for suites that compare
   * guests with each other but do not care how they booted (e.g. cloud-init's per-instance identity);
   * `context.firmware` is then undefined and each guest's `firmware` says how it booted.
   */
  firmwareMatrix?: 'every' | 'first' | 'any';
  /**
   * `first` (default): the suite runs once, on guests provisioned with the first datasource of the run
   * (`datasource:` / `--datasource`; `nocloud` unless set). `every`: once per datasource of the run, on
   * guests provisioned with it (`context.datasource` says which): for suites about provisioning itself.
   */
  datasourceMatrix?: 'every' | 'first';
}

export interface SuiteRequirements {
  /** Runs on the image file itself, before and beside any boot; gets no guests. */
  offline?: boolean;
  /** Guests to boot for this suite; absent for offline suites. */
  guests?: GuestRequirements;
  /** Minimum number of hypervisor hosts (live migration needs 2). */
  minHosts?: number;
}

/**
 * A suite. `Options` is what its `optionsSchema` outputs (inferred by `defineSuite`); `unknown` for a
 * suite without one.
 */
export interface Suite<Options = unknown> {
  /** The contract version the suite was written against (`SUITE_API_VERSION`; `defineSuite` sets it). */
  apiVersion?: number;
  /** Stable id, used on the command line (`--suite`) and as the JUnit class name. */
  id: string;
  title: string;
  description?: string;
  /**
   * More about the suite for `imgtest suites`, printed as it is (indented) under the suite's checks:
   * what a reader needs to judge its verdicts that the check list does not show, e.g. how each check
   * weighs under each of the suite's policy profiles. Plain text, lines of at most about 120 columns.
   */
  details?: string;
  /**
   * Tags every check of the suite carries (a check's own `tags` add to these), for `imgtest run --tag`
   * and `--exclude-tag`. Lower-case words (letters, digits, dashes). The built-in suites use this small
   * vocabulary, and a third party's suite should prefer it where a word fits:
   *
   *   security    a weakness an attacker could use (credentials, keys, weak algorithms, CVEs)
   *   ssh         the SSH server, its keys and logins
   *   boot        how the image boots and comes up (bootloader, kernel, units, boot time, reboot)
   *   firmware    BIOS, UEFI, Secure Boot
   *   network     addresses, DHCP, network configuration, reachability
   *   storage     disks, partitions, filesystems, swap
   *   time        clock and time synchronisation
   *   packages    installed packages and the package database
   *   hygiene     what the build left behind in the image
   *   cloud-init  provisioning by cloud-init (datasource, seed, per-instance state)
   *   migration   live migration between hosts
   *   offline     read from the image file, without booting it
   */
  tags?: readonly string[];
  requires: SuiteRequirements;
  /** Every check the suite has (what `imgtest suites` lists); a run has all of them unless `checksFor` says otherwise. */
  checks: readonly Check[];
  /**
   * The schema of the suite's section of the run config (`suites: { <id>: {...} }`): any Standard Schema
   * (https://standardschema.dev: zod 4, valibot, ArkType... or an object with a hand-written
   * `~standard.validate`). imgtest validates the section (`{}` when absent) when the suites are loaded,
   * before anything is hashed or booted, and refuses the run (exit 2) with every issue as
   * `<config file>:<line>: suites.<id>.<field>: <message>`. The schema's output (defaults filled in) is
   * what `checksFor` and `context.options` receive. Without a schema the section is passed as written.
   */
  optionsSchema?: StandardSchemaV1<unknown, Options>;
  /**
   * The checks a run with these options has, of `checks` (by id, in any order), e.g. only the legs a
   * live migration is configured for. Called once per run with the validated options (the schema's
   * output). Absent: every check of `checks`.
   */
  checksFor?(options: Options): readonly Check[];
}

export interface Check {
  /** Stable id, prefixed by the suite's short prefix (e.g. `ci-status`); the JUnit test name starts with it. */
  id: string;
  title: string;
  severity: Severity;
  /** Tags of this check beyond its suite's `tags` (the check has both; see `Suite.tags` for the vocabulary). */
  tags?: readonly string[];
  /**
   * The longest the check may run, in seconds (default `DEFAULT_CHECK_TIMEOUT_SECONDS`). When it runs
   * out, `context.signal` fires (a check running a tool stops it) and the case ends as an infrastructure
   * `<error>` ("did not finish within N s"), never a failure of the image; the run goes on.
   */
  timeoutSeconds?: number;
  run(context: CheckContext): Promise<CheckOutcome>;
}

/**
 * A check's timeout when it sets none: an hour, longer than anything a check does on a slow TCG host
 * (a reboot, a live migration leg), so it only ends a check that hangs.
 */
export const DEFAULT_CHECK_TIMEOUT_SECONDS = 3600;

export type CheckOutcome =
  | { status: 'pass'; message: string; evidence?: string; severity?: Severity }
  | { status: 'fail'; message: string; evidence?: string; severity?: Severity }
  | { status: 'skip'; message: string; evidence?: string; severity?: Severity };
// `severity` on an outcome overrides the check's declared one for this result, for checks whose
// weight depends on the image or the config (e.g. Secure Boot: `must` when the image claims it,
// `should` otherwise). The declared severity is what `imgtest suites` lists and skipped cases carry.

export const pass = (message: string, evidence?: string): CheckOutcome => ({ status: 'pass', message, evidence });
export const fail = (message: string, evidence?: string): CheckOutcome => ({ status: 'fail', message, evidence });
export const skip = (message: string, evidence?: string): CheckOutcome => ({ status: 'skip', message, evidence });

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface ExecOptions {
  /** Run through `sudo -n` (the seeded user has passwordless sudo). */
  sudo?: boolean;
  input?: string;
  timeoutMs?: number;
}

/** What an SSH login attempt from outside the guest saw. */
export interface LoginAttempt {
  /** The login succeeded and ran `true`. */
  accepted: boolean;
  /** Authentication methods the server still offered when it refused (e.g. ['publickey']). */
  methodsOffered: string[];
  /** ssh's own last lines, for evidence. */
  transcript: string;
}

export interface LoginOptions {
  user?: string;
  /** A private key file; omit to try with no key at all. */
  keyFile?: string;
  /** Ask only for these methods, e.g. ['none'] to learn which methods the server offers. */
  preferredAuthentications?: string[];
}

/** What the run gave the guest through cloud-init, by the guest's datasource. */
export interface SeedInfo {
  /** How the data reached the guest (a seed disk, or imgtest's metadata service over HTTP). */
  datasource: Datasource;
  instanceId: string;
  hostname: string;
  user: string;
  /** The public keys put into user-data, one OpenSSH line each. */
  authorizedKeys: string[];
  /** Private key matching authorizedKeys[0], on the machine running imgtest. */
  privateKeyFile: string;
}

/** One request a guest made to imgtest's metadata service (logged as it was answered). */
export interface MetadataRequest {
  /** When it was answered (ISO 8601). */
  at: string;
  /** `metadata`: the metadata service (port 80); `password`: Exoscale's password server (port 8080). */
  service: 'metadata' | 'password';
  /** The guest's address the request came from. */
  from: string;
  method: string;
  /** The request path, query included. */
  path: string;
  /** The HTTP status answered. */
  status: number;
  /**
   * EC2 only: `issued` for a token request (`PUT /latest/api/token`); on other requests whether an
   * IMDSv2 token came with it and was good (`valid`), bad or expired (`invalid`), or none came (`absent`).
   */
  token?: 'issued' | 'valid' | 'invalid' | 'absent';
  /** Exoscale's password server: the `DomU_Request` header (`send_my_password`, `saved_password`). */
  domuRequest?: string;
  userAgent?: string;
}

export interface HostInfo {
  name: string;
  uri: string;
  /** The URI the other hosts use to reach this one (peer-to-peer migration). */
  migrationUri: string;
  libvirtVersion?: string;
  qemuVersion?: string;
}

export interface GuestHandle {
  /** The libvirt domain name (carries the run id). */
  name: string;
  /** The host the guest runs on now (it changes when the guest migrates, see `hypervisor`). */
  readonly host: HostInfo;
  address: string;
  mac: string;
  firmware: Firmware;
  seed: SeedInfo;
  /** Host public keys as the guest printed them on its serial console at boot (OpenSSH lines), if it did. */
  consoleHostKeys: string[];
  /**
   * What the guest asked imgtest's metadata service so far, in order (empty for the seed-disk
   * datasources `nocloud` and `configdrive`): the evidence of how the image talks to its cloud.
   */
  metadataRequests(): readonly MetadataRequest[];
  /** Run a program in the guest as the seeded user, over SSH, with an argument array. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Run a fixed script (the suite's own text, not input) with `sh -s`; pass data in `args`. */
  script(text: string, args?: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Try an SSH login from outside, the way a user or an attacker would. */
  tryLogin(options: LoginOptions): Promise<LoginAttempt>;
  /** The serial console captured from power-on so far. */
  serialLog(): Promise<string>;
  /** The guest as its hypervisors see it: where it runs, its libvirt definition, and moving it live. */
  hypervisor: GuestHypervisor;
  /** How this guest's first boot went, as the runner measured it from outside. */
  readonly boot: GuestBootInfo;
  /**
   * The size of the guest's disk in bytes: the image's virtual size plus `guest.diskGrowthGiB` of the
   * run config (default 2 GiB), so a guest whose root does not grow to its disk shows it.
   */
  readonly diskBytes: number;
  /**
   * Reboots the guest the way a user does (`sudo systemctl reboot` over SSH) and waits until SSH answers
   * again, with the host keys pinned at first boot, under a new boot id. Watches the serial console
   * meanwhile: a guest that drops into emergency mode or panics ends the wait at once (`cause: 'image'`).
   * Never throws for the guest's own failure: that is the outcome.
   */
  reboot(options?: RebootOptions): Promise<RebootOutcome>;
}

export type Accelerator = 'kvm' | 'tcg';

/** Where a guest's boot stood, in seconds from power-on (absent: not seen). */
export interface GuestBootStages {
  /** First output on the serial console (firmware or bootloader). */
  firmware?: number;
  /** First kernel output on the serial console. */
  kernel?: number;
  /** A DHCP lease for the guest's MAC. */
  address?: number;
  /** SSH answered with the pinned host keys. */
  ssh?: number;
  /** cloud-init reported `done`. */
  cloudInit?: number;
}

export interface GuestBootInfo {
  /** The accelerator the guest ran under (after any KVM-to-TCG fallback). */
  accel: Accelerator;
  /** Power-on to cloud-init done. */
  seconds: number;
  stages: GuestBootStages;
}

export interface RebootOptions {
  /** Deadline from the reboot command to SSH answering again; default: the run's boot deadline for this guest. */
  timeoutSeconds?: number;
}

export interface RebootOutcome {
  ok: boolean;
  /** Seconds from the reboot command to SSH answering again (or to giving up). */
  seconds: number;
  /** `/proc/sys/kernel/random/boot_id` before and after (after: absent when the guest did not come back). */
  bootIdBefore: string;
  bootIdAfter?: string;
  /** Why the guest is not back, in one line. */
  error?: string;
  /** `image`: the guest's console shows it will not come back (emergency mode, panic, host key changed); `infrastructure`: a deadline or the hypervisor. */
  cause?: 'image' | 'infrastructure';
  /** What the serial console printed from the reboot command on. */
  console: string;
}

/**
 * Where a guest's disks live. `per-host`: each host has its own copy of the base image and the guest's
 * overlay sits in the pool of the host it runs on (a move copies it: storage mode `copy`).
 * `shared`: base, overlay and seed sit in one pool every host sees at the same path (`storage.sharedPool`
 * in the run config): a move copies no disk (storage mode `shared`).
 */
export interface GuestStorage {
  kind: 'per-host' | 'shared';
  /** The libvirt storage pool holding the guest's volumes (the same name on every host when shared). */
  pool: string;
}

/** How a live migration treats the guest's disks (see `GuestStorage`). */
export type MigrationStorageMode = 'copy' | 'shared';

export interface MigrationOptions {
  /** `copy`: the destination gets the base image, a fresh overlay and the seed, libvirt copies the overlay (`--copy-storage-inc`). `shared`: nothing is copied. */
  storage: MigrationStorageMode;
  /**
   * Shared storage on a filesystem libvirt does not trust (a local one: it only trusts network and cluster
   * filesystems) is refused with "Unsafe migration"; with this set the move is retried with `--unsafe`
   * and the outcome says so. Without it, libvirt's refusal is the outcome.
   */
  allowUnsafe?: boolean;
  /** Abort the migration job (`domjobabort`) when it has not finished after this long; default 600. */
  timeoutSeconds?: number;
}

/** libvirt's own figures of a finished migration (`virsh domjobinfo --completed --rawstats` on the destination). */
export interface MigrationStats {
  /** From the start of the job to its end, ms (`time_elapsed`). */
  timeElapsedMs?: number;
  /** How long the guest was paused for the switch-over, ms (`downtime`). */
  downtimeMs?: number;
  setupTimeMs?: number;
  /** Everything moved (memory, and disks when libvirt counts them), bytes (`data_processed`). */
  dataProcessedBytes?: number;
  memoryProcessedBytes?: number;
  memoryTotalBytes?: number;
  /** Disk data copied (copy mode), bytes: the destination does not count it, so this is the source's last report. */
  diskProcessedBytes?: number;
  memoryIterations?: number;
  memoryDirtyRatePagesPerSecond?: number;
  /** Every `name: value` line as libvirt printed it. */
  raw: Record<string, string>;
}

export interface MigrationOutcome {
  /** libvirt finished the move and the guest runs on the destination. */
  ok: boolean;
  /** Host names. */
  from: string;
  to: string;
  storage: MigrationStorageMode;
  /** `--unsafe` was used (shared storage on a filesystem libvirt does not trust). */
  unsafe: boolean;
  /** libvirt's refusal that made imgtest retry with `--unsafe`. */
  unsafeReason?: string;
  /** libvirt's own message when the move failed or was refused. */
  error?: string;
  /** The virsh arguments of the (last) attempt, for evidence. */
  command: string[];
  /** What was put on the destination before the move (volumes, NVRAM), one line each. */
  prepared: string[];
  /** Epoch ms when `virsh migrate` started and returned. */
  startedAt: number;
  finishedAt: number;
  stats?: MigrationStats;
}

export interface GuestHypervisor {
  /** The host the guest runs on now. */
  currentHost(): HostInfo;
  /** Where the guest's disks live. */
  storage(): GuestStorage;
  /** The live domain XML from the current host (`virsh dumpxml`). */
  domainXml(): Promise<string>;
  /**
   * A read-only `virsh` query on one of the run's hosts, with an argument array (never a shell string),
   * e.g. ['domjobinfo', name, '--completed'], ['hypervisor-cpu-compare', file, '--virttype', 'qemu'],
   * ['domstate', name], ['qemu-agent-command', name, '{"execute":"guest-ping"}']. Commands that change
   * anything are refused (an error), and so is `qemu-agent-command` for any other domain. Never throws
   * for a non-zero exit: that is in the result.
   */
  virsh(host: HostInfo, args: readonly string[]): Promise<ExecResult>;
  /**
   * Gets `to` ready for a move without moving (copy mode: the base image, uploaded if missing, a fresh
   * overlay of the same name and size, the seed; shared mode: the pool checked to show the guest's
   * volumes). Call it before starting what is to be observed during the move, so the preparation's
   * own load (uploading an image) is not part of it; `migrate` prepares by itself otherwise.
   * Returns what it did, one line each. Throws when the destination cannot be prepared.
   */
  prepareMigration(to: HostInfo, options: MigrationOptions): Promise<string[]>;
  /**
   * Moves the guest live to `to` (`virsh migrate --live --p2p --persistent --undefinesource`), after
   * preparing the destination (copy mode: base image, a fresh overlay of the same name and size, the
   * seed; UEFI: the NVRAM the guest booted with, at the same path). Everything it creates is removed at
   * the end of the run. A refusal or failure by libvirt is an outcome with `ok: false` and libvirt's
   * message; it throws only when a host stops answering or preparing the destination fails.
   */
  migrate(to: HostInfo, options: MigrationOptions): Promise<MigrationOutcome>;
}

/** What the image file claims about how it boots, read before anything boots. */
export interface ImageBootInfo {
  partitionTable: 'gpt' | 'mbr' | 'none';
  /** Boot code in the MBR's first 440 bytes: a BIOS can start it. */
  biosBootCode: boolean;
  /** The EFI system partition (GPT type C12A7328-...), with its file system when it could be read. */
  esp?: { partition: number; filesystem?: string };
  /** The removable-media fallback loader (`EFI/BOOT/BOOTX64.EFI`) when the ESP has one. */
  fallbackLoader?: { path: string; signed: boolean; shim: boolean };
  /** Firmware the image claims to boot with: `secureBoot` = a signed loader on the fallback path. */
  claims: { bios: boolean; uefi: boolean; secureBoot: boolean };
  /** Human-readable reasons for the claims, for the report. */
  reasons: string[];
}

export interface ImageInfo {
  /** Absolute path of the user's image file (never written). */
  path: string;
  /** File name without extension; the JUnit package name. */
  name: string;
  format: 'qcow2' | 'raw';
  virtualSize: number;
  actualSize: number;
  sha256: string;
  boot: ImageBootInfo;
}

export interface ArtifactWriter {
  /** Write a file into this run's report folder and attach it to the current check. Returns its path. */
  write(fileName: string, content: string | Uint8Array): Promise<string>;
  /** Attach an existing file to the current check. */
  attach(path: string): void;
}

/** A planned guest that did not come up; suites with `seesFailedBoots` get these. */
export interface BootFailure {
  guestName: string;
  host: string;
  firmware: Firmware;
  message: string;
  /** `image`: the image's own doing (the firmware refused its loader, found nothing to boot...). */
  cause: 'image' | 'infrastructure';
  /** The last lines of the serial console. */
  consoleTail: string;
}

export interface CheckContext {
  image: ImageInfo;
  /** The firmware this run of the suite targets (suites run once per firmware of the matrix); none offline. */
  firmware?: Firmware;
  /**
   * The datasource this run of the suite is about: set for suites of `datasourceMatrix: 'every'` (they
   * run once per datasource of the run); each guest's `seed.datasource` says how it was provisioned.
   */
  datasource?: Datasource;
  /** The guests planned for this suite that booted (empty for offline suites). */
  guests: readonly GuestHandle[];
  /** Planned guests that failed to boot (only ever non-empty for suites with `seesFailedBoots`). */
  bootFailures: readonly BootFailure[];
  hosts: readonly HostInfo[];
  artifacts: ArtifactWriter;
  /**
   * This suite's section of the run config: the output of the suite's `optionsSchema` (validated before
   * anything booted, defaults filled in); without a schema, the section as written, or {} when absent.
   */
  options: Readonly<Record<string, unknown>>;
  /**
   * NTP servers the guests' network offers them (by DHCP), e.g. the local lab's; empty when the run
   * knows of none (config `network.timeServers`).
   */
  timeServers: readonly string[];
  /**
   * Fires when the run is cancelled (Ctrl-C, SIGTERM, SIGHUP; the reason is the signal's name) or the
   * check's own timeout ran out (`Check.timeoutSeconds`). A check that runs a long tool (an appliance, a
   * probe, a download) passes it on and stops the tool and everything the tool started when it fires,
   * then throws; imgtest waits a bounded time for the check to end before it cleans up. Checks that only
   * read guests through the handles need not look at it: the runner starts no check after it fired.
   */
  signal: AbortSignal;
  /** Progress line for the console (not the report). */
  log(line: string): void;
  /** Values shared between the checks of one suite on one set of guests (compute once, read often). */
  memo<T>(key: string, compute: () => Promise<T>): Promise<T>;
  /**
   * Records a figure of this suite's run (e.g. `migration.leg1.downtime-ms`), reported as a JUnit
   * `<property>` of the suite and in results.json (`suites[].properties`). A later value replaces an earlier one.
   */
  property(name: string, value: string | number): void;
}

/**
 * Waiting in a check (a service to settle, a process to exit): `poll(probe, { intervalMs, timeoutMs,
 * signal: context.signal })` asks `probe` until it returns `done(value)`; `notYet(observation)` says
 * what it saw, and the last observation comes back when time runs out (`{ ok: false, last }`), so the
 * check can say what it was still seeing. The signal stops it (the check then throws). `now` and
 * `sleep` can be injected for tests. The runner waits for guests with the same helper.
 */
export { done, notYet, poll, type PollOptions, type PollResult, type PollStep, type PollTick, type PollTimeout } from '../util/poll.js';

/**
 * The contract's version. A suite states the version it was written against (`defineSuite` does it);
 * the loader refuses a suite of another major version instead of failing mid-run on a changed field.
 */
export const SUITE_API_VERSION = 1;

/** A tag as `Suite.tags`, `Check.tags` and `--tag` write it: lower-case letters, digits and dashes. */
export const TAG_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

export function defineSuite<Options = unknown>(suite: Suite<Options>): Suite<Options> {
  const ids = new Set<string>();
  for (const check of suite.checks) {
    if (ids.has(check.id)) throw new Error(`suite ${suite.id}: duplicate check id ${check.id}`);
    ids.add(check.id);
  }
  return { ...suite, apiVersion: suite.apiVersion ?? SUITE_API_VERSION };
}

export { commandMissing, sudoFailed, transportFailed, unobserved, type Unobserved } from './exec-result.js';
/**
 * What `GuestHandle.exec`/`script` throw when a command got no exit status (an `<error>` when a check
 * lets it through): the connection could not be made or dropped (`GuestTransportError`, `reason` says
 * how; `output` holds what the command printed before), the guest's host key is not the pinned one (a
 * security event: `GuestHostKeyError`), the command outlived its `timeoutMs` (`GuestExecTimeoutError`).
 * Each carries a stable `code`: E_GUEST_TRANSPORT, E_GUEST_HOST_KEY, E_GUEST_EXEC_TIMEOUT.
 */
export { GuestExecTimeoutError, GuestHostKeyError, GuestTransportError, type GuestTransportReason } from '../errors.js';
export { oneLine, transcript, withoutSudoNoise } from './evidence.js';
