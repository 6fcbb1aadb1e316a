/**
 * Time synchronisation: which service keeps the clock, and whether it says it is synchronised:
 * systemd-timesyncd (/run/systemd/timesync/synchronized), chrony (`chronyc -n tracking`), ntpsec or ntp
 * (`ntpq -pn`). Plus the guest's clock itself (`date +%s.%N`).
 */
import type { GuestHandle } from '../api.js';
import { cannotObserve, run, tryRun } from '../guest.js';
import { readUnitStates, type UnitState } from './systemctl.js';

export type TimeService = 'timesyncd' | 'chrony' | 'ntpsec' | 'ntp';

/** The units each implementation ships (Debian: chrony.service with alias chronyd.service; RHEL: chronyd.service). */
export const TIME_UNITS: Record<string, TimeService> = {
  'systemd-timesyncd.service': 'timesyncd',
  'chrony.service': 'chrony',
  'chronyd.service': 'chrony',
  'ntpsec.service': 'ntpsec',
  'ntp.service': 'ntp',
  'ntpd.service': 'ntp',
};

/** Enablement states that start the unit at boot (systemctl(1) is-enabled). */
const STARTS_AT_BOOT = new Set(['enabled', 'enabled-runtime', 'static', 'generated', 'linked', 'linked-runtime', 'alias', 'indirect']);

export interface TimeUnit {
  unit: string;
  service: TimeService;
  state: UnitState;
  enabled: boolean;
  active: boolean;
}

/** The installed time sync units (LoadState=loaded), one per unit Id (aliases collapse). */
export function installedTimeUnits(states: readonly UnitState[]): TimeUnit[] {
  const seen = new Map<string, TimeUnit>();
  for (const state of states) {
    if (state.loadState !== 'loaded' || seen.has(state.id)) continue;
    const service = TIME_UNITS[state.id];
    if (!service) continue;
    seen.set(state.id, { unit: state.id, service, state, enabled: STARTS_AT_BOOT.has(state.unitFileState), active: state.activeState === 'active' });
  }
  return [...seen.values()];
}

export async function readTimeUnits(guest: GuestHandle): Promise<{ units: TimeUnit[]; evidence: string }> {
  const read = await readUnitStates(guest, Object.keys(TIME_UNITS));
  return { units: installedTimeUnits(read.states), evidence: read.evidence };
}

export const describeTimeUnit = (u: TimeUnit): string => `${u.unit} ${u.state.unitFileState || 'no unit file state'}, ${u.state.activeState}${u.state.subState ? `/${u.state.subState}` : ''}`;

// ------------------------------------------------------------------ synchronised?

export interface SyncState {
  synchronised: boolean;
  /** One line: what the service said (reference, leap status, system peer). */
  detail: string;
  evidence: string;
}

/** systemd-time-wait-sync.service(8): "/run/systemd/timesync/synchronized: the presence of this file indicates ... synchronized" (since 239). */
export const TIMESYNCD_FLAG = '/run/systemd/timesync/synchronized';

export interface ChronyTracking {
  referenceId: string;
  referenceName?: string;
  leap: string;
  /** "System time : 0.000012345 seconds fast of NTP time", positive = fast. */
  systemTimeSeconds?: number;
  stratum?: number;
}

/** `chronyc -n tracking`: "Key : value" lines (chronyc(1) tracking). */
export function parseChronyTracking(output: string): ChronyTracking | undefined {
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(output)?.[1]?.trim();
  const ref = field('Reference ID');
  const leap = field('Leap status');
  if (ref === undefined || leap === undefined) return undefined;
  const refMatch = /^([0-9A-Fa-f]{8})\s*\(([^)]*)\)/.exec(ref);
  const system = /^([\d.]+) seconds (fast|slow)/.exec(field('System time') ?? '');
  const stratum = Number(field('Stratum'));
  return {
    referenceId: refMatch?.[1]?.toUpperCase() ?? ref,
    referenceName: refMatch?.[2] || undefined,
    leap,
    systemTimeSeconds: system ? Number(system[1]) * (system[2] === 'slow' ? -1 : 1) : undefined,
    stratum: Number.isFinite(stratum) ? stratum : undefined,
  };
}

/**
 * chrony is synchronised when it has a reference (not 00000000; 7F7F0101 is its own `local` clock, which is
 * no source) and a leap status other than "Not synchronised" (LISA's chrony tool waits for "Leap status :
 * Normal", lisa/tools/chrony.py; "Insert second"/"Delete second" are synchronised too).
 */
