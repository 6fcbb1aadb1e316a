/**
 * The hygiene checks as pure functions of the snapshot (and the options): every one is testable
 * with a hand-made snapshot. Messages name what was found, evidence lists the paths and lines.
 * Nothing here prints a password hash, a history file's content or a private key.
 */
import { createHash } from 'node:crypto';
import { fail, pass, skip, type CheckOutcome, type ImageInfo } from './api.js';
import { analyzeDefaultGrub, analyzeGrubCfg, analyzeSyslinuxCfg, formatFinding, type ConsoleReport, type MenuConsoles } from './boot-console.js';
import { fstabLines } from './collect.js';
import type { Qcow2Header } from './image-file.js';
import type { HygieneOptions } from './options.js';
import { hashScheme, type Entry, type SnapshotView } from './snapshot.js';

export type SnapshotCheck = (view: SnapshotView, options: HygieneOptions) => CheckOutcome;

// ---------------------------------------------------------------------------------------------
// helpers

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 || Number.isInteger(value) ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** `a, b, c and 2 more` */
export function preview(items: readonly string[], max = 4): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

const basename = (path: string) => path.slice(path.lastIndexOf('/') + 1);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function describeEntry(path: string, entry: Entry): string {
  const mode = entry.mode !== undefined ? ` mode ${(entry.mode & 0o7777).toString(8).padStart(4, '0')}` : '';
  if (entry.type === 'symlink') return `${path} -> ${entry.target ?? '?'}`;
  if (entry.type === 'dir') return `${path}/ (directory)`;
  return `${path} (${entry.type === 'file' ? formatBytes(entry.size) : entry.type}${mode})`;
}

function withNotes(view: SnapshotView, evidence: string[], ...roots: string[]): string {
  const notes = view.notesFor(...roots).map((n) => `note: ${n}`);
  return [...evidence, ...notes].join('\n');
}

/** Home folders the checks look in: /root and every directory directly under /home. */
export function homeDirs(view: SnapshotView): string[] {
  const homes = view.children('/home').filter((p) => view.get(p)?.type === 'dir');
  return [...(view.get('/root')?.type === 'dir' ? ['/root'] : []), ...homes];
}

const isDevNullLink = (entry: Entry | undefined) => entry?.type === 'symlink' && entry.target === '/dev/null';

const MAC = /\b([0-9a-f]{2}(?::[0-9a-f]{2}){5})\b/i;
const realMac = (mac: string) => !/^(00:){5}00$/i.test(mac) && !/^(ff:){5}ff$/i.test(mac);

/** Lines that are not comments (`#` or `;`), with their 1-based numbers. */
function codeLines(text: string): Array<{ n: number; line: string }> {
  return text
    .split('\n')
    .map((line, i) => ({ n: i + 1, line: line.trim() }))
    .filter(({ line }) => line !== '' && !line.startsWith('#') && !line.startsWith(';'));
}

// ---------------------------------------------------------------------------------------------
// hyg-ssh-host-keys

export const checkSshHostKeys: SnapshotCheck = (view) => {
  const keys = view.children('/etc/ssh').filter((p) => basename(p).startsWith('ssh_host_') && view.get(p)?.type !== 'dir');
  if (keys.length === 0) return pass('no SSH host keys in /etc/ssh: each guest generates its own at first boot');
  const types = [...new Set(keys.map((p) => /^ssh_host_([a-z0-9]+)_key/.exec(basename(p))?.[1] ?? basename(p)))].sort();
  const privateKeys = keys.filter((p) => !p.endsWith('.pub') && !p.endsWith('-cert.pub'));
  return fail(
    `SSH host keys baked into the image (${types.join(', ')}): ${preview(keys.map(basename))}; every clone would share them`,
    withNotes(view, [...keys.map((p) => describeEntry(p, view.get(p)!)), `${plural(privateKeys.length, 'private key')}; remove /etc/ssh/ssh_host_* before shipping`], '/etc/ssh'),
  );
};

// ---------------------------------------------------------------------------------------------
// hyg-machine-id

