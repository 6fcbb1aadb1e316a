import { describe, expect, it } from 'vitest';
import { GuestTransportError, type CheckOutcome, type ExecResult, type GuestHypervisor, type HostInfo, type MigrationOptions, type MigrationOutcome, type Suite } from '../../src/suite-api/index.js';
import { HEARTBEAT_SCRIPT, KMSG_SCRIPT, STATE_SCRIPT, WORKLOAD_START_SCRIPT, WORKLOAD_STOP_SCRIPT } from '../../suites/live-migration/guest-scripts.js';
import { createLiveMigrationSuite } from '../../suites/live-migration/index.js';
import { MAX_LEGS } from '../../suites/live-migration/options.js';
import { describeAgentNetwork, expectedWriterSha256 } from '../../suites/live-migration/parse.js';
import type { ProbeReport } from '../../suites/live-migration/probes.js';
import type { SuiteTools } from '../../suites/live-migration/tools.js';
import { fakeContext, fakeGuest, type FakeContext } from './helpers/fake-guest.js';

const HV1: HostInfo = { name: 'hv1', uri: 'qemu+ssh://hv1/system', migrationUri: 'qemu+tcp://10.77.0.1/system' };
const HV2: HostInfo = { name: 'hv2', uri: 'qemu+ssh://hv2/system', migrationUri: 'qemu+tcp://10.77.0.2/system' };
const NAME = 'imgtest-run1-g1';
const MAC = '52:54:00:00:00:11';
const ADDRESS = '10.78.0.11';

function domainXml(extra: { cpu?: string; cache?: string; hostdev?: boolean } = {}): string {
  const cpu = extra.cpu ?? `<cpu mode='custom' match='exact' check='full'><model fallback='forbid'>qemu64</model></cpu>`;
  const cache = extra.cache === undefined ? " cache='none'" : extra.cache === 'default' ? '' : ` cache='${extra.cache}'`;
  return `<domain type='qemu'>
  <name>${NAME}</name>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  ${cpu}
  <devices>
    <disk type='volume' device='disk'><driver name='qemu' type='qcow2'${cache}/><source pool='imgtest' volume='${NAME}.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='volume' device='cdrom'><driver name='qemu' type='raw'/><source pool='imgtest' volume='${NAME}-seed.iso'/><target dev='sda' bus='scsi'/><readonly/></disk>
    <interface type='bridge'><mac address='${MAC}'/><source bridge='brg'/><model type='virtio'/></interface>
    ${extra.hostdev ? `<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source></hostdev>` : ''}
  </devices>
</domain>`;
}

const ok = (stdout = ''): ExecResult => ({ stdout, stderr: '', exitCode: 0 });

interface ScenarioOptions {
  options?: Record<string, unknown>;
  xml?: string;
  /** virsh capabilities host CPU per host. */
  hostCpu?: Record<string, string>;
  cpuCompare?: string;
  storage?: 'per-host' | 'shared';
  /** What migrate() does on leg n (1-based). */
  move?: (leg: number, to: HostInfo, options: MigrationOptions) => Partial<MigrationOutcome> | 'throw';
  rebootOnLeg?: number;
  agent?: 'always' | 'never' | 'lost-after-move';
  kernelAfterMove?: string[];
  kernelBeforeMarker?: string[];
  corruptFileOnLeg?: number;
  brokenSessionOnLeg?: number;
  clockJumpMs?: number;
  icmpGapMs?: number;
  /** From the end of this leg's move on, the guest has no IPv4 address (SSH cannot reach it; its agent still answers). */
  addressLostOnLeg?: number;
}