export function chronySynchronised(t: ChronyTracking): boolean {
  return t.referenceId !== '00000000' && t.referenceId !== '7F7F0101' && /^(Normal|Insert second|Delete second)$/.test(t.leap);
}

export interface NtpqPeer {
  /** Tally code: '*' system peer, 'o' PPS peer, '+' candidate, ' ' rejected... */
  tally: string;
  remote: string;
  refid: string;
  offsetMs?: number;
}

/**
 * `ntpq -pn` (ntp and ntpsec): a header, a "====" rule, then one peer a line whose first character is the
 * tally code; '*' (or 'o') marks the peer the clock is synchronised to (ntpq(1) "peers").
 */
export function parseNtpqPeers(output: string): NtpqPeer[] {
  const lines = output.split('\n');
  const rule = lines.findIndex((l) => /^=+$/.test(l.trim()));
  if (rule < 0) return [];
  return lines
    .slice(rule + 1)
    .filter((l) => l.trim())
    .map((l) => {
      const tally = l[0] ?? ' ';
      const cols = l.slice(1).trim().split(/\s+/);
      const offset = Number(cols[8]);
      return { tally, remote: cols[0] ?? '', refid: cols[1] ?? '', offsetMs: Number.isFinite(offset) ? offset : undefined };
    });
}

export async function readSyncState(guest: GuestHandle, service: TimeService): Promise<SyncState> {
  if (service === 'timesyncd') {
    const ran = await run(guest, ['test', '-e', TIMESYNCD_FLAG], {}, `look for ${TIMESYNCD_FLAG}`);
    const synchronised = ran.result.exitCode === 0;
    return { synchronised, detail: synchronised ? `${TIMESYNCD_FLAG} exists` : `no ${TIMESYNCD_FLAG} yet`, evidence: ran.evidence };
  }
  if (service === 'chrony') {
    const ran = await run(guest, ['chronyc', '-n', 'tracking'], { sudo: true }, 'ask chronyd');
    const tracking = parseChronyTracking(ran.result.stdout);
    if (!tracking) return { synchronised: false, detail: `chronyc tracking gave no answer (exit ${ran.result.exitCode})`, evidence: ran.evidence };
    const reference = `${tracking.referenceId}${tracking.referenceName ? ` (${tracking.referenceName})` : ''}`;
    return { synchronised: chronySynchronised(tracking), detail: `reference ${reference}, leap status ${tracking.leap}`, evidence: ran.evidence };
  }
  const ran = await run(guest, ['ntpq', '-pn'], {}, 'ask ntpd');
  const peers = parseNtpqPeers(ran.result.stdout);
  const peer = peers.find((p) => p.tally === '*' || p.tally === 'o');
  return { synchronised: peer !== undefined, detail: peer ? `system peer ${peer.remote}` : `no system peer among ${peers.length} peer(s)`, evidence: ran.evidence };
}

/** timesyncd's own view where D-Bus and timedated answer (evidence only). */
export async function timesyncStatus(guest: GuestHandle): Promise<string> {
  const ran = await tryRun(guest, ['timedatectl', 'timesync-status']);
  return ran.evidence;
}

// ------------------------------------------------------------------ the clock

/** `date +%s.%N`: "1764489600.123456789" -> epoch ms. */
export function parseEpoch(output: string): number | undefined {
  const m = /^(\d+)\.(\d{1,9})$/m.exec(output.trim());
  return m ? Number(m[1]) * 1000 + Number(m[2]!.padEnd(9, '0')) / 1e6 : undefined;
}

export interface ClockReading {
  /** Guest clock minus the imgtest machine's at the call's midpoint, ms. */
  offsetMs: number;
  /** Half the call's round trip: how far off the midpoint may be, ms. */
  uncertaintyMs: number;
  evidence: string;
}

export async function readClockOffset(guest: GuestHandle, now: () => number): Promise<ClockReading> {
  const before = now();
  const ran = await run(guest, ['date', '+%s.%N'], {}, "read the guest's clock");
  const after = now();
  const guestMs = parseEpoch(ran.result.stdout);
  if (guestMs === undefined) throw cannotObserve(guest, "read the guest's clock", ran);
  const midpoint = (before + after) / 2;
  return {
    offsetMs: Math.round(guestMs - midpoint),
    uncertaintyMs: Math.round((after - before) / 2),
    evidence: `${ran.evidence}\nhost clock at the call's midpoint: ${midpoint.toFixed(0)} ms (round trip ${after - before} ms)`,
  };
}
