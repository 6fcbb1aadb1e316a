/**
 * Suite options are checked against each suite's `optionsSchema` when the suites are loaded, before
 * anything boots: every problem one line `<file>:<line>: suites.<id>.<field>: <message>`, unknown
 * suite ids refused, and the validated (defaulted) values are what the suites get.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfigSource, parseConfigSource } from '../../src/config/load.js';
import { ConfigError, UsageError } from '../../src/errors.js';
import { resolveSuite, validateSuiteOptions } from '../../src/plugins/suite-options.js';
import { defineSuite, pass, type StandardSchemaV1, type Suite } from '../../src/suite-api/index.js';
import cloudInitAuth from '../../suites/cloud-init-auth/index.js';
import imageHygiene from '../../suites/image-hygiene/index.js';
import liveMigration from '../../suites/live-migration/index.js';
import packageAudit from '../../suites/package-audit/index.js';
import sshHardening from '../../suites/ssh-hardening/index.js';
import uefiBoot from '../../suites/uefi-boot/index.js';

const builtIn: Suite[] = [imageHygiene, cloudInitAuth, sshHardening, packageAudit, uefiBoot, liveMigration];
const KNOWN = 'image-hygiene, cloud-init-auth, ssh-hardening, package-audit, uefi-boot, live-migration';

/** The problems a config's suite sections give, one line each (or the validated options). */
async function check(yaml: string, suites: Suite[] = builtIn, selected: Suite[] = suites) {
  return validateSuiteOptions(suites, selected, parseConfigSource(yaml, 'imgtest.yaml'));
}
async function problems(yaml: string, suites: Suite[] = builtIn, selected: Suite[] = suites): Promise<string[]> {
  const error = await check(yaml, suites, selected).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).exitCode).toBe(2);
  return (error as Error).message.split('\n');
}

