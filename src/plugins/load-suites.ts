/**
 * The one way suites come into a run: by module specifier, with a dynamic import, and checked against
 * the contract before anything else happens. The built-in suites are loaded here exactly like a third
 * party's (`--suite-module ./my-suite` or an npm package name); which modules are built in is data at
 * the package's edge (`imgtest.builtInSuites` in package.json), so the core imports no suite.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../errors.js';
import { SUITE_API_VERSION, TAG_PATTERN, type Suite } from '../suite-api/index.js';

/** imgtest's own folder: the nearest package.json named imgtest above this file (in dist/ or src/). */
const packageRoot = (() => {
  for (let dir = new URL('./', import.meta.url); dir.pathname !== '/'; dir = new URL('../', dir)) {
    const file = new URL('package.json', dir);
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'imgtest') return dir;
  }
  throw new Error('imgtest: package.json not found above the loader');
})();

/** Module specifiers of the built-in suites, relative to the package root, from package.json. */
export function builtInSuiteModules(): string[] {
  const pkg = JSON.parse(readFileSync(new URL('package.json', packageRoot), 'utf8')) as { imgtest?: { builtInSuites?: string[] } };
  return (pkg.imgtest?.builtInSuites ?? []).map((specifier) => new URL(specifier, packageRoot).href);
}

/** A path (`./x`, `/x`, `x.js`) is imported from the current folder; anything else is a package name. */
function importTarget(specifier: string, cwd: string): string {
  if (specifier.startsWith('file:')) return specifier;
  if (specifier.startsWith('.') || isAbsolute(specifier) || /\.[cm]?js$/.test(specifier)) return pathToFileURL(resolve(cwd, specifier)).href;
  // A package: resolved from the current folder first (a project's own node_modules), then from imgtest's.
  try {
    return pathToFileURL(createRequire(resolve(cwd, 'noop.js')).resolve(specifier)).href;
  } catch {
    return specifier;
  }
}

/** Why an export is not a suite under this contract, or undefined when it is one. */
export function suiteShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'it exports no suite object (default export or `suite`)';
  const s = value as Partial<Suite>;
  if (typeof s.id !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(s.id)) return 'its `id` is missing or not lower-case letters, digits and dashes';
  if (s.apiVersion === undefined) return `it states no contract version (write it with defineSuite from imgtest/suite-api, version ${SUITE_API_VERSION})`;
  if (s.apiVersion !== SUITE_API_VERSION) return `it was written for suite contract version ${String(s.apiVersion)}, this imgtest speaks version ${SUITE_API_VERSION}`;
  if (typeof s.title !== 'string') return 'its `title` is missing';
  if (typeof s.requires !== 'object' || s.requires === null) return 'its `requires` is missing';
  if (!Array.isArray(s.checks) || !s.checks.length) return 'it has no checks';
  if (s.optionsSchema !== undefined && typeof (s.optionsSchema as { '~standard'?: { validate?: unknown } } | null)?.['~standard']?.validate !== 'function') {
    return 'its `optionsSchema` is not a Standard Schema (no `~standard.validate` function; see https://standardschema.dev)';
  }
  if (s.checksFor !== undefined && typeof s.checksFor !== 'function') return 'its `checksFor` is not a function';
  const tagsProblem = (tags: unknown) =>
    tags !== undefined && (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string' && TAG_PATTERN.test(t)))
      ? `${JSON.stringify(tags)} (a list of lower-case words: letters, digits, dashes)`
      : undefined;
  const suiteTags = tagsProblem(s.tags);
  if (suiteTags) return `its \`tags\` are not tags: ${suiteTags}`;
  for (const check of s.checks) {
    if (typeof check?.id !== 'string' || typeof check.title !== 'string' || typeof check.run !== 'function') return `a check (${String(check?.id)}) lacks an id, a title or a run function`;
    if (check.severity !== 'must' && check.severity !== 'should') return `check ${check.id} has severity '${String(check.severity)}' (must or should)`;
    const checkTags = tagsProblem(check.tags);
    if (checkTags) return `check ${check.id} has \`tags\` that are not tags: ${checkTags}`;
  }
  return undefined;
}

/** Imports one suite module and checks it; a bad one is a usage error naming the module and the reason. */
export async function loadSuite(specifier: string, cwd = process.cwd()): Promise<Suite> {
  let module: Record<string, unknown>;
  try {
    module = (await import(importTarget(specifier, cwd))) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`suite module ${specifier}: cannot be loaded: ${(error as Error).message.split('\n')[0]}`);
  }
  const candidate = module['default'] ?? module['suite'];
  const problem = suiteShapeProblem(candidate);
  if (problem) throw new UsageError(`suite module ${specifier}: not an imgtest suite: ${problem}`);
  return candidate as Suite;
}

/** The built-in suites, then the given modules' suites; two suites of one id are refused. */
export async function loadSuites(extraModules: readonly string[] = [], cwd = process.cwd()): Promise<Suite[]> {
  const suites: Suite[] = [];
  for (const specifier of [...builtInSuiteModules(), ...extraModules]) {
    const suite = await loadSuite(specifier, cwd);
    const clash = suites.find((s) => s.id === suite.id);
    if (clash) throw new UsageError(`suite module ${specifier}: suite id '${suite.id}' is already taken${builtInSuiteModules().length > suites.indexOf(clash) ? ' by a built-in suite' : ''}`);
    suites.push(suite);
  }
  return suites;
}
