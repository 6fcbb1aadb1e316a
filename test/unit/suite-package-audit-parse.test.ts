import { describe, expect, it } from 'vitest';
import { checkPolicy, globToRegExp, INVENTORY_ARGV, judgeDatabase, judgeKernel, kernelPackages, parseDpkgSearch, parseInventory, parseVerify } from '../../suites/package-audit/dpkg.js';
import { describeOs, isDpkgFamily, parseOsRelease } from '../../suites/package-audit/os-release.js';
import { parseOptions, DEFAULT_FORBIDDEN } from '../../suites/package-audit/options.js';
import { buildSbom, debPurl } from '../../suites/package-audit/sbom.js';

// /usr/lib/os-release of the Debian 12 fixture images.
const DEBIAN_12 = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
`;

const UBUNTU_2404 = `PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
`;

const ROCKY_9 = `NAME="Rocky Linux"
VERSION="9.4 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"
`;

// `dpkg-query -W -f='${Status}\t${Package}\t${Architecture}\t${Version}\t${source:Package}\t${source:Version}\n'`
// on the fixture root filesystem (excerpt), plus a removed package that left its conffiles.
const T = '\t';
const INVENTORY = [
  ['install ok installed', 'bash', 'amd64', '5.2.15-2+b13', 'bash', '5.2.15-2'],
  ['install ok installed', 'bsdutils', 'amd64', '1:2.38.1-5+deb12u3', 'util-linux', '2.38.1-5+deb12u3'],
  ['install ok installed', 'cloud-init', 'all', '22.4.2-1+deb12u4', 'cloud-init', '22.4.2-1+deb12u4'],
  ['install ok installed', 'libc6', 'amd64', '2.36-9+deb12u14', 'glibc', '2.36-9+deb12u14'],
  ['install ok installed', 'linux-image-6.1.0-56-cloud-amd64', 'amd64', '6.1.192-2', 'linux-signed-amd64', '6.1.192+2'],
  ['install ok installed', 'linux-image-cloud-amd64', 'amd64', '6.1.192-2', 'linux-signed-amd64', '6.1.192+2'],
  ['install ok installed', 'openssh-server', 'amd64', '1:9.2p1-2+deb12u10', 'openssh', '1:9.2p1-2+deb12u10'],
  ['install ok installed', 'qemu-guest-agent', 'amd64', '1:7.2+dfsg-7+deb12u18+b3', 'qemu', '1:7.2+dfsg-7+deb12u18'],
  ['install ok installed', 'sudo', 'amd64', '1.9.13p3-1+deb12u4', 'sudo', '1.9.13p3-1+deb12u4'],
  ['deinstall ok config-files', 'telnetd', 'all', '0.17+2.4-2+deb12u3', 'inetutils', '2:2.4-2+deb12u3'],
]
  .map((f) => f.join(T))
  .join('\n');

describe('os-release', () => {
  it('parses Debian 12 and knows dpkg applies', () => {
    const os = parseOsRelease(DEBIAN_12);
    expect(os).toMatchObject({ id: 'debian', versionId: '12', versionCodename: 'bookworm', prettyName: 'Debian GNU/Linux 12 (bookworm)' });
    expect(isDpkgFamily(os)).toBe(true);
  });
  it('takes Ubuntu and derivatives through ID_LIKE', () => {
    expect(isDpkgFamily(parseOsRelease(UBUNTU_2404))).toBe(true);
    expect(isDpkgFamily(parseOsRelease('ID=linuxmint\nID_LIKE="ubuntu debian"\n'))).toBe(true);
  });
  it('tells rpm distributions apart', () => {
    const os = parseOsRelease(ROCKY_9);
    expect(isDpkgFamily(os)).toBe(false);
    expect(describeOs(os)).toBe('Rocky Linux 9.4 (Blue Onyx) (ID=rocky, ID_LIKE=rhel centos fedora)');
  });
  it("defaults the id to 'linux' and unquotes single quotes", () => {
    expect(parseOsRelease("NAME='Some OS'\n").id).toBe('linux');
    expect(parseOsRelease("NAME='Some OS'\n").fields.NAME).toBe('Some OS');
  });
});

describe('dpkg-query inventory', () => {
  it('asks dpkg-query for state, name, arch, version and source', () => {
    expect(INVENTORY_ARGV.join(' ')).toBe('dpkg-query -W -f=${Status}\\t${Package}\\t${Architecture}\\t${Version}\\t${source:Package}\\t${source:Version}\\n');
  });
  it('parses the fields, source versions included', () => {
    const inv = parseInventory(INVENTORY);
    expect(inv.unparsed).toEqual([]);
    expect(inv.packages).toHaveLength(10);
    expect(inv.packages.find((p) => p.name === 'bash')).toMatchObject({ version: '5.2.15-2+b13', source: 'bash', sourceVersion: '5.2.15-2', state: 'installed' });
    expect(inv.packages.find((p) => p.name === 'telnetd')).toMatchObject({ want: 'deinstall', flag: 'ok', state: 'config-files', source: 'inetutils' });
  });
  it('keeps lines it cannot read apart', () => {
    expect(parseInventory('garbage\n').unparsed).toEqual(['garbage']);
  });
});

describe('database health', () => {
  // dpkg 1.21.23 --audit with one reinstreq half-installed and one half-configured package.
  const AUDIT = `The following packages are in a mess due to serious problems during
