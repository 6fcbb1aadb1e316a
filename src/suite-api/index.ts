/**
 * The plugin contract. A suite is a plain module that exports a `Suite`; built-in suites in
 * `suites/<id>/` use only what this file exports, exactly as a third party would.
 *
 * The runner reads `requires` to plan guests (the planner boots the fewest guests that serve the
 * selected suites and shares one between suites that leave it unchanged), then calls each check's
 * `run` with a `CheckContext`. A check returns pass/fail/skip with a one-line message and evidence;
 * it throws only when something outside the image broke (that becomes a JUnit `<error>`).
 */

export type Severity = 'must' | 'should';
export type Firmware = 'bios' | 'uefi' | 'uefi-secureboot';

export interface GuestRequirements {
  /** How many guests the suite needs at once (e.g. 2 to compare host keys between guests). */
  count: number;
  /** `spread`: put guests on different hosts when there are enough; `any`: wherever the planner likes. */
  placement: 'any' | 'spread';
  /**
   * `shared`: the suite only reads the guest, so the guest may serve other suites too.
   * `exclusive`: the suite changes the guest (reboots, migrates it, edits config): it gets its own.
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
   */
  firmwareMatrix?: 'every' | 'first';
}

export interface SuiteRequirements {
  /** Runs on the image file itself, before and beside any boot; gets no guests. */
  offline?: boolean;
  /** Guests to boot for this suite; absent for offline suites. */
  guests?: GuestRequirements;
  /** Minimum number of hypervisor hosts (live migration needs 2). */
  minHosts?: number;
}

export interface Suite {
  /** Stable id, used on the command line (`--suite`) and as the JUnit class name. */
  id: string;
  title: string;
  description?: string;
  requires: SuiteRequirements;
  checks: readonly Check[];
}

export interface Check {
  /** Stable id, prefixed by the suite's short prefix (e.g. `ci-status`); the JUnit test name starts with it. */
  id: string;
  title: string;
  severity: Severity;
  run(context: CheckContext): Promise<CheckOutcome>;
}

export type CheckOutcome =
  | { status: 'pass'; message: string; evidence?: string }
  | { status: 'fail'; message: string; evidence?: string }
  | { status: 'skip'; message: string; evidence?: string };

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

/** What the run seeded into the guest through cloud-init (NoCloud). */
export interface SeedInfo {
  instanceId: string;
  hostname: string;
  user: string;
  /** The public keys put into user-data, one OpenSSH line each. */
  authorizedKeys: string[];
  /** Private key matching authorizedKeys[0], on the machine running imgtest. */
  privateKeyFile: string;
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
  host: HostInfo;
  address: string;
  mac: string;
  firmware: Firmware;
  seed: SeedInfo;
  /** Host public keys as the guest printed them on its serial console at boot (OpenSSH lines), if it did. */
  consoleHostKeys: string[];
  /** Run a program in the guest as the seeded user, over SSH, with an argument array. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Run a fixed script (the suite's own text, not input) with `sh -s`; pass data in `args`. */
  script(text: string, args?: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Try an SSH login from outside, the way a user or an attacker would. */
  tryLogin(options: LoginOptions): Promise<LoginAttempt>;
  /** The serial console captured from power-on so far. */
  serialLog(): Promise<string>;
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
  /** The guests planned for this suite that booted (empty for offline suites). */
  guests: readonly GuestHandle[];
  /** Planned guests that failed to boot (only ever non-empty for suites with `seesFailedBoots`). */
  bootFailures: readonly BootFailure[];
  hosts: readonly HostInfo[];
  artifacts: ArtifactWriter;
  /** This suite's section of the run config (validated by the suite itself), or {} when absent. */
  options: Readonly<Record<string, unknown>>;
  /** Progress line for the console (not the report). */
  log(line: string): void;
  /** Values shared between the checks of one suite on one set of guests (compute once, read often). */
  memo<T>(key: string, compute: () => Promise<T>): Promise<T>;
}

export function defineSuite(suite: Suite): Suite {
  const ids = new Set<string>();
  for (const check of suite.checks) {
    if (ids.has(check.id)) throw new Error(`suite ${suite.id}: duplicate check id ${check.id}`);
    ids.add(check.id);
  }
  return suite;
}
