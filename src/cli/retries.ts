import { Option } from 'commander';
import { MAX_RETRIES } from '../config/schema.js';
import { UsageError } from '../errors.js';

/** `--retries N`: a whole number from 0 to MAX_RETRIES, else a usage error (exit 2). */
export function parseRetries(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`--retries ${value}: not a whole number of 0 or more`);
  if (n > MAX_RETRIES) throw new UsageError(`--retries ${value}: at most ${MAX_RETRIES}`);
  return n;
}

/** `imgtest run`'s `--retries <n>` (unset: the config's `retries`, default 0). */
export function retriesOption(): Option {
  return new Option(
    '--retries <n>',
    `run a check whose outcome is an infrastructure error up to n more times, on the same guests (0-${MAX_RETRIES}; default: the config's retries, 0); a failure is never run again`,
  ).argParser(parseRetries);
}
