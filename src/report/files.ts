import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes a report file into `dir` (created if missing) so that a reader never sees half a file:
 * the content goes to a temporary name first and is then renamed into place. Returns the
 * absolute path written.
 */
export async function writeReportFile(dir: string, fileName: string, content: string): Promise<string> {
  const target = path.resolve(dir, fileName);
  await mkdir(path.dirname(target), { recursive: true });
  const temporary = `${target}.tmp-${process.pid}-${Date.now()}`;
  try {
    await writeFile(temporary, content, 'utf8');
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return target;
}
