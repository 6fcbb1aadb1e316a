import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isPresent, parseInventory } from '../../suites/package-audit/dpkg.js';
import { affects, assess, detectFormat, meetsUrgency, normaliseUrgency, parseFeed, parseOsv, parseTracker, type Assessment } from '../../suites/package-audit/vuln-feed.js';

const dir = fileURLToPath(new URL('../fixtures/vuln-feed/', import.meta.url));
const read = (name: string): string => readFileSync(`${dir}${name}`, 'utf8');
const TRACKER = JSON.parse(read('debian-tracker.json')) as unknown;
const OSV = JSON.parse(read('osv.json')) as unknown;
const CLEAN = parseInventory(read('installed-debian-12-clean.tsv')).packages.filter(isPresent);
const FLAWED = parseInventory(read('installed-debian-12-clean.tsv') + read('installed-debian-12-flawed-extra.tsv')).packages.filter(isPresent);
const SCOPE = { release: 'bookworm', ecosystem: 'Debian:12' };
const DEFAULTS = { minUrgency: 'low' as const, ignore: [] };

const ids = (a: Assessment, kind: 'fixed' | 'unfixed' | 'belowThreshold' | 'ignored') => a[kind].map((f) => f.advisory.aliases[0] ?? f.advisory.id).sort();

describe('feed formats', () => {
  it('tells the tracker from OSV', () => {
    expect(detectFormat(TRACKER)).toBe('debian-tracker');
    expect(detectFormat(OSV)).toBe('osv');
    expect(detectFormat((OSV as { vulns: unknown[] }).vulns)).toBe('osv');
    expect(detectFormat((OSV as { vulns: unknown[] }).vulns[0])).toBe('osv');
    expect(() => detectFormat('text')).toThrow(/neither/);
  });
  it('reads the tracker for one release', () => {
    const feed = parseTracker(TRACKER, SCOPE);
    const sudo = feed.advisories.filter((a) => a.package === 'sudo');
    expect(sudo).toEqual([expect.objectContaining({ id: 'CVE-2099-10001', fixedVersion: '1.9.13p3-1+deb12u5', urgency: 'medium', status: 'resolved' })]);
    expect(feed.advisories.find((a) => a.id === 'CVE-2099-10007')).toMatchObject({ notAffected: true, urgency: 'unknown' });
    expect(feed.notes).toContain('1 tracker entries name no bookworm release');
    expect(() => parseTracker(TRACKER, {})).toThrow(/release codename/);
  });
  it('reads OSV for one ecosystem', () => {
    const feed = parseOsv(OSV, SCOPE);
    expect(feed.advisories.filter((a) => a.id === 'DSA-9901-1')).toEqual([
      expect.objectContaining({ package: 'sudo', fixedVersion: '1.9.13p3-1+deb12u5', aliases: ['CVE-2099-10001'], urgency: 'medium' }),
    ]);
    expect(feed.notes).toContain('1 affected[] entries are for other ecosystems than Debian:12');
    expect(() => parseOsv(OSV, {})).toThrow(/ecosystem/);
  });
  it('normalises urgencies and applies the threshold', () => {
    expect(['low**', 'not yet assigned', 'end-of-life', 'MODERATE', 'negligible', 'Critical'].map(normaliseUrgency)).toEqual(['low', 'unknown', 'unknown', 'medium', 'unimportant', 'critical']);
    expect(meetsUrgency('unimportant', 'low')).toBe(false);
    expect(meetsUrgency('unknown', 'critical')).toBe(true);
    expect(meetsUrgency('high', 'medium')).toBe(true);
  });
});

