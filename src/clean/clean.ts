import { readdir, readFile } from 'node:fs/promises';
import type { HostConfig, ImgtestConfig } from '../config/schema.js';
import { LibvirtHost } from '../hosts/libvirt-host.js';
import { labHosts, labIsUp } from '../lab/index.js';
import { readLabLeases, releaseLabLeases } from '../lab/leases.js';
import { deleteRedirectRules, listRedirectRules } from '../lab/metadata-redirect.js';
import { registeredRuns } from '../lab/run-registry.js';
import { describeItem, planHostClean, planLeaseClean, unregisteredRuns, type CleanItem, type HostInventory } from './plan.js';

/**
 * `imgtest clean [--dry-run]`: removes what runs that are no longer in progress left on the hosts
 * (domains with their NVRAM, volumes in every pool, temporary pools) and, for the local lab, their
 * DHCP leases. Prints one line per item; returns the exit code (0, or 3 when a host did not answer or
 * a removal failed).
 */

type Out = (line: string) => void;

/** Where libvirt keeps a domain's UEFI variable store when the domain XML names none (ours never does). */
const NVRAM_FOLDER = '/var/lib/libvirt/qemu/nvram';
const NVRAM_POOL = 'imgtest-clean-nvram';

async function liveProcesses(): Promise<{ pid: number; argv: string[] }[]> {
  const list: { pid: number; argv: string[] }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const text = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (text) list.push({ pid: Number(entry), argv: text.split('\0').filter(Boolean) });
  }
  return list;
}

async function inventory(host: LibvirtHost): Promise<HostInventory> {
  const answer = await host.reach();
  if (!answer.ok) throw new Error(`does not answer (${host.config.uri}): ${answer.error}`);
  const domains = await host.listDomains();
  const pools: HostInventory['pools'] = [];
  for (const pool of await host.listPools()) {
    if (pool === NVRAM_POOL) continue;
    pools.push({ name: pool, volumes: (await host.listPoolVolumes(pool))?.map((v) => v.name) });
  }
  // NVRAM files whose domain is gone lie outside any pool: look through a temporary pool over the folder
  // (no --build: a host without the folder has none; a pool already there, e.g. a run's, is listed above).
  const opened = await host.virsh.run(['pool-create-as', NVRAM_POOL, 'dir', '--target', NVRAM_FOLDER], { allowFailure: true });
  if (opened.exitCode === 0) pools.push({ name: NVRAM_POOL, volumes: (await host.listPoolVolumes(NVRAM_POOL))?.map((v) => v.name) });
  return { host: host.name, domains, pools };
}

async function closeNvramPool(host: LibvirtHost): Promise<void> {
  await host.virsh.run(['pool-destroy', NVRAM_POOL], { allowFailure: true }).catch(() => undefined);
}

async function remove(host: LibvirtHost, item: CleanItem): Promise<void> {
  if (item.kind === 'domain') {
    await host.removeDomain(item.name);
    if ((await host.domainState(item.name)) !== undefined) throw new Error('still defined after destroy and undefine --nvram');
  } else if (item.kind === 'volume') {
    try {
      await host.deletePoolVolume(item.pool, item.name);
    } catch (error) {
      // A pool several hosts share (NFS, the lab's imgtest-shared) lists the same file on each of them.
      const left = await host.listPoolVolumes(item.pool);
      if (left && !left.some((v) => v.name === item.name)) return;
      throw error;
    }
  } else if (item.kind === 'pool') {
    await host.removePool(item.name);
  }
}

function hostsOf(config: ImgtestConfig | undefined): { hosts: HostConfig[]; lab: boolean } {
  if (config?.hosts?.length) return { hosts: config.hosts, lab: false };
  return { hosts: labHosts().map((h) => ({ name: h.name, uri: h.uri, migrationUri: h.migrationUri, pool: h.pool, network: { bridge: 'brg' } })), lab: true };
}

