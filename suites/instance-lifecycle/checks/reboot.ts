/**
 * `life-reboot`: the instance survives a reboot as itself. Google's cloud-image-tests test the same
 * (TestGuestReboot, TestGuestRebootOnHost: "some categories of errors can produce an OS image that boots
 * but cannot successfully reboot"), and check host keys stay for the instance's life
 * (TestHostKeysGeneratedOnce).
 *
 * On every guest at once: record hostname, host key fingerprints, machine-id, IP and MAC, fstab and what
 * is mounted, cloud-init's instance-id and per-instance semaphores, failed units; reboot
 * (`GuestHandle.reboot`: `sudo systemctl reboot`, SSH back with the pinned host keys under a new boot id);
 * wait until the boot has finished (`systemctl is-system-running --wait`: degraded is an answer); then
 * compare. The guest is changed for good, so this check runs last.
 */
import type { Check, CheckContext, GuestHandle, RebootOutcome } from '../api.js';
import { readInstanceId, readSemaphores } from '../commands/cloud-init.js';
import { readFstab, readMounted, type FstabEntry } from '../commands/findmnt.js';
import { readHostname, readMachineId } from '../commands/identity.js';
import { readInterfaces, type Interface } from '../commands/ip.js';
import { readHostKeyFingerprints, type HostKeyFingerprint } from '../commands/ssh-keys.js';
import { readFailedUnits, waitSystemRunning, type FailedUnit } from '../commands/systemctl.js';
import { oneLine, onEveryGuest, optionsOf, verdict, type GuestVerdict } from '../guest.js';

export interface Snapshot {
  hostname?: string;
  keys: HostKeyFingerprint[];
  machineId?: string;
  /** The interface with the guest's MAC. */
  iface?: Interface;
  fstab: FstabEntry[];
  mounted: Set<string>;
  instanceId?: string;
  semaphores: Map<string, number>;
  failed: FailedUnit[];
  evidence: string;
}

export async function takeSnapshot(guest: GuestHandle): Promise<Snapshot> {
  // One after the other: the reads share one multiplexed SSH connection (sshd's MaxSessions, default 10,
  // caps its concurrent sessions), and a guest under TCG answers a queue no slower than a crowd.
  const hostname = await readHostname(guest);
  const keys = await readHostKeyFingerprints(guest);
  const machineId = await readMachineId(guest);
  const net = await readInterfaces(guest);
  const fstab = await readFstab(guest);
  const mounted = await readMounted(guest);
  const instanceId = await readInstanceId(guest);
  const sem = await readSemaphores(guest);
  const failed = await readFailedUnits(guest);
  const iface = net.interfaces.find((i) => i.mac === guest.mac.toLowerCase());
  const evidence = [hostname.evidence, keys.evidence, machineId.evidence, net.evidence, fstab.evidence, mounted.evidence, instanceId.evidence, sem.evidence, failed.evidence].join('\n');
  return {
    hostname: hostname.value,
    keys: keys.keys,
    machineId: machineId.value,
    iface,
    fstab: fstab.entries,
    mounted: mounted.targets,
    instanceId: instanceId.value,
    semaphores: sem.mtimes,
    failed: failed.units,
    evidence,
  };
}

const show = (value: string | undefined): string => value ?? '(none)';

export interface Comparison {
  /** Each difference, named: "hostname imgtest-1 -> localhost". */
  differences: string[];
  notes: string[];
}

