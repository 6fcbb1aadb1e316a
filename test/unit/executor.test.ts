/**
 * executeRun against a pair of fake hosts (the `HypervisorHost` seam), a fake key generator and a
 * fixed clock, through the same `runToReport` the CLI uses: what an offline-only run reports, a host
 * that does not answer, and boots that fail (the cases the suite gets, the TCG retry after a KVM
 * failure, and cleanup of everything that was made). The image is a real (tiny, empty) qcow2 read by
 * qemu-img; seeds are built with genisoimage; nothing else leaves the process.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/load.js';
import type { ImgtestConfig } from '../../src/config/schema.js';
import { InfraError } from '../../src/errors.js';
import type { CaseResult, RunResult, SuiteResult } from '../../src/report/model.js';
import { CleanupRegistry } from '../../src/runner/cleanup.js';
import type { RunEnvironment } from '../../src/runner/environment.js';
import { executeRun, type RunOptions } from '../../src/runner/executor.js';
import { runToReport, type RunEnd } from '../../src/runner/run-lifecycle.js';
import { RunRecord } from '../../src/runner/run-record.js';
import { fail, pass, type CheckContext, type Suite } from '../../src/suite-api/index.js';
import { FakeHost } from './helpers/fake-host.js';

const has = (tool: string) => ['/usr/bin', '/usr/local/bin', '/bin'].some((dir) => existsSync(join(dir, tool)));
const canReadImages = has('qemu-img') && has('qemu-io');
const canBuildSeeds = has('genisoimage');

/** The fixed clock: every suite starts at this instant, and no time passes. */
const NOW = Date.parse('2026-12-01T10:00:00.000Z');

let dir: string;
let imagePath: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgtest-executor-test-'));
  imagePath = join(dir, 'tiny.qcow2');
  if (canReadImages) execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', imagePath, '64M']);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** An offline suite: its first check passes and says which time servers it was given, its second fails. */
const offlineSuite: Suite = {
  id: 'file-facts',
  title: 'facts of the image file',
  requires: { offline: true },
  checks: [
    { id: 'ff-format', title: 'a qcow2', severity: 'must', run: async (c: CheckContext) => pass(`${c.image.format}; time servers ${c.timeServers.join(', ') || 'none'}`) },
    { id: 'ff-size', title: 'at least 1 GiB', severity: 'must', run: async (c: CheckContext) => fail(`${c.image.virtualSize / 2 ** 20} MiB`) },
  ],
};

/** An online suite on one shared guest; its check counts how often it ran (it must not, when the boot fails). */
function guestSuite(): Suite & { ran: number } {
  const suite: Suite & { ran: number } = {
    id: 'on-guest',
    title: 'on a guest',
    ran: 0,
    requires: { guests: { count: 1, placement: 'any', sharing: 'shared' } },
    checks: [
      { id: 'og-one', title: 'one', severity: 'must', run: async () => ranOn(suite) },
      { id: 'og-two', title: 'two', severity: 'should', run: async () => ranOn(suite) },
    ],
  };
  return suite;
}

function ranOn(suite: { ran: number }) {
  suite.ran++;
  return pass('ran');
}

interface Harness {
  end: RunEnd;
  result: RunResult;
  hosts: FakeHost[];
  cleanup: CleanupRegistry;
  record: RunRecord;
  log: string[];
  keys: string[];
  addressChecks: number[];
  junit: string;
}

/** One run through runToReport (as the CLI does it) on fake hosts hv1 and hv2; cleanup has run when it returns. */
async function run(suites: Suite[], options: { hosts?: FakeHost[]; config?: Partial<ImgtestConfig>; run?: Partial<RunOptions> } = {}): Promise<Harness> {
  const hosts = options.hosts ?? [new FakeHost('hv1'), new FakeHost('hv2')];
  const config = { ...defaultConfig(), ...options.config };
  const record = new RunRecord(suites, join(dir, 'reports'), imagePath, '0.0.0-test');
  await record.open();
  const cleanup = new CleanupRegistry();
  const log: string[] = [];
  const keys: string[] = [];
  const addressChecks: number[] = [];
  const env: RunEnvironment = {
    hosts: async () => hosts.map((h) => h.config),
    connect: (config) => hosts.find((h) => h.name === config.name)!,
    generateKey: async (workDir, runId) => {
      keys.push(runId);
      const keyFile = join(workDir, 'id_ed25519');
      await writeFile(keyFile, 'not a key');
      return { keyFile, publicKey: `ssh-ed25519 AAAAfake imgtest-${runId}` };
    },
    now: () => NOW,
    timeServers: ['192.0.2.123'],
    checkAddresses: async (guests) => {
      addressChecks.push(guests);
      return `addresses: ${guests} needed, plenty free`;
    },
  };
  const signal = new AbortController().signal;
  const end = await runToReport({ record, cleanup, signal, warn: (line) => log.push(`warn: ${line}`) }, () =>
    executeRun({ imagePath, suites, config, record, keep: false, reporters: [{ onLog: (line) => log.push(line) }], cleanup, signal, ...options.run }, env),
  );
  const junit = await readFile(join(record.dir, 'junit.xml'), 'utf8');
  return { end, result: end.result, hosts, cleanup, record, log, keys, addressChecks, junit };
}