installation.  They must be reinstalled for them (and any packages
that depend on them) to function properly:
 zstd                 fast lossless compression algorithm -- CLI tool

The following packages are only half configured, probably due to problems
configuring them the first time.  The configuration should be retried using
dpkg --configure <package> or the configure menu option in dselect:
 locales              GNU C Library: National Language (locale) data [support]
`;
  it('passes a clean database (config-files leftovers are fine)', () => {
    expect(judgeDatabase('', parseInventory(INVENTORY))).toMatchObject({ ok: true, broken: [] });
  });
  it('fails on unfinished states and error flags, naming them', () => {
    const inv = parseInventory(
      `${INVENTORY}\ninstall reinstreq half-installed\tzstd\tamd64\t1.5.4+dfsg2-5\tlibzstd\t1.5.4+dfsg2-5\ninstall ok half-configured\tlocales\tall\t2.36-9+deb12u14\tglibc\t2.36-9+deb12u14\ninstall ok triggers-pending\tman-db\tamd64\t2.11.2-2\tman-db\t2.11.2-2`,
    );
    const health = judgeDatabase(AUDIT, inv);
    expect(health.ok).toBe(false);
    expect(health.broken.map((p) => p.name)).toEqual(['zstd', 'locales', 'man-db']);
  });
  it('fails when only dpkg --audit complains', () => {
    expect(judgeDatabase(AUDIT, parseInventory(INVENTORY)).ok).toBe(false);
  });
});

describe('dpkg --verify and dpkg -S', () => {
  // dpkg 1.21.23 --verify on the fixture root after changing two conffiles and /usr/sbin/service, and removing a doc file.
  const VERIFY = `??5?????? c /etc/ssh/moduli
