import type { DomainCapabilities, VirshVersion } from '../hosts/parse.js';

/**
 * `imgtest doctor`'s verdicts, from what was probed: pure functions, no I/O (doctor.ts probes).
 * Each line says what is there, missing or broken. Required items are what a default `imgtest run`
 * needs; a broken or missing one makes doctor exit 3.
 */

export type Status = 'ok' | 'warn' | 'missing' | 'broken';

export interface DoctorLine {
  status: Status;
  /** `hv1`, `lab`, `this machine`. */
  subject: string;
  text: string;
}

export type FirmwareKind = 'plain' | 'secboot' | 'ms' | 'test-keys';

/**
 * What an OVMF code file is, by Debian's naming (the `ovmf` package): `OVMF_CODE_4M.fd` UEFI without
 * Secure Boot; `*.secboot.fd` Secure Boot (SMM) with no keys enrolled; `*.ms.fd` Secure Boot with
 * Microsoft's keys enrolled (what signed shims need); `*.snakeoil.fd` Secure Boot with test keys.
 */
export function classifyLoader(path: string): FirmwareKind {
  const file = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  if (/\.ms\.fd$/.test(file)) return 'ms';
  if (/snakeoil/.test(file)) return 'test-keys';
  if (/secboot|\.secure\./.test(file)) return 'secboot';
  return 'plain';
}

const KIND_TEXT: Record<FirmwareKind, string> = {
  plain: 'UEFI, no Secure Boot',
  secboot: 'Secure Boot, no keys enrolled',
  ms: 'Secure Boot, Microsoft keys',
  'test-keys': 'Secure Boot, test keys',
};

export type Probe<T> = { ok: true; value: T } | { ok: false; error: string };

export interface PoolProbe {
  name: string;
  /** `pool` (the host's own) or `shared pool` (config storage.sharedPool). */
  role: string;
  /** pool-info / pool-dumpxml answered; false with `error` when the pool does not exist. */
  found: boolean;
  error?: string;
  type?: string;
  path?: string;
  state?: string;
  available?: string;
}

export type NetworkProbe =
  { kind: 'bridge'; name: string; interfaces?: { name: string; state: string }[]; error?: string } | { kind: 'network'; name: string; info?: { active?: boolean; bridge?: string }; error?: string };

export interface HostProbe {
  name: string;
  uri: string;
  connectTimeoutSeconds: number;
  answer: Probe<string>;
  version?: VirshVersion;
  /** `domcapabilities --virttype kvm --machine q35`. */
  kvm?: Probe<DomainCapabilities>;
  /** `domcapabilities --virttype qemu --machine q35` (TCG, what every host can do). */
  tcg?: Probe<DomainCapabilities>;
  pools: PoolProbe[];
  network?: NetworkProbe;
}

const firstLine = (text: string) => text.trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';

export function hostLines(probe: HostProbe): DoctorLine[] {
  const subject = probe.name;
  const lines: DoctorLine[] = [];
  if (!probe.answer.ok) {
    return [
      {
        status: 'broken',
        subject,
        text: `libvirt does not answer at ${probe.uri} (connect timeout ${probe.connectTimeoutSeconds} s): ${firstLine(probe.answer.error)} (other checks of this host skipped)`,
      },
    ];
  }
  const { libvirt, qemu } = probe.version ?? {};
  lines.push({
    status: libvirt && qemu ? 'ok' : 'broken',
    subject,
    text:
      libvirt && qemu ? `libvirt ${libvirt}, QEMU ${qemu} (hostname ${probe.answer.value})` : `versions not readable (libvirt ${libvirt ?? '?'}, QEMU ${qemu ?? '?'}): is the QEMU driver installed?`,
  });

  // KVM: offered when libvirt has KVM domain capabilities (/dev/kvm usable by QEMU); Secure Boot needs SMM.
  if (probe.kvm?.ok) {
    const smm = probe.kvm.value.secure.includes('yes');
    lines.push({
      status: 'ok',
      subject,
      text: `KVM offered (domcapabilities --virttype kvm); Secure Boot firmware (SMM) under KVM: ${smm ? 'offered' : 'not offered'}. A guest is the only proof: imgtest run --accel auto falls back to TCG for a guest KVM fails`,
    });
  } else if (probe.kvm) {
    lines.push({ status: 'warn', subject, text: `KVM not usable: ${firstLine(probe.kvm.error)}; guests run under TCG (software emulation, boot limits x4)` });
  }

  // Firmware: the UEFI builds libvirt may pick (from the host's firmware descriptors), under either accelerator.
  const loaders = [...new Set([...(probe.tcg?.ok ? probe.tcg.value.loaders : []), ...(probe.kvm?.ok ? probe.kvm.value.loaders : [])])];
  const kinds = loaders.map((path) => ({ path, kind: classifyLoader(path) }));
  const efi = probe.tcg?.ok ? probe.tcg.value.firmware.includes('efi') || loaders.length > 0 : loaders.length > 0;
  if (!probe.tcg?.ok && !probe.kvm?.ok) {
    lines.push({ status: 'broken', subject, text: `domain capabilities not readable: ${probe.tcg && !probe.tcg.ok ? firstLine(probe.tcg.error) : 'no answer'}` });
  } else if (!efi || !kinds.some((k) => k.kind === 'plain' || k.kind === 'secboot' || k.kind === 'ms')) {
    lines.push({ status: 'missing', subject, text: 'UEFI firmware: none offered (Debian: apt-get install ovmf); --firmware uefi cannot boot here' });
  } else {
    lines.push({ status: 'ok', subject, text: `UEFI firmware: ${kinds.map((k) => `${k.path} (${KIND_TEXT[k.kind]})`).join(', ')}` });
  }
  if (probe.tcg?.ok || probe.kvm?.ok) {
    const ms = kinds.filter((k) => k.kind === 'ms');
    const secure = (probe.tcg?.ok && probe.tcg.value.secure.includes('yes')) || (probe.kvm?.ok && probe.kvm.value.secure.includes('yes'));
    lines.push(
      ms.length && secure
        ? { status: 'ok', subject, text: `Secure Boot with Microsoft keys: ${ms.map((k) => k.path).join(', ')}` }
        : {
            status: 'warn',
            subject,
            text: `Secure Boot with Microsoft keys: ${ms.length ? 'build present but libvirt offers no secure loader (no SMM)' : 'no such OVMF build'}; --firmware uefi-secureboot (a signed image's default) cannot boot here`,
          },
    );
  }

  for (const pool of probe.pools) lines.push(poolLine(subject, pool));
  if (probe.network) lines.push(networkLine(subject, probe.network));
  return lines;
}