export const checkMachineId: SnapshotCheck = (view) => {
  const findings: string[] = [];
  const evidence: string[] = [];
  const etc = view.get('/etc/machine-id');
  if (!etc) evidence.push('/etc/machine-id: absent (systemd creates it at first boot when / is writable)');
  else if (etc.type === 'symlink') evidence.push(`/etc/machine-id -> ${etc.target ?? '?'}`);
  else if (etc.type !== 'file') evidence.push(`/etc/machine-id: a ${etc.type}`);
  else {
    const id = (etc.content ?? '').trim();
    if (etc.content === undefined && etc.size > 1) findings.push(`/etc/machine-id has ${etc.size} bytes`);
    else if (id === '' || id === 'uninitialized') evidence.push(`/etc/machine-id: ${id === '' ? 'empty' : '"uninitialized" (first-boot marker)'}`);
    else {
      findings.push(`/etc/machine-id is set (${id.slice(0, 8)}...)`);
      evidence.push(`/etc/machine-id: ${id}`);
    }
  }
  const dbus = view.get('/var/lib/dbus/machine-id');
  if (!dbus) evidence.push('/var/lib/dbus/machine-id: absent');
  else if (dbus.type === 'symlink') evidence.push(`/var/lib/dbus/machine-id -> ${dbus.target ?? '?'}`);
  else if (dbus.type === 'file') {
    const id = (dbus.content ?? '').trim();
    if (id === '' && dbus.size === 0) evidence.push('/var/lib/dbus/machine-id: empty file');
    else {
      findings.push(`/var/lib/dbus/machine-id is a file with an id (${id.slice(0, 8) || `${dbus.size} bytes`}...)`);
      evidence.push(`/var/lib/dbus/machine-id: ${id || `${dbus.size} bytes`} (make it a symlink to /etc/machine-id, or remove it)`);
    }
  } else evidence.push(`/var/lib/dbus/machine-id: a ${dbus.type}`);
  if (findings.length) return fail(`machine-id baked into the image: ${findings.join('; ')}; clones would share it`, evidence.join('\n'));
  return pass('no machine-id in the image: each guest gets its own at first boot', evidence.join('\n'));
};

// ---------------------------------------------------------------------------------------------
// hyg-password-hashes

export type PasswordState = 'hash' | 'empty' | 'locked' | 'in-shadow';

export function passwordState(field: string, file: 'shadow' | 'passwd'): PasswordState {
  if (field === '') return 'empty';
  if (file === 'passwd' && field === 'x') return 'in-shadow';
  if (/^[!*]/.test(field)) return 'locked';
  return 'hash';
}

export const checkPasswordHashes: SnapshotCheck = (view) => {
  const shadow = view.content('/etc/shadow');
  const passwd = view.content('/etc/passwd');
  if (shadow === undefined && passwd === undefined) return skip('neither /etc/shadow nor /etc/passwd could be read from the image');
  const hashes: string[] = [];
  const empty: string[] = [];
  const evidence: string[] = [];
  const lockedWithHash: string[] = [];
  let accounts = 0;
  const scan = (text: string, file: 'shadow' | 'passwd') => {
    for (const { line } of codeLines(text)) {
      const [user = '', field = ''] = line.split(':');
      if (!user) continue;
      if (file === 'shadow') accounts++;
      const state = passwordState(field, file);
      if (state === 'hash') {
        hashes.push(user);
        evidence.push(`${user}: ${hashScheme(field)} password hash in /etc/${file}`);
      } else if (state === 'empty') {
        // An account with no shadow line and an empty passwd field has no password either.
        if (file === 'passwd' && shadow !== undefined && shadowUsers.has(user)) continue;
        empty.push(user);
        evidence.push(`${user}: empty password field in /etc/${file} (logs in without a password where PAM allows nullok)`);
      } else if (state === 'locked' && field.replace(/^[!*]+/, '') !== '') lockedWithHash.push(user);
    }
  };
  const shadowUsers = new Set(shadow === undefined ? [] : codeLines(shadow).map(({ line }) => line.split(':')[0] ?? ''));
  if (shadow !== undefined) scan(shadow, 'shadow');
  if (passwd !== undefined) scan(passwd, 'passwd');
  if (lockedWithHash.length) evidence.push(`locked, but still holding a hash: ${lockedWithHash.join(', ')}`);
  const uniq = (xs: string[]) => [...new Set(xs)];
  if (hashes.length || empty.length) {
    const parts = [...(hashes.length ? [`password hashes for ${preview(uniq(hashes), 6)}`] : []), ...(empty.length ? [`empty password for ${preview(uniq(empty), 6)}`] : [])];
    return fail(`${parts.join('; ')}: lock them (usermod -p '*') and provision keys at first boot`, evidence.join('\n'));
  }
  const root =
    shadow !== undefined
      ? codeLines(shadow)
          .find(({ line }) => line.startsWith('root:'))
          ?.line.split(':')[1]
      : undefined;
  return pass(`no password hashes: ${plural(accounts, 'account')} in /etc/shadow, all locked${root !== undefined ? ` (root: ${root.slice(0, 1)})` : ''}`, evidence.join('\n') || undefined);
};

