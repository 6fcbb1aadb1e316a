/**
 * What makes one instance of an image distinct from another: hostname, machine-id, the random seed, the
 * DHCP client identity. Each read says "not present" rather than inventing a value.
 */
import type { GuestHandle } from '../api.js';
import { listFiles, readFile, run, cannotObserve } from '../guest.js';

export const HOSTNAME_PATH = '/proc/sys/kernel/hostname';
export const MACHINE_ID_PATH = '/etc/machine-id';
export const RANDOM_SEED_PATH = '/var/lib/systemd/random-seed';

export interface Value {
  value?: string;
  evidence: string;
}

/** The kernel's hostname (what `hostname` prints; /proc needs no package). */
export async function readHostname(guest: GuestHandle): Promise<Value> {
  const read = await readFile(guest, HOSTNAME_PATH);
  if (read.state !== 'ok') throw new Error(`${guest.name}: cannot read ${HOSTNAME_PATH} (${read.state})`);
  return { value: read.text.trim() || undefined, evidence: read.evidence };
}

/** /etc/machine-id: 32 hex digits; empty or missing until systemd makes one at first boot. */
export async function readMachineId(guest: GuestHandle): Promise<Value> {
  const read = await readFile(guest, MACHINE_ID_PATH);
  return { value: read.state === 'ok' ? read.text.trim() || undefined : undefined, evidence: read.evidence };
}

/** `sha256sum FILE`: "<64 hex>  FILE". */
export function parseSha256sum(output: string): string | undefined {
  return /^([0-9a-f]{64})\s/m.exec(output)?.[1];
}

/**
 * sha256 of /var/lib/systemd/random-seed (root-only). systemd-random-seed.service rewrites the file with a
 * fresh seed from the kernel as soon as it has loaded it at boot (systemd-random-seed.service(8), systemd
 * 252: "the file is immediately updated with a new seed retrieved from the kernel, in order to ensure no
 * two boots operate with the same random seed"), so a seed baked into the image may no longer show once
 * booted: equal hashes here mean the rewrite did not happen.
 */
export async function readRandomSeedHash(guest: GuestHandle): Promise<Value> {
  const what = `hash ${RANDOM_SEED_PATH}`;
  const ran = await run(guest, ['sha256sum', RANDOM_SEED_PATH], { sudo: true }, what);
  if (ran.result.exitCode === 0) {
    const value = parseSha256sum(ran.result.stdout);
    if (!value) throw cannotObserve(guest, what, ran);
    return { value, evidence: ran.evidence };
  }
  if (/No such file or directory/.test(ran.result.stderr)) return { evidence: ran.evidence };
  throw cannotObserve(guest, what, ran);
}

/** `stat -L -c '%W %n' A B`: birth time (seconds, 0 when the filesystem does not record it) per path. */
export function parseBirthTimes(output: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of output.split('\n')) {
    const m = /^(-?\d+) (\/.+)$/.exec(line.trim());
    if (m) out.set(m[2]!, Number(m[1]));
  }
  return out;
}

/** /proc/stat "btime 1764484811": when this boot started, seconds since the epoch. */
export function parseBtime(stat: string): number | undefined {
  const m = /^btime (\d+)$/m.exec(stat);
  return m ? Number(m[1]) : undefined;
}

export const INSTANCE_LINK = '/var/lib/cloud/instance';

export interface SeedBirth {
  /** Birth of /var/lib/systemd/random-seed (absent: no file, or the filesystem records no birth time). */
  seed?: number;
  /** Birth of cloud-init's directory for this instance (made at the instance's first boot). */
  instance?: number;
  /** Start of the current boot. */
  boot?: number;
  evidence: string;
}

/**
 * When the random seed file was created, against this boot and the instance's first boot.
 * systemd-random-seed rewrites the seed in place at every boot (src/random-seed/random-seed.c: open
 * O_RDWR|O_CREAT, lseek, write; its comment warns of "golden images" whose random seed file is not reset),
 * so the contents change but the file's birth time stays that of the image build when the seed was baked.
 */