export function poolLine(subject: string, pool: PoolProbe): DoctorLine {
  const what = `${pool.role} ${pool.name}`;
  if (!pool.found)
    return {
      status: 'missing',
      subject,
      text: `${what}: not found (${firstLine(pool.error ?? '')}); create it: virsh pool-define-as ${pool.name} dir --target <folder>; virsh pool-build/pool-start/pool-autostart ${pool.name}`,
    };
  if (pool.type !== 'dir') return { status: 'broken', subject, text: `${what}: a '${pool.type ?? '?'}' pool; imgtest needs a dir pool` };
  if (pool.state !== 'running') return { status: 'broken', subject, text: `${what}: ${pool.state ?? 'state unknown'}, not running (virsh pool-start ${pool.name})` };
  return { status: 'ok', subject, text: `${what}: dir pool at ${pool.path ?? '?'}, running${pool.available ? `, ${pool.available} available` : ''}` };
}

export function networkLine(subject: string, network: NetworkProbe): DoctorLine {
  if (network.kind === 'bridge') {
    if (!network.interfaces) return { status: 'warn', subject, text: `guest bridge ${network.name}: not checked, libvirt cannot list host interfaces (${firstLine(network.error ?? '')})` };
    const found = network.interfaces.find((i) => i.name === network.name);
    if (!found) return { status: 'missing', subject, text: `guest bridge ${network.name}: no such interface on the host (virsh iface-list --all)` };
    if (found.state !== 'active') return { status: 'broken', subject, text: `guest bridge ${network.name}: ${found.state}, not up` };
    return { status: 'ok', subject, text: `guest bridge ${network.name}: present and active` };
  }
  if (!network.info) return { status: 'missing', subject, text: `guest network ${network.name}: not found (${firstLine(network.error ?? '')})` };
  if (!network.info.active) return { status: 'broken', subject, text: `guest network ${network.name}: defined but not active (virsh net-start ${network.name})` };
  return { status: 'ok', subject, text: `guest network ${network.name}: active${network.info.bridge ? ` (bridge ${network.info.bridge})` : ''}` };
}

export interface ToolProbe {
  name: string;
  /** What needs it, said when it is missing. */
  purpose: string;
  required: boolean;
  path?: string;
  version?: string;
}

export function toolLine(tool: ToolProbe): DoctorLine {
  if (!tool.path) return { status: tool.required ? 'missing' : 'warn', subject: 'this machine', text: `${tool.name}: not installed; ${tool.purpose}` };
  return { status: 'ok', subject: 'this machine', text: `${tool.name}: ${tool.path}${tool.version ? ` (${tool.version})` : ''}` };
}

export interface LabReachProbe {
  /** The root namespace's address on the guest network and its link. */
  rootAddress: string;
  link: string;
  addressPresent: boolean;
  /** ping of the lab's DHCP server, on the guest network. */
  dhcpServer: string;
  pingOk: boolean;
  dnsmasqRunning: boolean;
  leasesInUse: number;
  rangeSize: number;
  leaseTime: string;
  /** Set when the running dnsmasq was started with other settings than this version's (what `lab up` would change). */
  outdated?: string;
  /** The lab's NTP server (chronyd in the lab namespace), asked once from this machine. */
  ntp: NtpProbe;
}

export interface NtpProbe {
  server: string;
  /** chronyd is on this machine (Debian: chrony). */
  installed: boolean;
  running: boolean;
  /** Its answer to one client request; absent with `error` when it gave none. */
  answer?: { stratum: number; offsetMs: number };
  error?: string;
  /** The stratum it is configured to serve (local stratum). */
  expectedStratum: number;
}