// ---------------------------------------------------------------------------------------------
// hyg-shell-history

const HISTORY_NAMES = new Set(['.lesshst', '.viminfo', '.wget-hsts', '.histfile', '.dbshell', '.sh_history', '.ash_history']);
export const isHistoryName = (name: string) => HISTORY_NAMES.has(name) || /history$/i.test(name);

export const checkShellHistory: SnapshotCheck = (view) => {
  const homes = homeDirs(view);
  const found: string[] = [];
  const empty: string[] = [];
  for (const home of homes) {
    for (const path of view.descendants(home)) {
      const entry = view.get(path)!;
      if (entry.type === 'dir' || !isHistoryName(basename(path))) continue;
      if (isDevNullLink(entry)) empty.push(`${path} -> /dev/null`);
      else if (entry.type === 'file' && entry.size === 0) empty.push(`${path} (empty)`);
      else found.push(path);
    }
  }
  if (found.length) {
    return fail(
      `shell/tool history left in the image: ${preview(found.map((p) => `${p} (${entrySize(view.get(p)!)})`))}`,
      withNotes(view, [...found.map((p) => describeEntry(p, view.get(p)!)), ...empty.map((e) => `fine: ${e}`)], '/root', '/home'),
    );
  }
  return pass(
    `no shell or tool history under ${homes.length ? preview(homes) : '/root and /home'}${empty.length ? ` (${plural(empty.length, 'empty history file')})` : ''}`,
    withNotes(
      view,
      empty.map((e) => `fine: ${e}`),
      '/root',
      '/home',
    ) || undefined,
  );
};

const entrySize = (entry: Entry) => (entry.type === 'symlink' ? `-> ${entry.target ?? '?'}` : entry.type === 'file' ? formatBytes(entry.size) : entry.type);

// ---------------------------------------------------------------------------------------------
// hyg-cloud-init-state

export const checkCloudInitState: SnapshotCheck = (view) => {
  const state: string[] = [];
  const evidence: string[] = [];
  const ids = new Set<string>();
  const instance = view.get('/var/lib/cloud/instance');
  if (instance) {
    state.push(instance.type === 'symlink' ? `/var/lib/cloud/instance -> ${instance.target ?? '?'}` : '/var/lib/cloud/instance');
    evidence.push(describeEntry('/var/lib/cloud/instance', instance));
    if (instance.target) ids.add(basename(instance.target));
  }
  const instances = view.children('/var/lib/cloud/instances');
  if (instances.length) {
    state.push(`/var/lib/cloud/instances/ (${preview(instances.map(basename))})`);
    for (const p of instances) {
      ids.add(basename(p));
      evidence.push(`${p}: ${plural(view.descendants(p).filter((d) => view.get(d)?.type !== 'dir').length, 'file')}`);
    }
  }
  for (const dir of ['/var/lib/cloud/data', '/var/lib/cloud/sem']) {
    const files = view.descendants(dir).filter((p) => view.get(p)?.type !== 'dir');
    if (files.length) {
      state.push(`${dir}/ (${plural(files.length, 'file')})`);
      evidence.push(`${dir}: ${preview(files.map(basename), 8)}`);
    }
  }
  const instanceId = view.content('/var/lib/cloud/data/instance-id')?.trim();
  if (instanceId) ids.add(instanceId);
  const logs = view.find((p, e) => /^\/var\/log\/cloud-init[^/]*$/.test(p) && e.type === 'file' && e.size > 0);
  for (const log of logs) evidence.push(describeEntry(log, view.get(log)!));
  if (state.length || logs.length) {
    const parts = [
      ...(state.length ? [`state${ids.size ? ` of instance ${preview([...ids])}` : ''}: ${state.join(', ')}`] : []),
      ...(logs.length ? [`logs: ${preview(logs.map((l) => `${l} (${formatBytes(view.get(l)!.size)})`))}`] : []),
    ];
    return fail(`cloud-init leftovers in the image: ${parts.join('; ')}`, withNotes(view, evidence, '/var/lib/cloud'));
  }
  return pass('no cloud-init instance state, data, semaphores or logs', withNotes(view, [], '/var/lib/cloud') || undefined);
};

// ---------------------------------------------------------------------------------------------
// hyg-authorized-keys

export interface KeyLine {
  type: string;
  comment: string;
  fingerprint?: string;
}