/** A guest whose hypervisor, scripts and clock answer like the lab's, with knobs for what can go wrong. */
function scenario(s: ScenarioOptions = {}) {
  let clock = 1_700_000_000_000;
  let host = HV1;
  let leg = 0;
  let bootId = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
  let offsetMs = 300;
  const tokens: string[] = [];
  const markers: string[] = [];
  const migrations: { to: string; options: MigrationOptions }[] = [];
  const prepares: string[] = [];
  const moveWindows: { start: number; end: number }[] = [];
  let tokenCount = 0;

  const tools: SuiteTools = {
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
    },
    token: () => `tok${++tokenCount}`,
    withTempFile: (_name, _content, task) => task('/tmp/imgtest-test/cpu.xml'),
    startProbes: () => {
      const startedAt = clock;
      return {
        async stop(): Promise<ProbeReport> {
          const stoppedAt = clock;
          const replies: number[] = [];
          const gap = s.icmpGapMs ?? 400;
          const window = moveWindows[moveWindows.length - 1];
          for (let t = startedAt; t <= stoppedAt; t += 200) if (!window || t < window.start || t > window.start + gap) replies.push(t);
          return { startedAt, stoppedAt, icmp: { available: true, replies, sent: 40, lost: 2 }, tcp: { available: true, replies: replies.filter((_, i) => i % 2 === 0).concat(), sent: 40, lost: 3 } };
        },
      };
    },
  };

  const hypervisor: GuestHypervisor = {
    currentHost: () => host,
    storage: () => ({ kind: s.storage ?? 'per-host', pool: s.storage === 'shared' ? 'imgtest-shared' : 'imgtest' }),
    domainXml: async () => s.xml ?? domainXml(),
    virsh: async (on, args) => {
      switch (args[0]) {
        case 'capabilities':
          return ok(`<capabilities><host><uuid>x</uuid><cpu>${s.hostCpu?.[on.name] ?? '<arch>x86_64</arch><model>Skylake</model>'}</cpu></host></capabilities>`);
        case 'hypervisor-cpu-compare':
          return s.cpuCompare === 'incompatible'
            ? { stdout: `CPU described in ${args[1]} is incompatible with the CPU provided by hypervisor on the host\n`, stderr: '', exitCode: 1 }
            : ok(`The CPU provided by hypervisor on the host is a superset of CPU described in ${args[1]}\n`);
        case 'domstate':
          return on.name === host.name ? ok('running\n') : { stdout: '', stderr: `error: failed to get domain '${NAME}'\n`, exitCode: 1 };
        case 'qemu-agent-command': {
          const answers = s.agent === 'never' ? false : s.agent === 'lost-after-move' ? leg === 0 : true;
          if (!answers) return { stdout: '', stderr: 'error: Guest agent is not responding: QEMU guest agent is not connected', exitCode: 1 };
          if (args[2] === '{"execute":"guest-network-get-interfaces"}') {
            const ipv4 = addressLost() ? [] : [{ 'ip-address-type': 'ipv4', 'ip-address': ADDRESS, prefix: 24 }];
            return ok(
              JSON.stringify({
                return: [
                  { name: 'lo', 'hardware-address': '00:00:00:00:00:00', 'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': '127.0.0.1', prefix: 8 }] },
                  { name: 'enp1s0', 'hardware-address': MAC, 'ip-addresses': [...ipv4, { 'ip-address-type': 'ipv6', 'ip-address': 'fe80::5054:ff:fe27:4a64', prefix: 64 }] },
                ],
              }),
            );
          }
          return ok('{"return":{}}');
        }
        default:
          throw new Error(`unscripted virsh ${args.join(' ')}`);
      }
    },
    prepareMigration: async (to) => {
      prepares.push(`${host.name} -> ${to.name}`);
      return ['overlay created'];
    },
    migrate: async (to, options) => {
      leg++;
      migrations.push({ to: to.name, options });
      const start = clock;
      const scripted = s.move?.(leg, to, options);
      if (scripted === 'throw') throw new Error('host hv2 stopped answering while imgtest-run1-g1 moved hv1 -> hv2');
      clock += 3000;
      moveWindows.push({ start, end: clock });
      const base: MigrationOutcome = {
        ok: true,
        from: host.name,
        to: to.name,
        storage: options.storage,
        unsafe: false,
        command: ['migrate', '--live', NAME, to.migrationUri],
        prepared: ['overlay created'],
        startedAt: start,
        finishedAt: clock,
        stats: {
          downtimeMs: 150 + leg,
          timeElapsedMs: 2900,
          memoryProcessedBytes: 60 * 2 ** 20,
          dataProcessedBytes: 60 * 2 ** 20,
          diskProcessedBytes: 10 * 2 ** 20,
          raw: { downtime: String(150 + leg) },
        },
        ...scripted,
      };
      if (base.ok) {
        host = to;
        if (s.rebootOnLeg === leg) bootId = 'ffffffff-0000-0000-0000-000000000000';
        if (s.clockJumpMs) offsetMs += s.clockJumpMs;
      }
      return base;
    },
  };

  const addressLost = () => s.addressLostOnLeg !== undefined && leg >= s.addressLostOnLeg;
  // What the guest's ssh2 session throws: no connection to the guest, or the held one dropping.
  const unreachable = () => new GuestTransportError(`SSH to cloud@${ADDRESS}: cannot connect: connection timed out`, ADDRESS, 'connect');
  const dropped = (why: string, stdout: string) =>
    new GuestTransportError(`SSH to cloud@${ADDRESS}: ${why} before \`sh -s -- /var/tmp/x/stop\` returned its exit status`, ADDRESS, 'closed', { output: { stdout, stderr: '' } });
  const guest = fakeGuest({ name: NAME, address: ADDRESS, hypervisor });
  (guest as { mac: string }).mac = MAC;
  guest.script = async (text, args = [], _options) => {
    if (addressLost()) throw unreachable();
    if (text === STATE_SCRIPT) {
      return ok(`boot_id ${bootId}\nuptime ${((clock - 1_699_999_000_000) / 1000).toFixed(2)}\nif enp1s0 ${MAC}\naddr enp1s0 ${ADDRESS}/24\n`);
    }
    if (text === WORKLOAD_START_SCRIPT) {
      tokens.push(args[1]!);
      return ok('started\n');
    }
    if (text === KMSG_SCRIPT) {
      markers.push(args[0]!);
      return ok();
    }
    if (text === HEARTBEAT_SCRIPT) {
      if (s.addressLostOnLeg === leg + 1) throw dropped('the connection stopped answering (6 keepalives 5 s apart unanswered)', 'hb 1 1700000000.1');
      if (s.brokenSessionOnLeg === leg + 1) throw dropped('the connection was closed by the remote host', 'hb 1 1700000000.1\nhb 2 1700000000.3');
      return ok('hb 1 1700000000.10\nhb 2 1700000000.30\nhb 3 1700000000.95\nhb 4 1700000001.15\nhb-end 4\n');
    }
    if (text === WORKLOAD_STOP_SCRIPT) {
      const token = tokens[tokens.length - 1]!;
      const window = moveWindows[moveWindows.length - 1] ?? { start: clock, end: clock };
      const at = (ms: number) => ((ms + offsetMs) / 1000).toFixed(3);
      const progress = `1 ${at(window.start - 500)}\n2 ${at(window.start + 1000)}\n3 ${at(window.start + 2000)}\n4 ${at(window.end + 500)}\ndone\n`;
      const sha = s.corruptFileOnLeg === leg ? 'e'.repeat(64) : expectedWriterSha256(token, 4);
      return ok(`--- progress\n${progress}--- sha256\n${sha}  ${args[0]}/data\n`);
    }
    throw new Error(`unscripted script ${text.slice(0, 40)}`);
  };
  guest.exec = async (argv, options = {}) => {
    if (addressLost()) throw unreachable();
    const key = argv.join(' ');
    if (key === 'date +%s.%N') return ok(`${((clock + offsetMs) / 1000).toFixed(9)}\n`);
    if (key === 'dmesg' && options.sudo) {
      const marker = markers[markers.length - 1] ?? '';
      return ok(
        [...(s.kernelBeforeMarker ?? ['[    1.000] Linux version 6.1.0']), `[  100.000] ${marker}`, ...(s.kernelAfterMove ?? ['[  101.000] virtio_net virtio1 enp1s0: Link is Up'])].join('\n'),
      );
    }
    throw new Error(`unscripted exec ${key}`);
  };
  const context: FakeContext = fakeContext([guest], s.options ?? {});
  (context as { hosts: readonly HostInfo[] }).hosts = [HV1, HV2];
  return { guest, context, tools, migrations, markers, prepares };
}

