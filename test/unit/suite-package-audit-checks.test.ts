import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Check, CheckOutcome } from '../../src/suite-api/index.js';
import packageAudit from '../../suites/package-audit/index.js';
import { INVENTORY_ARGV } from '../../suites/package-audit/dpkg.js';
import { fakeContext, fakeGuest, type FakeAnswer } from './helpers/fake-guest.js';

const dir = fileURLToPath(new URL('../fixtures/vuln-feed/', import.meta.url));
const read = (name: string): string => readFileSync(`${dir}${name}`, 'utf8');
const TRACKER_FEED = `${dir}debian-tracker.json`;
const OSV_FEED = `${dir}osv.json`;

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
const INVENTORY_KEY = INVENTORY_ARGV.join(' ');
const CLEAN_INVENTORY = read('installed-debian-12-clean.tsv');
const FLAWED_INVENTORY = CLEAN_INVENTORY + read('installed-debian-12-flawed-extra.tsv');

/** debian-12-clean after boot: cloud-init rewrote one conffile, nothing else changed. */
const CLEAN: Record<string, FakeAnswer> = {
  'cat /etc/os-release': DEBIAN_12,
  'dpkg --audit': '',
  [INVENTORY_KEY]: CLEAN_INVENTORY,
  '[sudo] dpkg --verify': '??5?????? c /etc/cloud/cloud.cfg\n',
  'uname -r': '6.1.0-56-cloud-amd64\n',
};

/** debian-12-flawed: telnetd installed, /usr/sbin/service appended to after installation. */
const FLAWED: Record<string, FakeAnswer> = {
  ...CLEAN,
  [INVENTORY_KEY]: FLAWED_INVENTORY,
  '[sudo] dpkg --verify': '??5?????? c /etc/cloud/cloud.cfg\n??5??????   /usr/sbin/service\n',
  'dpkg -S /usr/sbin/service': 'init-system-helpers: /usr/sbin/service\n',
};

