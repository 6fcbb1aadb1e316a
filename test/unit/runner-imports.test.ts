/**
 * The runner treats the local lab's hosts as any remote host: whether a run uses the lab is decided at
 * the edge (src/cli/run-environment.ts), so no module under src/runner imports src/lab, nor the CLI.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src', import.meta.url));
const runnerDir = join(src, 'runner');

/** Every relative import (static or dynamic, types included) of a file, resolved to a path under src. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.[^']+)'/g)].map((m) => m[1]!);
  return specifiers.map((s) => relative(src, resolve(dirname(file), s)));
}

describe('src/runner imports', () => {
  const files = readdirSync(runnerDir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(runnerDir, f));

  it('finds the runner’s modules and their imports (the scan itself works)', () => {
    expect(files.length).toBeGreaterThan(10);
    expect(importsOf(join(runnerDir, 'executor.ts'))).toContain('runner/environment.js');
  });

  it('no module under src/runner imports src/lab or src/cli', () => {
    const offending = files.flatMap((file) =>
      importsOf(file)
        .filter((target) => /^(lab|cli)\//.test(target))
        .map((target) => `${relative(src, file)} -> ${target}`),
    );
    expect(offending).toEqual([]);
  });
});
