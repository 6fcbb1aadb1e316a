/**
 * --check/--skip: which checks run, why the others are skipped, what the planner boots for them, and
 * that selecting nothing is a usage error.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { runSuiteChecks } from '../../src/runner/checks.js';
import { planSelected } from '../../src/runner/executor.js';
import { RunRecord } from '../../src/runner/run-record.js';
import { CheckSelection, checkTags } from '../../src/runner/selection.js';
import { pass, type Suite } from '../../src/suite-api/index.js';
import { globToRegExp, matchesGlob } from '../../src/util/glob.js';
import cloudInitAuth from '../../suites/cloud-init-auth/index.js';
import imageHygiene from '../../suites/image-hygiene/index.js';
import instanceLifecycle from '../../suites/instance-lifecycle/index.js';
import liveMigration from '../../suites/live-migration/index.js';
import packageAudit from '../../suites/package-audit/index.js';
import sshHardening from '../../suites/ssh-hardening/index.js';
import uefiBoot from '../../suites/uefi-boot/index.js';
import { HYBRID_BOOT } from './helpers/fake-guest.js';

const builtIn: Suite[] = [imageHygiene, cloudInitAuth, sshHardening, packageAudit, uefiBoot, liveMigration];

describe('glob', () => {
  it('* is any run and ? one character, never across /; everything else is literal', () => {
    expect(matchesGlob('ssh-weak-kex', 'ssh-*')).toBe(true);
    expect(matchesGlob('ssh-weak-kex', 'ssh-weak-???')).toBe(true);
    expect(matchesGlob('ssh-weak-kex', 'ssh-weak-??')).toBe(false);
    expect(matchesGlob('ssh-weak-kex', '*kex')).toBe(true);
    expect(matchesGlob('ssh-weak-kex', 'weak')).toBe(false); // the whole id, not a part
    expect(matchesGlob('ssh-hardening/ssh-weak-kex', '*')).toBe(false);
    expect(matchesGlob('ssh-hardening/ssh-weak-kex', '*/ssh-*')).toBe(true);
    expect(matchesGlob('a.b', 'a.b')).toBe(true);
    expect(matchesGlob('axb', 'a.b')).toBe(false);
    expect(matchesGlob('a+(b)', 'a+(b)')).toBe(true);
    expect(matchesGlob('', '*')).toBe(true);
    expect(globToRegExp('[x]{2}').test('[x]{2}')).toBe(true);
  });
});