function check(id: string): Check {
  const found = packageAudit.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id}`);
  return found;
}

async function runCheck(id: string, exec: Record<string, FakeAnswer>, options: Record<string, unknown> = {}) {
  const guest = fakeGuest({ exec });
  const context = fakeContext([guest], options);
  const outcome: CheckOutcome = await check(id).run(context);
  return { outcome, guest, context };
}

describe('package-audit suite', () => {
  it('is defined with its checks and shares one guest', () => {
    expect(packageAudit.id).toBe('package-audit');
    expect(packageAudit.requires).toEqual({ guests: { count: 1, placement: 'any', sharing: 'shared' } });
    expect(packageAudit.checks.map((c) => `${c.id}:${c.severity}`)).toEqual([
      'pkg-dpkg-audit:must',
      'pkg-integrity:must',
      'pkg-required:must',
      'pkg-forbidden:must',
      'pkg-kernel-current:must',
      'pkg-vulnerabilities:must',
      'pkg-sbom:must',
    ]);
  });
});

describe('pkg-dpkg-audit', () => {
  it('passes the clean database', async () => {
    const { outcome } = await runCheck('pkg-dpkg-audit', CLEAN);
    expect(outcome).toMatchObject({ status: 'pass', message: 'dpkg --audit prints nothing; 209 installed' });
    expect(outcome.evidence).toContain('$ dpkg --audit   (exit 0)');
  });
  it('fails on a half-configured package, naming it', async () => {
    const broken = CLEAN_INVENTORY.replace('install ok installed\tlocales\t', 'install ok half-configured\tlocales\t');
    const audit =
      'The following packages are only half configured, probably due to problems\nconfiguring them the first time.  The configuration should be retried using\ndpkg --configure <package> or the configure menu option in dselect:\n locales              GNU C Library: National Language (locale) data [support]\n';
    const { outcome } = await runCheck('pkg-dpkg-audit', { ...CLEAN, [INVENTORY_KEY]: broken, 'dpkg --audit': audit });
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toContain('locales (half-configured)');
    expect(outcome.message).toContain('dpkg --audit: The following packages are only half configured');
    expect(outcome.evidence).toContain('install ok half-configured\tlocales');
  });
});

describe('pkg-integrity', () => {
  it('passes when only conffiles changed', async () => {
    const { outcome } = await runCheck('pkg-integrity', CLEAN);
    expect(outcome).toMatchObject({ status: 'pass', message: expect.stringContaining('no packaged non-config file changed since installation; 1 conffile(s) changed (allowed)') });
    expect(outcome.evidence).toContain('??5?????? c /etc/cloud/cloud.cfg');
  });
  it('fails naming the changed file and its package', async () => {
    const { outcome, guest } = await runCheck('pkg-integrity', FLAWED);
    expect(outcome).toMatchObject({ status: 'fail', message: '1 packaged non-config file(s) changed since installation: /usr/sbin/service (init-system-helpers)' });
    expect(outcome.evidence).toContain('$ sudo -n dpkg --verify');
    expect(outcome.evidence).toContain('init-system-helpers: /usr/sbin/service');
    expect(guest.calls).toContain('[sudo] dpkg --verify');
  });
  it('accepts changes the config allows', async () => {
    const { outcome } = await runCheck('pkg-integrity', FLAWED, { integrityIgnore: ['/usr/sbin/*'] });
    expect(outcome.status).toBe('pass');
    expect(outcome.message).toContain('accepted by integrityIgnore: /usr/sbin/service');
  });
  it('is an error, not a pass, when sudo refuses', async () => {
    await expect(runCheck('pkg-integrity', { ...CLEAN, '[sudo] dpkg --verify': { exitCode: 1, stderr: 'sudo: a password is required\n' } })).rejects.toThrow(/sudo dpkg --verify failed/);
  });
});

describe('pkg-required / pkg-forbidden', () => {
  it('passes the clean image', async () => {
    expect((await runCheck('pkg-required', CLEAN)).outcome).toMatchObject({
      status: 'pass',
      message: 'all 3 required packages installed: cloud-init 22.4.2-1+deb12u4, openssh-server 1:9.2p1-2+deb12u10, qemu-guest-agent 1:7.2+dfsg-7+deb12u18+b3',
    });
    expect((await runCheck('pkg-forbidden', CLEAN)).outcome).toMatchObject({ status: 'pass', message: 'none of the 19 forbidden packages is installed' });
  });
  it('fails the flawed image naming telnetd and the inetd it pulled in', async () => {
    const { outcome } = await runCheck('pkg-forbidden', FLAWED);
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toBe('forbidden package(s) installed: telnetd 0.17+2.4-2+deb12u3, inetutils-telnetd 2:2.4-2+deb12u3, inetutils-inetd 2:2.4-2+deb12u3');
    expect(outcome.evidence).toContain('install ok installed\ttelnetd\tall\t0.17+2.4-2+deb12u3\tinetutils\t2:2.4-2+deb12u3');
  });
  it('fails when a required package is missing', async () => {
    const without = CLEAN_INVENTORY.split('\n')
      .filter((l) => !l.includes('\tqemu-guest-agent\t'))
      .join('\n');
    const { outcome } = await runCheck('pkg-required', { ...CLEAN, [INVENTORY_KEY]: without });
    expect(outcome).toMatchObject({ status: 'fail', message: 'required package(s) not installed: qemu-guest-agent' });
  });
  it('takes the lists from the options', async () => {
    expect((await runCheck('pkg-required', CLEAN, { required: ['sudo', 'nginx'] })).outcome.message).toBe('required package(s) not installed: nginx');
    expect((await runCheck('pkg-forbidden', CLEAN, { extraForbidden: ['sudo'] })).outcome.message).toBe('forbidden package(s) installed: sudo 1.9.13p3-1+deb12u4');
  });
  it('errors on invalid options', async () => {
    await expect(runCheck('pkg-required', CLEAN, { required: 'cloud-init' })).rejects.toThrow(/package-audit options: required/);
  });
});

describe('pkg-kernel-current', () => {
  it('passes when the booted kernel is the newest', async () => {
    const { outcome } = await runCheck('pkg-kernel-current', CLEAN);
    expect(outcome).toMatchObject({ status: 'pass', message: 'running kernel 6.1.0-56-cloud-amd64 is the newest installed, linux-image-6.1.0-56-cloud-amd64 6.1.192-2' });
    expect(outcome.evidence).toContain('$ uname -r   (exit 0)');
  });
  it('fails when a newer kernel package is installed but an older one runs', async () => {
    const older = 'install ok installed\tlinux-image-6.1.0-55-cloud-amd64\tamd64\t6.1.188-1\tlinux-signed-amd64\t6.1.188+1\n';
    const { outcome } = await runCheck('pkg-kernel-current', { ...CLEAN, [INVENTORY_KEY]: CLEAN_INVENTORY + older, 'uname -r': '6.1.0-55-cloud-amd64\n' });
    expect(outcome).toMatchObject({ status: 'fail', message: 'running kernel 6.1.0-55-cloud-amd64 (6.1.188-1) is older than installed linux-image-6.1.0-56-cloud-amd64 6.1.192-2' });
  });
});

describe('pkg-vulnerabilities', () => {
  it('skips without a feed, saying so', async () => {
    const { outcome, guest } = await runCheck('pkg-vulnerabilities', CLEAN);
    expect(outcome).toMatchObject({ status: 'skip', message: expect.stringContaining('no vulnerabilityFeed configured') });
    expect(guest.calls).toEqual([]);
  });
  for (const [format, feed] of [
    ['tracker', TRACKER_FEED],
    ['OSV', OSV_FEED],
  ] as const) {
    it(`${format}: fails on the missing sudo fix, reporting the unfixed openssh issue apart`, async () => {
      const { outcome, context } = await runCheck('pkg-vulnerabilities', CLEAN, { vulnerabilityFeed: feed });
      expect(outcome.status).toBe('fail');
      const sudoId = format === 'OSV' ? 'DSA-9901-1' : 'CVE-2099-10001';
      const sshId = format === 'OSV' ? 'DEBIAN-CVE-2099-10002' : 'CVE-2099-10002';
      expect(outcome.message).toContain(`1 fix(es) not installed: ${sudoId} (sudo 1.9.13p3-1+deb12u4 < 1.9.13p3-1+deb12u5)`);
      expect(outcome.message).toContain(`1 unfixed: ${sshId} (openssh)`);
      expect(outcome.evidence).toMatch(/Fix available, not installed \(1\):\n {2}\S+ sudo 1\.9\.13p3-1\+deb12u4 < 1\.9\.13p3-1\+deb12u5 \(medium; sudo\)/);
      expect(outcome.evidence).toContain('Unfixed (no fix released) (1):');
      const artifact = JSON.parse(context.written.get('vulnerabilities.json')!) as { fixed: { package: string }[]; unfixed: { package: string }[] };
      expect(artifact.fixed.map((f) => f.package)).toEqual(['sudo']);
      expect(artifact.unfixed.map((f) => f.package)).toEqual(['openssh']);
    });
    it(`${format}: with minUrgency high the clean image passes and the flawed one fails on telnetd's source`, async () => {
      const clean = await runCheck('pkg-vulnerabilities', CLEAN, { vulnerabilityFeed: feed, minUrgency: 'high' });
      expect(clean.outcome.status).toBe('pass');
      expect(clean.outcome.message).toMatch(/^no available fix missing; no unfixed issue/);
      const flawed = await runCheck('pkg-vulnerabilities', FLAWED, { vulnerabilityFeed: feed, minUrgency: 'high' });
      expect(flawed.outcome.status).toBe('fail');
      expect(flawed.outcome.message).toContain('(inetutils 2:2.4-2+deb12u3 < 2:2.4-2+deb12u4)');
    });
  }
  it('failOn decides: none never fails, any fails on unfixed issues too', async () => {
    expect((await runCheck('pkg-vulnerabilities', CLEAN, { vulnerabilityFeed: TRACKER_FEED, failOn: 'none' })).outcome.status).toBe('pass');
    const onlyUnfixed = { vulnerabilityFeed: TRACKER_FEED, ignoreVulnerabilities: ['CVE-2099-10001'] };
    expect((await runCheck('pkg-vulnerabilities', CLEAN, onlyUnfixed)).outcome.status).toBe('pass');
    expect((await runCheck('pkg-vulnerabilities', CLEAN, { ...onlyUnfixed, failOn: 'any' })).outcome).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('1 unfixed: CVE-2099-10002 (openssh)'),
    });
  });
  it('is an error when the feed cannot be read', async () => {
    await expect(runCheck('pkg-vulnerabilities', CLEAN, { vulnerabilityFeed: `${dir}missing.json` })).rejects.toThrow(/vulnerability feed .*missing\.json/);
  });
});