??5??????   /usr/sbin/service
??5?????? c /etc/sudoers.d/README
missing     /usr/share/doc/sudo/copyright
`;
  it('reads digest changes, the conffile flag and missing files', () => {
    const { lines, other } = parseVerify(VERIFY);
    expect(other).toEqual([]);
    expect(lines).toEqual([
      { result: '??5??????', conffile: true, path: '/etc/ssh/moduli', digestChanged: true, missing: false },
      { result: '??5??????', conffile: false, path: '/usr/sbin/service', digestChanged: true, missing: false },
      { result: '??5??????', conffile: true, path: '/etc/sudoers.d/README', digestChanged: true, missing: false },
      { result: 'missing', conffile: false, path: '/usr/share/doc/sudo/copyright', digestChanged: false, missing: true },
    ]);
  });
  it('does not take other columns for a digest change', () => {
    expect(parseVerify('.M.......   /usr/bin/x\n').lines[0]).toMatchObject({ digestChanged: false, conffile: false });
  });
  it('maps paths to packages, diversions and errors aside', () => {
    const owners = parseDpkgSearch(
      'init-system-helpers: /usr/sbin/service\ndiversion by dash from: /bin/sh\nlibc6:amd64, libc6:i386: /usr/share/doc/libc6\ndpkg-query: no path found matching pattern /nonexistent\n',
    );
    expect(owners.get('/usr/sbin/service')).toEqual(['init-system-helpers']);
    expect(owners.get('/usr/share/doc/libc6')).toEqual(['libc6:amd64', 'libc6:i386']);
    expect(owners.has('/bin/sh')).toBe(false);
  });
});

describe('policy lists', () => {
  it('matches names, globs and name:arch, present packages only', () => {
    const inv = parseInventory(INVENTORY);
    const result = checkPolicy(['sudo', 'openssh-*', 'libc6:i386', 'telnetd', 'nginx'], inv);
    expect(result.matches.map((m) => [m.entry, m.found.map((p) => p.name)])).toEqual([
      ['sudo', ['sudo']],
      ['openssh-*', ['openssh-server']],
      ['libc6:i386', []],
      ['telnetd', []],
      ['nginx', []],
    ]);
    expect(globToRegExp('lib*.so?').test('libfoo.so1')).toBe(true);
    expect(globToRegExp('a+b').test('a+b')).toBe(true);
  });
});

describe('kernel', () => {
  const inv = parseInventory(INVENTORY);
  it('finds real kernel packages, not meta packages', () => {
    expect(kernelPackages(inv).map((k) => k.release)).toEqual(['6.1.0-56-cloud-amd64']);
  });
  it('passes when the running kernel is the newest', () => {
    expect(judgeKernel('6.1.0-56-cloud-amd64', inv)).toMatchObject({ ok: true, message: 'running kernel 6.1.0-56-cloud-amd64 is the newest installed, linux-image-6.1.0-56-cloud-amd64 6.1.192-2' });
  });
  it('fails when a newer kernel is installed but not booted, by Debian version order', () => {
    const two = parseInventory(
      `${INVENTORY}\ninstall ok installed\tlinux-image-6.1.0-9-cloud-amd64\tamd64\t6.1.27-1\tlinux-signed-amd64\t6.1.27+1\ninstall ok installed\tlinux-image-6.1.0-56-cloud-amd64-dbg\tamd64\t6.1.192-2\tlinux\t6.1.192-2`,
    );
    expect(judgeKernel('6.1.0-9-cloud-amd64', two)).toMatchObject({
      ok: false,
      message: 'running kernel 6.1.0-9-cloud-amd64 (6.1.27-1) is older than installed linux-image-6.1.0-56-cloud-amd64 6.1.192-2',
    });
    expect(judgeKernel('6.1.0-56-cloud-amd64', two).ok).toBe(true);
  });
  it('fails when the running kernel comes from no installed package', () => {
    expect(judgeKernel('6.1.0-55-cloud-amd64', inv)).toMatchObject({ ok: false, message: expect.stringContaining('not from an installed package') });
  });
});

describe('options', () => {
  it('has defaults', () => {
    const o = parseOptions({});
    expect(o).toMatchObject({ required: ['cloud-init', 'openssh-server', 'qemu-guest-agent'], failOn: 'fixed', minUrgency: 'low', extraForbidden: [] });
    expect(o.forbidden).toEqual(DEFAULT_FORBIDDEN);
    expect(o.forbidden).toEqual(expect.arrayContaining(['telnetd', 'rsh-server', 'xinetd', 'nis']));
  });
  it('rejects unknown keys and bad values, naming them', () => {
    expect(() => parseOptions({ failon: 'fixed' })).toThrow(/package-audit options: .*failon/);
    expect(() => parseOptions({ failOn: 'sometimes' })).toThrow(/failOn/);
    expect(() => parseOptions({ required: ['Not A Package'] })).toThrow(/required\.0/);
  });
});

describe('SBOM', () => {
  const os = parseOsRelease(DEBIAN_12);
  it('writes purls as the spec and the brief want them', () => {
    expect(debPurl({ name: 'openssh-server', version: '1:9.2p1-2+deb12u10', arch: 'amd64' }, os)).toBe('pkg:deb/debian/openssh-server@1:9.2p1-2%2Bdeb12u10?arch=amd64&distro=debian-12');
    expect(debPurl({ name: 'ca-certificates', version: '20250419~deb12u2', arch: 'all' }, os)).toBe('pkg:deb/debian/ca-certificates@20250419~deb12u2?arch=all&distro=debian-12');
  });
  it('builds a CycloneDX 1.5 document', () => {
    const packages = parseInventory(INVENTORY).packages.filter((p) => p.state === 'installed');
    const bom = buildSbom({
      packages,
      os,
      image: { name: 'debian-12-clean', sha256: 'a'.repeat(64), path: '/images/debian-12-clean.qcow2' },
      timestamp: '2099-01-01T00:00:00.000Z',
      serial: '00000000-0000-4000-8000-000000000000',
    });
    expect(bom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.5', version: 1, serialNumber: 'urn:uuid:00000000-0000-4000-8000-000000000000' });
    const components = bom.components as { name: string; version: string; purl: string; type: string; 'bom-ref': string }[];
    expect(components).toHaveLength(9);
    expect(components.find((c) => c.name === 'sudo')).toMatchObject({ type: 'library', version: '1.9.13p3-1+deb12u4', purl: 'pkg:deb/debian/sudo@1.9.13p3-1%2Bdeb12u4?arch=amd64&distro=debian-12' });
    expect(new Set(components.map((c) => c['bom-ref'])).size).toBe(9);
    expect((bom.metadata as { component: unknown }).component).toMatchObject({ type: 'operating-system', name: 'debian', version: '12', hashes: [{ alg: 'SHA-256', content: 'a'.repeat(64) }] });
  });
});
