import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RunKey } from '../runner/environment.js';

const execFileAsync = promisify(execFile);

/** A fresh ed25519 key pair for one run, in `workDir` (no passphrase; commented `imgtest-<run id>`). */
export async function generateRunKey(workDir: string, runId: string): Promise<RunKey> {
  const keyFile = join(workDir, 'id_ed25519');
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `imgtest-${runId}`, '-f', keyFile]);
  return { keyFile, publicKey: (await readFile(`${keyFile}.pub`, 'utf8')).trim() };
}
