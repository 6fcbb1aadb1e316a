/**
 * sshd's effective settings (`sshd -T -C user=,host=,addr=`: drop-ins, first-value-wins and Match
 * blocks already applied) and the judgments on them. Pure functions, for tests.
 */

/** `sshd -T` prints one `keyword value...` per line, keywords in lower case; some keywords repeat (hostkey, listenaddress...). */
export type SshdSettings = Map<string, string[]>;

export function parseSshdT(text: string): SshdSettings {
  const settings: SshdSettings = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const space = line.search(/\s/);
    const key = (space < 0 ? line : line.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : line.slice(space + 1).trim();
    settings.set(key, [...(settings.get(key) ?? []), value]);
  }
  return settings;
}

export interface Judgment {
  ok: boolean;
  message: string;
  /** The `keyword value` lines the judgment read (for evidence). */
  lines: string[];
  /**
   * sshd -T did not print the keyword: this sshd was not asked what the check needs (another OpenSSH
   * version names it differently). The check cannot judge, so it ends as an error, not a failure.
   */
  unobserved?: boolean;
}

const first = (s: SshdSettings, key: string): string | undefined => s.get(key)?.[0];
const shown = (s: SshdSettings, keys: readonly string[]): string[] => keys.flatMap((k) => (s.get(k) ?? []).map((v) => `${k} ${v}`));
const missing = (keys: readonly string[]): string => `sshd -T printed no ${keys.join('/')}`;
const notPrinted = (keys: readonly string[], lines: string[]): Judgment => ({ ok: false, unobserved: true, message: missing(keys), lines });

/** `key` must be exactly `want` (case-insensitive). */
function exactly(s: SshdSettings, key: string, want: string, what: string): Judgment {
  const value = first(s, key);
  const lines = shown(s, [key]);
  if (value === undefined) return notPrinted([key], lines);
  if (value.toLowerCase() !== want) return { ok: false, message: `${what}: ${key} is '${value}', not '${want}'`, lines };
  return { ok: true, message: `${key} ${value}`, lines };
}

export const judgePasswordAuth = (s: SshdSettings): Judgment => exactly(s, 'passwordauthentication', 'no', 'password authentication is on');

/** OpenSSH >= 8.7 prints kbdinteractiveauthentication; older builds challengeresponseauthentication. Both must be off where printed. */
export function judgeKbdInteractive(s: SshdSettings): Judgment {
  const keys = ['kbdinteractiveauthentication', 'challengeresponseauthentication'].filter((k) => s.has(k));
  const lines = shown(s, keys);
  if (!keys.length) return notPrinted(['kbdinteractiveauthentication', 'challengeresponseauthentication'], lines);
  const on = keys.filter((k) => first(s, k)!.toLowerCase() !== 'no');
  if (on.length) return { ok: false, message: `keyboard-interactive authentication is on: ${on.map((k) => `${k} ${first(s, k)}`).join(', ')}`, lines };
  return { ok: true, message: lines.join(', '), lines };
}

export const judgeEmptyPasswords = (s: SshdSettings): Judgment => exactly(s, 'permitemptypasswords', 'no', 'empty passwords are accepted');

/** must: never `yes` (prohibit-password, forced-commands-only and no are acceptable). */
export function judgeRootLogin(s: SshdSettings): Judgment {
  const value = first(s, 'permitrootlogin');
  const lines = shown(s, ['permitrootlogin']);
  if (value === undefined) return notPrinted(['permitrootlogin'], lines);
  if (value.toLowerCase() === 'yes') return { ok: false, message: 'root may log in with a password: permitrootlogin yes', lines };
  return { ok: true, message: `permitrootlogin ${value}`, lines };
}

/** should: `no` (prohibit-password still lets a root key in). */
export function judgeRootLoginNo(s: SshdSettings): Judgment {
  const value = first(s, 'permitrootlogin');
  const lines = shown(s, ['permitrootlogin']);
  if (value === undefined) return notPrinted(['permitrootlogin'], lines);
  if (value.toLowerCase() !== 'no') return { ok: false, message: `root login is not refused outright: permitrootlogin ${value} (want no)`, lines };
  return { ok: true, message: 'permitrootlogin no', lines };
}

export const judgePubkeyAuth = (s: SshdSettings): Judgment => exactly(s, 'pubkeyauthentication', 'yes', 'public key authentication is off');

const FORWARDING_KEYS = ['x11forwarding', 'allowagentforwarding', 'allowtcpforwarding', 'permittunnel', 'gatewayports', 'disableforwarding', 'allowstreamlocalforwarding'];

