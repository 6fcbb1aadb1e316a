import { DEFAULT_CONNECT_TIMEOUT_SECONDS, type HostConfig, type ImgtestConfig } from '../config/schema.js';
import { LibvirtHost } from '../hosts/libvirt-host.js';
import { parseDomainCapabilities, parseIfaceList, parseNetInfo, parseNetworkIp, parsePoolInfoDetails, parsePoolTargetPath, parsePoolType, parseVirshVersion } from '../hosts/parse.js';
import { labHosts } from '../lab/index.js';
import { labPaths } from '../lab/layout.js';
import { chronydSpec, dnsmasqSpec, processArgs } from '../lab/daemons.js';
import { DHCP_RANGE, DHCP_SERVER_ADDRESS, NTP_LOCAL_STRATUM, NTP_SERVER_ADDRESS, ROOT_GUEST_ADDRESS, ROOT_LINKS, SHARED_POOL_NAME } from '../lab/layout.js';
import { queryNtp } from '../lab/ntp.js';
import { readLabLeases } from '../lab/leases.js';
import { runningDaemon } from '../lab/processes.js';
import { commandExists, run } from '../util/exec.js';
import {
  configReachLine,
  formatLine,
  hostLines,
  labReachLines,
  summarize,
  toolLine,
  type DoctorLine,
  type HostProbe,
  type NetworkProbe,
  type NtpProbe,
  type PoolProbe,
  type Probe,
  type ToolProbe,
} from './checks.js';

/**
 * `imgtest doctor [--config FILE]`: probes every host through the same LibvirtHost/virsh adapter runs
 * use, and this machine's tools and reach to the guests; prints one line per item and a summary.
 */

type Out = (line: string) => void;

const failed = (error: unknown): { ok: false; error: string } => ({ ok: false, error: error instanceof Error ? error.message : String(error) });

async function virshProbe(host: LibvirtHost, args: string[]): Promise<Probe<string>> {
  const result = await host.virsh.run(args, { allowFailure: true, timeoutMs: 60_000 }).catch((error: Error) => ({ exitCode: -1, stdout: '', stderr: error.message }));
  return result.exitCode === 0 ? { ok: true, value: result.stdout } : { ok: false, error: result.stderr || `exit ${result.exitCode}` };
}

async function probePool(host: LibvirtHost, name: string, role: string): Promise<PoolProbe> {
  const [info, xml] = await Promise.all([virshProbe(host, ['pool-info', name]), virshProbe(host, ['pool-dumpxml', name])]);
  if (!info.ok || !xml.ok) return { name, role, found: false, error: !info.ok ? info.error : !xml.ok ? xml.error : '' };
  const details = parsePoolInfoDetails(info.value);
  return { name, role, found: true, type: parsePoolType(xml.value), path: parsePoolTargetPath(xml.value), state: details.state, available: details.available };
}

async function probeNetwork(host: LibvirtHost): Promise<NetworkProbe> {
  const network = host.config.network;
  if ('bridge' in network) {
    const list = await virshProbe(host, ['iface-list', '--all']);
    return list.ok ? { kind: 'bridge', name: network.bridge, interfaces: parseIfaceList(list.value) } : { kind: 'bridge', name: network.bridge, error: list.error };
  }
  const info = await virshProbe(host, ['net-info', network.network]);
  return info.ok ? { kind: 'network', name: network.network, info: parseNetInfo(info.value) } : { kind: 'network', name: network.network, error: info.error };
}

export async function probeHost(config: HostConfig, sharedPool: string | undefined): Promise<HostProbe> {
  const host = new LibvirtHost(config);
  const timeout = config.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS;
  const base = { name: config.name, uri: config.uri, connectTimeoutSeconds: timeout, pools: [] as PoolProbe[] };
  const reached = await host.reach();
  if (!reached.ok) return { ...base, answer: failed(reached.error) };
  const caps = async (virttype: string): Promise<Probe<ReturnType<typeof parseDomainCapabilities>>> => {
    const result = await virshProbe(host, ['domcapabilities', '--virttype', virttype, '--arch', 'x86_64', '--machine', 'q35']);
    return result.ok ? { ok: true, value: parseDomainCapabilities(result.value) } : result;
  };
  const [version, kvm, tcg, pool, shared, network] = await Promise.all([
    virshProbe(host, ['version']),
    caps('kvm'),
    caps('qemu'),
    probePool(host, config.pool, 'pool'),
    sharedPool ? probePool(host, sharedPool, 'shared pool') : Promise.resolve(undefined),
    probeNetwork(host),
  ]);
  return {
    ...base,
    answer: { ok: true, value: reached.hostname },
    version: version.ok ? parseVirshVersion(version.value) : undefined,
    kvm,
    tcg,
    pools: shared ? [pool, shared] : [pool],
    network,
  };
}

