/**
 * A scripted GuestHandle and CheckContext for unit-testing suites without booting anything.
 *
 * `exec` answers from a table keyed by the argv joined with spaces; a call made with `{ sudo: true }`
 * looks up `[sudo] <argv>` first and falls back to the plain key (root reads whatever the user can).
 * An unscripted `cat PATH` answers like a missing file; any other unscripted command exits 127.
 * `script` answers from a table keyed by the script's text. `tryLogin` calls a scripted function.
 * An answer that is an Error is thrown, as the real handle throws GuestTransportError when the SSH
 * connection fails (a result is always the command's own exit status).
 */
import type {
  ArtifactWriter,
  CheckContext,
  ExecOptions,
  ExecResult,
  Firmware,
  GuestBootInfo,
  GuestHandle,
  GuestHypervisor,
  HostInfo,
  LoginAttempt,
  LoginOptions,
  MetadataRequest,
  RebootOptions,
  RebootOutcome,
  SeedInfo,
} from '../../../src/suite-api/index.js';

export type FakeAnswer = string | Partial<ExecResult> | Error;

export interface FakeGuestSpec {
  name?: string;
  host?: Partial<HostInfo>;
  address?: string;
  seed?: Partial<SeedInfo>;
  exec?: Record<string, FakeAnswer>;
  scripts?: Record<string, FakeAnswer>;
  login?: (options: LoginOptions) => LoginAttempt | Promise<LoginAttempt>;
  serialLog?: string;
  consoleHostKeys?: string[];
  /** Firmware the guest booted with (default uefi). */
  firmware?: Firmware;
  /** The hypervisor side; by default one that says where the guest is and refuses everything else. */
  hypervisor?: GuestHypervisor;
  /** How the first boot went (default: TCG, 120 s). */
  boot?: Partial<GuestBootInfo>;
  /** The guest's disk size (default 4 GiB). */
  diskBytes?: number;
  /** What the guest asked imgtest's metadata service (default: nothing, as a seed-disk guest). */
  metadataRequests?: MetadataRequest[];
  /** What `reboot` does; by default it refuses (an error). */
  reboot?: (options?: RebootOptions) => RebootOutcome | Promise<RebootOutcome>;
}

/** A GuestHypervisor that knows where the guest runs and refuses to do anything. */
export function inertHypervisor(host: HostInfo): GuestHypervisor {
  const refuse = async (): Promise<never> => {
    throw new Error('fake guest: no hypervisor behaviour scripted');
  };
  return { currentHost: () => host, storage: () => ({ kind: 'per-host', pool: 'imgtest' }), domainXml: refuse, virsh: refuse, prepareMigration: refuse, migrate: refuse };
}

export interface FakeGuest extends GuestHandle {
  /** Every exec call, in order, as its table key. */
  readonly calls: string[];
  readonly logins: LoginOptions[];
}

function answer(value: FakeAnswer): ExecResult {
  if (value instanceof Error) throw value;
  if (typeof value === 'string') return { stdout: value, stderr: '', exitCode: 0 };
  return { stdout: value.stdout ?? '', stderr: value.stderr ?? '', exitCode: value.exitCode ?? 0 };
}