/** The lab's NTP server: running, answering, serving this machine's clock. */
export function ntpLine(probe: NtpProbe): DoctorLine {
  const subject = 'lab';
  if (!probe.installed) return { status: 'missing', subject, text: `NTP: chronyd is not installed; guests get no time server (Debian: apt-get install chrony, then imgtest lab up)` };
  if (!probe.running) return { status: 'broken', subject, text: `NTP: chronyd is not running; guests get no time server ${probe.server} (imgtest lab up restarts it)` };
  if (!probe.answer)
    return { status: 'broken', subject, text: `NTP: chronyd runs but ${probe.server}:123 does not answer (${firstLine(probe.error ?? 'no reply')}); imgtest lab up restarts a stopped one` };
  // The lab's chronyd serves this very clock: what the exchange measures is only scheduling noise (ms).
  const offsetSeconds = Math.abs(probe.answer.offsetMs) / 1000;
  if (probe.answer.stratum !== probe.expectedStratum || offsetSeconds > 1) {
    return {
      status: 'warn',
      subject,
      text: `NTP: ${probe.server} answers at stratum ${probe.answer.stratum} (expected ${probe.expectedStratum}), ${offsetSeconds.toFixed(1)} s off this machine's clock: is it the lab's chronyd?`,
    };
  }
  return { status: 'ok', subject, text: `NTP: ${probe.server} serves this machine's clock to guests (chronyd, stratum ${probe.answer.stratum}, no upstream server)` };
}

export function labReachLines(probe: LabReachProbe): DoctorLine[] {
  const subject = 'lab';
  const lines: DoctorLine[] = [];
  if (!probe.addressPresent) lines.push({ status: 'broken', subject, text: `SSH to guests: this machine has no address ${probe.rootAddress} on ${probe.link} (imgtest lab up repairs it)` });
  else if (!probe.pingOk)
    lines.push({ status: 'broken', subject, text: `SSH to guests: ${probe.rootAddress} on ${probe.link} is there, but the guest network's DHCP server ${probe.dhcpServer} does not answer ping` });
  else lines.push({ status: 'ok', subject, text: `SSH to guests: this machine is on the guest network (${probe.rootAddress} on ${probe.link}; ${probe.dhcpServer} answers)` });
  if (!probe.dnsmasqRunning) lines.push({ status: 'broken', subject, text: 'DHCP: dnsmasq is not running; guests get no address (imgtest lab up restarts it)' });
  else {
    const full = probe.leasesInUse >= probe.rangeSize * 0.8;
    lines.push({
      status: full || probe.outdated ? 'warn' : 'ok',
      subject,
      text: `DHCP: ${probe.leasesInUse} of ${probe.rangeSize} addresses leased (leases of ${probe.leaseTime})${full ? '; nearly full: imgtest clean drops the leases of dead runs' : ''}${probe.outdated ? `; ${probe.outdated}` : ''}`,
    });
  }
  lines.push(ntpLine(probe.ntp));
  return lines;
}

/** SSH reach to a config host's guests: only a libvirt network with an address of its own can be judged from here. */
export function configReachLine(subject: string, network: NetworkProbe | undefined, route: { network?: string; route?: string; error?: string } | undefined): DoctorLine {
  if (network?.kind !== 'network' || !route?.network) {
    return {
      status: 'warn',
      subject,
      text: `SSH to guests: not checked (guests on ${network ? `${network.kind} ${network.name}` : 'this network'} get addresses imgtest learns only at boot); this machine must reach them on port 22`,
    };
  }
  if (route.error) return { status: 'broken', subject, text: `SSH to guests: no route from this machine to ${route.network} (${firstLine(route.error)})` };
  if (route.route && / via /.test(` ${route.route} `))
    return { status: 'warn', subject, text: `SSH to guests: ${route.network} is reached through a gateway (${route.route}); a NAT network of another machine is not reachable from here` };
  return { status: 'ok', subject, text: `SSH to guests: direct route to ${route.network} (${route.route ?? '?'})` };
}

const LABEL: Record<Status, string> = { ok: 'ok', warn: 'warn', missing: 'MISSING', broken: 'BROKEN' };

export function formatLine(line: DoctorLine): string {
  return `${LABEL[line.status].padEnd(7)} ${line.subject}: ${line.text}`;
}

/** The summary line and exit code: 3 when a required item is missing or broken. */
export function summarize(lines: readonly DoctorLine[]): { text: string; exitCode: 0 | 3 } {
  const count = (status: Status) => lines.filter((l) => l.status === status).length;
  const bad = lines.filter((l) => l.status === 'missing' || l.status === 'broken');
  const head = `doctor: ${count('ok')} ok, ${count('warn')} warning(s), ${count('missing')} missing, ${count('broken')} broken`;
  if (!bad.length) return { text: `${head}: ready`, exitCode: 0 };
  return {
    text: `${head}: not ready (${bad
      .map((l) => l.subject)
      .filter((s, i, all) => all.indexOf(s) === i)
      .join(', ')})`,
    exitCode: 3,
  };
}