describe('pkg-sbom', () => {
  it('writes a CycloneDX 1.5 SBOM and names the count', async () => {
    const { outcome, context } = await runCheck('pkg-sbom', FLAWED);
    expect(outcome).toMatchObject({ status: 'pass', message: 'CycloneDX 1.5 SBOM of 215 installed packages written to sbom.cdx.json' });
    const bom = JSON.parse(context.written.get('sbom.cdx.json')!) as { specVersion: string; components: { purl: string }[] };
    expect(bom.specVersion).toBe('1.5');
    expect(bom.components.map((c) => c.purl)).toContain('pkg:deb/debian/telnetd@0.17%2B2.4-2%2Bdeb12u3?arch=all&distro=debian-12');
    expect(bom.components.map((c) => c.purl)).toContain('pkg:deb/debian/openssh-server@1:9.2p1-2%2Bdeb12u10?arch=amd64&distro=debian-12');
  });
});

describe('other distributions', () => {
  const ROCKY = { 'cat /etc/os-release': 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n' };
  it.each(['pkg-dpkg-audit', 'pkg-integrity', 'pkg-required', 'pkg-forbidden', 'pkg-kernel-current', 'pkg-sbom'])('%s skips with the reason', async (id) => {
    const { outcome, guest } = await runCheck(id, ROCKY);
    expect(outcome).toMatchObject({ status: 'skip', message: 'Rocky Linux 9.4 (Blue Onyx) (ID=rocky, ID_LIKE=rhel centos fedora) is not Debian/Ubuntu-based: dpkg checks do not apply' });
    expect(guest.calls).toEqual(['cat /etc/os-release']);
  });
  it('pkg-vulnerabilities skips too when a feed is configured', async () => {
    expect((await runCheck('pkg-vulnerabilities', ROCKY, { vulnerabilityFeed: TRACKER_FEED })).outcome.status).toBe('skip');
  });
  it('skips when the distribution cannot be told', async () => {
    expect((await runCheck('pkg-dpkg-audit', {})).outcome).toMatchObject({ status: 'skip', message: expect.stringContaining('no /etc/os-release') });
  });
});