const suiteOf = (result: RunResult, id: string): SuiteResult => result.suites.find((s) => s.suiteId === id)!;
const statuses = (cases: readonly CaseResult[]) => cases.map((c) => `${c.checkId}: ${c.status}`);

describe.skipIf(!canReadImages)('executeRun on fake hosts', () => {
  it('an offline-only run: its results, the hosts it read, the injected clock and time servers; the key is made, nothing boots', async () => {
    const { end, result, hosts, log, keys, addressChecks } = await run([offlineSuite]);
    expect(end.error).toBeUndefined();
    const suite = suiteOf(result, 'file-facts');
    expect(statuses(suite.cases)).toEqual(['ff-format: passed', 'ff-size: failed']);
    expect(suite.cases[0]!.message).toBe('qcow2; time servers 192.0.2.123');
    expect(suite.cases[1]!.message).toBe('64 MiB');
    expect(suite.startedAt).toBe('2026-12-01T10:00:00.000Z');
    expect(suite.durationMs).toBe(0);
    expect(result.exitCode).toBe(1);
    expect(result.hosts).toEqual([
      { name: 'hv1', uri: 'qemu+ssh://root@hv1/system', libvirtVersion: '9.0.0', qemuVersion: '7.2.0' },
      { name: 'hv2', uri: 'qemu+ssh://root@hv2/system', libvirtVersion: '9.0.0', qemuVersion: '7.2.0' },
    ]);
    // The key is made before the suites start (as for any run); no guest, so no address check and no host call.
    expect(keys).toEqual([result.runId]);
    expect(addressChecks).toEqual([]);
    expect(hosts.flatMap((h) => h.calls)).toEqual([]);
    expect(log.some((line) => line.startsWith('image tiny: qcow2, 0.1 GiB virtual'))).toBe(true);
  });

  it('a host that does not answer ends the run as an <error> naming the host, before any key is made or anything is uploaded', async () => {
    const down = new FakeHost('hv2', {
      facts: () => {
        throw new InfraError('host hv2 (qemu+ssh://root@hv2/system) does not answer: hv2:22: no connection within 10 s (hosts[].connectTimeoutSeconds)', { code: 'E_HOST_UNREACHABLE' });
      },
    });
    const hv1 = new FakeHost('hv1');
    const suite = guestSuite();
    const { end, result, keys, junit } = await run([offlineSuite, suite], { hosts: [hv1, down] });
    expect(end.error).toBeInstanceOf(InfraError);
    const runCase = suiteOf(result, 'imgtest').cases[0]!;
    expect(runCase).toMatchObject({ checkId: 'run', status: 'error' });
    expect(runCase.message).toMatch(/^host hv2 \(qemu\+ssh:\/\/root@hv2\/system\) does not answer: .* \[E_HOST_UNREACHABLE\]$/);
    expect(result.exitCode).toBe(3);
    // Every suite is reported, each check skipped with the reason.
    expect(statuses(suiteOf(result, 'on-guest').cases)).toEqual(['og-one: skipped', 'og-two: skipped']);
    expect(suiteOf(result, 'file-facts').cases[0]!.message).toMatch(/^not run: host hv2 .* does not answer/);
    expect(junit).toMatch(/<error message="host hv2 \(qemu\+ssh:\/\/root@hv2\/system\) does not answer/);
    expect(keys).toEqual([]);
    expect(hv1.calls).toEqual([]);
    expect(suite.ran).toBe(0);
  });

  describe.skipIf(!canBuildSeeds)('boots that fail', () => {
    it('QEMU refusing to start the guest: one boot <error> and the checks skipped; artifacts saved; everything made is removed', async () => {
      const hv1 = new FakeHost('hv1', {
        start: () => {
          throw new Error(
            'error: Failed to start domain\nerror: internal error: process exited while connecting to monitor: qemu-system-x86_64: -drive file=/var/lib/libvirt/images/imgtest/x.qcow2: Could not open backing file',
          );
        },
        console: () => 'SeaBIOS (version 1.16.2)\n',
      });
      const suite = guestSuite();
      const { end, result, hosts, log, addressChecks, cleanup, junit } = await run([suite], { hosts: [hv1, new FakeHost('hv2')], run: { firmware: 'bios' } });
      expect(end.error).toBeUndefined();
      const domain = `imgtest-${result.runId}-g1`;
      const onGuest = suiteOf(result, 'on-guest');
      expect(statuses(onGuest.cases)).toEqual(['boot: error', 'og-one: skipped', 'og-two: skipped']);
      expect(onGuest.cases[0]!.message).toBe(
        `${domain}: could not start: error: internal error: process exited while connecting to monitor: qemu-system-x86_64: -drive file=/var/lib/libvirt/images/imgtest/x.qcow2: Could not open backing file`,
      );
      expect(onGuest.cases[1]!.message).toBe('not run: guest did not boot');
      expect(onGuest.guests).toEqual([{ name: domain, host: 'hv1', firmware: 'bios', datasource: 'nocloud', mac: '' }]);
      expect(suite.ran).toBe(0);
      expect(result.exitCode).toBe(3);
      expect(junit).toContain(`<error message="${domain}: could not start`);
      // The domain XML and console of the failed guest are attached to the suite.
      expect(onGuest.attachments.map((file) => file.slice(file.lastIndexOf('/') + 1)).sort()).toEqual([`${domain}.domain.xml`, `${domain}.serial.log`]);
      expect(
        await readFile(
          onGuest.attachments.find((file) => file.endsWith('.serial.log'))!,
          'utf8',
        ),
      ).toBe('SeaBIOS (version 1.16.2)\n');
      // The one guest boots on hv1 (the plan's first host); the address check heard of one guest.
      expect(addressChecks).toEqual([1]);
      expect(log).toContain('addresses: 1 needed, plenty free');
      expect(hosts[1]!.calls).toEqual([]);
      const base = `imgtest-${result.runId}-base.qcow2`;
      expect(hv1.calls.slice(0, 5)).toEqual([`upload ${base}`, `upload ${domain}-seed.iso`, `overlay ${domain}.qcow2`, `define ${domain} (qemu)`, `start ${domain}`]);
      // Cleanup, newest first: domain, serial log, overlay, seed, base; nothing is left on the host.
      expect(hv1.calls.slice(5)).toEqual([`remove ${domain}`, `delete ${domain}.serial.log`, `delete ${domain}.qcow2`, `delete ${domain}-seed.iso`, `delete ${base}`]);
      expect([...hv1.volumes, ...hv1.domains.keys()]).toEqual([]);
      expect(cleanup.pending()).toEqual([]);
    });

    it('KVM failing the guest: it is discarded and booted again under TCG; when that fails too, the TCG attempt is the one reported', async () => {
      const hv1 = new FakeHost('hv1', {
        facts: () => ({ hostname: 'hv1', kvmAvailable: true, cpus: 2 }),
        start: (name, virtType) => {
          if (virtType === 'kvm') throw new Error(`error: Failed to start domain '${name}'\nerror: internal error: qemu unexpectedly closed the monitor: kvm: failed to set MSR 0x10a to 0x2000000`);
          throw new Error('error: internal error: process exited while connecting to monitor: could not open disk');
        },
      });
      const suite = guestSuite();
      const { result, log } = await run([suite], { hosts: [hv1, new FakeHost('hv2')], run: { firmware: 'bios' } });
      const domain = `imgtest-${result.runId}-g1`;
      expect(log).toContain(`[hv1] ${domain}: KVM failed it (kvm: failed to set MSR 0x10a to 0x2000000); retrying under TCG (software emulation); later guests on hv1 start under TCG`);
      const onGuest = suiteOf(result, 'on-guest');
      expect(statuses(onGuest.cases)).toEqual(['boot: error', 'og-one: skipped', 'og-two: skipped']);
      expect(onGuest.cases[0]!.message).toMatch(new RegExp(`^${domain}t: could not start: .*could not open disk$`));
      expect(onGuest.guests).toEqual([{ name: domain, host: 'hv1', firmware: 'bios', datasource: 'nocloud', mac: '' }]);
      // The KVM guest goes at once (domain, overlay, seed, console), before the TCG one is made.
      const kvmStart = hv1.calls.indexOf(`start ${domain}`);
      expect(hv1.calls.slice(kvmStart - 1, kvmStart + 7)).toEqual([
        `define ${domain} (kvm)`,
        `start ${domain}`,
        `remove ${domain}`,
        `delete ${domain}.qcow2`,
        `delete ${domain}-seed.iso`,
        `delete ${domain}.serial.log`,
        `upload ${domain}t-seed.iso`,
        `overlay ${domain}t.qcow2`,
      ]);
      expect(hv1.calls).toContain(`define ${domain}t (qemu)`);
      expect([...hv1.volumes, ...hv1.domains.keys()]).toEqual([]);
      expect(suite.ran).toBe(0);
    });

    it('a guest every suite shares with a failed one stops booting at once and goes; the run reports the one failure', async () => {
      // hv1's guest would wait out its boot limits (its console stays empty): only the stop ends the run in time.
      const hv2 = new FakeHost('hv2', {
        start: () => {
          throw new Error('error: Failed to start domain\nerror: internal error: process exited while connecting to monitor: could not open disk');
        },
      });
      const hv1 = new FakeHost('hv1');
      const pair: Suite = {
        id: 'on-two',
        title: 'on two guests',
        requires: { guests: { count: 2, placement: 'spread', sharing: 'shared' } },
        checks: [{ id: 'ot-compare', title: 'compare', severity: 'must', run: async () => pass('ran') }],
      };
      const { result, log } = await run([pair], { hosts: [hv1, hv2], run: { firmware: 'bios' } });
      const [g1, g2] = [`imgtest-${result.runId}-g1`, `imgtest-${result.runId}-g2`];
      expect(log).toContain(`[hv1] ${g1}: boot stopped: every suite planned on it also needs g2, which did not boot`);
      const suite = suiteOf(result, 'on-two');
      expect(statuses(suite.cases)).toEqual(['boot: error', 'ot-compare: skipped']);
      expect(suite.cases[0]!.message).toMatch(new RegExp(`^${g2}: could not start: `));
      expect(result.exitCode).toBe(3);
      // The stopped guest is removed as soon as its boot has stopped; nothing is left on either host.
      expect(hv1.calls).toContain(`remove ${g1}`);
      expect([...hv1.volumes, ...hv1.domains.keys(), ...hv2.volumes, ...hv2.domains.keys()]).toEqual([]);
    });

    it('a firmware refusing the loader is the image’s failure (exit 1), and a suite that sees failed boots still runs its checks', async () => {
      const refusing = () =>
        new FakeHost('hv1', {
          console: () =>
            'BdsDxe: loading Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0)\r\nBdsDxe: failed to load Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0): Access Denied\r\n',
        });
      const plain = guestSuite();
      const first = await run([plain], { hosts: [refusing(), new FakeHost('hv2')], run: { firmware: 'uefi' } });
      const onGuest = suiteOf(first.result, 'on-guest');
      expect(statuses(onGuest.cases)).toEqual(['boot: failed', 'og-one: skipped', 'og-two: skipped']);
      expect(onGuest.cases[0]!.message).toMatch(/the firmware refused the loader: BdsDxe: failed to load Boot0001/);
      expect(first.result.exitCode).toBe(1);

      const seen: string[] = [];
      const seeing: Suite = {
        id: 'sees-boots',
        title: 'reads failed boots',
        requires: { guests: { count: 1, placement: 'any', sharing: 'shared', seesFailedBoots: true } },
        checks: [
          {
            id: 'sb-why',
            title: 'why',
            severity: 'must',
            run: async (c) => {
              seen.push(...c.bootFailures.map((f) => `${f.host} ${f.cause}`));
              return fail(`${c.guests.length} guests`);
            },
          },
        ],
      };
      const second = await run([seeing], { hosts: [refusing(), new FakeHost('hv2')], run: { firmware: 'uefi' } });
      expect(statuses(suiteOf(second.result, 'sees-boots').cases)).toEqual(['sb-why: failed']);
      expect(seen).toEqual(['hv1 image']);
    });
  });
});
