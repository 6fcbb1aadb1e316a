import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compareDebianVersions, compareVersionPart, parseDebianVersion } from '../../suites/package-audit/debian-version.js';

/** [a, expected sign of compare(a, b), b] */
const CASES: [string, -1 | 0 | 1, string][] = [
  // tilde sorts before everything, even the end of the string
  ['1.0~rc1', -1, '1.0'],
  ['1.0~rc1', -1, '1.0~rc2'],
  ['1.0~~', -1, '1.0~'],
  ['1.0~~a', -1, '1.0~'],
  ['1.0~', -1, '1.0'],
  ['1.0~beta1~svn1245', -1, '1.0~beta1'],
  ['2.30~rc1-1', -1, '2.30-1'],
  ['1.0-1~bpo12+1', -1, '1.0-1'],
  ['1.14.10-1~deb12u1', -1, '1.14.10-1'],
  ['20250419~deb12u2', -1, '20250419'],
  ['252.39-1~deb12u2', 1, '252.39-1~deb12u1'],
  // epochs win over everything; a missing epoch is 0
  ['1:0.1', 1, '2.0'],
  ['0:1.0', 0, '1.0'],
  ['1:9.2p1-2+deb12u10', 1, '9.9p1-1'],
  ['2:2.4-2+deb12u3', 1, '1:2.4-2+deb12u4'],
  ['10:1', 1, '9:1'],
  ['1:1.0', -1, '2:0.1'],
  // revisions
  ['1.0-1', -1, '1.0-1+deb12u1'],
  ['1.0-1+deb12u1', -1, '1.0-1+deb12u2'],
  ['1:9.2p1-2+deb12u3', -1, '1:9.2p1-2+deb12u10'],
  ['1.9.13p3-1+deb12u4', -1, '1.9.13p3-1+deb12u5'],
  ['2.30-2', -1, '2.30-10'],
  ['1.0', 0, '1.0-0'],
  ['1.0', -1, '1.0-1'],
  ['1.0-0', -1, '1.0-0.1'],
  ['5.2.15-2+b13', 1, '5.2.15-2'],
  ['5.2.15-2+b13', -1, '5.2.15-3'],
  ['6.1.192-2', 1, '6.1.188-1'],
  ['6.1.192+2', 1, '6.1.192-2'],
  // hyphens in the upstream part: the revision is after the last one
  ['1.2-3-4', 1, '1.2-3-3'],
  ['1.2-3-4', -1, '1.2-4-1'],
  // letters sort before non-letters
  ['1.0a', -1, '1.0+'],
  ['1.0a', -1, '1.0.'],
  ['1.0a', 1, '1.0'],
  ['1.0+', 1, '1.0'],
  ['1.0.1', 1, '1.0+1'],
  ['1.0A', -1, '1.0a'],
  ['1.0z', -1, '1.0+'],
  ['1.0+dfsg', -1, '1.0.1'],
  ['7.2+dfsg-7+deb12u18+b3', 1, '7.2+dfsg-7+deb12u18'],
  ['1.34+dfsg-1.2+deb12u1', 1, '1.34+dfsg-1.2'],
  // numeric runs are numbers, leading zeros ignored
  ['1.010', 0, '1.10'],
  ['1.002', -1, '1.10'],
  ['1.9', -1, '1.10'],
  ['00001', 0, '1'],
  ['1.0.0', 1, '1.0'],
  ['9.2p1', 1, '9.2'],
  ['9.2p1', -1, '9.3'],
  ['9.10p1', 1, '9.2p1'],
  ['1.0.0-1', 1, '1.0-1'],
  ['99999999999999999999', 1, '99999999999999999998'],
  ['1.0', 0, '1.0'],
  ['a', -1, 'b'],
  ['1a', -1, '1b'],
  ['1.5.4+dfsg2-5', 1, '1.5.4+dfsg-5'],
  ['2.36-9+deb12u14', 1, '2.36-9+deb12u9'],
  ['0.17+2.4-2+deb12u3', -1, '0.17.41+really0.17-3'],
];

