/** What the suite uses of the machine it runs on, injectable so tests run without sockets, clocks or waits. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProbes, type ProbeStarter } from './probes.js';

export interface SuiteTools {
  startProbes: ProbeStarter;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** A fresh random token (names the leg's files and kernel log marker). */
  token(): string;
  /** Writes `content` to a private temporary file, runs `task` with its path, removes it. */
  withTempFile<T>(name: string, content: string, task: (path: string) => Promise<T>): Promise<T>;
}

export const realTools: SuiteTools = {
  startProbes,
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  token: () => randomBytes(4).toString('hex'),
  async withTempFile(name, content, task) {
    const dir = await mkdtemp(join(tmpdir(), 'imgtest-live-migration-'));
    try {
      const path = join(dir, name);
      await writeFile(path, content);
      return await task(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