export async function runClean(options: { config?: ImgtestConfig; dryRun: boolean; out: Out }): Promise<number> {
  const { out, dryRun } = options;
  const { hosts: configs, lab } = hostsOf(options.config);
  if (lab && !(await labIsUp())) {
    out('clean: the local lab is not up; nothing to clean (imgtest lab up starts it)');
    return 0;
  }
  const registered = await registeredRuns();
  const running = new Set(registered.filter((r) => r.alive).map((r) => r.runId));
  out(`runs in progress on this machine (kept): ${running.size ? [...running].join(', ') : 'none'}`);
  const unknown = unregisteredRuns(await liveProcesses(), new Set(registered.filter((r) => r.alive).map((r) => r.pid)), process.pid);
  if (unknown.length) {
    out(
      `clean: imgtest run process(es) ${unknown.join(', ')} are not in the run registry (${registered.length ? 'registration failed' : 'started by an older imgtest'}?): their run ids are unknown, so ${dryRun ? 'a real clean would remove nothing' : 'nothing is removed'}; wait for them to end`,
    );
    if (!dryRun) return 3;
  }

  let failures = 0;
  let unreachable = 0;
  let count = 0;
  const hosts = configs.map((config) => new LibvirtHost(config));
  const kept = new Set<string>();
  const results = await Promise.all(
    hosts.map(async (host) => {
      try {
        return { host, inventory: await inventory(host) };
      } catch (error) {
        return { host, error: (error as Error).message };
      }
    }),
  );
  for (const result of results) {
    const { host } = result;
    if (!result.inventory) {
      out(`error: ${host.name}: ${result.error}`);
      unreachable++;
      continue;
    }
    try {
      const items = planHostClean(result.inventory, running);
      for (const item of items) {
        count++;
        if (dryRun) {
          out(`would remove ${describeItem(item)}`);
          continue;
        }
        try {
          await remove(host, item);
          out(`removed ${describeItem(item)}`);
        } catch (error) {
          failures++;
          out(`failed to remove ${describeItem(item)}: ${(error as Error).message}`);
        }
      }
      if (lab) {
        const removed = new Set(items.filter((i) => i.kind === 'domain').map((i) => i.name));
        for (const domain of result.inventory.domains) if (!removed.has(domain)) for (const mac of await host.domainMacs(domain)) kept.add(mac);
      }
    } finally {
      await closeNvramPool(host);
    }
  }

  if (lab && unreachable === 0 && failures === 0) {
    const leases = planLeaseClean(await readLabLeases(), kept, running, Math.floor(Date.now() / 1000));
    count += leases.length;
    if (dryRun) for (const item of leases) out(`would remove ${describeItem(item)}`);
    else if (leases.length) {
      const released = await releaseLabLeases(
        leases.map((l) => (l.kind === 'lease' ? l.mac : '')),
        () => undefined,
      );
      for (const item of leases) {
        const done = item.kind === 'lease' && released.some((r) => r.mac === item.mac);
        out(`${done ? 'removed' : 'gone already:'} ${describeItem(item)}`);
      }
    }
  } else if (lab) out('lab: DHCP leases not checked (a host was not read or a removal failed, so which guests live is not certain)');

  // A run killed outright leaves its guests' metadata redirects (root namespace's nat table) behind.
  if (lab)
    for (const [runId, rules] of await listRedirectRules()) {
      if (running.has(runId)) continue;
      count += rules.length;
      const what = `metadata redirect(s) of run ${runId}: ${rules.length}`;
      if (dryRun) out(`would remove ${what}`);
      else {
        await deleteRedirectRules(rules);
        out(`removed ${what}`);
      }
    }

  if (dryRun) out(`clean --dry-run: ${count} item(s) would be removed; nothing was removed`);
  else out(`clean: ${count - failures} removed, ${failures} failed${unreachable ? `, ${unreachable} host(s) not reached` : ''}`);
  return failures || unreachable ? 3 : 0;
}