describe('compareDebianVersions', () => {
  it.each(CASES)('%s %i %s', (a, expected, b) => {
    expect(compareDebianVersions(a, b)).toBe(expected);
    expect(compareDebianVersions(b, a)).toBe(expected === 0 ? 0 : -expected);
  });

  it('sorts a list like dpkg', () => {
    const sorted = ['1.0', '1.0~rc1', '1:0.1', '1.0-1', '1.0+1', '1.0a', '0.9', '1.0-1+deb12u1', '1.0~~'].sort(compareDebianVersions);
    expect(sorted).toEqual(['0.9', '1.0~~', '1.0~rc1', '1.0', '1.0-1', '1.0-1+deb12u1', '1.0a', '1.0+1', '1:0.1']);
  });

  it('splits epoch, upstream and revision like dpkg', () => {
    expect(parseDebianVersion('1:9.2p1-2+deb12u10')).toEqual({ epoch: 1, upstream: '9.2p1', revision: '2+deb12u10' });
    expect(parseDebianVersion('0.17+2.4-2+deb12u3')).toEqual({ epoch: 0, upstream: '0.17+2.4', revision: '2+deb12u3' });
    expect(parseDebianVersion('1.2-3-4')).toEqual({ epoch: 0, upstream: '1.2-3', revision: '4' });
    expect(parseDebianVersion('20250419~deb12u2')).toEqual({ epoch: 0, upstream: '20250419~deb12u2', revision: '' });
  });

  it('rejects what dpkg rejects', () => {
    expect(() => compareDebianVersions('', '1')).toThrow(/empty/);
    expect(() => compareDebianVersions('a:1.0', '1')).toThrow(/epoch/);
    expect(() => compareDebianVersions(':1.0', '1')).toThrow(/epoch/);
    expect(() => compareDebianVersions('1:', '1')).toThrow(/after the epoch/);
    expect(() => compareDebianVersions('1.0-', '1')).toThrow(/revision/);
    expect(() => compareDebianVersions('1 0', '1')).toThrow(/whitespace/);
  });

  it('compares one part with verrevcmp', () => {
    expect(compareVersionPart('', '0')).toBe(0);
    expect(compareVersionPart('~', '')).toBeLessThan(0);
    expect(compareVersionPart('', 'a')).toBeLessThan(0);
  });
});

function dpkgAvailable(): boolean {
  try {
    execFileSync('dpkg', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What the real dpkg says: -1, 0 or 1. */
function dpkgCompare(a: string, b: string): -1 | 0 | 1 {
  const holds = (op: string): boolean => {
    try {
      execFileSync('dpkg', ['--compare-versions', a, op, b], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (holds('lt')) return -1;
  if (holds('eq')) return 0;
  return 1;
}

describe.skipIf(!dpkgAvailable())('compareDebianVersions agrees with the real dpkg --compare-versions', () => {
  it('on every pair of the table, both ways', () => {
    const disagreements: string[] = [];
    for (const [a, , b] of CASES) {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        const ours = compareDebianVersions(x, y);
        const theirs = dpkgCompare(x, y);
        if (ours !== theirs) disagreements.push(`${x} vs ${y}: ours ${ours}, dpkg ${theirs}`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('on the cross product of tricky versions', () => {
    const versions = ['1.0', '1.0~', '1.0~~', '1.0~a', '1.0a', '1.0+', '1.0.', '1.0-0', '1.0-1', '1.0-1~1', '1:1.0', '0:1.0~rc1', '1.00', '1.0-a', '1.0-+', 'a1', '1a', '1.0A', '1-0-1'];
    const disagreements: string[] = [];
    for (const x of versions) {
      for (const y of versions) {
        const ours = compareDebianVersions(x, y);
        const theirs = dpkgCompare(x, y);
        if (ours !== theirs) disagreements.push(`${x} vs ${y}: ours ${ours}, dpkg ${theirs}`);
      }
    }
    expect(disagreements).toEqual([]);
  }, 180_000); // 361 dpkg runs: 71 s measured beside booting guests
});
