/**
 * Which checks of the run's suites run: `--check <glob>` (only checks matching one of them) and
 * `--skip <glob>` (never checks matching one of them), both repeatable. A glob without `/` is matched
 * against the check id (`ssh-*`), one with `/` against `<suite id>/<check id>` (`ssh-hardening/*`).
 * A check that is not selected is reported skipped with the reason; a suite none of whose checks is
 * selected boots nothing for itself. Selecting nothing at all is a usage error.
 */
import { UsageError } from '../errors.js';
import type { Check, Suite } from '../suite-api/index.js';
import { globToRegExp } from '../util/glob.js';

interface Pattern {
  glob: string;
  regexp: RegExp;
  qualified: boolean;
}

const compile = (glob: string): Pattern => ({ glob, regexp: globToRegExp(glob), qualified: glob.includes('/') });

export class CheckSelection {
  private readonly include: Pattern[];
  private readonly exclude: Pattern[];

  constructor(check: readonly string[] = [], skip: readonly string[] = []) {
    for (const glob of [...check, ...skip]) {
      if (!glob.trim()) throw new UsageError(`--${check.includes(glob) ? 'check' : 'skip'}: an empty pattern`);
      if (glob.split('/').length > 2) throw new UsageError(`--${check.includes(glob) ? 'check' : 'skip'} ${glob}: at most one / (suite-id/check-id)`);
    }
    this.include = check.map(compile);
    this.exclude = skip.map(compile);
  }

  /** Whether --check or --skip was given at all. */
  get active(): boolean {
    return this.include.length > 0 || this.exclude.length > 0;
  }

  /** The flags as given, for messages: `--check ssh-* --skip ssh-weak-*`. */
  get flags(): string {
    return [...this.include.map((p) => `--check ${p.glob}`), ...this.exclude.map((p) => `--skip ${p.glob}`)].join(' ');
  }

  /** Why a check is not selected (`not selected (--skip ssh-*)`), or undefined when it is. */
  reasonFor(suiteId: string, checkId: string): string | undefined {
    const matches = (p: Pattern) => p.regexp.test(p.qualified ? `${suiteId}/${checkId}` : checkId);
    if (this.include.length && !this.include.some(matches)) return `not selected (${this.include.map((p) => `--check ${p.glob}`).join(' ')})`;
    const skipped = this.exclude.find(matches);
    return skipped ? `not selected (--skip ${skipped.glob})` : undefined;
  }

  /** The checks of `suite` that run. */
  selected(suite: Pick<Suite, 'id' | 'checks'>): readonly Check[] {
    return suite.checks.filter((check) => this.reasonFor(suite.id, check.id) === undefined);
  }

  /** The flags that match no check of these suites (probably a typo), e.g. `--skip sh-*`. */
  unmatched(suites: readonly Pick<Suite, 'id' | 'checks'>[]): string[] {
    const ids = suites.flatMap((suite) => suite.checks.map((check) => ({ plain: check.id, qualified: `${suite.id}/${check.id}` })));
    const matchesSome = (p: Pattern) => ids.some((id) => p.regexp.test(p.qualified ? id.qualified : id.plain));
    return [...this.include.filter((p) => !matchesSome(p)).map((p) => `--check ${p.glob}`), ...this.exclude.filter((p) => !matchesSome(p)).map((p) => `--skip ${p.glob}`)];
  }

  /** Refuses a selection that leaves no check of these suites to run (a usage error, one line). */
  requireSome(suites: readonly Pick<Suite, 'id' | 'checks'>[]): void {
    if (suites.some((suite) => this.selected(suite).length > 0)) return;
    const total = suites.reduce((n, suite) => n + suite.checks.length, 0);
    const of = suites.length === 1 ? `suite ${suites[0]!.id}` : `the ${suites.length} suites (${suites.map((s) => s.id).join(', ')})`;
    const verb = this.include.length + this.exclude.length === 1 ? 'leaves' : 'leave';
    throw new UsageError(`no check selected: ${this.flags} ${verb} none of the ${total} checks of ${of} to run`);
  }
}
