import { mkdtemp, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

/**
 * Refuses a report folder the run could not write, before the image is hashed or a host contacted:
 * otherwise the run fails at its end ("internal error", exit 3) after all its work. A folder that
 * does not exist yet is fine when its nearest existing parent is a writable folder (the run makes it).
 * Writability is tried, not read from mode bits: root passes every `access()` check, yet cannot
 * write to a read-only mount or into /proc. The probe folder is removed at once.
 */
export async function checkReportDir(dir: string, origin: string): Promise<void> {
  const wanted = resolve(dir);
  let existing = wanted;
  for (;;) {
    const info = await stat(existing).catch((error: NodeJS.ErrnoException) => error);
    if (!(info instanceof Error)) {
      if (!info.isDirectory()) {
        throw new ConfigError(`${origin} ${dir}: ${existing === wanted ? 'is not a folder' : `${existing} is not a folder`}`);
      }
      break;
    }
    // ENOTDIR: a parent is a file; walking up finds it and says so.
    if (info.code !== 'ENOENT' && info.code !== 'ENOTDIR') throw new ConfigError(`${origin} ${dir}: cannot use ${existing} (${info.code ?? info.message})`);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  let probe: string;
  try {
    probe = await mkdtemp(join(existing, '.imgtest-write-test-'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ConfigError(`${origin} ${dir}: ${existing === wanted ? 'not writable' : `cannot create it in ${existing}`} (${code})`);
  }
  await rmdir(probe);
}