/** The keys of an authorized_keys text (options before the key type are skipped). */
export function parseAuthorizedKeys(text: string): KeyLine[] {
  const keys: KeyLine[] = [];
  for (const { line } of codeLines(text)) {
    const tokens = line.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
    // Options may contain quoted spaces; the key type is the first token that looks like one.
    const at = tokens.findIndex((t) => /^(ssh-|ecdsa-|sk-|rsa-sha2-)[\w@.-]+$/.test(t));
    if (at < 0) {
      keys.push({ type: 'unparsed', comment: line.length > 40 ? `${line.slice(0, 40)}...` : line });
      continue;
    }
    const blob = tokens[at + 1] ?? '';
    let fingerprint: string | undefined;
    if (/^[A-Za-z0-9+/]+=*$/.test(blob)) {
      fingerprint = `SHA256:${createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')}`;
    }
    keys.push({ type: tokens[at]!, comment: tokens.slice(at + 2).join(' '), fingerprint });
  }
  return keys;
}

const AUTH_ROOTS = ['/root', '/home', '/etc/ssh'];

export const checkAuthorizedKeys: SnapshotCheck = (view) => {
  const candidates = view.find((p, e) => e.type !== 'dir' && AUTH_ROOTS.some((r) => p.startsWith(`${r}/`)) && p.split('/').some((part) => part.startsWith('authorized_keys')));
  const found: string[] = [];
  const evidence: string[] = [];
  const fine: string[] = [];
  for (const path of candidates) {
    const entry = view.get(path)!;
    if (isDevNullLink(entry)) {
      fine.push(`fine: ${path} -> /dev/null`);
      continue;
    }
    if (entry.type === 'symlink') {
      found.push(`${path} (-> ${entry.target ?? '?'})`);
      evidence.push(describeEntry(path, entry));
      continue;
    }
    if (entry.content === undefined) {
      if (entry.size > 0) {
        found.push(`${path} (${formatBytes(entry.size)})`);
        evidence.push(describeEntry(path, entry));
      } else fine.push(`fine: ${path} (empty)`);
      continue;
    }
    const keys = parseAuthorizedKeys(entry.content);
    if (keys.length === 0) {
      fine.push(`fine: ${path} (no keys)`);
      continue;
    }
    const first = keys[0]!;
    found.push(`${path} (${plural(keys.length, 'key')}: ${first.type}${first.comment ? ` ${first.comment}` : ''}${keys.length > 1 ? ', ...' : ''})`);
    evidence.push(`${describeEntry(path, entry)}:`, ...keys.map((k) => `  ${k.type} ${k.fingerprint ?? ''} ${k.comment}`.trimEnd()));
  }
  if (found.length) {
    return fail(`authorized_keys baked into the image: ${preview(found, 3)}`, withNotes(view, [...evidence, ...fine], ...AUTH_ROOTS));
  }
  return pass('no authorized_keys files with keys under /root, /home or /etc/ssh', withNotes(view, fine, ...AUTH_ROOTS) || undefined);
};

// ---------------------------------------------------------------------------------------------
// hyg-dhcp-leases

const LEASE_DIRS = ['/var/lib/dhcp', '/var/lib/dhclient', '/var/lib/dhcpcd', '/var/lib/NetworkManager', '/var/lib/wicked', '/var/lib/systemd/network'];

/** `interface "eth0"` and `fixed-address 192.0.2.7` of an ISC dhclient lease file. */
export function summarizeLease(text: string | undefined): string {
  if (!text) return '';
  const iface = [...text.matchAll(/interface\s+"([^"]+)"/g)].map((m) => m[1]!);
  const addrs = [...text.matchAll(/fixed-address\s+([0-9a-f.:]+)/gi)].map((m) => m[1]!);
  const nmAddr = /^ADDRESS=(\S+)/m.exec(text)?.[1];
  const parts = [...new Set([...iface, ...addrs, ...(nmAddr ? [nmAddr] : [])])];
  return parts.join(', ');
}

export const checkDhcpLeases: SnapshotCheck = (view) => {
  const leases = view.find((p, e) => e.type === 'file' && e.size > 0 && LEASE_DIRS.some((d) => p.startsWith(`${d}/`)) && (/lease/i.test(basename(p)) || p.startsWith('/var/lib/dhclient/')));
  if (leases.length === 0) return pass(`no DHCP leases in ${LEASE_DIRS.slice(0, 4).join(', ')}`, withNotes(view, [], ...LEASE_DIRS) || undefined);
  const described = leases.map((p) => {
    const summary = summarizeLease(view.content(p));
    return summary ? `${p} (${summary})` : p;
  });
  return fail(
    `DHCP leases left in the image: ${preview(described, 3)}`,
    withNotes(
      view,
      leases.map((p) => describeEntry(p, view.get(p)!)),
      ...LEASE_DIRS,
    ),
  );
};