export function fakeGuest(spec: FakeGuestSpec = {}): FakeGuest {
  const calls: string[] = [];
  const logins: LoginOptions[] = [];
  const table = spec.exec ?? {};
  const name = spec.name ?? 'imgtest-run1-guest1';
  const host: HostInfo = { name: 'hv1', uri: 'qemu+tcp://10.77.0.1/system', migrationUri: 'tcp://10.77.0.1', ...spec.host };
  const seed: SeedInfo = {
    datasource: 'nocloud',
    instanceId: 'iid-imgtest-run1-1',
    hostname: 'imgtest-1',
    user: 'cloud',
    authorizedKeys: [],
    privateKeyFile: '/tmp/imgtest/run1/id_ed25519',
    ...spec.seed,
  };
  const hypervisor = spec.hypervisor ?? inertHypervisor(host);
  return {
    name,
    get host() {
      return hypervisor.currentHost();
    },
    hypervisor,
    address: spec.address ?? '10.78.0.11',
    mac: '52:54:00:00:00:11',
    firmware: spec.firmware ?? 'uefi',
    seed,
    consoleHostKeys: spec.consoleHostKeys ?? [],
    metadataRequests: () => spec.metadataRequests ?? [],
    calls,
    logins,
    async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
      const plain = argv.join(' ');
      const key = options.sudo ? `[sudo] ${plain}` : plain;
      calls.push(key);
      const scripted = (options.sudo ? table[key] : undefined) ?? table[plain];
      if (scripted !== undefined) return answer(scripted);
      if (argv[0] === 'cat' && argv.length === 2) return { stdout: '', stderr: `cat: ${argv[1]}: No such file or directory`, exitCode: 1 };
      return { stdout: '', stderr: `fake guest: nothing scripted for "${key}"`, exitCode: 127 };
    },
    async script(text: string): Promise<ExecResult> {
      calls.push(`[script] ${text.split('\n')[0]}`);
      const scripted = spec.scripts?.[text];
      return scripted !== undefined ? answer(scripted) : { stdout: '', stderr: 'fake guest: script not scripted', exitCode: 127 };
    },
    async tryLogin(options: LoginOptions): Promise<LoginAttempt> {
      logins.push(options);
      if (!spec.login) throw new Error('fake guest: no login behaviour scripted');
      return spec.login(options);
    },
    async serialLog(): Promise<string> {
      return spec.serialLog ?? '';
    },
    boot: { accel: 'tcg', seconds: 120, stages: {}, ...spec.boot },
    diskBytes: spec.diskBytes ?? 4 * 2 ** 30,
    async reboot(options?: RebootOptions): Promise<RebootOutcome> {
      calls.push('[reboot]');
      if (!spec.reboot) throw new Error('fake guest: no reboot behaviour scripted');
      return spec.reboot(options);
    },
  };
}

export interface FakeContext extends CheckContext {
  /** Artifacts written, by file name. */
  readonly written: Map<string, string>;
  readonly lines: string[];
  /** Figures recorded with `property`. */
  readonly properties: Record<string, string>;
}

export function fakeContext(
  guests: readonly GuestHandle[],
  options: Record<string, unknown> = {},
  extra: Partial<Pick<CheckContext, 'image' | 'firmware' | 'bootFailures' | 'timeServers'>> = {},
): FakeContext {
  const written = new Map<string, string>();
  const lines: string[] = [];
  const memo = new Map<string, Promise<unknown>>();
  const properties: Record<string, string> = {};
  const artifacts: ArtifactWriter = {
    async write(fileName, content) {
      written.set(fileName, typeof content === 'string' ? content : Buffer.from(content).toString('utf8'));
      return `/reports/run1/${fileName}`;
    },
    attach() {},
  };
  return {
    image: { path: '/images/debian-12.qcow2', name: 'debian-12', format: 'qcow2', virtualSize: 2 ** 31, actualSize: 2 ** 28, sha256: '0'.repeat(64), boot: HYBRID_BOOT },
    firmware: extra.firmware ?? guests[0]?.firmware,
    bootFailures: extra.bootFailures ?? [],
    ...(extra.image ? { image: extra.image } : {}),
    guests,
    hosts: guests.map((g) => g.host),
    artifacts,
    options,
    timeServers: extra.timeServers ?? [],
    signal: new AbortController().signal,
    log: (line) => lines.push(line),
    memo<T>(key: string, compute: () => Promise<T>): Promise<T> {
      if (!memo.has(key)) memo.set(key, compute());
      return memo.get(key) as Promise<T>;
    },
    property(name, value) {
      properties[name] = String(value);
    },
    written,
    lines,
    properties,
  };
}

/** Boot claims of a hybrid GPT image (BIOS + UEFI, unsigned fallback loader), for ImageInfo literals. */
export const HYBRID_BOOT: import('../../../src/suite-api/index.js').ImageBootInfo = {
  partitionTable: 'gpt',
  biosBootCode: true,
  esp: { partition: 1, filesystem: 'FAT32' },
  fallbackLoader: { path: 'EFI/BOOT/BOOTX64.EFI', signed: false, shim: false },
  claims: { bios: true, uefi: true, secureBoot: false },
  reasons: ['GPT with 2 partition(s)', 'EFI system partition is partition 1', 'boot code in the MBR'],
};