/**
 * X11, agent and TCP forwarding, tunnels and gateway ports all off. `disableforwarding yes` turns off
 * X11, agent and TCP (and stream-local) forwarding whatever their own keywords say; not tunnels.
 */
export function judgeForwarding(s: SshdSettings): Judgment {
  const lines = shown(s, FORWARDING_KEYS);
  const disabled = first(s, 'disableforwarding')?.toLowerCase() === 'yes';
  const on: string[] = [];
  const absent: string[] = [];
  const wantOff = (key: string, coveredByDisable: boolean) => {
    const value = first(s, key);
    if (value === undefined) {
      if (!(coveredByDisable && disabled)) absent.push(key);
      return;
    }
    if (value.toLowerCase() !== 'no' && !(coveredByDisable && disabled)) on.push(`${key} ${value}`);
  };
  wantOff('x11forwarding', true);
  wantOff('allowagentforwarding', true);
  wantOff('allowtcpforwarding', true);
  wantOff('permittunnel', false);
  wantOff('gatewayports', true);
  if (on.length) return { ok: false, message: `forwarding allowed: ${on.join(', ')}`, lines };
  if (absent.length) return notPrinted(absent, lines);
  return { ok: true, message: disabled ? 'disableforwarding yes; permittunnel no' : 'x11, agent and TCP forwarding, tunnels and gateway ports off', lines };
}

export function judgeMaxAuthTries(s: SshdSettings, max: number): Judgment {
  const value = first(s, 'maxauthtries');
  const lines = shown(s, ['maxauthtries']);
  if (value === undefined) return notPrinted(['maxauthtries'], lines);
  const n = Number(value);
  if (!Number.isInteger(n)) return { ok: false, message: `maxauthtries '${value}' is not a number`, lines };
  if (n > max) return { ok: false, message: `maxauthtries ${n} allows more than ${max} attempts per connection`, lines };
  return { ok: true, message: `maxauthtries ${n} (<= ${max})`, lines };
}

/** sshd -T prints seconds; 0 means no limit. */
export function judgeLoginGraceTime(s: SshdSettings, max: number): Judgment {
  const value = first(s, 'logingracetime');
  const lines = shown(s, ['logingracetime']);
  if (value === undefined) return notPrinted(['logingracetime'], lines);
  const n = Number(value);
  if (!Number.isInteger(n)) return { ok: false, message: `logingracetime '${value}' is not a number of seconds`, lines };
  if (n === 0) return { ok: false, message: 'logingracetime 0: unauthenticated connections are never dropped', lines };
  if (n > max) return { ok: false, message: `logingracetime ${n} s is longer than ${max} s`, lines };
  return { ok: true, message: `logingracetime ${n} s (<= ${max} s)`, lines };
}

export const judgePermitUserEnvironment = (s: SshdSettings): Judgment => exactly(s, 'permituserenvironment', 'no', 'users may set environment variables for sshd');

export function judgeHostbased(s: SshdSettings): Judgment {
  const lines = shown(s, ['hostbasedauthentication', 'ignorerhosts']);
  const hostbased = first(s, 'hostbasedauthentication');
  const ignore = first(s, 'ignorerhosts');
  if (hostbased === undefined || ignore === undefined)
    return notPrinted(
      ['hostbasedauthentication', 'ignorerhosts'].filter((k) => !s.has(k)),
      lines,
    );
  const bad: string[] = [];
  if (hostbased.toLowerCase() !== 'no') bad.push(`hostbasedauthentication ${hostbased}`);
  if (ignore.toLowerCase() !== 'yes') bad.push(`ignorerhosts ${ignore}`);
  if (bad.length) return { ok: false, message: `host-based trust is possible: ${bad.join(', ')}`, lines };
  return { ok: true, message: 'hostbasedauthentication no, ignorerhosts yes', lines };
}

/** `sshd -t`: exit 0 and nothing printed (warnings such as deprecated options count). */
export function judgeConfigTest(exitCode: number, output: string): { ok: boolean; message: string } {
  const text = output.trim();
  const firstLine = text.split('\n')[0] ?? '';
  if (exitCode !== 0) return { ok: false, message: `sshd -t exits ${exitCode}: ${firstLine || '(no output)'}` };
  if (text) return { ok: false, message: `sshd -t warns: ${firstLine}${text.includes('\n') ? ` (+${text.split('\n').length - 1} more lines)` : ''}` };
  return { ok: true, message: 'sshd -t: configuration valid, no warnings' };
}

/** SSH_CONNECTION is `client-ip client-port server-ip server-port`. */
export function clientAddressFrom(sshConnection: string): string | undefined {
  const address = sshConnection.trim().split(/\s+/)[0];
  return address && /^[0-9a-fA-F.:]+$/.test(address) ? address : undefined;
}