async function runAll(suite: Suite, context: FakeContext): Promise<Map<string, CheckOutcome | { status: 'error'; message: string }>> {
  const results = new Map<string, CheckOutcome | { status: 'error'; message: string }>();
  for (const check of suite.checks) {
    try {
      results.set(check.id, await check.run(context));
    } catch (error) {
      results.set(check.id, { status: 'error', message: (error as Error).message });
    }
  }
  return results;
}

const statuses = (results: Map<string, { status: string }>, prefix: string) => [...results].filter(([id]) => id.startsWith(prefix)).map(([id, r]) => `${id}: ${r.status}`);

describe('live-migration suite', () => {
  it('declares one exclusive guest on two hosts, the first firmware only, and stable check ids', () => {
    const suite = createLiveMigrationSuite();
    expect(suite.requires).toEqual({ guests: { count: 1, placement: 'any', sharing: 'exclusive', firmwareMatrix: 'first' }, minHosts: 2 });
    const ids = suite.checks.map((c) => c.id);
    expect(ids.slice(0, 4)).toEqual(['mig-cpu-migratable', 'mig-no-host-devices', 'mig-disk-cache', 'mig-storage-mode']);
    expect(ids).toHaveLength(4 + 10 * MAX_LEGS);
    expect(ids.slice(4, 14)).toEqual([
      'mig-leg1-migrate',
      'mig-leg1-running-on-destination',
      'mig-leg1-same-boot',
      'mig-leg1-same-address',
      'mig-leg1-ssh-session',
      'mig-leg1-clock',
      'mig-leg1-kernel-log',
      'mig-leg1-file-integrity',
      'mig-leg1-guest-agent',
      'mig-leg1-network-gap',
    ]);
    expect(suite.checks.find((c) => c.id === 'mig-leg2-network-gap')!.severity).toBe('should');
  });

  it('two legs there and back: every check passes, later legs skipped, figures recorded', async () => {
    const { context, tools, migrations, markers, prepares } = scenario();
    const results = await runAll(createLiveMigrationSuite(tools), context);
    expect(prepares).toEqual(['hv1 -> hv2', 'hv2 -> hv1']);
    const notPassed = [...results].filter(([id, r]) => r.status !== 'pass' && !/^mig-leg[34]-/.test(id)).map(([id, r]) => `${id}: ${r.status}: ${r.message}`);
    expect(notPassed).toEqual([]);
    expect(statuses(results, 'mig-leg3').every((line) => line.endsWith('skip'))).toBe(true);
    expect(results.get('mig-leg4-migrate')!.message).toBe('not run: 2 legs configured (suites.live-migration.legs)');
    expect(migrations).toEqual([
      { to: 'hv2', options: { storage: 'copy', allowUnsafe: true, timeoutSeconds: 600 } },
      { to: 'hv1', options: { storage: 'copy', allowUnsafe: true, timeoutSeconds: 600 } },
    ]);
    expect(results.get('mig-leg1-migrate')!.message).toBe('hv1 -> hv2 in 3.0 s, libvirt downtime 151 ms, 60.0 MiB memory + 10.0 MiB disk');
    expect(results.get('mig-leg2-running-on-destination')!.message).toBe('running on hv1, gone from hv2');
    expect(results.get('mig-leg1-file-integrity')!.message).toBe('4 fsynced chunks (2 during the move) read back intact on hv2');
    expect(results.get('mig-leg1-network-gap')!.message).toMatch(/^longest silence \d+ ms \(ICMP \d+ ms, TCP connect \d+ ms; libvirt downtime 151 ms\)$/);
    expect(results.get('mig-storage-mode')!.message).toMatch(/^copy: per-host pool 'imgtest'/);
    expect(markers[0]).toMatch(/^imgtest: live migration leg 1 hv1 -> hv2 begins \(tok1\)$/);
    expect(context.properties).toMatchObject({
      'migration.storage': 'copy',
      'migration.route': 'hv1 -> hv2 -> hv1',
      'migration.leg1.route': 'hv1 -> hv2',
      'migration.leg1.result': 'moved',
      'migration.leg1.libvirt-downtime-ms': '151',
      'migration.leg1.libvirt-total-ms': '2900',
      'migration.leg1.wall-ms': '3000',
      'migration.leg1.memory-bytes': String(60 * 2 ** 20),
      'migration.leg1.disk-bytes': String(10 * 2 ** 20),
      'migration.leg1.bytes': String(70 * 2 ** 20),
      'migration.leg2.route': 'hv2 -> hv1',
      'migration.leg2.libvirt-downtime-ms': '152',
      'migration.leg2.clock-offset-ms': expect.stringMatching(/^\d+$/),
    });
    expect(Number(context.properties['migration.leg1.guest-gap-ms'])).toBeGreaterThanOrEqual(400);
    expect(context.properties['migration.leg1.heartbeat-pause-ms']).toBe('650');
  });

  it("a move libvirt refuses fails the leg with libvirt's message; what depends on it is skipped", async () => {
    const { context, tools } = scenario({
      storage: 'shared',
      options: { allowUnsafe: false },
      move: () => ({ ok: false, error: 'Unsafe migration: Migration without shared storage is unsafe', stats: undefined }),
    });
    const results = await runAll(createLiveMigrationSuite(tools), context);
    expect(results.get('mig-storage-mode')!.status).toBe('pass');
    expect(results.get('mig-storage-mode')!.message).toMatch(/allowUnsafe is off/);
    expect(results.get('mig-leg1-migrate')).toMatchObject({ status: 'fail', message: 'hv1 -> hv2: Unsafe migration: Migration without shared storage is unsafe' });
    expect(results.get('mig-leg1-same-boot')).toMatchObject({ status: 'skip', message: expect.stringMatching(/^not run: the move failed \(see mig-leg1-migrate\)/) });
    expect(results.get('mig-leg2-migrate')).toMatchObject({ status: 'skip', message: 'not run: leg 1 failed to move the guest' });
    expect(context.properties['migration.leg1.result']).toBe('failed: Unsafe migration: Migration without shared storage is unsafe');
  });

  it('a reboot during the move fails same-boot', async () => {
    const { context, tools } = scenario({ rebootOnLeg: 1 });
    const results = await runAll(createLiveMigrationSuite(tools), context);
    expect(results.get('mig-leg1-same-boot')).toMatchObject({ status: 'fail', message: expect.stringMatching(/rebooted during the move: boot_id 0f1e2d3c-.* -> ffffffff-/) });
    expect(results.get('mig-leg2-same-boot')!.status).toBe('pass');
  });

  it('host-passthrough between hosts with different CPUs fails preflight; nothing moves', async () => {
    const { context, tools, migrations } = scenario({
      xml: domainXml({ cpu: "<cpu mode='host-passthrough' check='none'/>" }),
      hostCpu: { hv1: '<model>Skylake</model>', hv2: '<model>Haswell</model>' },
    });
    const results = await runAll(createLiveMigrationSuite(tools), context);
    expect(results.get('mig-cpu-migratable')).toMatchObject({ status: 'fail', message: expect.stringMatching(/host-passthrough passes hv1's own CPU.*hv2 report a different host CPU/) });
    expect(results.get('mig-leg1-migrate')).toMatchObject({ status: 'skip', message: 'not run: preflight failed (mig-cpu-migratable)' });
    expect(migrations).toEqual([]);
  });

  it('host-passthrough between identical hosts passes', async () => {
    const { context, tools } = scenario({ xml: domainXml({ cpu: "<cpu mode='host-passthrough'/>" }) });
    const results = await runAll(createLiveMigrationSuite(tools), context);
    expect(results.get('mig-cpu-migratable')).toMatchObject({ status: 'pass', message: 'CPU mode host-passthrough, but every host reports the identical host CPU' });
  });

  it('an incompatible CPU model, a PCI host device and a writeback disk each fail their preflight check', async () => {
    const { context, tools } = scenario({ cpuCompare: 'incompatible', xml: domainXml({ hostdev: true, cache: 'default' }) });
    const results = await runAll(createLiveMigrationSuite(tools), context);
    expect(results.get('mig-cpu-migratable')).toMatchObject({ status: 'fail', message: 'CPU model custom qemu64 cannot run on hv2 (virsh hypervisor-cpu-compare: incompatible)' });
    expect(results.get('mig-no-host-devices')).toMatchObject({ status: 'fail', message: expect.stringMatching(/host devices.*hostdev pci 0000:03:00\.0/) });
    expect(results.get('mig-disk-cache')).toMatchObject({ status: 'fail', message: 'disk cache mode not allowed for a live migration: vda cache=default (writeback) (allowed: none, directsync)' });
    expect(results.get('mig-leg1-migrate')!.message).toBe('not run: preflight failed (mig-cpu-migratable, mig-no-host-devices, mig-disk-cache)');
  });

  it('storage shared asked for a guest on per-host pools fails the storage check', async () => {
    const { context, tools } = scenario({ options: { storage: 'shared' } });
    const results = await runAll(createLiveMigrationSuite(tools), context);
    expect(results.get('mig-storage-mode')).toMatchObject({ status: 'fail', message: expect.stringMatching(/storage: shared, but .* per-host pool 'imgtest' \(set storage.sharedPool/) });
  });

  it('kernel errors after the marker fail kernel-log; older ones do not count', async () => {
    const clean = scenario({
      kernelBeforeMarker: ['[    5.000] watchdog: BUG: soft lockup - CPU#0 stuck for 22s!'],
      // The watchdog declining to judge a stalled read is no error (seen under TCG on a busy host).
      kernelAfterMove: [
        '[  224.660802] clocksource: Long readout interval, skipping watchdog check: cs_nsec: 2561793394 wd_nsec: 2561776590',
        '[  735.167703] clocksource: timekeeping watchdog on CPU0: hpet wd-wd read-back delay of 132270ns',
        '[  735.334765] clocksource: wd-tsc-wd read-back delay of 417430ns, clock-skew test skipped!',
      ],
    });
    expect((await runAll(createLiveMigrationSuite(clean.tools), clean.context)).get('mig-leg1-kernel-log')!.status).toBe('pass');
    const hurt = scenario({ kernelAfterMove: ["[  102.000] clocksource: timekeeping watchdog on CPU0: Marking clocksource 'tsc' as unstable because the skew is too large:"] });
    const results = await runAll(createLiveMigrationSuite(hurt.tools), hurt.context);
    expect(results.get('mig-leg1-kernel-log')).toMatchObject({ status: 'fail', message: expect.stringMatching(/^1 kernel error line\(s\) since the move began: clocksource: /) });
  });

  it('a file that lost fsynced data fails file-integrity', async () => {
    const { context, tools } = scenario({ corruptFileOnLeg: 2 });
    const results = await runAll(createLiveMigrationSuite(tools), context);
    expect(results.get('mig-leg1-file-integrity')!.status).toBe('pass');
    expect(results.get('mig-leg2-file-integrity')).toMatchObject({ status: 'fail', message: expect.stringMatching(/checksum on the destination does not match the 4 fsynced chunks/) });
  });

  it('guest agent: skipped when the image has none, failed when it stops answering after the move', async () => {
    const none = scenario({ agent: 'never' });
    expect((await runAll(createLiveMigrationSuite(none.tools), none.context)).get('mig-leg1-guest-agent')).toMatchObject({
      status: 'skip',
      message: expect.stringMatching(/did not answer before the move either/),
    });
    const lost = scenario({ agent: 'lost-after-move' });
    expect((await runAll(createLiveMigrationSuite(lost.tools), lost.context)).get('mig-leg1-guest-agent')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/answered on hv1 but not on hv2/),
    });
  });

  it('a broken held session, a clock jump and a long network gap fail their checks', async () => {
    const { context, tools } = scenario({ brokenSessionOnLeg: 1, clockJumpMs: 5000, icmpGapMs: 3600, options: { maxNetworkGapMs: 3000 } });
    const results = await runAll(createLiveMigrationSuite(tools), context);
    expect(results.get('mig-leg1-ssh-session')).toMatchObject({
      status: 'fail',
      message: 'the held session broke after 2 beats: SSH to cloud@10.78.0.11: the connection was closed by the remote host before `sh -s -- /var/tmp/x/stop` returned its exit status',
    });
    expect(results.get('mig-leg1-clock')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/^after the move the guest's clock is 5\d\d\d ms off the host's \(tolerance 5000 ms; before the move: 300 ms\)$/),
    });
    expect(results.get('mig-leg1-network-gap')).toMatchObject({ status: 'fail', message: expect.stringMatching(/did not answer for 4\d\d\d ms \(allowed 3000 ms\)/) });
  });

  it('a guest that lost its address (its agent still answers) fails the leg, and the messages say the address is gone, not the connection', async () => {
    const { context, tools } = scenario({ addressLostOnLeg: 1 });
    const results = await runAll(createLiveMigrationSuite(tools), context);
    const lost = /; the guest agent answers and reports no IPv4 address on enp1s0 \(it had 10\.78\.0\.11 before the move\): the guest lost its address, not only its connection$/;
    expect(results.get('mig-leg1-same-boot')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/^the guest could not be read after the move: SSH to cloud@10\.78\.0\.11: cannot connect: connection timed out; the guest agent answers/),
    });
    expect(results.get('mig-leg1-ssh-session')).toMatchObject({ message: expect.stringMatching(/^the held session broke after 1 beat: SSH to cloud@10\.78\.0\.11: the connection stopped answering/) });
    for (const id of ['mig-leg1-same-boot', 'mig-leg1-same-address', 'mig-leg1-clock', 'mig-leg1-ssh-session', 'mig-leg1-kernel-log']) {
      expect(results.get(id), id).toMatchObject({ status: 'fail', message: expect.stringMatching(lost) });
    }
    expect(results.get('mig-leg1-guest-agent')!.status).toBe('pass');
    // With the address still there, SSH failing for another reason: the agent's view says so instead.
    const kept = scenario({ brokenSessionOnLeg: 1 });
    const keptResults = await runAll(createLiveMigrationSuite(kept.tools), kept.context);
    expect(keptResults.get('mig-leg1-ssh-session')!.message).not.toMatch(/guest agent/);
  });

  it('a move that shifts the clock more than allowed fails clock, even within the absolute tolerance', async () => {
    const { context, tools } = scenario({ clockJumpMs: -2600 });
    const results = await runAll(createLiveMigrationSuite(tools), context);
    expect(results.get('mig-leg1-clock')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/^the move shifted the guest's clock by -2600 ms against the host's \(tolerance 2000 ms; now -2300 ms off\)$/),
    });
  });

  it('a host that vanishes mid-move is an error for that leg; later legs are skipped', async () => {
    const { context, tools } = scenario({ move: () => 'throw' });
    const results = await runAll(createLiveMigrationSuite(tools), context);
    expect(results.get('mig-leg1-migrate')).toMatchObject({ status: 'error', message: expect.stringMatching(/stopped answering/) });
    expect(results.get('mig-leg1-clock')!.status).toBe('error');
    expect(results.get('mig-leg2-migrate')).toMatchObject({ status: 'skip', message: expect.stringMatching(/^not run: leg 1 could not run \(host hv2 stopped answering/) });
  });

  it('bad options are an error naming the field', async () => {
    const { context, tools } = scenario({ options: { legs: 9 } });
    const results = await runAll(createLiveMigrationSuite(tools), context);
    expect(results.get('mig-leg1-migrate')).toMatchObject({ status: 'error', message: expect.stringMatching(/^live-migration options: legs: /) });
  });

  it('legs: 3 goes there, back and there again', async () => {
    const { context, tools, migrations } = scenario({ options: { legs: 3 } });
    const results = await runAll(createLiveMigrationSuite(tools), context);
    expect(migrations.map((m) => m.to)).toEqual(['hv2', 'hv1', 'hv2']);
    expect(results.get('mig-leg3-running-on-destination')).toMatchObject({ status: 'pass', message: 'running on hv2, gone from hv1' });
    expect(results.get('mig-leg4-migrate')!.status).toBe('skip');
  });
});

