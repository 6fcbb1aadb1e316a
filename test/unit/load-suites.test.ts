import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { builtInSuiteModules, loadSuite, loadSuites, suiteShapeProblem } from '../../src/plugins/load-suites.js';
import { SUITE_API_VERSION } from '../../src/suite-api/index.js';

const suiteModule = (body: string) => `export default ${body};\n`;
const goodSuite = (id: string, apiVersion = SUITE_API_VERSION) =>
  `{ apiVersion: ${apiVersion}, id: '${id}', title: 'hello', requires: { guests: { count: 1, placement: 'any', sharing: 'shared' } }, checks: [{ id: 'hello-one', title: 'one', severity: 'must', run: async () => ({ status: 'pass', message: 'ok' }) }] }`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgtest-loader-'));
  await writeFile(join(dir, 'good.mjs'), suiteModule(goodSuite('hello-sysctl')));
  await writeFile(join(dir, 'named.mjs'), `export const suite = ${goodSuite('named-export')};\n`);
  await writeFile(join(dir, 'future.mjs'), suiteModule(goodSuite('future', SUITE_API_VERSION + 1)));
  await writeFile(join(dir, 'unversioned.mjs'), suiteModule(goodSuite('old').replace(/apiVersion: \d+, /, '')));
  await writeFile(join(dir, 'clash.mjs'), suiteModule(goodSuite('cloud-init-auth')));
  await writeFile(join(dir, 'broken.mjs'), 'export default {;\n');
  await writeFile(join(dir, 'nothing.mjs'), 'export const x = 1;\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadSuite', () => {
  it('loads a third-party suite from a path, default or named export', async () => {
    expect((await loadSuite('./good.mjs', dir)).id).toBe('hello-sysctl');
    expect((await loadSuite(join(dir, 'named.mjs'))).id).toBe('named-export');
  });

  it('refuses, as a usage error naming the module, what is not a suite of this contract', async () => {
    await expect(loadSuite('./future.mjs', dir)).rejects.toThrow(
      new UsageError(`suite module ./future.mjs: not an imgtest suite: it was written for suite contract version ${SUITE_API_VERSION + 1}, this imgtest speaks version ${SUITE_API_VERSION}`),
    );
    await expect(loadSuite('./unversioned.mjs', dir)).rejects.toThrow(/states no contract version/);
    await expect(loadSuite('./nothing.mjs', dir)).rejects.toThrow(/exports no suite object/);
    await expect(loadSuite('./broken.mjs', dir)).rejects.toThrow(/^suite module \.\/broken\.mjs: cannot be loaded: /);
    await expect(loadSuite('./missing.mjs', dir)).rejects.toBeInstanceOf(UsageError);
    await expect(loadSuite('no-such-imgtest-suite-package', dir)).rejects.toThrow(/cannot be loaded/);
  });
});

describe('suiteShapeProblem', () => {
  it('names the first thing wrong with a would-be suite', () => {
    const base = { apiVersion: SUITE_API_VERSION, id: 'x', title: 't', requires: {}, checks: [{ id: 'c', title: 't', severity: 'must', run: () => undefined }] };
    expect(suiteShapeProblem(base)).toBeUndefined();
    expect(suiteShapeProblem({ ...base, id: 'Bad Id' })).toMatch(/id/);
    expect(suiteShapeProblem({ ...base, checks: [] })).toBe('it has no checks');
    expect(suiteShapeProblem({ ...base, checks: [{ ...base.checks[0], severity: 'fatal' }] })).toBe("check c has severity 'fatal' (must or should)");
    expect(suiteShapeProblem({ ...base, checks: [{ id: 'c', title: 't', severity: 'must' }] })).toMatch(/lacks an id, a title or a run function/);
    expect(suiteShapeProblem({ ...base, optionsSchema: { '~standard': { version: 1, vendor: 'x', validate: (value: unknown) => ({ value }) } }, checksFor: () => [] })).toBeUndefined();
    expect(suiteShapeProblem({ ...base, optionsSchema: { type: 'object' } })).toMatch(/^its `optionsSchema` is not a Standard Schema/);
    expect(suiteShapeProblem({ ...base, optionsSchema: null })).toMatch(/^its `optionsSchema` is not a Standard Schema/);
    expect(suiteShapeProblem({ ...base, checksFor: ['c'] })).toBe('its `checksFor` is not a function');
    expect(suiteShapeProblem({ ...base, tags: ['security', 'cloud-init'], checks: [{ ...base.checks[0], tags: ['ssh'] }] })).toBeUndefined();
    expect(suiteShapeProblem({ ...base, tags: 'security' })).toBe('its `tags` are not tags: "security" (a list of lower-case words: letters, digits, dashes)');
    expect(suiteShapeProblem({ ...base, checks: [{ ...base.checks[0], tags: ['Boot Time'] }] })).toBe(
      'check c has `tags` that are not tags: ["Boot Time"] (a list of lower-case words: letters, digits, dashes)',
    );
  });
});

// The built-in suites come from the build (dist/), through the same loader as a third party's.
const built = existsSync(fileURLToPath(new URL('../../dist/suites/cloud-init-auth/index.js', import.meta.url)));
describe.skipIf(!built)('loadSuites', () => {
  it('loads the seven built-in suites from the package registry, in order, then the extra modules', async () => {
    expect(builtInSuiteModules()).toHaveLength(7);
    const suites = await loadSuites(['./good.mjs'], dir);
    expect(suites.map((s) => s.id)).toEqual(['image-hygiene', 'cloud-init-auth', 'ssh-hardening', 'package-audit', 'uefi-boot', 'live-migration', 'instance-lifecycle', 'hello-sysctl']);
    expect(suites.every((s) => s.apiVersion === SUITE_API_VERSION)).toBe(true);
  });

  it('refuses a module whose suite id is already taken', async () => {
    await expect(loadSuites(['./clash.mjs'], dir)).rejects.toThrow("suite module ./clash.mjs: suite id 'cloud-init-auth' is already taken by a built-in suite");
  });
});
