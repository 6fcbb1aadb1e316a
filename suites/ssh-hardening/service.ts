/**
 * `ssh-service`: is the SSH service enabled and running? Asked in the order that works on the most
 * images, each answer kept as evidence:
 *
 * 1. `sudo systemctl` as root: root's systemctl talks to systemd over its private socket, so it
 *    answers on images without D-Bus (where the unprivileged user's systemctl says "Failed to
 *    connect to bus");
 * 2. plain `systemctl` as the test user (sudo refused, D-Bus present);
 * 3. the unit files and their enablement links, read with `find` (what `systemctl is-enabled`
 *    itself reads): /etc/systemd/system/*.wants/{ssh,sshd}.{service,socket}, unit files in
 *    /etc/systemd/system, /lib/systemd/system and /usr/lib/systemd/system (usr-merged images have
 *    only the latter; /lib is a link to it). That it runs is then shown by this very SSH session.
 *
 * When none of them answers, the check throws (a JUnit <error> saying why): it never reports a
 * missing unit it could not look for.
 */
import type { GuestHandle } from './api.js';
import { oneLine, tryRun, verdict, withoutSudoNoise, type GuestVerdict, type Ran, type Unobserved } from './guest.js';

/** Words `systemctl is-enabled` prints (systemctl(1)); anything else is no answer. */
const ENABLED_STATES = new Set([
  'enabled',
  'enabled-runtime',
  'linked',
  'linked-runtime',
  'alias',
  'masked',
  'masked-runtime',
  'static',
  'indirect',
  'disabled',
  'generated',
  'transient',
  'bad',
  'not-found',
]);
/** Words `systemctl is-active` prints. */
const ACTIVE_STATES = new Set(['active', 'inactive', 'failed', 'activating', 'deactivating', 'reloading', 'maintenance', 'refreshing', 'unknown']);
const ENABLED = new Set(['enabled', 'enabled-runtime', 'alias']);

/** Older systemd prints nothing and says so on stderr for a unit that does not exist. */
const UNIT_MISSING = /Failed to get unit file state for \S+: No such file or directory|Unit \S+ could not be found/;

type Asker = { how: string; sudo: boolean };
const ASKERS: readonly Asker[] = [
  { how: 'root through sudo', sudo: true },
  { how: 'the test user', sudo: false },
];

interface Answer {
  state?: string;
  ran: Ran;
  /** Why this way of asking told nothing. */
  why?: string;
}

function whyNoAnswer(ran: Ran & { unobserved?: Unobserved }): string {
  if (ran.unobserved === 'sudo') return 'sudo -n was refused';
  if (ran.unobserved === 'missing') return 'systemctl is not installed';
  const said = oneLine(withoutSudoNoise(ran.result.stderr) || ran.result.stdout, 160);
  return said ? `systemctl cannot reach systemd: ${said}` : `systemctl printed nothing (exit ${ran.result.exitCode})`;
}

async function ask(guest: GuestHandle, asker: Asker, verb: 'is-enabled' | 'is-active', unit: string): Promise<Answer> {
  // A lost SSH connection throws here (GuestTransportError): no other way of asking would get through.
  const ran = await tryRun(guest, ['systemctl', verb, unit], { sudo: asker.sudo });
  const word = ran.result.stdout.trim().split('\n')[0]?.trim() ?? '';
  const known = verb === 'is-enabled' ? ENABLED_STATES : ACTIVE_STATES;
  if (!ran.unobserved && known.has(word)) return { state: word, ran };
  if (!ran.unobserved && verb === 'is-enabled' && !word && UNIT_MISSING.test(ran.result.stderr)) return { state: 'not-found', ran };
  return { ran, why: whyNoAnswer(ran) };
}

const found = (a: Answer): boolean => a.state !== undefined && a.state !== 'not-found';

/** Judges from systemd's own answers; undefined when this way of asking got none. */
async function viaSystemctl(guest: GuestHandle, asker: Asker, evidence: string[], reasons: string[]): Promise<GuestVerdict | undefined> {
  // Debian and Ubuntu call the unit ssh (sshd is an alias there); Fedora and SUSE call it sshd.
  let unit = 'ssh';
  let enabled = await ask(guest, asker, 'is-enabled', unit);
  evidence.push(enabled.ran.evidence);
  if (enabled.why) {
    reasons.push(`as ${asker.how}: ${enabled.why}`);
    return undefined;
  }
  if (!found(enabled)) {
    unit = 'sshd';
    enabled = await ask(guest, asker, 'is-enabled', unit);
    evidence.push(enabled.ran.evidence);
    if (enabled.why) {
      reasons.push(`as ${asker.how}: ${enabled.why}`);
      return undefined;
    }
  }
  const via = `systemctl as ${asker.how}`;
  if (!found(enabled)) return verdict(false, `no ssh or sshd service unit (${via}: ${enabled.state})`, evidence.join('\n'), ['service-off']);
  const active = await ask(guest, asker, 'is-active', unit);
  evidence.push(active.ran.evidence);
  if (active.why) throw new Error(`cannot tell whether ${unit} runs: systemctl is-enabled answered but is-active did not (${active.why})`);
  if (!ENABLED.has(enabled.state!)) {
    // Socket activation (Ubuntu >= 22.10): the socket is enabled, the service starts per connection.
    const socket = await ask(guest, asker, 'is-enabled', `${unit}.socket`);
    const socketActive = await ask(guest, asker, 'is-active', `${unit}.socket`);
    evidence.push(socket.ran.evidence, socketActive.ran.evidence);
    if (socket.state === 'enabled' && socketActive.state === 'active') {
      return verdict(true, `${unit}.socket enabled and active (socket-activated; ${unit}.service is ${enabled.state}, ${active.state}; ${via})`, evidence.join('\n'));
    }
    return verdict(false, `${unit} service is ${enabled.state}, not enabled (${active.state}; ${via})`, evidence.join('\n'), ['service-off']);
  }
  if (active.state !== 'active') return verdict(false, `${unit} service is enabled but ${active.state} (${via})`, evidence.join('\n'), ['service-off']);
  return verdict(true, `${unit} service ${enabled.state} and active (${via})`, evidence.join('\n'));
}