export async function readSeedBirth(guest: GuestHandle): Promise<SeedBirth> {
  const what = `read the birth time of ${RANDOM_SEED_PATH}`;
  const ran = await run(guest, ['stat', '-L', '-c', '%W %n', RANDOM_SEED_PATH, INSTANCE_LINK], { sudo: true }, what);
  const births = parseBirthTimes(ran.result.stdout);
  const stat = await readFile(guest, '/proc/stat');
  const boot = stat.state === 'ok' ? parseBtime(stat.text) : undefined;
  const known = (v: number | undefined) => (v !== undefined && v > 0 ? v : undefined);
  return {
    seed: known(births.get(RANDOM_SEED_PATH)),
    instance: known(births.get(INSTANCE_LINK)),
    boot,
    evidence: `${ran.evidence}
/proc/stat btime: ${boot ?? '(unread)'}`,
  };
}

/** Clock steps at boot (RTC to NTP) stay well under this; a baked seed is older than the boot by the build's remaining steps and the run's setup. */
export const SEED_BIRTH_MARGIN_S = 60;

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

/**
 * The seed file was created before the instance's first boot: baked into the image, so every instance
 * starts from the same seed. Judged only when this boot is the instance's first (cloud-init made its
 * instance directory during it) and the filesystem records birth times.
 */
export function bakedSeed(b: SeedBirth): string | undefined {
  if (b.seed === undefined || b.instance === undefined || b.boot === undefined) return undefined;
  if (b.instance < b.boot - SEED_BIRTH_MARGIN_S) return undefined;
  if (b.seed >= b.boot - SEED_BIRTH_MARGIN_S) return undefined;
  return `${RANDOM_SEED_PATH} was created ${iso(b.seed)}, before the instance's first boot (${iso(b.boot)}): baked into the image, every instance starts from the same seed`;
}

/** ISC dhclient lease file: `default-duid "\000\001\000\001...";` (the DUID it reuses at every start). */
export function parseDefaultDuid(leases: string): string | undefined {
  return /^\s*default-duid\s+"((?:[^"\\]|\\.)*)"\s*;/m.exec(leases)?.[1];
}

/** systemd-networkd lease file (/run/systemd/netif/leases/IFINDEX): `CLIENTID=ff...` (its DHCPv4 client identifier). */
export function parseNetworkdClientId(lease: string): string | undefined {
  return /^CLIENTID=(\S+)$/m.exec(lease)?.[1];
}

export interface DhcpIdentity {
  /** `dhclient <file>: DUID` / `networkd <file>: CLIENTID`, one per lease file that has one. */
  values: string[];
  evidence: string;
}

/**
 * The DHCP client identity the guest's client keeps on disk: dhclient's DUID (`default-duid` in
 * /var/lib/dhcp/*.leases) and systemd-networkd's client identifier (derived from /etc/machine-id, kept in
 * /run/systemd/netif/leases/*). A dhclient that only ever did DHCPv4 with its MAC as client id stores none.
 */
export async function readDhcpIdentity(guest: GuestHandle): Promise<DhcpIdentity> {
  const evidence: string[] = [];
  const values: string[] = [];
  const sources = [
    { dir: '/var/lib/dhcp', glob: '*.leases', client: 'dhclient', parse: parseDefaultDuid, label: 'DUID' },
    { dir: '/run/systemd/netif/leases', glob: '*', client: 'networkd', parse: parseNetworkdClientId, label: 'CLIENTID' },
  ];
  for (const source of sources) {
    const listing = await listFiles(guest, source.dir, source.glob, { sudo: true });
    evidence.push(listing.evidence);
    for (const path of listing.paths) {
      const read = await readFile(guest, path, { sudo: true });
      const value = read.state === 'ok' ? source.parse(read.text) : undefined;
      evidence.push(`${path}: ${value ? `${source.label} ${value}` : read.state === 'ok' ? `no ${source.label}` : read.state}`);
      if (value) values.push(`${source.client} ${source.label} ${value}`);
    }
  }
  return { values: [...new Set(values)], evidence: evidence.join('\n') };
}
