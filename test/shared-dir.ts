import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The read-only `shared/` folder (junit-10.xsd, notes) that sits beside the project. A clean clone made
 * elsewhere (CI clones to /tmp) finds it beside the repository it was cloned from; IMGTEST_SHARED_DIR wins.
 */
function findSharedDir(): string {
  const candidates = [process.env.IMGTEST_SHARED_DIR, resolve(repoRoot, '..', 'shared')];
  try {
    const origin = execFileSync('git', ['-C', repoRoot, 'config', '--get', 'remote.origin.url'], { encoding: 'utf8' }).trim();
    if (isAbsolute(origin)) candidates.push(resolve(origin, '..', 'shared'));
  } catch {
    // not a clone, or no origin: the folder beside the project is the only place left
  }
  return candidates.find((dir): dir is string => Boolean(dir) && existsSync(resolve(dir!, 'schemas', 'junit-10.xsd'))) ?? resolve(repoRoot, '..', 'shared');
}

export const junitSchemaPath = resolve(findSharedDir(), 'schemas', 'junit-10.xsd');
