/**
 * Which checks of the run's suites run: `--check <glob>` (only checks matching one of them) and
 * `--skip <glob>` (never checks matching one of them), both repeatable. A glob without `/` is matched
 * against the check id (`ssh-*`), one with `/` against `<suite id>/<check id>` (`ssh-hardening/*`).
 * `--tag <tag>` (only checks having one of them) and `--exclude-tag <tag>` (never checks having one of
 * them), both repeatable, go by a check's tags: its suite's `tags` and its own (`checkTags`).
 * A check runs when it passes --check/--skip and the tags. A check that is not selected is reported
 * skipped with the reason; a suite none of whose checks is selected boots nothing for itself.
 * Selecting nothing at all is a usage error.
 */
import { UsageError } from '../errors.js';
import { TAG_PATTERN, type Check, type Suite } from '../suite-api/index.js';
import { globToRegExp } from '../util/glob.js';

/**
 * A check glob as --check, --skip and a waiver's `check` write it: without `/` it is matched against
 * the check id (`ssh-*`), with one against `<suite id>/<check id>` (`ssh-hardening/*`).
 */
export interface CheckPattern {
  glob: string;
  matches(suiteId: string, checkId: string): boolean;
}

export function checkPattern(glob: string): CheckPattern {
  const regexp = globToRegExp(glob);
  const qualified = glob.includes('/');
  return { glob, matches: (suiteId, checkId) => regexp.test(qualified ? `${suiteId}/${checkId}` : checkId) };
}

/** What the selection needs of a suite and of a check: ids and tags. */
export type TaggedSuite = Pick<Suite, 'id' | 'tags'>;
export type TaggedCheck = Pick<Check, 'id' | 'tags'>;

/** A check's tags: its suite's, then its own, each once. */
export function checkTags(suite: Pick<Suite, 'tags'>, check: Pick<Check, 'tags'>): string[] {
  return [...new Set([...(suite.tags ?? []), ...(check.tags ?? [])])];
}

export interface TagFilter {
  /** --tag: only checks having one of these. */
  tag?: readonly string[];
  /** --exclude-tag: no check having one of these. */
  excludeTag?: readonly string[];
}

export class CheckSelection {
  private readonly include: CheckPattern[];
  private readonly exclude: CheckPattern[];
  private readonly tags: string[];
  private readonly excludedTags: string[];

  constructor(check: readonly string[] = [], skip: readonly string[] = [], tags: TagFilter = {}) {
    for (const glob of [...check, ...skip]) {
      if (!glob.trim()) throw new UsageError(`--${check.includes(glob) ? 'check' : 'skip'}: an empty pattern`);
      if (glob.split('/').length > 2) throw new UsageError(`--${check.includes(glob) ? 'check' : 'skip'} ${glob}: at most one / (suite-id/check-id)`);
    }
    for (const [flag, values] of [
      ['--tag', tags.tag ?? []],
      ['--exclude-tag', tags.excludeTag ?? []],
    ] as const) {
      for (const tag of values) {
        if (!TAG_PATTERN.test(tag)) throw new UsageError(`${flag} ${JSON.stringify(tag)}: a tag is lower-case letters, digits and dashes (e.g. ssh, cloud-init)`);
      }
    }
    this.include = check.map(checkPattern);
    this.exclude = skip.map(checkPattern);
    this.tags = [...new Set(tags.tag ?? [])];
    this.excludedTags = [...new Set(tags.excludeTag ?? [])];
  }

  /** Whether --check, --skip, --tag or --exclude-tag was given at all. */
  get active(): boolean {
    return this.include.length + this.exclude.length + this.tags.length + this.excludedTags.length > 0;
  }

  /** The flags as given, for messages: `--check ssh-* --skip ssh-weak-* --tag security`. */
  get flags(): string {
    return [
      ...this.include.map((p) => `--check ${p.glob}`),
      ...this.exclude.map((p) => `--skip ${p.glob}`),
      ...this.tags.map((t) => `--tag ${t}`),
      ...this.excludedTags.map((t) => `--exclude-tag ${t}`),
    ].join(' ');
  }

  /**
   * Why a check is not selected (`not selected (--skip ssh-*)`, `not selected (--tag boot)`,
   * `not selected (--exclude-tag network)`), or undefined when it is. The first flag that leaves it out
   * is named, in this order: --check, --skip, --tag, --exclude-tag. Given as bare ids, the suite and
   * the check have no tags (enough for --check/--skip; with --tag no such check is selected).
   */
  reasonFor(suite: string | TaggedSuite, check: string | TaggedCheck): string | undefined {
    const suiteOf: TaggedSuite = typeof suite === 'string' ? { id: suite } : suite;
    const checkOf: TaggedCheck = typeof check === 'string' ? { id: check } : check;
    const matches = (p: CheckPattern) => p.matches(suiteOf.id, checkOf.id);
    if (this.include.length && !this.include.some(matches)) return `not selected (${this.include.map((p) => `--check ${p.glob}`).join(' ')})`;
    const skipped = this.exclude.find(matches);
    if (skipped) return `not selected (--skip ${skipped.glob})`;
    if (!this.tags.length && !this.excludedTags.length) return undefined;
    const has = new Set(checkTags(suiteOf, checkOf));
    if (this.tags.length && !this.tags.some((t) => has.has(t))) return `not selected (${this.tags.map((t) => `--tag ${t}`).join(' ')})`;
    const excluded = this.excludedTags.find((t) => has.has(t));
    return excluded ? `not selected (--exclude-tag ${excluded})` : undefined;
  }

  /** The checks of `suite` that run. */
  selected<C extends TaggedCheck>(suite: TaggedSuite & { checks: readonly C[] }): C[] {
    return suite.checks.filter((check) => this.reasonFor(suite, check) === undefined);
  }

  /** The flags that match no check of these suites (probably a typo), e.g. `--skip sh-*`, `--tag sssh`. */
  unmatched(suites: readonly (TaggedSuite & { checks: readonly TaggedCheck[] })[]): string[] {
    const matchesSome = (p: CheckPattern) => suites.some((suite) => suite.checks.some((check) => p.matches(suite.id, check.id)));
    const tagged = new Set(suites.flatMap((suite) => suite.checks.flatMap((check) => checkTags(suite, check))));
    return [
      ...this.include.filter((p) => !matchesSome(p)).map((p) => `--check ${p.glob}`),
      ...this.exclude.filter((p) => !matchesSome(p)).map((p) => `--skip ${p.glob}`),
      ...this.tags.filter((t) => !tagged.has(t)).map((t) => `--tag ${t}`),
      ...this.excludedTags.filter((t) => !tagged.has(t)).map((t) => `--exclude-tag ${t}`),
    ];
  }

  /** Refuses a selection that leaves no check of these suites to run (a usage error, one line). */
  requireSome(suites: readonly (TaggedSuite & { checks: readonly TaggedCheck[] })[]): void {
    if (suites.some((suite) => this.selected(suite).length > 0)) return;
    const total = suites.reduce((n, suite) => n + suite.checks.length, 0);
    const of = suites.length === 1 ? `suite ${suites[0]!.id}` : `the ${suites.length} suites (${suites.map((s) => s.id).join(', ')})`;
    const verb = this.include.length + this.exclude.length + this.tags.length + this.excludedTags.length === 1 ? 'leaves' : 'leave';
    throw new UsageError(`no check selected: ${this.flags} ${verb} none of the ${total} checks of ${of} to run`);
  }
}