export function compareSnapshots(before: Snapshot, after: Snapshot, mac: string): Comparison {
  const differences: string[] = [];
  const notes: string[] = [];
  if (before.hostname !== after.hostname) differences.push(`hostname ${show(before.hostname)} -> ${show(after.hostname)}`);
  if (before.machineId !== after.machineId) differences.push(`machine-id ${show(before.machineId)} -> ${show(after.machineId)}`);

  const keysAfter = new Map(after.keys.map((k) => [k.type, k.fingerprint]));
  const keysBefore = new Map(before.keys.map((k) => [k.type, k.fingerprint]));
  for (const [type, fingerprint] of keysBefore) {
    const now = keysAfter.get(type);
    if (now === undefined) differences.push(`${type} host key ${fingerprint} is gone`);
    else if (now !== fingerprint) differences.push(`${type} host key ${fingerprint} -> ${now}`);
  }
  for (const [type, fingerprint] of keysAfter) if (!keysBefore.has(type)) differences.push(`new ${type} host key ${fingerprint}`);

  if (before.iface && !after.iface) differences.push(`no interface has the MAC ${mac} any more (it was ${before.iface.name})`);
  else if (before.iface && after.iface) {
    if (before.iface.name !== after.iface.name) differences.push(`the interface with MAC ${mac} is now ${after.iface.name} (was ${before.iface.name})`);
    const b = [...before.iface.ipv4].sort().join(', ');
    const a = [...after.iface.ipv4].sort().join(', ');
    if (a !== b) differences.push(`IP ${b || '(none)'} -> ${a || '(none)'} on ${after.iface.name}`);
  } else if (!before.iface) notes.push(`no interface had the MAC ${mac} before the reboot either`);

  for (const entry of after.fstab.filter((e) => e.automatic)) {
    if (after.mounted.has(entry.target)) continue;
    if (entry.nofail && !before.mounted.has(entry.target)) notes.push(`${entry.target} (${entry.source}, nofail) is not mounted, as before the reboot`);
    else differences.push(`${entry.target} (${entry.source} in /etc/fstab) is not mounted`);
  }

  if (before.instanceId !== after.instanceId) differences.push(`instance-id ${show(before.instanceId)} -> ${show(after.instanceId)}`);
  const rewritten = [...before.semaphores].filter(([name, mtime]) => after.semaphores.has(name) && after.semaphores.get(name) !== mtime).map(([name]) => name);
  if (rewritten.length) differences.push(`cloud-init ran per-instance modules again (semaphores rewritten: ${rewritten.join(', ')})`);
  const added = [...after.semaphores.keys()].filter((name) => !before.semaphores.has(name));
  if (added.length) notes.push(`new per-instance semaphores: ${added.join(', ')}`);

  const failedBefore = new Set(before.failed.map((u) => u.unit));
  const newFailed = after.failed.filter((u) => !failedBefore.has(u.unit));
  if (newFailed.length) differences.push(`new failed unit${newFailed.length > 1 ? 's' : ''}: ${newFailed.map((u) => u.unit).join(', ')}`);
  return { differences, notes };
}

function consoleTail(console: string, lines = 40): string {
  const all = console
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim());
  return all.slice(-lines).join('\n');
}

const describeOutcome = (o: RebootOutcome): string =>
  `reboot: ${o.ok ? 'back' : 'not back'} after ${o.seconds.toFixed(0)} s; boot_id ${o.bootIdBefore} -> ${o.bootIdAfter ?? '(none)'}${o.error ? `; ${o.error}` : ''}${o.cause ? ` (cause: ${o.cause})` : ''}`;

async function judge(context: CheckContext, guest: GuestHandle): Promise<GuestVerdict> {
  const options = await optionsOf(context);
  const before = await takeSnapshot(guest);
  context.log(`instance-lifecycle: rebooting ${guest.name}`);
  const outcome = await guest.reboot(options.rebootTimeoutSeconds !== undefined ? { timeoutSeconds: options.rebootTimeoutSeconds } : undefined);
  context.property(`life.${guest.name}.reboot-seconds`, Number(outcome.seconds.toFixed(1)));
  const evidence = [`--- before the reboot\n${before.evidence}`, describeOutcome(outcome)];
  if (!outcome.ok) {
    const why = oneLine(outcome.error ?? 'the guest did not come back', 300);
    if (outcome.cause === 'image')
      return verdict(false, `did not come back from a reboot: ${why}`, [...evidence, `--- serial console since the reboot (last lines)\n${consoleTail(outcome.console)}`].join('\n\n'));
    throw new Error(`${guest.name}: the reboot could not be observed: ${why}`);
  }

  const settled = await waitSystemRunning(guest, options.rebootSettleSeconds);
  evidence.push(settled.evidence);
  const after = await takeSnapshot(guest);
  evidence.push(`--- after the reboot\n${after.evidence}`);
  const { differences, notes } = compareSnapshots(before, after, guest.mac);
  if (!settled.finished) differences.unshift(`the boot did not finish after the reboot (systemctl is-system-running: ${settled.state})`);
  if (!outcome.bootIdAfter || outcome.bootIdAfter === outcome.bootIdBefore) differences.unshift(`boot_id unchanged (${outcome.bootIdBefore}): the guest did not reboot`);
  if (notes.length) evidence.push(notes.map((n) => `note: ${n}`).join('\n'));
  if (differences.length) return verdict(false, `after a reboot: ${differences.join('; ')}`, evidence.join('\n\n'));
  const kept = ['hostname', 'host keys', 'machine-id', 'IP and MAC', `${after.fstab.filter((e) => e.automatic).length} fstab mount(s)`, 'instance-id'];
  return verdict(true, `rebooted in ${outcome.seconds.toFixed(0)} s (system ${settled.state}); same ${kept.join(', ')}; no per-instance module ran again, no new failed unit`, evidence.join('\n\n'));
}

export const rebootCheck: Check = {
  id: 'life-reboot',
  title: 'the instance reboots and comes back as itself (identity, address, mounts, cloud-init state)',
  severity: 'must',
  tags: ['boot'],
  run: (context) => onEveryGuest(context, (guest) => judge(context, guest)),
};
