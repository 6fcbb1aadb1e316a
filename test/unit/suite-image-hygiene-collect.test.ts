/**
 * The collector and the guestfish protocol, against a fake `guestfish`: a Node script that reads the
 * same stdin script real guestfish reads (quoted arguments, `-` prefixes, `echo` markers), answers
 * from a JSON description of a disk, and writes `*stdin*:N: libguestfs: error: ...` to stderr the way
 * guestfish does. The real appliance is exercised by test/e2e/image-hygiene-offline.test.ts.
 */
import { offlineContext } from './helpers/offline-context.js';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { affectsCollection, collectSnapshot, parseListFilesystems, parseMountpoints, parseOsRelease, parseStat, parseStatList, shouldRead, swapSources } from '../../suites/image-hygiene/collect.js';
import { applianceEnv, commandLine, errorLines, GuestfishSession, quoteArg } from '../../suites/image-hygiene/guestfish.js';
import suite, { SNAPSHOT_MEMO_KEY } from '../../suites/image-hygiene/index.js';

const FAKE_GUESTFISH = String.raw`#!/usr/bin/env node
// A fake guestfish: enough of the stdin protocol and of the commands the collector uses.
const fs = require('node:fs');
const disk = JSON.parse(fs.readFileSync(process.env.FAKE_DISK, 'utf8'));
if (process.env.FAKE_ARGV) fs.writeFileSync(process.env.FAKE_ARGV, JSON.stringify(process.argv.slice(2)));
let files = disk.files || {};
let launched = false, mounted = false, lineNo = 0, buffer = '';
const type = (p) => { const e = files[p]; if (e === undefined) return undefined; if (typeof e === 'string') return 'file'; if (e.link !== undefined) return 'link'; if (e.dir) return 'dir'; return 'file'; };
let dirs;
const use = (f) => { files = f; dirs = new Set(['/']); for (const p of Object.keys(files)) { const parts = p.split('/').filter(Boolean); for (let i = 1; i < parts.length; i++) dirs.add('/' + parts.slice(0, i).join('/')); if (type(p) === 'dir') dirs.add(p); } };
use(files);
const kind = (p) => (dirs.has(p) ? 'dir' : type(p));
const all = () => [...new Set([...Object.keys(files), ...dirs])].sort();
const modeOf = (k) => (k === 'dir' ? 16877 : k === 'link' ? 41471 : 33188);
const sizeOf = (p) => { const e = files[p]; if (kind(p) === 'dir') return 4096; if (typeof e === 'string') return Buffer.byteLength(e); if (e.link !== undefined) return e.link.length; return e.size || 0; };
const stat = (p) => { const k = kind(p); if (!k) return 'st_ino: -1\nst_mode: 0\nst_size: 0\n'; return 'st_dev: 2050\nst_ino: 12\nst_mode: ' + modeOf(k) + '\nst_uid: 0\nst_size: ' + sizeOf(p) + '\n'; };
function tokens(line) {
  const out = []; let i = 0;
  while (i < line.length) {
    if (line[i] === ' ') { i++; continue; }
    if (line[i] === '"') {
      let s = []; i++;
      while (line[i] !== '"') {
        if (line[i] === '\\' && line[i + 1] === 'x') { s.push(parseInt(line.slice(i + 2, i + 4), 16)); i += 4; }
        else { s.push(...Buffer.from(line[i])); i++; }
      }
      i++; out.push(Buffer.from(s).toString('utf8'));
    } else { let j = line.indexOf(' ', i); if (j < 0) j = line.length; out.push(line.slice(i, j)); i = j; }
  }
  return out;
}
const err = (msg) => process.stderr.write('*stdin*:' + lineNo + ': libguestfs: error: ' + msg + '\n');
const glob = (pattern) => { const re = new RegExp('^' + pattern.replace(/[.+^$()|[\]{}]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$'); return all().filter((p) => re.test(p)); };
function exec(words) {
  let [cmd, ...args] = words;
  if (cmd.startsWith('-')) cmd = cmd.slice(1);
  const need = () => { if (!mounted) { err(cmd + ': you must call mount first'); return false; } return true; };
  switch (cmd) {
    case 'echo': return args.join(' ') + '\n';
    case 'exit': process.exit(0);
    case 'run': if (disk.launchError) { err(disk.launchError); return ''; } launched = true; return '';
    case 'list-filesystems': return Object.entries(disk.filesystems || {}).map(([d, t]) => d + ': ' + t + '\n').join('');
    case 'inspect-os': return disk.root ? disk.root + '\n' : '';
    case 'inspect-get-type': return (disk.osType || 'linux') + '\n';
    case 'inspect-get-distro': return 'debian\n';
    case 'inspect-get-product-name': return '12.5\n';
    case 'inspect-get-major-version': return '12\n';
    case 'inspect-get-minor-version': return '5\n';
    case 'inspect-get-mountpoints': return '/: ' + disk.root + '\n';
    case 'mount-ro': if (disk.esp && args[0] === disk.esp.device && args[1] === '/') { use(disk.esp.files); mounted = true; return ''; } if (args[0] !== disk.root || args[1] !== '/') { err('mount: ' + args[0] + ' on ' + args[1] + ': wrong fs type'); return ''; } use(disk.files || {}); mounted = true; return '';
    case 'umount-all': mounted = false; return '';
    case 'download': if (!need()) return ''; if (kind(args[0]) !== 'file') { err('download: ' + args[0] + ': No such file or directory'); return ''; } fs.writeFileSync(args[1], Buffer.from(files[args[0]], 'latin1')); return '';
    case 'is-dir': return need() ? String(kind(args[0]) === 'dir') + '\n' : '';
    case 'is-file': return need() ? String(kind(args[0]) === 'file') + '\n' : '';
    case 'exists': return need() ? String(!!kind(args[0])) + '\n' : '';
    case 'cat': if (!need()) return ''; if (kind(args[0]) !== 'file') { err('cat: ' + args[0] + ': No such file or directory'); return ''; } return files[args[0]] + '\n';
    case 'lstatns': if (!need()) return ''; if (!kind(args[0])) { err('lstatns: ' + args[0] + ': No such file or directory'); return ''; } return stat(args[0]);
    case 'lstatnslist': { if (!need()) return ''; const base = args[0] === '/' ? '' : args[0]; return args[1].split(/\s+/).filter(Boolean).map((n, i) => '[' + i + '] = {\n' + stat(base + '/' + n).replace(/^/gm, '  ').trimEnd() + '\n}\n').join(''); }
    case 'readlink': if (type(args[0]) !== 'link') { err('readlink: ' + args[0] + ': Invalid argument'); return ''; } return files[args[0]].link + '\n';
    case 'readlinklist': { const base = args[0] === '/' ? '' : args[0]; return args[1].split(/\s+/).filter(Boolean).map((n) => (type(base + '/' + n) === 'link' ? files[base + '/' + n].link : '') + '\n').join(''); }
    case 'find': { if (!need()) return ''; if (kind(args[0]) !== 'dir') { err('find: ' + args[0] + ': No such file or directory'); return ''; } const base = args[0] === '/' ? '/' : args[0] + '/'; return all().filter((p) => p.startsWith(base) && p !== base).map((p) => (args[0] === '/' ? p.slice(1) : p.slice(base.length - 1)) + '\n').join(''); }
    case 'find0': { if (!need()) return ''; if (kind(args[0]) !== 'dir') { err('find0: ' + args[0] + ': No such file or directory'); return ''; } const base = args[0] === '/' ? '/' : args[0] + '/'; fs.writeFileSync(args[1], all().filter((p) => p.startsWith(base) && p !== base).map((p) => (args[0] === '/' ? p.slice(1) : p.slice(base.length - 1)) + '\0').join('')); return ''; }
    case 'glob-expand-opts': return need() ? glob(args[0]).map((p) => p + '\n').join('') : '';
    case 'head-n': return files[args[1]].split('\n').slice(0, Number(args[0])).join('\n') + '\n';
    default: err('unknown command ' + cmd); return '';
  }
}
process.stdin.on('data', (chunk) => {
  buffer += chunk.toString('utf8');
  let nl;
  while ((nl = buffer.indexOf('\n')) >= 0) {
    const line = buffer.slice(0, nl); buffer = buffer.slice(nl + 1); lineNo++;
    const words = tokens(line);
    if (words.length === 0) continue;
    if (disk.hangOn && words[0].replace(/^-/, '') === disk.hangOn) return;
    process.stdout.write(exec(words));
  }
});
process.stdin.on('end', () => process.exit(0));
`;

