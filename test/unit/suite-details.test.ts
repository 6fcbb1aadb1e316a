/**
 * `Suite.details`: what a suite says about itself beyond its check list, printed by `imgtest suites`.
 * ssh-hardening's is its severity table per policy profile (POLICY_TABLE), one line per rule.
 */
import { describe, expect, it } from 'vitest';
import { createSshHardeningSuite, POLICY_TABLE, PROFILES, policyTableText } from '../../suites/ssh-hardening/index.js';

describe('ssh-hardening details: the severity table per profile', () => {
  const text = policyTableText();
  const lines = text.split('\n');

  it('is what the suite gives imgtest suites', () => {
    expect(createSshHardeningSuite().details).toBe(text);
  });

  it('names the profiles and where the sources are, then one header and one line per rule, in table order', () => {
    for (const line of lines.slice(0, 3)) expect(line.length).toBeLessThanOrEqual(110);
    expect(lines[0]).toContain(`suites.ssh-hardening.policy: ${PROFILES.join(' | ')}; default baseline)`);
    expect(text).toContain('README, "SSH hardening"');
    const header = lines.findIndex((l) => /^ {2}check +rule +baseline +cis-level1 +strict +what breaks it$/.test(l));
    expect(header).toBeGreaterThan(0);
    const rows = lines.slice(header + 1);
    expect(rows).toHaveLength(POLICY_TABLE.length);
    rows.forEach((line, i) => {
      const r = POLICY_TABLE[i]!;
      const cells = line.trim().split(/\s{2,}/);
      expect(cells.slice(0, 5)).toEqual([r.check, r.rule, r.baseline, r['cis-level1'], r.strict]);
      expect(line.endsWith(r.title)).toBe(true);
    });
  });

  it('shows what the profiles disagree on, e.g. MaxAuthTries and NIST curves', () => {
    expect(
      lines
        .find((l) => l.includes(' max-auth-tries '))
        ?.trim()
        .split(/\s{2,}/)
        .slice(0, 5),
    ).toEqual(['ssh-max-auth-tries', 'max-auth-tries', 'should', 'must', 'must']);
    expect(
      lines
        .find((l) => l.includes(' kex-nist-curves '))
        ?.trim()
        .split(/\s{2,}/)
        .slice(0, 5),
    ).toEqual(['ssh-weak-kex', 'kex-nist-curves', 'should', 'should', 'must']);
  });

  it('columns line up: every severity cell starts at the same column', () => {
    const header = lines.find((l) => l.includes('what breaks it'))!;
    const at = header.indexOf('baseline');
    for (const line of lines.slice(lines.indexOf(header) + 1)) expect(line.slice(at, at + 7)).toMatch(/^(must {3}|should )$/);
  });
});
