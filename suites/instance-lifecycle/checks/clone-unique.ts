/**
 * `life-clone-unique`: two instances of one image must not share what identifies an instance:
 * /etc/machine-id (systemd makes it at first boot when the image ships it empty, machine-id(5)), SSH host
 * key fingerprints, the DHCP client identity (a dhclient DUID, a systemd-networkd client id, both derived
 * from or kept next to per-instance state), the random seed, the hostname, cloud-init's instance-id.
 *
 * The random seed is compared by its sha256, but systemd-random-seed rewrites it at every boot, so a seed
 * baked into the image no longer shows that way once booted; its birth time still does (a file created
 * before the instance's first boot: ../commands/identity.ts).
 *
 * Filesystem UUIDs are expected to be equal (every guest boots a copy of the same disk) and are not checked.
 */
import type { Check, CheckContext, GuestHandle } from '../api.js';
import { skip, fail, pass } from '../api.js';
import { readInstanceId } from '../commands/cloud-init.js';
import { bakedSeed, readDhcpIdentity, readHostname, readMachineId, readRandomSeedHash, readSeedBirth } from '../commands/identity.js';
import { readHostKeyFingerprints } from '../commands/ssh-keys.js';
import { guestHeader, oneLine, perGuest, requireGuests } from '../guest.js';

interface Identity {
  guest: GuestHandle;
  /** property -> values (one, or several: host keys, DHCP identities); absent: not present. */
  values: Map<string, string[]>;
  /** Found on this guest alone (a baked random seed). */
  problems: string[];
  evidence: string[];
}

export const PROPERTIES = ['machine-id', 'SSH host key', 'DHCP client identity', 'random seed (sha256)', 'hostname', 'instance-id'] as const;

async function readIdentity(guest: GuestHandle): Promise<Identity> {
  // One after the other, as life-reboot's snapshot (one multiplexed SSH connection per guest).
  const machineId = await readMachineId(guest);
  const keys = await readHostKeyFingerprints(guest);
  const dhcp = await readDhcpIdentity(guest);
  const seed = await readRandomSeedHash(guest);
  const birth = await readSeedBirth(guest);
  const hostname = await readHostname(guest);
  const instanceId = await readInstanceId(guest);
  const values = new Map<string, string[]>();
  const put = (name: string, list: (string | undefined)[]) => {
    const present = list.filter((v): v is string => v !== undefined && v !== '');
    if (present.length) values.set(name, present);
  };
  put('machine-id', [machineId.value]);
  put(
    'SSH host key',
    keys.keys.map((k) => `${k.type} ${k.fingerprint}`),
  );
  put('DHCP client identity', dhcp.values);
  put('random seed (sha256)', [seed.value]);
  put('hostname', [hostname.value]);
  put('instance-id', [instanceId.value]);
  const baked = bakedSeed(birth);
  return { guest, values, problems: baked ? [baked] : [], evidence: [machineId.evidence, keys.evidence, dhcp.evidence, seed.evidence, birth.evidence, hostname.evidence, instanceId.evidence] };
}

/** Values found on more than one guest, per property: "machine-id 3f2a... on g1, g2". */
export function collisions(identities: readonly Identity[]): string[] {
  const found: string[] = [];
  for (const property of PROPERTIES) {
    const holders = new Map<string, string[]>();
    for (const id of identities) for (const value of new Set(id.values.get(property) ?? [])) holders.set(value, [...(holders.get(value) ?? []), id.guest.name]);
    for (const [value, guests] of holders) if (guests.length > 1) found.push(`${property} ${value} is the same on ${guests.join(' and ')}`);
  }
  return found;
}

export async function cloneUnique(context: CheckContext) {
  const guests = requireGuests(context);
  if (guests.length < 2) return skip(`needs two guests of the image to compare, the run gave this suite ${guests.length}`);
  const identities = await Promise.all(guests.map((g) => perGuest(context, g, 'identity', () => readIdentity(g))));
  const table = PROPERTIES.map((property) => `${property}:\n${identities.map((id) => `  ${id.guest.name}: ${id.values.get(property)?.join(', ') ?? 'not present'}`).join('\n')}`).join('\n');
  const absent = PROPERTIES.filter((p) => identities.every((id) => !id.values.has(p)));
  const notes = absent.map((p) => `${p}: not present on any guest (nothing to compare)`);
  const evidence = [table, ...notes.map((n) => `note: ${n}`), ...identities.map((id) => `${guestHeader(id.guest)}\n${id.evidence.join('\n')}`)].join('\n\n');
  const shared = [...collisions(identities), ...identities.flatMap((id) => id.problems.map((p) => `${id.guest.name}: ${p}`))];
  if (shared.length) return fail(oneLine(shared.join('; '), 1000), evidence);
  const compared = PROPERTIES.filter((p) => !absent.includes(p));
  return pass(oneLine(`${compared.join(', ')} differ between ${guests.map((g) => g.name).join(' and ')}${absent.length ? `; ${absent.join(', ')}: not present` : ''}`, 1000), evidence);
}

export const cloneUniqueCheck: Check = {
  id: 'life-clone-unique',
  title: 'instances of the image do not share machine-id, host keys, DHCP identity, random seed, hostname or instance-id',
  severity: 'must',
  tags: ['security', 'cloud-init'],
  run: cloneUnique,
};