describe('the guest agent on the guest network (after SSH could not read the guest)', () => {
  const reply = (addresses: string[]) =>
    JSON.stringify({ return: [{ name: 'enp1s0', 'hardware-address': '52:54:00:AA:BB:CC', 'ip-addresses': addresses.map((a) => ({ 'ip-address-type': 'ipv4', 'ip-address': a, prefix: 24 })) }] });

  it('names the address still there, a changed one, or none; undefined for a reply that is not the schema', () => {
    expect(describeAgentNetwork(reply(['10.78.0.11']), '52:54:00:aa:bb:cc', ['10.78.0.11'])).toBe('the guest agent answers and reports 10.78.0.11 on enp1s0, as before the move');
    expect(describeAgentNetwork(reply(['10.78.0.99']), '52:54:00:aa:bb:cc', ['10.78.0.11'])).toBe('the guest agent answers and reports 10.78.0.99 on enp1s0 (it had 10.78.0.11 before the move)');
    expect(describeAgentNetwork(reply([]), '52:54:00:aa:bb:cc', [])).toBe('the guest agent answers and reports no IPv4 address on enp1s0: the guest lost its address, not only its connection');
    expect(describeAgentNetwork(reply(['10.78.0.11']), '52:54:00:00:00:01', ['10.78.0.11'])).toBe('the guest agent answers but lists no interface with MAC 52:54:00:00:00:01');
    expect(describeAgentNetwork('{"error":{"class":"CommandNotFound"}}', '52:54:00:aa:bb:cc', [])).toBeUndefined();
    expect(describeAgentNetwork('not json', '52:54:00:aa:bb:cc', [])).toBeUndefined();
  });
});
