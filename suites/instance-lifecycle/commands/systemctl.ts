/**
 * `systemctl`, always as root (`sudo`): root's systemctl talks to PID 1 over its private socket
 * (/run/systemd/private), so it answers on images without D-Bus, where the test user's systemctl says
 * "Failed to connect to bus" (systemctl(1), and how suites/ssh-hardening/service.ts asks).
 */
import type { GuestHandle } from '../api.js';
import { cannotObserve, oneLine, run, withoutSudoNoise, type Ran } from '../guest.js';

/** systemd itself could not be asked (not PID 1, no bus, no private socket): nothing observed. */
function systemdUnreachable(ran: Ran): boolean {
  return /System has not been booted with systemd|Failed to connect to bus|Failed to get D-Bus connection|Transport endpoint is not connected/.test(ran.result.stderr);
}

async function systemctl(guest: GuestHandle, args: readonly string[], what: string, options: { timeoutMs?: number } = {}): Promise<Ran> {
  const ran = await run(guest, ['systemctl', ...args], { sudo: true, timeoutMs: options.timeoutMs }, what);
  if (systemdUnreachable(ran)) throw cannotObserve(guest, what, ran);
  return ran;
}

// ------------------------------------------------------------------ failed units

export const FAILED_UNITS_ARGS = ['--failed', '--no-legend', '--plain'] as const;

export interface FailedUnit {
  unit: string;
  load: string;
  active: string;
  sub: string;
  description: string;
}

/**
 * `systemctl --failed --no-legend --plain` (systemd 252): one unit a line, columns UNIT LOAD ACTIVE SUB
 * DESCRIPTION separated by runs of spaces. Older systemd (and newer ones without --plain) put a "●"
 * before the name; it is dropped. An empty answer is no failed unit.
 */
export function parseFailedUnits(text: string): FailedUnit[] {
  const units: FailedUnit[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^[\s●*]+/u, '').trimEnd();
    if (!line) continue;
    const match = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (!match) continue;
    units.push({ unit: match[1]!, load: match[2]!, active: match[3]!, sub: match[4]!, description: match[5]?.trim() ?? '' });
  }
  return units;
}

export interface FailedUnitsRead {
  units: FailedUnit[];
  evidence: string;
}

export async function readFailedUnits(guest: GuestHandle): Promise<FailedUnitsRead> {
  const what = 'list failed units';
  const ran = await systemctl(guest, FAILED_UNITS_ARGS, what);
  if (ran.result.exitCode !== 0) throw cannotObserve(guest, what, ran);
  return { units: parseFailedUnits(ran.result.stdout), evidence: ran.evidence };
}

export const describeUnit = (u: FailedUnit): string => `${u.unit} (${u.active}/${u.sub}${u.description ? `: ${u.description}` : ''})`;

// ------------------------------------------------------------------ systemctl show

export interface UnitState {
  id: string;
  loadState: string;
  activeState: string;
  subState: string;
  unitFileState: string;
  /** Every property printed, as systemd printed it. */
  properties: Record<string, string>;
}

/**
 * `systemctl show --property=A,B UNIT...`: one `Key=Value` a line, one block per unit, blocks separated by
 * an empty line. A unit that does not exist still gets a block (LoadState=not-found).
 */
export function parseShowBlocks(text: string): Record<string, string>[] {
  const blocks: Record<string, string>[] = [];
  let current: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (!line.trim()) {
      if (Object.keys(current).length) blocks.push(current);
      current = {};
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) current[line.slice(0, eq)] = line.slice(eq + 1);
  }
  if (Object.keys(current).length) blocks.push(current);
  return blocks;
}

export function parseUnitStates(text: string): UnitState[] {
  return parseShowBlocks(text).map((p) => ({
    id: p.Id ?? '',
    loadState: p.LoadState ?? '',
    activeState: p.ActiveState ?? '',
    subState: p.SubState ?? '',
    unitFileState: p.UnitFileState ?? '',
    properties: p,
  }));
}

const STATE_PROPERTIES = 'Id,LoadState,ActiveState,SubState,UnitFileState';

/** Load, active and enablement state of each unit, in one call (no D-Bus needed as root). */
export async function readUnitStates(guest: GuestHandle, units: readonly string[]): Promise<{ states: UnitState[]; evidence: string }> {
  const what = `read the state of ${units.join(', ')}`;
  const ran = await systemctl(guest, ['show', `--property=${STATE_PROPERTIES}`, ...units], what);
  const states = parseUnitStates(ran.result.stdout);
  if (ran.result.exitCode !== 0 && !states.length) throw cannotObserve(guest, what, ran);
  return { states, evidence: ran.evidence };
}

/**
 * When `unit` became active, in µs of CLOCK_MONOTONIC (the journal's `__MONOTONIC_TIMESTAMP` clock); 0 or
 * absent when it never did. For cloud-final.service (oneshot, RemainAfterExit) that is cloud-init done.
 */
export async function readActiveEnterMonotonic(guest: GuestHandle, unit: string): Promise<{ microseconds?: number; evidence: string }> {
  const ran = await systemctl(guest, ['show', '--property=ActiveEnterTimestampMonotonic', '--value', unit], `read when ${unit} became active`);
  const value = Number(ran.result.stdout.trim());
  return { microseconds: ran.result.exitCode === 0 && Number.isFinite(value) && value > 0 ? value : undefined, evidence: ran.evidence };
}

// ------------------------------------------------------------------ is-system-running

/** States of `systemctl is-system-running` (systemctl(1)); `degraded` is a finished boot with failed units. */
export const FINISHED_STATES = ['running', 'degraded'] as const;

export interface SystemState {
  /** What systemctl printed (`running`, `degraded`, `maintenance`...), or `timed out` when `timeout` killed the wait. */
  state: string;
  finished: boolean;
  evidence: string;
}

/**
 * `systemctl is-system-running --wait` under coreutils' `timeout`: it waits until the boot has finished
 * (systemctl(1): "--wait: wait until the boot process is completed before printing the current state"),
 * then prints the state; exit 124 is the timeout's.
 */
export async function waitSystemRunning(guest: GuestHandle, timeoutSeconds: number): Promise<SystemState> {
  const argv = ['timeout', String(timeoutSeconds), 'systemctl', 'is-system-running', '--wait'];
  const what = 'wait for the boot to finish';
  const ran = await run(guest, argv, { sudo: true, timeoutMs: (timeoutSeconds + 60) * 1000 }, what);
  if (systemdUnreachable(ran)) throw cannotObserve(guest, what, ran);
  if (ran.result.exitCode === 124) return { state: `timed out after ${timeoutSeconds} s`, finished: false, evidence: ran.evidence };
  const state = ran.result.stdout.trim().split('\n').pop()?.trim() ?? '';
  if (!state) throw new Error(`${guest.name}: cannot ${what}: systemctl is-system-running printed nothing (${oneLine(withoutSudoNoise(ran.result.stderr), 160)})`);
  return { state, finished: (FINISHED_STATES as readonly string[]).includes(state), evidence: ran.evidence };
}