let dir: string;
let program: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hyg-unit-'));
  program = join(dir, 'guestfish');
  writeFileSync(program, FAKE_GUESTFISH);
  chmodSync(program, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function disk(name: string, description: object): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(description));
  return path;
}

const HASH = '$6$imgtestbuild01$qtQyr7i85aj5JwaJ5CWhnTI46nMULAEMK4BA68ku8KP1S8QlHDHv3A6rphY7OniWH.X62K/qaY0CL2sJ52pqH/';

/** A standalone GRUB's memdisk member, as grub-mkstandalone embeds it (a ustar entry), inside filler bytes. */
function standaloneLoader(grubCfg: string): string {
  const header = Buffer.alloc(512);
  header.write('boot/grub/grub.cfg', 0, 'latin1');
  header.write(`${grubCfg.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  header.write('ustar\0', 257, 'latin1');
  const body = Buffer.alloc(Math.ceil(grubCfg.length / 512) * 512);
  body.write(grubCfg, 'latin1');
  return `MZ${'.'.repeat(510)}${Buffer.concat([header, body]).toString('latin1')}`;
}

const SERIAL_MENU = "serial --unit=0 --speed=115200\nterminal_output serial console\nmenuentry 'Debian' {\n  linux /boot/vmlinuz root=LABEL=root ro console=ttyS0,115200n8\n}\n";

const FLAWED_DISK = {
  filesystems: { '/dev/sda1': 'vfat', '/dev/sda2': 'ext4' },
  root: '/dev/sda2',
  esp: {
    device: '/dev/sda1',
    files: { '/EFI/debian/grub.cfg': SERIAL_MENU, '/EFI/BOOT/BOOTX64.EFI': standaloneLoader(SERIAL_MENU), '/EFI/BOOT/mmx64.efi': 'MZ no memdisk' },
  },
  files: {
    '/boot/grub/grub.cfg': "insmod gfxterm\nterminal_output gfxterm\nmenuentry 'Debian' {\n  linux /boot/vmlinuz root=LABEL=root ro console=tty0 console=ttyS0\n}\n",
    '/etc/passwd': 'root:x:0:0:root:/root:/bin/bash\n',
    '/etc/shadow': `root:${HASH}:20000:0:99999:7:::\n`,
    '/etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
    '/etc/fstab': 'LABEL=root / ext4 defaults 0 1\n/swapfile none swap sw,nofail 0 0\n',
    '/etc/hostname': 'build-vm-01\n',
    '/etc/machine-id': '3f6c0d5e9a8b4c7d9e2f1a0b5c6d7e8f\n',
    '/var/lib/dbus/machine-id': { link: '/etc/machine-id' },
    '/etc/ssh/ssh_host_ed25519_key': { size: 399 },
    '/etc/ssh/sshd_config.d/05 build access.conf': 'PermitRootLogin yes\n',
    '/root/.bash_history': 'passwd root\n',
    "/home/o'brien/.ssh/authorized_keys": 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMccgF8bpN9S6jLJq96v9f0v/u7O4uPCAhd6kUHr91mD test@imgtest\n',
    '/var/lib/cloud/instance': { link: '/var/lib/cloud/instances/i-1' },
    '/var/lib/cloud/instances/i-1/datasource': 'NoCloud\n',
    '/var/log/cloud-init.log': { size: 647 },
    '/var/log/syslog': { size: 10 },
    '/var/lib/dhcp/dhclient.eth0.leases': 'lease {\n  interface "eth0";\n  fixed-address 192.168.122.57;\n}\n',
    '/etc/udev/rules.d/70-persistent-net.rules': 'SUBSYSTEM=="net", ATTR{address}=="52:54:00:b1:1d:01", NAME="eth0"\n',
    '/swapfile': { size: 67108864 },
    '/tmp/build.sh': 'echo $TOKEN\n',
    '/tmp/evil\nname': 'x',
    '/tmp/.X11-unix': { dir: true },
    '/etc/systemd/system/multi-user.target.wants/ssh.service': { link: '/lib/systemd/system/ssh.service' },
  },
};

describe('guestfish script quoting', () => {
  it('quotes every unsafe byte as \\xHH, so no argument can end the string or start a command', () => {
    expect(quoteArg('/etc/ssh')).toBe('"/etc/ssh"');
    expect(quoteArg('a b"c\n!rm')).toBe('"a\\x20b\\x22c\\x0a\\x21rm"');
    expect(quoteArg('é')).toBe('"\\xc3\\xa9"');
    expect(() => quoteArg('a\0b')).toThrow(/NUL/);
    expect(commandLine('cat', ['/etc/hostname'])).toBe('-cat "/etc/hostname"');
    expect(() => commandLine('cat; !sh', [])).toThrow(/not a guestfish command/);
  });
  it('keeps the error lines of stderr, without the script position', () => {
    expect(errorLines('*stdin*:17: libguestfs: error: ls0: opendir: /x: No such file or directory\nlibguestfs: warning: y\n')).toBe('libguestfs: error: ls0: opendir: /x: No such file or directory');
  });
  it('sets the direct backend and TCG unless the user chose', () => {
    expect(applianceEnv({})).toMatchObject({ LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' });
    expect(applianceEnv({ LIBGUESTFS_BACKEND: 'libvirt', LIBGUESTFS_BACKEND_SETTINGS: '' })).toMatchObject({ LIBGUESTFS_BACKEND: 'libvirt', LIBGUESTFS_BACKEND_SETTINGS: '' });
  });
});

describe('guestfish output parsers', () => {
  it('parses lstatns and lstatnslist structs', () => {
    expect(parseStat('st_dev: 2048\nst_ino: 27\nst_mode: 33188\nst_size: 6\n')).toMatchObject({ st_ino: 27, st_mode: 33188, st_size: 6 });
    const list = parseStatList('[0] = {\n  st_ino: 27\n  st_mode: 33188\n  st_size: 6\n}\n[1] = {\n  st_ino: -1\n  st_mode: 0\n  st_size: 0\n}\n');
    expect(list.map((s) => s.st_ino)).toEqual([27, -1]);
  });
  it('parses filesystems, mountpoints (parents first), os-release and fstab swap lines', () => {
    expect(parseListFilesystems('/dev/sda1: vfat\n/dev/sda2: ext4\n/dev/sda3: swap\n')).toEqual([
      { device: '/dev/sda1', type: 'vfat' },
      { device: '/dev/sda2', type: 'ext4' },
      { device: '/dev/sda3', type: 'swap' },
    ]);
    expect(parseMountpoints('/boot/efi: /dev/sda1\n/: /dev/sda2\n/boot: /dev/sda3\n').map((m) => m.mountpoint)).toEqual(['/', '/boot', '/boot/efi']);
    expect(parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')).toEqual({ PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)', ID: 'debian' });
    expect(swapSources('# x\nLABEL=root / ext4 defaults 0 1\n/swapfile none swap sw 0 0\nUUID=1 none swap sw 0 0\n')).toEqual(['/swapfile', 'UUID=1']);
  });
  it('mounts only what holds collected areas, reads only what checks parse', () => {
    expect(affectsCollection('/home')).toBe(true);
    expect(affectsCollection('/var')).toBe(true);
    expect(affectsCollection('/boot/efi')).toBe(false);
    expect(affectsCollection('/srv/data')).toBe(false);
    expect(shouldRead('/etc/hostname', { type: 'file', size: 3 })).toBe(true);
    expect(shouldRead('/root/.ssh/authorized_keys', { type: 'file', size: 3 })).toBe(true);
    expect(shouldRead('/root/.bash_history', { type: 'file', size: 3 })).toBe(false);
    expect(shouldRead('/etc/ssh/ssh_host_rsa_key', { type: 'file', size: 3 })).toBe(false);
    expect(shouldRead('/etc/hostname', { type: 'symlink', size: 3 })).toBe(false);
  });
});

describe('GuestfishSession (fake guestfish)', () => {
  it('attributes output and errors to the command that produced them', async () => {
    const session = new GuestfishSession({ image: '/x.qcow2', format: 'qcow2', program, env: { ...process.env, FAKE_DISK: disk('s1', FLAWED_DISK) } });
    try {
      await session.run('run');
      await session.run('mount-ro', ['/dev/sda2', '/']);
      expect(await session.run('cat', ['/etc/hostname'])).toEqual({ stdout: 'build-vm-01\n\n', error: '' });
      expect(await session.run('cat', ['/nonexistent'])).toEqual({ stdout: '', error: 'libguestfs: error: cat: /nonexistent: No such file or directory' });
      expect((await session.run('cat', ['/etc/machine-id'])).error).toBe('');
      await expect(session.ok('cat', ['/nope'])).rejects.toThrow('cat /nope: cat: /nope: No such file or directory');
      expect((await session.run('lstatns', ["/home/o'brien/.ssh/authorized_keys"])).stdout).toContain('st_mode: 33188');
    } finally {
      await session.close();
    }
  });
  it('says clearly when guestfish is not installed', async () => {
    const session = new GuestfishSession({ image: '/x.qcow2', format: 'qcow2', program: join(dir, 'no-such-guestfish') });
    await expect(session.run('run')).rejects.toThrow(/not found: install libguestfs-tools/);
    await session.close();
  });
  it('gives up on a command that hangs, and ends the process', async () => {
    const session = new GuestfishSession({ image: '/x.qcow2', format: 'qcow2', program, env: { ...process.env, FAKE_DISK: disk('hang', { ...FLAWED_DISK, hangOn: 'find' }) } });
    await session.run('run');
    await expect(session.run('find', ['/'], 300)).rejects.toThrow(/find did not finish within/);
    await expect(session.run('echo', ['x'])).rejects.toThrow();
    await session.close(2000);
  });
});

describe('collectSnapshot (fake guestfish)', () => {
  it('opens the image read-only with its format, and collects what the checks need', async () => {
    const argvFile = join(dir, 'argv.json');
    const { snapshot } = await collectSnapshot({
      image: '/images/flawed.qcow2',
      format: 'qcow2',
      forbiddenPaths: ['/tmp/*.sh', '/opt/nothing'],
      program,
      env: { ...process.env, FAKE_DISK: disk('flawed', FLAWED_DISK), FAKE_ARGV: argvFile },
    });
    expect(JSON.parse(readFileSync(argvFile, 'utf8'))).toEqual(['--ro', '--format=qcow2', '-a', '/images/flawed.qcow2']);
    expect(snapshot.os).toEqual({ root: '/dev/sda2', type: 'linux', distro: 'debian', product: 'Debian GNU/Linux 12 (bookworm)', version: '12' });
    expect(snapshot.mounts).toEqual([{ mountpoint: '/', device: '/dev/sda2' }]);
    const e = snapshot.entries;
    expect(e['/etc/hostname']).toMatchObject({ type: 'file', content: 'build-vm-01\n' });
    expect(e['/var/lib/dbus/machine-id']).toMatchObject({ type: 'symlink', target: '/etc/machine-id' });
    expect(e['/etc/shadow']!.content).toBe('root:<hash-sha512crypt>:20000:0:99999:7:::\n');
    expect(JSON.stringify(snapshot)).not.toContain('imgtestbuild01');
    expect(e['/etc/ssh/sshd_config.d/05 build access.conf']).toMatchObject({ type: 'file' });
    expect(e["/home/o'brien/.ssh/authorized_keys"]!.content).toContain('test@imgtest');
    expect(e['/root/.bash_history']).toMatchObject({ type: 'file', size: 12 });
    expect(e['/root/.bash_history']!.content).toBeUndefined();
    expect(e['/var/log/cloud-init.log']).toMatchObject({ type: 'file', size: 647 });
    expect(e['/var/log/syslog']).toBeUndefined();
    expect(e['/swapfile']).toMatchObject({ size: 67108864 });
    expect(e['/tmp/.X11-unix']).toMatchObject({ type: 'dir' });
    expect(e['/tmp/evil\nname']).toMatchObject({ type: 'file', size: 1 });
    expect(snapshot.forbidden).toEqual({ '/tmp/*.sh': ['/tmp/build.sh'], '/opt/nothing': [] });
    expect(Object.keys(e).some((p) => p.includes('//'))).toBe(false);
    expect(snapshot.timings.commands).toBeGreaterThan(10);
    // Bootloader files: the root's grub.cfg, then the ESP (root unmounted, the ESP mounted on / read-only).
    expect(e['/boot/grub/grub.cfg']!.content).toContain('terminal_output gfxterm');
    expect(snapshot.esps).toEqual([
      {
        device: '/dev/sda1',
        files: { '/EFI/debian/grub.cfg': expect.objectContaining({ type: 'file', content: SERIAL_MENU }) },
        embedded: { '/EFI/BOOT/BOOTX64.EFI': { member: '/boot/grub/grub.cfg', content: SERIAL_MENU } },
      },
    ]);
    expect(e['/EFI/debian/grub.cfg']).toBeUndefined();
  });

  it('notes a FAT filesystem it cannot mount, and reads no ESP then', async () => {
    const noEsp = { ...FLAWED_DISK, esp: undefined };
    const { snapshot } = await collectSnapshot({ image: '/x', format: 'raw', forbiddenPaths: [], program, env: { ...process.env, FAKE_DISK: disk('no-esp', noEsp) } });
    expect(snapshot.esps).toBeUndefined();
    expect(snapshot.notes.some((n) => n.startsWith('/dev/sda1: FAT filesystem could not be mounted (mount: /dev/sda1 on /: wrong fs type)'))).toBe(true);
  });

  it('feeds the suite: every planted defect fails, through one memoised collection', async () => {
    const previous = process.env.FAKE_DISK;
    // collectSnapshot runs `guestfish` from PATH here: put the fake first.
    const oldPath = process.env.PATH;
    process.env.PATH = `${dir}:${oldPath}`;
    process.env.FAKE_DISK = disk('flawed2', FLAWED_DISK);
    const context = offlineContext({ image: { path: '/images/flawed.qcow2', name: 'flawed', format: 'raw' } });
    const { computed, written } = context;
    try {
      const results = Object.fromEntries(await Promise.all(suite.checks.map(async (c) => [c.id, await c.run(context)] as const)));
      expect(computed).toEqual([SNAPSHOT_MEMO_KEY]);
      expect(written).toEqual(['image-hygiene-snapshot.json']);
      for (const id of [
        'hyg-ssh-host-keys',
        'hyg-machine-id',
        'hyg-password-hashes',
        'hyg-shell-history',
        'hyg-cloud-init-state',
        'hyg-authorized-keys',
        'hyg-dhcp-leases',
        'hyg-mac-bound-network',
        'hyg-swap',
        'hyg-hostname',
        'hyg-tmp-files',
      ]) {
        expect(results[id]!.status, `${id}: ${results[id]!.message}`).toBe('fail');
      }
      expect(results['hyg-authorized-keys']!.message).toContain("/home/o'brien/.ssh/authorized_keys");
      expect(results['hyg-headless-console']!.status).toBe('fail');
      expect(results['hyg-headless-console']!.message).toContain('/boot/grub/grub.cfg:2: terminal_output gfxterm');
      expect(results['hyg-headless-console']!.evidence).toContain('ESP:/EFI/BOOT/BOOTX64.EFI (embedded /boot/grub/grub.cfg): terminal_output serial console; console=ttyS0,115200n8');
      expect(results['hyg-apt-caches']!.status).toBe('skip');
      expect(results['hyg-image-file']!.status).toBe('pass');
    } finally {
      process.env.PATH = oldPath;
      process.env.FAKE_DISK = previous;
    }
  });

  it('falls back to libguestfs inspection when fstab mounts a collected area in a way it cannot resolve', async () => {
    const odd = { ...FLAWED_DISK, files: { ...FLAWED_DISK.files, '/etc/fstab': 'LABEL=root / ext4 defaults 0 1\n/dev/vdb1 /home ext4 defaults 0 2\n' } };
    const { snapshot } = await collectSnapshot({ image: '/x', format: 'raw', forbiddenPaths: [], program, env: { ...process.env, FAKE_DISK: disk('odd', odd) } });
    expect(snapshot.os).toEqual({ root: '/dev/sda2', type: 'linux', distro: 'debian', product: '12.5', version: '12.5' });
    expect(snapshot.entries['/etc/hostname']!.content).toBe('build-vm-01\n');
  });

  it('says so when there is no operating system on the disk', async () => {
    const p = collectSnapshot({ image: '/x.qcow2', format: 'qcow2', forbiddenPaths: [], program, env: { ...process.env, FAKE_DISK: disk('empty', { filesystems: { '/dev/sda1': 'vfat' } }) } });
    await expect(p).rejects.toThrow('no operating system found in the image (libguestfs inspection found no root filesystem; filesystems: /dev/sda1: vfat)');
  });

  it('refuses a non-Linux root, and a failed appliance start, in one line', async () => {
    const windows = { filesystems: { '/dev/sda2': 'ntfs' }, root: '/dev/sda2', osType: 'windows' };
    await expect(collectSnapshot({ image: '/x', format: 'raw', forbiddenPaths: [], program, env: { ...process.env, FAKE_DISK: disk('win', windows) } })).rejects.toThrow(
      /^not a Linux image: libguestfs found a windows root on \/dev\/sda2/,
    );
    const broken = { launchError: 'qemu-system-x86_64: failed to initialize kvm: Operation not permitted' };
    const failure = collectSnapshot({ image: '/x', format: 'raw', forbiddenPaths: [], program, env: { ...process.env, FAKE_DISK: disk('broken', broken) } });
    await expect(failure).rejects.toThrow('libguestfs could not start its appliance: qemu-system-x86_64: failed to initialize kvm: Operation not permitted');
    await expect(failure).rejects.toHaveProperty('transcript', expect.stringContaining('failed to initialize kvm'));
  });
});
