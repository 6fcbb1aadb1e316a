/**
 * Suite options, checked when the suites are loaded, before anything is hashed, copied or booted.
 * Each suite's section of the config (`suites: { <id>: {...} }`) goes through the suite's own
 * `optionsSchema` (any Standard Schema); every problem of every suite is reported at once, one line
 * each, as `<config file>:<line>: suites.<id>.<field>: <message>` (exit 2). An id under `suites:` that
 * no loaded suite has is one of those problems. The schemas' outputs (defaults filled in) are what
 * the suites get: `checksFor` picks the checks of the run from them, and `context.options` carries them.
 */
import type { LoadedConfig } from '../config/load.js';
import { ConfigError, UsageError } from '../errors.js';
import type { StandardSchemaV1, Suite } from '../suite-api/index.js';

export type SuiteOptions = Record<string, Record<string, unknown>>;

interface Problem {
  field: string;
  line?: number;
  message: string;
}

/** `suites.package-audit.required[0]`, as config errors name fields. */
function fieldName(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

const keyOf = (segment: PropertyKey | StandardSchemaV1.PathSegment): PropertyKey => (typeof segment === 'object' && segment !== null ? segment.key : segment);

/**
 * One issue as problems: zod reports unknown keys as one issue on the object (`code:
 * 'unrecognized_keys'`, `keys`) and a bad record key with nested `issues`; both are read when present,
 * so the line is the unknown key's own and the message says why. Any other library's issues are
 * taken as the Standard Schema gives them (message and path).
 */
function problemsOf(suiteId: string, issue: StandardSchemaV1.Issue, source: LoadedConfig): Problem[] {
  const path: PropertyKey[] = ['suites', suiteId, ...(issue.path ?? []).map(keyOf)];
  const extra = issue as StandardSchemaV1.Issue & { code?: unknown; keys?: unknown; issues?: unknown };
  if (extra.code === 'unrecognized_keys' && Array.isArray(extra.keys) && extra.keys.length) {
    return extra.keys.map((key) => ({ field: fieldName([...path, String(key)]), line: source.lineOf([...path, String(key)]), message: 'unknown option' }));
  }
  let message = issue.message;
  if (extra.code === 'invalid_key' && Array.isArray(extra.issues)) {
    const inner = (extra.issues as { message?: unknown }[]).map((i) => i.message).filter((m): m is string => typeof m === 'string');
    if (inner.length) message = `${message}: ${inner.join(', ')}`;
  }
  return [{ field: fieldName(path), line: source.lineOf(path), message }];
}

/**
 * Validates the options of the suites that run (their section, or `{}`) and of every suite that has a
 * section, and refuses ids under `suites:` that no suite has. Returns the validated options by suite id
 * (suites without a schema: their section as written); throws a ConfigError listing every problem.
 */
export async function validateSuiteOptions(available: readonly Suite[], selected: readonly Suite[], source: LoadedConfig): Promise<SuiteOptions> {
  const sections = source.config.suites;
  const problems: Problem[] = [];
  const known = new Set(available.map((s) => s.id));
  for (const id of Object.keys(sections)) {
    if (!known.has(id)) problems.push({ field: fieldName(['suites', id]), line: source.lineOf(['suites', id]), message: `unknown suite (known: ${available.map((s) => s.id).join(', ')})` });
  }
  const validated: SuiteOptions = {};
  const toCheck = available.filter((suite) => selected.includes(suite) || Object.hasOwn(sections, suite.id));
  for (const suite of toCheck) {
    const section = sections[suite.id] ?? {};
    if (!suite.optionsSchema) {
      validated[suite.id] = section;
      continue;
    }
    let result: StandardSchemaV1.Result<unknown>;
    try {
      result = await suite.optionsSchema['~standard'].validate(section);
    } catch (error) {
      problems.push({
        field: fieldName(['suites', suite.id]),
        line: source.lineOf(['suites', suite.id]),
        message: `the suite's options schema failed: ${(error as Error).message?.split('\n')[0] ?? String(error)}`,
      });
      continue;
    }
    if (result.issues) problems.push(...result.issues.flatMap((issue) => problemsOf(suite.id, issue, source)));
    else validated[suite.id] = (result.value ?? {}) as Record<string, unknown>;
  }
  if (problems.length) {
    const where = (p: Problem) => (source.file ? `${source.file}${p.line ? `:${p.line}` : ''}: ` : '');
    const lines = problems
      .map((p, i) => ({ ...p, i }))
      .sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || a.i - b.i)
      .map((p) => `${where(p)}${p.field}: ${p.message}${source.file ? '' : ' (no config file given: set it under suites in one, --config)'}`);
    throw new ConfigError([...new Set(lines)].join('\n'));
  }
  return validated;
}

/**
 * The suite as this run has it: `checks` are the checks for these (validated) options, picked by the
 * suite's `checksFor`, in the suite's own order. A check `checksFor` returns that is not one of the
 * suite's `checks` is refused: `imgtest suites` lists `checks`, and --check/--skip go by those ids.
 */
export function resolveSuite(suite: Suite, options: Record<string, unknown> | undefined): Suite {
  if (!suite.checksFor) return suite;
  const { checksFor, ...rest } = suite;
  let returned: readonly { id: string }[];
  try {
    returned = checksFor.call(suite, options ?? {});
  } catch (error) {
    throw new UsageError(`suite ${suite.id}: checksFor failed: ${(error as Error).message?.split('\n')[0] ?? String(error)}`);
  }
  const chosen = new Set(returned.map((check) => check.id));
  const stray = [...chosen].filter((id) => !suite.checks.some((check) => check.id === id));
  if (stray.length) throw new UsageError(`suite ${suite.id}: checksFor returned ${stray.join(', ')}, not among the suite's checks`);
  return { ...rest, checks: suite.checks.filter((check) => chosen.has(check.id)) };
}
