/**
 * Installs the example third-party suite (examples/suite-hello-sysctl) into a temporary folder the
 * way a user's project would hold it, for tests that load it from outside src/ and suites/:
 *
 *   <dir>/node_modules/imgtest                     -> a symlink to this repository (its built dist/)
 *   <dir>/node_modules/imgtest-suite-hello-sysctl/ a COPY of the example package
 *
 * A copy, not a symlink: Node resolves a symlinked module by its real path, and from the real path
 * (examples/ in this repository) `imgtest/suite-api` would not be found in <dir>/node_modules.
 * `npm run build` (the pretest step) must have built dist/.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The example's source folder in this repository. */
export const exampleSuiteSource = join(repoRoot, 'examples', 'suite-hello-sysctl');
/** Its npm package name and its suite id. */
export const exampleSuitePackage = 'imgtest-suite-hello-sysctl';
export const exampleSuiteId = 'hello-sysctl';

export interface InstalledExampleSuite {
  /** The temporary folder: use it as cwd to load the suite by package name (`--suite-module imgtest-suite-hello-sysctl`). */
  dir: string;
  /** The copied package's folder (`<dir>/node_modules/imgtest-suite-hello-sysctl`). */
  packageDir: string;
  /** Absolute path of the copied package's entry (index.js), for `--suite-module <modulePath>` from any cwd. */
  modulePath: string;
  /** Removes the temporary folder (the symlink only, never the repository it points at). */
  cleanup(): Promise<void>;
}

export async function installExampleSuite(): Promise<InstalledExampleSuite> {
  const contract = join(repoRoot, 'dist', 'src', 'suite-api', 'index.js');
  if (!existsSync(contract)) throw new Error(`installExampleSuite: ${contract} is missing: run \`npm run build\` first`);
  const dir = await mkdtemp(join(tmpdir(), 'imgtest-example-suite-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const nodeModules = join(dir, 'node_modules');
    await mkdir(nodeModules);
    await symlink(repoRoot, join(nodeModules, 'imgtest'), 'dir');
    const packageDir = join(nodeModules, exampleSuitePackage);
    // A node_modules left by running `npm install` in the example folder would shadow the temp one.
    await cp(exampleSuiteSource, packageDir, { recursive: true, filter: (source) => basename(source) !== 'node_modules' });
    return { dir, packageDir, modulePath: join(packageDir, 'index.js'), cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