describe('CheckSelection', () => {
  it('--skip: matching checks are not selected, with the pattern as the reason', () => {
    const selection = new CheckSelection([], ['ssh-weak-*']);
    expect(selection.reasonFor('ssh-hardening', 'ssh-weak-kex')).toBe('not selected (--skip ssh-weak-*)');
    expect(selection.reasonFor('ssh-hardening', 'ssh-sshd-t')).toBeUndefined();
    expect(selection.active).toBe(true);
    expect(new CheckSelection().active).toBe(false);
    expect(new CheckSelection().reasonFor('a', 'b')).toBeUndefined();
  });

  it('--check: only matching checks; --skip still wins; suite-id/check-id patterns go by the suite', () => {
    const selection = new CheckSelection(['ssh-*', 'uefi-boot/*'], ['ssh-weak-*']);
    expect(selection.reasonFor('ssh-hardening', 'ssh-password-auth')).toBeUndefined();
    expect(selection.reasonFor('uefi-boot', 'bios-boot')).toBeUndefined();
    expect(selection.reasonFor('ssh-hardening', 'ssh-weak-macs')).toBe('not selected (--skip ssh-weak-*)');
    expect(selection.reasonFor('package-audit', 'pkg-dpkg-audit')).toBe('not selected (--check ssh-* --check uefi-boot/*)');
    expect(selection.selected(uefiBoot).map((c) => c.id)).toEqual(uefiBoot.checks.map((c) => c.id));
    expect(selection.selected(packageAudit)).toEqual([]);
  });

  it('names the patterns that match no check of the run (a typo)', () => {
    expect(new CheckSelection(['ssh-*', 'sshd-*'], ['mig-leg9-*', 'live-migration/mig-leg1-*']).unmatched(builtIn)).toEqual(['--check sshd-*', '--skip mig-leg9-*']);
  });

  it('selecting nothing at all is a usage error, one line', () => {
    expect(() => new CheckSelection([], ['*']).requireSome(builtIn)).toThrow(UsageError);
    const total = builtIn.reduce((n, s) => n + s.checks.length, 0);
    expect(() => new CheckSelection([], ['*']).requireSome(builtIn)).toThrow(
      new UsageError(`no check selected: --skip * leaves none of the ${total} checks of the 6 suites (image-hygiene, cloud-init-auth, ssh-hardening, package-audit, uefi-boot, live-migration) to run`),
    );
    expect(() => new CheckSelection(['shh-*']).requireSome([sshHardening])).toThrow(/^no check selected: --check shh-\* leaves none of the \d+ checks of suite ssh-hardening to run$/);
    expect(() => new CheckSelection(['ssh-*'], ['ssh-*']).requireSome([sshHardening])).toThrow(/--check ssh-\* --skip ssh-\* leave none/);
    expect(() => new CheckSelection(['ssh-*']).requireSome(builtIn)).not.toThrow();
    expect(() => new CheckSelection()).not.toThrow();
    expect(() => new CheckSelection([''])).toThrow(/--check: an empty pattern/);
    expect(() => new CheckSelection([], ['a/b/c'])).toThrow(/--skip a\/b\/c: at most one \//);
  });
});

describe('a suite none of whose checks is selected boots nothing', () => {
  const hosts = ['hv1', 'hv2'];
  const firmware = ['uefi', 'bios'] as const;

  it("without a selection the plan is the planner's", () => {
    const { plan, idle } = planSelected({ suites: builtIn, hosts, firmware: [...firmware] });
    expect(idle).toEqual([]);
    expect(plan.online.map((a) => a.suiteId)).toContain('live-migration');
  });

  it('--skip mig-*: live-migration is not planned (no exclusive guest), the others are', () => {
    const { plan, idle } = planSelected({ suites: builtIn, selection: new CheckSelection([], ['mig-*']), hosts, firmware: [...firmware] });
    expect(idle.map((s) => s.id)).toEqual(['live-migration']);
    expect(plan.online.map((a) => a.suiteId)).not.toContain('live-migration');
    expect(plan.online.some((a) => a.exclusive)).toBe(false);
  });

  it('--check hyg-*: only the offline suite runs, no guest is planned at all', () => {
    const { plan, idle } = planSelected({ suites: builtIn, selection: new CheckSelection(['hyg-*']), hosts, firmware: [...firmware] });
    expect(plan.guests).toEqual([]);
    expect(plan.offline.map((a) => a.suiteId)).toEqual(['image-hygiene']);
    expect(idle).toHaveLength(5);
  });

  it('--check ci-*: guests for cloud-init-auth only', () => {
    const { plan } = planSelected({ suites: builtIn, selection: new CheckSelection(['ci-*']), hosts, firmware: [...firmware] });
    expect(plan.online.map((a) => a.suiteId)).toEqual(['cloud-init-auth']);
    expect(plan.guests).toHaveLength(2);
  });
});

describe('checks not selected are reported skipped, with the reason', () => {
  const suite: Suite = {
    id: 'sel',
    title: 'sel',
    requires: { offline: true },
    checks: ['sel-a', 'sel-b', 'sel-c'].map((id) => ({ id, title: id, severity: 'must' as const, run: async () => pass(`${id} ran`) })),
  };
  const image = { path: '/i.qcow2', name: 'i', format: 'qcow2' as const, virtualSize: 1, actualSize: 1, sha256: '0'.repeat(64), boot: HYBRID_BOOT };

  it("runSuiteChecks runs the selected ones and skips the others, in the suite's order", async () => {
    const selection = new CheckSelection([], ['sel-b']);
    const reported: string[] = [];
    const cases = await runSuiteChecks({
      suite,
      image,
      guests: [],
      hosts: [],
      options: {},
      artifactDir: '/nonexistent',
      log: () => undefined,
      notSelected: (check) => selection.reasonFor(suite, check),
      onCase: (c) => reported.push(c.checkId),
    });
    expect(cases.map((c) => `${c.checkId} ${c.status} ${c.message}`)).toEqual(['sel-a passed sel-a ran', 'sel-b skipped not selected (--skip sel-b)', 'sel-c passed sel-c ran']);
    expect(reported).toEqual(['sel-a', 'sel-b', 'sel-c']);
  });

  it('a run that ends early still says which checks were not selected', async () => {
    const record = new RunRecord([suite], '/nonexistent', 'x.qcow2', '0.1.0');
    record.selection = new CheckSelection(['sel-a']);
    const result = record.ended('error', 'host hv1 did not answer');
    const cases = result.suites.find((s) => s.suiteId === 'sel')!.cases;
    expect(cases.map((c) => c.message)).toEqual(['not run: host hv1 did not answer', 'not selected (--check sel-a)', 'not selected (--check sel-a)']);
  });
});

describe('--tag and --exclude-tag', () => {
  const check = (id: string, tags?: string[]) => ({ id, title: id, severity: 'must' as const, tags, run: async () => pass(`${id} ran`) });
  const net: Suite = { id: 'net', title: 'net', tags: ['network'], requires: { offline: true }, checks: [check('net-dhcp'), check('net-ntp', ['time']), check('net-ssh', ['ssh', 'security'])] };
  const disk: Suite = { id: 'disk', title: 'disk', requires: { offline: true }, checks: [check('disk-grow', ['storage']), check('disk-plain')] };

  it("a check's tags are its suite's and its own, each once", () => {
    expect(checkTags(net, net.checks[1]!)).toEqual(['network', 'time']);
    expect(checkTags(net, { tags: ['network', 'ssh'] })).toEqual(['network', 'ssh']);
    expect(checkTags(disk, disk.checks[1]!)).toEqual([]);
  });

  it('--tag: only checks having one of the tags, suite tags included; the reason names the flags', () => {
    const selection = new CheckSelection([], [], { tag: ['time', 'storage'] });
    expect(selection.active).toBe(true);
    expect(selection.selected(net).map((c) => c.id)).toEqual(['net-ntp']);
    expect(selection.selected(disk).map((c) => c.id)).toEqual(['disk-grow']);
    expect(selection.reasonFor(net, net.checks[0]!)).toBe('not selected (--tag time --tag storage)');
    expect(new CheckSelection([], [], { tag: ['network'] }).selected(net).map((c) => c.id)).toEqual(['net-dhcp', 'net-ntp', 'net-ssh']);
    // Bare ids carry no tags: with --tag such a check is never selected.
    expect(selection.reasonFor('net', 'net-ntp')).toBe('not selected (--tag time --tag storage)');
  });

  it('--exclude-tag: no check having one of the tags; the reason names the tag that left it out', () => {
    const selection = new CheckSelection([], [], { excludeTag: ['security', 'network'] });
    expect(selection.selected(net)).toEqual([]);
    expect(selection.reasonFor(net, net.checks[2]!)).toBe('not selected (--exclude-tag security)');
    expect(selection.reasonFor(net, net.checks[0]!)).toBe('not selected (--exclude-tag network)');
    expect(selection.selected(disk).map((c) => c.id)).toEqual(['disk-grow', 'disk-plain']);
  });

  it('combined with --check/--skip: a check must pass both; --check and --skip are named first', () => {
    const selection = new CheckSelection(['net-*', 'disk-grow'], ['net-dhcp'], { tag: ['network', 'storage'], excludeTag: ['ssh'] });
    expect(selection.selected(net).map((c) => c.id)).toEqual(['net-ntp']);
    expect(selection.selected(disk).map((c) => c.id)).toEqual(['disk-grow']);
    expect(selection.reasonFor(disk, disk.checks[1]!)).toBe('not selected (--check net-* --check disk-grow)');
    expect(selection.reasonFor(net, net.checks[0]!)).toBe('not selected (--skip net-dhcp)');
    expect(selection.reasonFor(net, net.checks[2]!)).toBe('not selected (--exclude-tag ssh)');
    const tagOnly = new CheckSelection(['disk-*'], [], { tag: ['storage'] });
    expect(tagOnly.reasonFor(disk, disk.checks[1]!)).toBe('not selected (--tag storage)');
    expect(tagOnly.flags).toBe('--check disk-* --tag storage');
  });

  it('names the tags no check of the run has (a typo)', () => {
    expect(new CheckSelection(['net-*'], [], { tag: ['time', 'tme'], excludeTag: ['firmware', 'ssh'] }).unmatched([net, disk])).toEqual(['--tag tme', '--exclude-tag firmware']);
    expect(new CheckSelection([], [], { tag: ['network'] }).unmatched([disk])).toEqual(['--tag network']);
  });

  it('selecting nothing through tags is a usage error, one line naming every flag', () => {
    expect(() => new CheckSelection([], [], { tag: ['firmware'] }).requireSome([net, disk])).toThrow(
      new UsageError('no check selected: --tag firmware leaves none of the 5 checks of the 2 suites (net, disk) to run'),
    );
    expect(() => new CheckSelection(['disk-*'], [], { excludeTag: ['storage'], tag: ['time'] }).requireSome([net, disk])).toThrow(
      new UsageError('no check selected: --check disk-* --tag time --exclude-tag storage leave none of the 5 checks of the 2 suites (net, disk) to run'),
    );
    expect(() => new CheckSelection([], [], { excludeTag: ['network'] }).requireSome([net])).toThrow(/^no check selected: --exclude-tag network leaves none of the 3 checks of suite net to run$/);
    expect(() => new CheckSelection([], [], { excludeTag: ['network'] }).requireSome([net, disk])).not.toThrow();
    expect(() => new CheckSelection([], [], { tag: ['Network'] })).toThrow(/--tag "Network": a tag is lower-case letters, digits and dashes/);
    expect(() => new CheckSelection([], [], { excludeTag: [''] })).toThrow(/--exclude-tag "": a tag is/);
  });

  it('runSuiteChecks and a run that ends early skip by tags too', async () => {
    const selection = new CheckSelection([], [], { excludeTag: ['time'] });
    const image = { path: '/i.qcow2', name: 'i', format: 'qcow2' as const, virtualSize: 1, actualSize: 1, sha256: '0'.repeat(64), boot: HYBRID_BOOT };
    const cases = await runSuiteChecks({
      suite: net,
      image,
      guests: [],
      hosts: [],
      options: {},
      artifactDir: '/nonexistent',
      log: () => undefined,
      onCase: () => undefined,
      notSelected: (c) => selection.reasonFor(net, c),
    });
    expect(cases.map((c) => `${c.checkId} ${c.status} ${c.message}`)).toEqual(['net-dhcp passed net-dhcp ran', 'net-ntp skipped not selected (--exclude-tag time)', 'net-ssh passed net-ssh ran']);
    const record = new RunRecord([net], '/nonexistent', 'x.qcow2', '0.1.0');
    record.selection = new CheckSelection([], [], { tag: ['ssh'] });
    expect(
      record
        .ended('error', 'host hv1 did not answer')
        .suites.find((s) => s.suiteId === 'net')!
        .cases.map((c) => c.message),
    ).toEqual(['not selected (--tag ssh)', 'not selected (--tag ssh)', 'not run: host hv1 did not answer']);
  });

  it('plans guests only for suites with a check selected by tag', () => {
    const { plan, idle } = planSelected({ suites: builtIn, selection: new CheckSelection([], [], { tag: ['hygiene'] }), hosts: ['hv1', 'hv2'], firmware: ['uefi', 'bios'] });
    expect(plan.guests).toEqual([]);
    expect(plan.offline.map((a) => a.suiteId)).toEqual(['image-hygiene']);
    expect(idle).toHaveLength(5);
  });
});

describe('the built-in suites are tagged from the vocabulary', () => {
  const VOCABULARY = ['security', 'ssh', 'boot', 'firmware', 'network', 'storage', 'time', 'packages', 'hygiene', 'cloud-init', 'migration', 'offline'];
  const all: Suite[] = [...builtIn, instanceLifecycle];

  it('every tag is a word of the vocabulary, and every check has at least one', () => {
    for (const suite of all) {
      for (const c of suite.checks) {
        const tags = checkTags(suite, c);
        expect(tags.length, `${suite.id}/${c.id}`).toBeGreaterThan(0);
        for (const tag of tags) expect(VOCABULARY, `${suite.id}/${c.id}`).toContain(tag);
      }
    }
  });

  it('suite tags, and the checks that differ', () => {
    expect(Object.fromEntries(all.map((s) => [s.id, s.tags ?? []]))).toEqual({
      'image-hygiene': ['hygiene', 'offline'],
      'cloud-init-auth': ['cloud-init'],
      'ssh-hardening': ['security', 'ssh'],
      'package-audit': ['packages'],
      'uefi-boot': ['boot', 'firmware'],
      'live-migration': ['migration'],
      'instance-lifecycle': [],
    });
    const tagsOf = (suite: Suite, id: string) =>
      checkTags(
        suite,
        suite.checks.find((c) => c.id === id)!,
      );
    expect(tagsOf(instanceLifecycle, 'life-time-sync')).toEqual(['time']);
    expect(tagsOf(instanceLifecycle, 'life-disk-growth')).toContain('storage');
    for (const id of ['life-boot-errors', 'life-boot-time', 'life-failed-units', 'life-reboot']) expect(tagsOf(instanceLifecycle, id)).toEqual(['boot']);
    expect(tagsOf(sshHardening, 'ssh-weak-macs')).toEqual(['security', 'ssh']);
    expect(tagsOf(imageHygiene, 'hyg-ssh-host-keys')).toEqual(['hygiene', 'offline', 'security', 'ssh']);
    expect(tagsOf(liveMigration, 'mig-leg1-clock')).toEqual(['migration', 'time']);
    expect(tagsOf(cloudInitAuth, 'ci-password-login-rejected')).toEqual(['cloud-init', 'ssh', 'security']);
    expect(tagsOf(uefiBoot, 'uefi-secureboot')).toEqual(['boot', 'firmware', 'security']);
    expect(tagsOf(packageAudit, 'pkg-vulnerabilities')).toEqual(['packages', 'security']);
  });

  it('--tag time picks the time checks of every suite; --exclude-tag boot keeps lifecycle time sync', () => {
    const time = new CheckSelection([], [], { tag: ['time'] });
    expect(all.flatMap((s) => time.selected(s).map((c) => c.id))).toEqual([...Array.from({ length: 4 }, (_, i) => `mig-leg${i + 1}-clock`), 'life-time-sync']);
    expect(new CheckSelection([], [], { excludeTag: ['boot'] }).selected(instanceLifecycle).map((c) => c.id)).toEqual(['life-clone-unique', 'life-time-sync', 'life-disk-growth']);
  });
});