describe('installed versions against the fixture feeds', () => {
  for (const [name, data] of [
    ['Debian security tracker', TRACKER],
    ['OSV', OSV],
  ] as const) {
    describe(name, () => {
      const feed = parseFeed(data, SCOPE);
      it('clean image: the sudo fix is missing, openssh has an unfixed issue, nothing else applies', () => {
        const a = assess(feed, CLEAN, DEFAULTS);
        expect(ids(a, 'fixed')).toEqual(['CVE-2099-10001']);
        expect(a.fixed[0]).toMatchObject({ installedVersion: '1.9.13p3-1+deb12u4', advisory: { package: 'sudo', fixedVersion: '1.9.13p3-1+deb12u5' } });
        expect(ids(a, 'unfixed')).toEqual(['CVE-2099-10002']);
        // openssh is matched through its source package: three binaries, one source version
        expect(a.unfixed[0]!.binaries.map((b) => b.name).sort()).toEqual(['openssh-client', 'openssh-server', 'openssh-sftp-server']);
        expect(a.problems).toEqual([]);
        const notAffected = a.notAffected.map((n) => n.advisory.aliases[0] ?? n.advisory.id).sort();
        expect(notAffected).toEqual(
          name === 'OSV' ? ['CVE-2099-10003', 'CVE-2099-10006', 'CVE-2099-10011', 'CVE-2099-10012'] : ['CVE-2099-10003', 'CVE-2099-10004', 'CVE-2099-10006', 'CVE-2099-10007'],
        );
      });
      it('flawed image: also the inetutils (telnetd) fix, matched through the source package', () => {
        const a = assess(feed, FLAWED, DEFAULTS);
        expect(ids(a, 'fixed')).toEqual(['CVE-2099-10001', 'CVE-2099-10008']);
        const inetutils = a.fixed.find((f) => f.advisory.package === 'inetutils')!;
        expect(inetutils.installedVersion).toBe('2:2.4-2+deb12u3');
        expect(inetutils.binaries.map((b) => b.name).sort()).toEqual(['inetutils-inetd', 'inetutils-syslogd', 'inetutils-telnetd', 'telnetd']);
      });
      it('a higher threshold leaves only the high-urgency telnetd fix', () => {
        expect(ids(assess(feed, CLEAN, { minUrgency: 'high', ignore: [] }), 'fixed')).toEqual([]);
        expect(ids(assess(feed, FLAWED, { minUrgency: 'high', ignore: [] }), 'fixed')).toEqual(['CVE-2099-10008']);
      });
      it('ignores by id or alias', () => {
        const a = assess(feed, CLEAN, { minUrgency: 'low', ignore: ['CVE-2099-10001'] });
        expect(ids(a, 'fixed')).toEqual([]);
        expect(ids(a, 'ignored')).toEqual(['CVE-2099-10001']);
      });
    });
  }
  it('the tracker keeps the unimportant openssh issue below the default threshold', () => {
    const a = assess(parseFeed(TRACKER, SCOPE), CLEAN, DEFAULTS);
    expect(ids(a, 'belowThreshold')).toEqual(['CVE-2099-10005']);
    expect(ids(assess(parseFeed(TRACKER, SCOPE), CLEAN, { minUrgency: 'unimportant', ignore: [] }), 'unfixed')).toEqual(['CVE-2099-10002', 'CVE-2099-10005']);
  });
});

describe('affects', () => {
  const base = { id: 'X', aliases: [], package: 'p', urgency: 'low' as const };
  it('compares with Debian ordering, not text', () => {
    expect(affects({ ...base, fixedVersion: '1:9.2p1-2+deb12u3' }, '1:9.2p1-2+deb12u10').affected).toBe(false);
    expect(affects({ ...base, fixedVersion: '1:9.2p1-2+deb12u11' }, '1:9.2p1-2+deb12u10').affected).toBe(true);
    expect(affects({ ...base, fixedVersion: '1.0' }, '1.0~rc1').affected).toBe(true);
    expect(affects({ ...base, fixedVersion: '2.0' }, '1:0.1').affected).toBe(false);
  });
  it('evaluates OSV ranges event by event', () => {
    const ranges = [[{ introduced: '1.2' }, { fixed: '1.4' }, { introduced: '2.0' }, { lastAffected: '2.1' }]];
    expect(['1.1', '1.2', '1.3', '1.4', '1.9', '2.0', '2.1', '2.1-1'].map((v) => affects({ ...base, ranges }, v).affected)).toEqual([false, true, true, false, false, true, true, false]);
  });
});