describe("suite options are validated by the suites' schemas", () => {
  it('every built-in suite declares a Standard Schema', () => {
    for (const suite of builtIn) {
      expect(suite.optionsSchema?.['~standard'].version, suite.id).toBe(1);
      expect(typeof suite.optionsSchema?.['~standard'].validate, suite.id).toBe('function');
    }
  });

  it("a value of the wrong type: file, line, suites.<id>.<field>, the schema's message", async () => {
    expect(await problems('firmware: auto\nsuites:\n  ssh-hardening:\n    maxAuthTries: "x"\n')).toEqual([
      'imgtest.yaml:4: suites.ssh-hardening.maxAuthTries: Invalid input: expected number, received string',
    ]);
    expect(await problems('suites:\n  live-migration:\n    legs: 9\n')).toEqual(['imgtest.yaml:3: suites.live-migration.legs: Too big: expected number to be <=4']);
  });

  it('an unknown suite id names the known ones, at its line', async () => {
    expect(await problems('suites:\n  ssh-hardening: {}\n  ssh-hardenning:\n    port: 22\n')).toEqual([`imgtest.yaml:3: suites.ssh-hardenning: unknown suite (known: ${KNOWN})`]);
  });

  it('an unknown option is named at its own line; so is a section for a suite without options', async () => {
    expect(await problems('suites:\n  uefi-boot:\n    secureBoot: optional\n    secureboot: required\n')).toEqual(['imgtest.yaml:4: suites.uefi-boot.secureboot: unknown option']);
    expect(await problems('suites:\n  cloud-init-auth:\n    user: admin\n')).toEqual(['imgtest.yaml:3: suites.cloud-init-auth.user: unknown option']);
  });

  it('reports every problem of every suite at once, in file order, with list indexes and nested fields', async () => {
    const yaml = [
      'suites:', //                                     1
      '  package-audit:', //                            2
      '    required: [cloud-init, "Not A Package"]', // 3
      '    failOn: sometimes', //                       4
      '  nope: {}', //                                  5
      '  ssh-hardening:', //                            6
      '    match: { host: 7 }', //                      7
      '    severity: { ssh-nonsense: must }', //        8
      '  image-hygiene:', //                            9
      '    minVirtualSizeGiB: 10', //                   10
      '    maxVirtualSizeGiB: 2', //                    11
    ].join('\n');
    expect(await problems(yaml)).toEqual([
      'imgtest.yaml:3: suites.package-audit.required[1]: a Debian package name (globs * and ? allowed), optionally :arch',
      'imgtest.yaml:4: suites.package-audit.failOn: Invalid option: expected one of "fixed"|"any"|"none"',
      `imgtest.yaml:5: suites.nope: unknown suite (known: ${KNOWN})`,
      'imgtest.yaml:7: suites.ssh-hardening.match.host: Invalid input: expected string, received number',
      expect.stringMatching(/^imgtest\.yaml:8: suites\.ssh-hardening\.severity\.ssh-nonsense: Invalid key in record: not an ssh-hardening check id \(one of /),
      'imgtest.yaml:10: suites.image-hygiene.minVirtualSizeGiB: minVirtualSizeGiB must not exceed maxVirtualSizeGiB',
    ]);
  });

  it("returns the schemas' outputs, defaults filled in, for the suites that run and the ones configured", async () => {
    const options = await check('suites:\n  live-migration:\n    legs: 3\n', builtIn, [sshHardening]);
    expect(Object.keys(options).sort()).toEqual(['live-migration', 'ssh-hardening']);
    expect(options['live-migration']).toMatchObject({ legs: 3, storage: 'auto', clockToleranceMs: 5000 });
    expect(options['ssh-hardening']).toMatchObject({ policy: 'baseline', maxAuthTries: 4, match: { host: 'imgtest-probe' } });
  });

  it('without a config file the defaults are validated; a problem then names no file', async () => {
    const needy = defineSuite({
      id: 'needy',
      title: 'needs an option',
      requires: { offline: true },
      checks: [{ id: 'needy-one', title: 'one', severity: 'must', run: async () => pass('ok') }],
      optionsSchema: handWritten((value) => (typeof (value as { token?: unknown }).token === 'string' ? { value } : { issues: [{ message: 'required', path: [{ key: 'token' }] }] })),
    });
    expect(await validateSuiteOptions(builtIn, builtIn, defaultConfigSource())).toMatchObject({ 'uefi-boot': {}, 'package-audit': { failOn: 'fixed' } });
    await expect(validateSuiteOptions([needy], [needy], defaultConfigSource())).rejects.toThrow(/^suites\.needy\.token: required \(no config file given/);
    // Not selected and not configured: not validated (its options cannot matter to this run).
    await expect(validateSuiteOptions([...builtIn, needy], builtIn, defaultConfigSource())).resolves.toBeDefined();
  });

  it('takes any Standard Schema: a hand-written, asynchronous one; a suite without a schema gets its section as written', async () => {
    const seen: unknown[] = [];
    const custom = defineSuite({
      id: 'custom',
      title: 'custom',
      requires: { offline: true },
      checks: [{ id: 'custom-one', title: 'one', severity: 'must', run: async () => pass('ok') }],
      optionsSchema: handWritten(async (value) => {
        seen.push(value);
        const level = (value as { level?: unknown }).level ?? 1;
        return typeof level === 'number' ? { value: { level } } : { issues: [{ message: 'a number', path: ['level'] }] };
      }),
    });
    const bare: Suite = { id: 'bare', title: 'bare', requires: { offline: true }, checks: custom.checks };
    const options = await check('suites:\n  bare: { anything: [1, 2] }\n', [custom, bare]);
    expect(options).toEqual({ custom: { level: 1 }, bare: { anything: [1, 2] } });
    expect(seen).toEqual([{}]);
    expect(await problems('suites:\n  custom:\n    level: high\n', [custom, bare])).toEqual(['imgtest.yaml:3: suites.custom.level: a number']);
  });
});

describe('checks chosen by the options (checksFor)', () => {
  it('live-migration lists the legs it is configured for, not four', async () => {
    const ids = async (yaml: string) => {
      const options = await check(yaml, [liveMigration]);
      return resolveSuite(liveMigration, options['live-migration']).checks.map((c) => c.id);
    };
    const two = await ids('suites: {}\n');
    expect(two).toHaveLength(4 + 2 * 10);
    expect(two.filter((id) => /^mig-leg[34]-/.test(id))).toEqual([]);
    expect(two.slice(0, 5)).toEqual(['mig-cpu-migratable', 'mig-no-host-devices', 'mig-disk-cache', 'mig-storage-mode', 'mig-leg1-migrate']);
    expect((await ids('suites:\n  live-migration: { legs: 1 }\n')).at(-1)).toBe('mig-leg1-network-gap');
    expect(await ids('suites:\n  live-migration: { legs: 4 }\n')).toEqual(liveMigration.checks.map((c) => c.id));
  });

  it("a suite without checksFor runs every check; checksFor keeps the suite's order and may only pick its own checks", () => {
    expect(resolveSuite(sshHardening, {})).toBe(sshHardening);
    const check = (id: string) => ({ id, title: id, severity: 'must' as const, run: async () => pass('ok') });
    const suite = defineSuite({ id: 'picky', title: 'picky', requires: { offline: true }, checks: [check('p-a'), check('p-b'), check('p-c')], checksFor: () => [check('p-c'), check('p-a')] });
    const resolved = resolveSuite(suite, {});
    expect(resolved.checks.map((c) => c.id)).toEqual(['p-a', 'p-c']);
    expect(resolved.checksFor).toBeUndefined();
    const stray = defineSuite({ ...suite, checksFor: () => [check('p-z')] });
    expect(() => resolveSuite(stray, {})).toThrow(new UsageError("suite picky: checksFor returned p-z, not among the suite's checks"));
  });
});

/** A Standard Schema written by hand, no library. */
function handWritten(validate: (value: unknown) => StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>): StandardSchemaV1 {
  return { '~standard': { version: 1, vendor: 'test', validate } };
}
