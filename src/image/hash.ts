import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { abortError } from '../util/poll.js';

/** Files below this hash in seconds; only bigger ones may report progress. */
export const PROGRESS_MIN_BYTES = 2 ** 30;
/** Progress lines come at most this often (and the first only after this long), so small runs stay quiet. */
export const PROGRESS_INTERVAL_MS = 5_000;

export interface HashOptions {
  /** Gets a progress line at most every `intervalMs` while a file of `minBytes` or more is hashed. */
  onProgress?: (line: string) => void;
  intervalMs?: number;
  minBytes?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** Shown in progress lines (default: the path). */
  label?: string;
  /** Stops the reading (the run was interrupted): the promise rejects with `abortError`. */
  signal?: AbortSignal;
}

/**
 * sha256 of every byte of the file: the digest is the file's own (what `sha256sum` prints), so it can
 * be compared with a published checksum. A huge sparse raw image still takes minutes (its holes read
 * as zeros and are hashed too), so progress lines say how far it got instead of looking hung.
 */
export async function sha256File(path: string, options: HashOptions = {}): Promise<string> {
  const total = (await stat(path)).size;
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? PROGRESS_INTERVAL_MS;
  const report = options.onProgress && total >= (options.minBytes ?? PROGRESS_MIN_BYTES) ? options.onProgress : undefined;
  const started = now();
  let lastReport = started;
  let done = 0;
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    // Hashing a large image takes minutes: Ctrl-C must not wait for it.
    createReadStream(path, { highWaterMark: 1 << 20, signal: options.signal })
      .on('data', (chunk) => {
        hash.update(chunk);
        done += chunk.length;
        if (report && now() - lastReport >= intervalMs) {
          lastReport = now();
          report(progressLine(options.label ?? path, done, total, lastReport - started));
        }
      })
      .on('error', (error) => reject(options.signal?.aborted ? abortError(options.signal) : error))
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}

/** "hashing x.raw: 12.0 of 4096.0 GiB (0%), about 3 h 10 min left". Pure. */
export function progressLine(label: string, done: number, total: number, elapsedMs: number): string {
  const gib = (n: number) => (n / 2 ** 30).toFixed(1);
  const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
  const rate = elapsedMs > 0 ? done / elapsedMs : 0;
  const left = rate > 0 ? `, about ${duration((total - done) / rate)} left` : '';
  return `hashing ${label}: ${gib(done)} of ${gib(total)} GiB (${percent}%)${left}`;
}

function duration(ms: number): string {
  const minutes = Math.ceil(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