// ---------------------------------------------------------------------------------------------
// hyg-mac-bound-network

export interface MacBinding {
  path: string;
  line: number;
  text: string;
  mac: string;
}

/** MAC-bound lines of one network configuration file, by where it lives. */
export function macBindings(path: string, text: string): MacBinding[] {
  const out: MacBinding[] = [];
  const name = basename(path);
  let pattern: RegExp | undefined;
  if (path.startsWith('/etc/udev/rules.d/') && name.endsWith('.rules')) pattern = /ATTRS?\{address\}\s*==\s*"([0-9a-f]{2}(?::[0-9a-f]{2}){5})"/i;
  else if (/^\/etc\/sysconfig\/network(-scripts)?\/ifcfg-/.test(path)) pattern = /^(?:HWADDR|MACADDR|LLADDR)\s*=\s*["']?([0-9a-f]{2}(?::[0-9a-f]{2}){5})/i;
  else if (path.startsWith('/etc/netplan/')) pattern = /macaddress\s*:\s*["']?([0-9a-f]{2}(?::[0-9a-f]{2}){5})/i;
  else if (path === '/etc/network/interfaces' || path.startsWith('/etc/network/interfaces.d/')) pattern = /^hwaddress\s+(?:ether\s+)?([0-9a-f]{2}(?::[0-9a-f]{2}){5})/i;
  else if (path.startsWith('/etc/systemd/network/')) pattern = /^(?:PermanentMACAddress|MACAddress)\s*=\s*([0-9a-f]{2}(?::[0-9a-f]{2}){5})/i;
  else if (path.startsWith('/etc/NetworkManager/system-connections/')) pattern = /^(?:cloned-)?mac-address\s*=\s*([0-9a-f]{2}(?::[0-9a-f]{2}){5})/i;
  else if (path.startsWith('/etc/cloud/cloud.cfg.d/')) {
    // Leftover network config for cloud-init (e.g. a build platform's 50-curtin-networking.cfg):
    // any MAC in a network file, or a mac key anywhere.
    pattern = /network/i.test(name) ? MAC : /(?:mac_?address|mac-address)\s*:\s*["']?([0-9a-f]{2}(?::[0-9a-f]{2}){5})/i;
  }
  if (!pattern) return out;
  for (const { n, line } of codeLines(text)) {
    const m = pattern.exec(line);
    if (m && realMac(m[1]!)) out.push({ path, line: n, text: line, mac: m[1]!.toLowerCase() });
  }
  return out;
}

const NETWORK_CONFIG = [
  '/etc/udev/rules.d/',
  '/etc/sysconfig/network-scripts/',
  '/etc/sysconfig/network/',
  '/etc/netplan/',
  '/etc/network/',
  '/etc/systemd/network/',
  '/etc/NetworkManager/system-connections/',
  '/etc/cloud/cloud.cfg.d/',
];

export const checkMacBoundNetwork: SnapshotCheck = (view) => {
  const files = view.find((p, e) => e.type === 'file' && e.content !== undefined && NETWORK_CONFIG.some((d) => p.startsWith(d)));
  const bindings = files.flatMap((p) => macBindings(p, view.content(p)!));
  if (bindings.length === 0) {
    return pass(`no network configuration bound to a MAC address (${plural(files.length, 'file')} read)`, withNotes(view, [], ...NETWORK_CONFIG) || undefined);
  }
  const macs = [...new Set(bindings.map((b) => b.mac))];
  const paths = [...new Set(bindings.map((b) => b.path))];
  const names = bindings.map((b) => /NAME="([^"]+)"/.exec(b.text)?.[1]).filter((x): x is string => !!x);
  return fail(
    `network configuration bound to MAC ${preview(macs, 3)}: ${preview(paths, 3)}${names.length ? ` (names ${[...new Set(names)].join(', ')})` : ''}; a clone's NIC has another MAC`,
    withNotes(
      view,
      bindings.map((b) => `${b.path}:${b.line}: ${b.text}`),
      ...NETWORK_CONFIG,
    ),
  );
};

// ---------------------------------------------------------------------------------------------
// hyg-swap

const SWAP_FILES = ['/swapfile', '/swap.img', '/swap'];

export const checkSwap: SnapshotCheck = (view) => {
  const found: string[] = [];
  const evidence: string[] = [];
  const fstab = view.content('/etc/fstab');
  const lines = fstab === undefined ? [] : fstabLines(fstab).filter((l) => l.type === 'swap');
  for (const l of lines) {
    found.push(`swap in /etc/fstab (${l.source})`);
    evidence.push(`/etc/fstab: ${l.line}`);
  }
  const files = new Set([...SWAP_FILES, ...lines.map((l) => l.source).filter((s) => s.startsWith('/') && !s.startsWith('/dev/'))]);
  for (const path of files) {
    const entry = view.get(path);
    if (entry?.type === 'file') {
      found.push(`swap file ${path} (${formatBytes(entry.size)})`);
      evidence.push(describeEntry(path, entry));
    }
  }
  for (const fs of view.snapshot.filesystems.filter((f) => f.type === 'swap')) {
    found.push(`swap partition ${fs.device}`);
    evidence.push(`${fs.device}: swap`);
  }
  const units = view.find((p, e) => p.startsWith('/etc/systemd/system/') && p.endsWith('.swap') && e.type !== 'dir' && !isDevNullLink(e));
  for (const unit of units) {
    found.push(`systemd swap unit ${basename(unit)}`);
    evidence.push(describeEntry(unit, view.get(unit)!));
  }
  if (found.length) return fail(`swap in the image: ${preview(found, 4)}`, evidence.join('\n'));
  return pass(`no swap: none in /etc/fstab, no swap file, no swap partition (${plural(view.snapshot.filesystems.length, 'filesystem')} on the disk)`);
};

// ---------------------------------------------------------------------------------------------
// hyg-apt-caches

export const checkAptCaches: SnapshotCheck = (view) => {
  if (!view.get('/var/cache/apt') && !view.get('/var/lib/apt/lists')) return skip('no apt directories in the image (not an apt-based distribution)');
  const debs = view.find((p, e) => p.startsWith('/var/cache/apt/archives/') && p.endsWith('.deb') && e.type === 'file');
  const bins = view.children('/var/cache/apt').filter((p) => p.endsWith('.bin') && view.get(p)?.type === 'file');
  const lists = view.find((p, e) => p.startsWith('/var/lib/apt/lists/') && e.type === 'file' && basename(p) !== 'lock');
  const size = (paths: string[]) => formatBytes(paths.reduce((sum, p) => sum + (view.get(p)?.size ?? 0), 0));
  const parts = [
    ...(debs.length ? [`${plural(debs.length, '.deb file')} (${size(debs)}) in /var/cache/apt/archives`] : []),
    ...(lists.length ? [`${plural(lists.length, 'package list')} (${size(lists)}) in /var/lib/apt/lists`] : []),
    ...(bins.length ? [`${bins.map(basename).join(', ')} (${size(bins)}) in /var/cache/apt`] : []),
  ];
  if (parts.length) {
    return fail(
      `apt caches left in the image: ${parts.join('; ')}: run apt-get clean and remove the lists`,
      [...debs, ...lists, ...bins]
        .slice(0, 200)
        .map((p) => describeEntry(p, view.get(p)!))
        .join('\n'),
    );
  }
  return pass('apt caches and package lists are clean');
};

// ---------------------------------------------------------------------------------------------
// hyg-hostname

const NEUTRAL_HOSTNAMES = new Set(['', 'localhost', 'localhost.localdomain', 'localhost6', 'localhost6.localdomain6']);

export const checkHostname: SnapshotCheck = (view) => {
  const entry = view.get('/etc/hostname');
  if (!entry) return pass('no /etc/hostname: the guest takes its name from cloud-init or DHCP');
  if (entry.type !== 'file') return pass(`/etc/hostname is a ${entry.type}${entry.target ? ` -> ${entry.target}` : ''}`);
  const name = codeLines(entry.content ?? '')[0]?.line ?? '';
  if (NEUTRAL_HOSTNAMES.has(name.toLowerCase())) return pass(`/etc/hostname is ${name ? `"${name}"` : 'empty'}: no name baked in`);
  const hosts = view.content('/etc/hosts') ?? '';
  const hostLines = codeLines(hosts).filter(({ line }) => line.split(/\s+/).slice(1).includes(name));
  return fail(
    `/etc/hostname bakes in the name "${name}": services started before cloud-init renames the guest use it`,
    [`/etc/hostname: ${name}`, ...hostLines.map(({ n, line }) => `/etc/hosts:${n}: ${line}`)].join('\n'),
  );
};

// ---------------------------------------------------------------------------------------------
// hyg-tmp-files

const TMP_ALLOWED = new Set(['.X11-unix', '.ICE-unix', '.XIM-unix', '.font-unix', '.Test-unix', 'lost+found']);

export const checkTmpFiles: SnapshotCheck = (view) => {
  const leftovers: string[] = [];
  const evidence: string[] = [];
  for (const dir of ['/tmp', '/var/tmp']) {
    for (const path of view.children(dir)) {
      const entry = view.get(path)!;
      if (entry.type === 'dir' && TMP_ALLOWED.has(basename(path)) && view.descendants(path).length === 0) continue;
      if (entry.type === 'dir') {
        const files = view.descendants(path).filter((p) => view.get(p)?.type !== 'dir');
        leftovers.push(`${path}/ (${plural(files.length, 'file')})`);
        evidence.push(`${path}/: ${files.length ? preview(files, 10) : 'empty directory'}`);
      } else {
        leftovers.push(`${path} (${entrySize(entry)})`);
        evidence.push(describeEntry(path, entry));
      }
    }
  }
  if (leftovers.length) return fail(`leftover files in /tmp and /var/tmp: ${preview(leftovers, 5)}`, withNotes(view, evidence, '/tmp', '/var/tmp'));
  return pass('/tmp and /var/tmp are empty', withNotes(view, [], '/tmp', '/var/tmp') || undefined);
};

// ---------------------------------------------------------------------------------------------
// hyg-forbidden-paths

export const checkForbiddenPaths: SnapshotCheck = (view, options) => {
  if (options.forbiddenPaths.length === 0) return skip('no forbiddenPaths configured for image-hygiene');
  const hits = options.forbiddenPaths.flatMap((pattern) => (view.snapshot.forbidden[pattern] ?? []).map((path) => ({ pattern, path })));
  if (hits.length) {
    return fail(
      `forbidden paths present: ${preview(
        hits.map((h) => h.path),
        5,
      )}`,
      hits.map((h) => `${h.pattern}: ${view.get(h.path) ? describeEntry(h.path, view.get(h.path)!) : h.path}`).join('\n'),
    );
  }
  return pass(`none of ${plural(options.forbiddenPaths.length, 'forbidden path')} present: ${preview(options.forbiddenPaths, 5)}`);
};

// ---------------------------------------------------------------------------------------------
// hyg-image-file

const GiB = 1024 ** 3;

export function checkImageFile(image: ImageInfo, header: Qcow2Header | undefined, options: HygieneOptions): CheckOutcome {
  const problems: string[] = [];
  const evidence = [
    `file: ${image.path}`,
    `format: ${image.format}${header ? ` (qcow2 version ${header.version})` : ''}`,
    `virtual size: ${formatBytes(image.virtualSize)} (${image.virtualSize} bytes); allowed ${options.minVirtualSizeGiB}-${options.maxVirtualSizeGiB} GiB`,
    `file size: ${formatBytes(image.actualSize)}`,
    `sha256: ${image.sha256}`,
  ];
  const format: string = image.format;
  if (format !== 'qcow2' && format !== 'raw') problems.push(`format ${format} (qcow2 or raw expected)`);
  if (format === 'qcow2') {
    if (!header) problems.push('no qcow2 header at the start of the file');
    else {
      if (header.backingFile !== undefined) problems.push(`backing file ${header.backingFile}`);
      if (header.cryptMethod !== 0) problems.push(`encrypted (${header.cryptMethod === 1 ? 'AES' : header.cryptMethod === 2 ? 'LUKS' : `method ${header.cryptMethod}`})`);
      if (header.incompatibleFeatures & 4) problems.push('external data file');
      if (header.incompatibleFeatures & 2) problems.push('marked corrupt');
      if (header.incompatibleFeatures & 1) evidence.push('dirty bit set (not closed cleanly; qemu-img check -r all repairs it)');
      evidence.push(`backing file: ${header.backingFile ?? 'none'}`);
    }
  }
  const gib = image.virtualSize / GiB;
  if (gib < options.minVirtualSizeGiB) problems.push(`virtual size ${formatBytes(image.virtualSize)} below ${options.minVirtualSizeGiB} GiB`);
  if (gib > options.maxVirtualSizeGiB) problems.push(`virtual size ${formatBytes(image.virtualSize)} above ${options.maxVirtualSizeGiB} GiB`);
  if (problems.length) return fail(`image file: ${problems.join('; ')}`, evidence.join('\n'));
  return pass(`${image.format}, ${formatBytes(image.virtualSize)} virtual (${options.minVirtualSizeGiB}-${options.maxVirtualSizeGiB} GiB), no backing file`, evidence.join('\n'));
}

// ---------------------------------------------------------------------------------------------
// hyg-headless-console (rules and sources: boot-console.ts)

/**
 * Every bootloader configuration in the snapshot, evaluated; fails when one of them would leave a
 * headless VM (no display adapter, console on serial only) stuck in GRUB or silent on the serial
 * console. Throws (an error, not a failure) when there is nothing to judge or a file could not be read.
 */
export const checkHeadlessConsole: SnapshotCheck = (view) => {
  const reports: ConsoleReport[] = [];
  const unreadable: string[] = [];
  const text = (label: string, entry: Entry | undefined): string | undefined => {
    if (entry?.type !== 'file') return undefined;
    if (entry.content === undefined || (entry.content === '' && entry.size > 0)) {
      unreadable.push(`${label} (${formatBytes(entry.size)})`);
      return undefined;
    }
    return entry.content;
  };
  // The menus update-grub writes from /etc/default/grub(.d): what GRUB reads now.
  const generated: Array<MenuConsoles & { file: string }> = [];
  for (const path of ['/boot/grub/grub.cfg', '/boot/grub2/grub.cfg']) {
    const t = text(path, view.get(path));
    if (t === undefined) continue;
    const report = analyzeGrubCfg(path, t);
    reports.push(report);
    if (report.menu) generated.push({ file: path, ...report.menu });
  }
  for (const path of ['/boot/extlinux/extlinux.conf', '/extlinux.conf', '/boot/syslinux/syslinux.cfg', '/syslinux/syslinux.cfg']) {
    const t = text(path, view.get(path));
    if (t !== undefined) reports.push(analyzeSyslinuxCfg(path, t));
  }
  const esps = view.snapshot.esps ?? [];
  for (const esp of esps) {
    const prefix = esps.length > 1 ? `ESP ${esp.device}:` : 'ESP:';
    for (const [path, entry] of Object.entries(esp.files)) {
      const t = text(`${prefix}${path}`, entry);
      if (t !== undefined) reports.push(analyzeGrubCfg(`${prefix}${path}`, t));
    }
    for (const [loader, { member, content }] of Object.entries(esp.embedded ?? {})) {
      reports.push(analyzeGrubCfg(`${prefix}${loader} (embedded ${member})`, content));
    }
  }
  const defaults = ['/etc/default/grub', ...view.children('/etc/default/grub.d').filter((p) => p.endsWith('.cfg'))]
    .map((file) => ({ file, text: text(file, view.get(file)) }))
    .filter((f): f is { file: string; text: string } => f.text !== undefined);
  // With two generated menus (grub and grub2 folders), the defaults' problem is excused only if both serve.
  const menu = generated.length
    ? { file: generated.map((g) => g.file).join(' and '), serialTerminal: generated.every((g) => g.serialTerminal), serialKernel: generated.every((g) => g.serialKernel) }
    : undefined;
  const fromDefaults = analyzeDefaultGrub(defaults, menu);
  if (fromDefaults) reports.push(fromDefaults);
  if (unreadable.length) throw new Error(`hyg-headless-console: could not read ${preview(unreadable, 4)} from the image`);
  if (reports.length === 0) {
    throw new Error(
      'hyg-headless-console: no bootloader configuration found to judge (looked for /boot/grub/grub.cfg, /boot/grub2/grub.cfg, ' +
        `/boot/extlinux/extlinux.conf, syslinux.cfg, /etc/default/grub, and EFI/*/grub.cfg or a standalone GRUB on ${esps.length ? plural(esps.length, 'ESP') : 'an ESP (none found)'})`,
    );
  }
  const findings = reports.flatMap((r) => r.findings);
  const notes = reports.flatMap((r) => r.notes ?? []);
  const evidence = withNotes(view, [...reports.map((r) => `${r.file}: ${r.summary}`), ...notes.map((n) => `note: ${n}`)], '/boot', '/etc/default', 'FAT');
  if (findings.length) return fail(`not ready for a headless VM: ${findings.map(formatFinding).join('; ')}`, evidence);
  return pass(`bootloader and kernel use the serial console (${reports.map((r) => r.file).join(', ')})${notes.map((n) => `; note: ${n}`).join('')}`, evidence);
};
