/** `systemd-analyze time`, as root (private socket, no D-Bus needed): where userspace's share of the boot went. */
import type { GuestHandle } from '../api.js';
import { cannotObserve, tryRun } from '../guest.js';

export const ANALYZE_ARGV = ['systemd-analyze', 'time'] as const;

export interface StartupTimes {
  /** Seconds per phase as systemd printed them (firmware and loader only with a boot loader that reports them). */
  phases: Partial<Record<'firmware' | 'loader' | 'kernel' | 'initrd' | 'userspace', number>>;
  total?: number;
  /** "multi-user.target reached after 30.1s in userspace". */
  target?: { name: string; seconds: number };
}

const UNIT_SECONDS: Record<string, number> = { y: 31_557_600, month: 2_629_800, w: 604_800, d: 86_400, h: 3600, min: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6 };

/** A systemd timespan as printed ("1min 2.764s", "850ms", "1h 2min 3.5s") in seconds; undefined if unreadable. */
export function parseTimespan(text: string): number | undefined {
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)\s*(month|min|ms|us|µs|y|w|d|h|s)\b/gu)];
  if (!parts.length) return undefined;
  return parts.reduce((sum, m) => sum + Number(m[1]) * UNIT_SECONDS[m[2]!]!, 0);
}

/**
 * `systemd-analyze time` (systemd 252):
 *   Startup finished in 2.584s (kernel) + 19.176s (initrd) + 47.847s (userspace) = 1min 9.608s
 *   multi-user.target reached after 47.820s in userspace
 * Phases in parentheses, in the order firmware, loader, kernel, initrd, userspace (LISA's SystemdAnalyze
 * tool, lisa/tools/systemd_analyze.py, reads the same line). Undefined when there is no such line
 * ("Bootup is not yet finished").
 */
export function parseSystemdAnalyzeTime(output: string): StartupTimes | undefined {
  const line = output.split('\n').find((l) => l.startsWith('Startup finished in '));
  if (!line) return undefined;
  const [sum, total] = line.slice('Startup finished in '.length).split(' = ');
  const times: StartupTimes = { phases: {} };
  for (const part of sum!.split(' + ')) {
    const m = /^(.*)\((firmware|loader|kernel|initrd|userspace)\)\s*$/.exec(part.trim());
    const value = m ? parseTimespan(m[1]!) : undefined;
    if (m && value !== undefined) times.phases[m[2] as keyof StartupTimes['phases']] = value;
  }
  if (total) times.total = parseTimespan(total);
  const target = /^(\S+) reached after (.+) in userspace/m.exec(output);
  if (target) {
    const seconds = parseTimespan(target[2]!);
    if (seconds !== undefined) times.target = { name: target[1]!, seconds };
  }
  return times;
}

export interface AnalyzeRead {
  times?: StartupTimes;
  /** Why there are no figures (tool missing, boot not finished), for the message. */
  note?: string;
  evidence: string;
}

/** systemd-analyze's split; a missing tool or an unfinished boot is a note, not an error. */
export async function readStartupTimes(guest: GuestHandle): Promise<AnalyzeRead> {
  const ran = await tryRun(guest, ANALYZE_ARGV, { sudo: true });
  if (ran.unobserved === 'missing') return { note: 'systemd-analyze is not installed', evidence: ran.evidence };
  if (ran.unobserved) throw cannotObserve(guest, 'run systemd-analyze', ran);
  const times = parseSystemdAnalyzeTime(ran.result.stdout);
  if (times) return { times, evidence: ran.evidence };
  const said = /Bootup is not yet finished/.test(ran.result.stdout + ran.result.stderr)
    ? 'systemd reports the boot not finished yet'
    : `systemd-analyze gave no "Startup finished" line (exit ${ran.result.exitCode})`;
  return { note: said, evidence: ran.evidence };
}

export function describeStartup(times: StartupTimes): string {
  const parts = (['firmware', 'loader', 'kernel', 'initrd', 'userspace'] as const).flatMap((k) => (times.phases[k] === undefined ? [] : [`${k} ${times.phases[k]!.toFixed(1)} s`]));
  return `${parts.join(' + ')}${times.total !== undefined ? ` = ${times.total.toFixed(1)} s` : ''}`;
}