const TOOLS: Omit<ToolProbe, 'path' | 'version'>[] = [
  { name: 'virsh', purpose: 'imgtest reaches every host through it (Debian: libvirt-clients)', required: true },
  { name: 'qemu-img', purpose: 'input images are checked with it (Debian: qemu-utils)', required: true },
  { name: 'ssh', purpose: 'checks reach the guests over SSH (Debian: openssh-client)', required: true },
  { name: 'mcopy', purpose: "--firmware auto reads the image's EFI system partition with mtools (Debian: mtools)", required: true },
  { name: 'guestfish', purpose: 'the image-hygiene suite reads the image with libguestfs (Debian: libguestfs-tools)', required: true },
  { name: 'ssh-audit', purpose: 'ssh-hardening falls back to its builtin algorithm probe (Debian: ssh-audit)', required: false },
];

const VERSION_ARGS: Record<string, string[]> = { virsh: ['--version'], 'qemu-img': ['--version'], ssh: ['-V'], guestfish: ['--version'], mcopy: ['--version'], 'ssh-audit': ['-h'] };

/** The first line that carries a version number (ssh prints to stderr; ssh-audit's help starts with its version). */
export function versionOf(output: string): string | undefined {
  const line = output
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .find((l) => /\d+\.\d+/.test(l));
  return line
    ?.replace(/^[#\s]+/, '')
    .trim()
    .replace(/\s+/g, ' ')
    .slice(0, 80);
}

/** dnsmasq's `--dhcp-range=first,last,netmask,lease` argument. */
export function parseDhcpRangeArg(args: readonly string[]): { first: string; last: string; lease?: string } | undefined {
  const value = args.find((a) => a.startsWith('--dhcp-range='))?.slice('--dhcp-range='.length);
  const [first, last, , lease] = value?.split(',') ?? [];
  return first && last ? { first, last, lease } : undefined;
}

async function probeTool(tool: Omit<ToolProbe, 'path' | 'version'>): Promise<ToolProbe> {
  const where = await run('sh', ['-c', 'command -v "$1"', 'sh', tool.name], { allowFailure: true });
  if (where.exitCode !== 0 || !where.stdout.trim()) return tool;
  const version = await run(tool.name, VERSION_ARGS[tool.name] ?? ['--version'], { allowFailure: true, timeoutMs: 15_000 }).catch(() => undefined);
  return { ...tool, path: where.stdout.trim(), version: version ? versionOf(`${version.stdout}\n${version.stderr}`) : undefined };
}

/** The lab's chronyd: installed, running in the lab namespace, and answering one NTP request from this machine (10.78.0.253). */
async function probeLabNtp(paths: ReturnType<typeof labPaths>, reachable: boolean): Promise<NtpProbe> {
  const base = { server: NTP_SERVER_ADDRESS, expectedStratum: NTP_LOCAL_STRATUM };
  const installed = await commandExists('chronyd');
  const spec = await chronydSpec(paths);
  const running = (await runningDaemon(spec.pidFile, spec.expected)) !== undefined;
  if (!installed || !running) return { ...base, installed, running };
  if (!reachable) return { ...base, installed, running, error: `this machine has no address on the guest network` };
  try {
    const answer = await queryNtp(NTP_SERVER_ADDRESS, { timeoutMs: 2000 });
    return { ...base, installed, running, answer: { stratum: answer.reply.stratum, offsetMs: answer.offsetMs } };
  } catch (error) {
    return { ...base, installed, running, error: error instanceof Error ? error.message : String(error) };
  }
}

async function labReach(): Promise<DoctorLine[]> {
  const link = ROOT_LINKS.guest.root;
  const address = await run('ip', ['-o', '-4', 'address', 'show', 'dev', link], { allowFailure: true });
  const addressPresent = address.exitCode === 0 && address.stdout.includes(` ${ROOT_GUEST_ADDRESS}/`);
  const ping = addressPresent ? await run('ping', ['-c', '1', '-W', '2', DHCP_SERVER_ADDRESS], { allowFailure: true, timeoutMs: 10_000 }).catch(() => undefined) : undefined;
  const paths = labPaths();
  const spec = await dnsmasqSpec(paths);
  const pid = await runningDaemon(spec.pidFile, spec.expected);
  const dnsmasqRunning = pid !== undefined;
  const now = Math.floor(Date.now() / 1000);
  const leasesInUse = (await readLabLeases(paths)).filter((l) => l.expires === 0 || l.expires > now).length;
  // What the running dnsmasq was started with (a lab started by an older imgtest keeps its settings until `lab up`).
  const args = pid !== undefined ? ((await processArgs(pid)) ?? []) : undefined;
  const range = (args ? parseDhcpRangeArg(args) : undefined) ?? DHCP_RANGE;
  const rangeSize = Number(range.last.split('.')[3]) - Number(range.first.split('.')[3]) + 1;
  const rangeOutdated = range.lease !== DHCP_RANGE.lease || range.first !== DHCP_RANGE.first || range.last !== DHCP_RANGE.last;
  const ntpOptionMissing = args !== undefined && !args.includes(`--dhcp-option=option:ntp-server,${NTP_SERVER_ADDRESS}`);
  return labReachLines({
    rootAddress: ROOT_GUEST_ADDRESS,
    link,
    addressPresent,
    dhcpServer: DHCP_SERVER_ADDRESS,
    pingOk: ping?.exitCode === 0,
    dnsmasqRunning,
    leasesInUse,
    rangeSize,
    leaseTime: (range.lease ?? '1h').replace(/m$/, ' min').replace(/h$/, ' h'),
    outdated: rangeOutdated
      ? `dnsmasq runs with older settings: imgtest lab up restarts it with ${DHCP_RANGE.first}-${DHCP_RANGE.last}, ${DHCP_RANGE.lease} leases${ntpOptionMissing ? ` and the NTP server ${NTP_SERVER_ADDRESS}` : ''}`
      : ntpOptionMissing
        ? `dnsmasq runs with older settings: it names no NTP server to guests (imgtest lab up restarts it with ${NTP_SERVER_ADDRESS})`
        : undefined,
    ntp: await probeLabNtp(paths, addressPresent),
  });
}

async function configReach(probe: HostProbe, config: HostConfig): Promise<DoctorLine> {
  if (!probe.answer.ok || !('network' in config.network)) return configReachLine(probe.name, probe.network, undefined);
  const host = new LibvirtHost(config);
  const xml = await virshProbe(host, ['net-dumpxml', config.network.network]);
  const ip = xml.ok ? parseNetworkIp(xml.value) : undefined;
  if (!ip) return configReachLine(probe.name, probe.network, undefined);
  const route = await run('ip', ['-o', 'route', 'get', ip.address], { allowFailure: true });
  const network = `${ip.address}${ip.prefix !== undefined ? `/${ip.prefix}` : ip.netmask ? `/${ip.netmask}` : ''}`;
  return configReachLine(probe.name, probe.network, route.exitCode === 0 ? { network, route: route.stdout.trim().replace(/\s+/g, ' ') } : { network, error: route.stderr || 'no route' });
}

export async function runDoctor(options: { config?: ImgtestConfig; out: Out }): Promise<number> {
  const { out } = options;
  const lab = !options.config?.hosts?.length;
  const hosts: HostConfig[] = lab ? labHosts().map((h) => ({ name: h.name, uri: h.uri, migrationUri: h.migrationUri, pool: h.pool, network: { bridge: 'brg' } })) : options.config!.hosts!;
  const sharedPool = options.config?.storage.sharedPool ?? (lab ? SHARED_POOL_NAME : undefined);
  out(lab ? `doctor: the local lab's hosts (${hosts.map((h) => h.name).join(', ')}); no --config given` : `doctor: ${hosts.length} host(s) from the config`);
  const lines: DoctorLine[] = [];
  const emit = (batch: DoctorLine[]) => {
    for (const line of batch) out(formatLine(line));
    lines.push(...batch);
  };
  const [probes, tools] = await Promise.all([Promise.all(hosts.map((h) => probeHost(h, sharedPool))), Promise.all(TOOLS.map(probeTool))]);
  for (const [i, probe] of probes.entries()) {
    emit(hostLines(probe));
    if (!lab) emit([await configReach(probe, hosts[i]!)]);
  }
  if (lab) emit(await labReach());
  emit(tools.map(toolLine));
  const summary = summarize(lines);
  out(summary.text);
  return summary.exitCode;
}