export const UNIT_DIRS = ['/etc/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system'] as const;
const UNIT_NAMES = ['ssh.service', 'sshd.service', 'ssh.socket', 'sshd.socket'] as const;
/** Depth 2 reaches /etc/systemd/system/<target>.wants/<unit>; `%y` tells links (`l`) from files, `%l` where a link points. */
export const UNIT_FIND = ['find', ...UNIT_DIRS, '-maxdepth', '2', '(', ...UNIT_NAMES.flatMap((n, i) => (i ? ['-o', '-name', n] : ['-name', n])), ')', '-printf', '%y %p %l\\n'];

interface UnitEntry {
  type: string;
  path: string;
  target: string;
}

export function parseUnitFind(text: string): UnitEntry[] {
  return text
    .split('\n')
    .map((line) => /^(\S) (\/\S+) ?(.*)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ type: m[1]!, path: m[2]!, target: m[3] ?? '' }));
}

/** Judges from the unit files and enablement links `find` listed (masked, missing, installed but not enabled, enabled). */
export function judgeUnitFiles(entries: readonly UnitEntry[]): { ok: boolean; message: string } {
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  const wants = entries.filter((e) => /\/etc\/systemd\/system\/[^/]+\.(wants|requires)\/[^/]+$/.test(e.path));
  const units = entries.filter((e) => !/\.(wants|requires)\//.test(e.path) && e.type === 'f');
  const masked = entries.filter((e) => e.path.startsWith('/etc/systemd/system/') && !/\.(wants|requires)\//.test(e.path) && e.target === '/dev/null');
  if (masked.length) return { ok: false, message: `${masked.map((e) => base(e.path)).join(', ')} masked (${masked.map((e) => e.path).join(', ')} -> /dev/null)` };
  if (!units.length) return { ok: false, message: `no ssh or sshd unit file in ${UNIT_DIRS.join(', ')}` };
  const service = wants.find((e) => /\.service$/.test(e.path));
  if (service) return { ok: true, message: `${base(service.path)} enabled (${service.path}${service.target ? ` -> ${service.target}` : ''})` };
  const socket = wants.find((e) => /\.socket$/.test(e.path));
  if (socket) return { ok: true, message: `${base(socket.path)} enabled, socket-activated (${socket.path}${socket.target ? ` -> ${socket.target}` : ''})` };
  return { ok: false, message: `${[...new Set(units.map((e) => base(e.path)))].join(', ')} installed but not enabled (no link in /etc/systemd/system/*.wants/)` };
}

async function viaUnitFiles(guest: GuestHandle, evidence: string[], reasons: string[]): Promise<GuestVerdict> {
  const ran = await tryRun(guest, UNIT_FIND);
  evidence.push(ran.evidence);
  if (ran.unobserved) {
    const why = ran.unobserved === 'missing' ? 'find is not installed' : 'sudo -n was refused';
    throw new Error(`cannot tell whether the SSH service is enabled: ${[...reasons, `reading the unit files: ${why}`].join('; ')}`);
  }
  const entries = parseUnitFind(ran.result.stdout);
  const judged = judgeUnitFiles(entries);
  const noSystemd = reasons.join('; ');
  if (!entries.length && /Permission denied/.test(ran.result.stderr))
    throw new Error(`cannot tell whether the SSH service is enabled: ${noSystemd}; the unit directories are not readable (${oneLine(ran.result.stderr, 160)})`);
  // This session came in through the guest's sshd: that it runs needs no systemd to show.
  const running = 'sshd answers (this check runs over SSH)';
  return verdict(judged.ok, `${judged.message}; ${running}; systemd could not be asked (${noSystemd})`, evidence.join('\n'), judged.ok ? [] : ['service-off']);
}

export async function serviceVerdict(guest: GuestHandle): Promise<GuestVerdict> {
  const evidence: string[] = [];
  const reasons: string[] = [];
  for (const asker of ASKERS) {
    const judged = await viaSystemctl(guest, asker, evidence, reasons);
    if (judged) return judged;
  }
  return viaUnitFiles(guest, evidence, reasons);
}
