/**
 * The waiver file (`imgtest run --waivers <file>`, or `waivers:` in the config): known failures an image
 * may have for a while, each with its reason.
 *
 * ```yaml
 * waivers:
 *   - check: ssh-weak-macs        # required: a glob like --check (check id, or suite-id/check-id)
 *     image: "debian-12-*"        # optional: a glob on the image's name (file name without .qcow2/.img/.raw)
 *     firmware: bios              # optional: bios | uefi | uefi-secureboot
 *     reason: "vendor ships stock MACs until 2027"   # required
 *     ticket: SEC-123             # optional
 *     expires: 2027-01-31         # optional: YYYY-MM-DD, the last day it holds (UTC)
 * ```
 *
 * Read and checked before anything is hashed or booted; every error is one line naming the file, the
 * line and the field, as the config's are (`waivers.yaml:9: waivers[2].expires: ...`). What a waiver
 * does to a run is src/runner/waivers.ts.
 */
import { z } from 'zod';
import type { CaseWaiver } from '../report/model.js';
import type { Firmware } from '../suite-api/index.js';
import { parseYamlSource, readYamlText } from './load.js';

/** One entry of the file, with where it is (`source`: `waivers.yaml:12`, the line of its `- `). */
export interface Waiver extends CaseWaiver {
  /** Glob on the image's name; absent: every image. */
  image?: string;
  /** Only runs of a suite with this firmware; absent: any (and suites with no firmware of their own). */
  firmware?: Firmware;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `2027-01-31` as a calendar day, or undefined (`2027-02-30`, `2027-1-31`, `31.01.2027`). */
export function parseDay(text: string): { year: number; month: number; day: number } | undefined {
  const match = DAY.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC rolls 2027-02-30 over into March: a day of the calendar comes back as it went in.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return { year, month, day };
}

const required = (what: string) => (issue: { input: unknown }) => (issue.input === undefined ? `required: ${what}` : `must be text: ${what}`);

const glob = (what: string) =>
  z
    .string({ error: required(what) })
    .trim()
    .min(1, `must not be empty: ${what}`);

const waiverSchema = z
  .object({
    check: glob('a check id or glob, like --check (ssh-weak-macs, ssh-*, ssh-hardening/ssh-weak-*)').refine((value) => value.split('/').length <= 2, {
      message: 'at most one / (suite-id/check-id)',
    }),
    image: glob("a glob on the image's name (debian-12-*)").optional(),
    firmware: z.enum(['bios', 'uefi', 'uefi-secureboot']).optional(),
    reason: z
      .string({ error: required('why this failure is accepted') })
      .trim()
      .min(1, 'must not be empty: why this failure is accepted'),
    // A ticket number written bare (`ticket: 4711`) is read as a number by YAML: kept as its text.
    ticket: z.preprocess((value) => (typeof value === 'number' ? String(value) : value), z.string({ error: 'must be text (SEC-123)' }).trim().min(1, 'must not be empty')).optional(),
    expires: z
      .string({ error: 'must be a date as YYYY-MM-DD (2027-01-31)' })
      .superRefine((value, ctx) => {
        if (!DAY.test(value)) ctx.addIssue({ code: 'custom', message: `must be a date as YYYY-MM-DD (2027-01-31), not "${value}"` });
        else if (!parseDay(value)) ctx.addIssue({ code: 'custom', message: `${value} is no day of the calendar` });
      })
      .optional(),
  })
  .strict();

const waiverFileSchema = z
  .object({
    waivers: z.array(waiverSchema, { error: (issue) => (issue.input === undefined ? 'required: the list of waivers (waivers: [...])' : 'must be a list of waivers') }),
  })
  .strict();

/** Reads and checks a waiver file; a missing or bad one is a ConfigError of one line. */
export async function loadWaivers(path: string): Promise<Waiver[]> {
  return parseWaivers(await readYamlText(path, 'waiver file'), path);
}

/** The waivers of a file's text, in file order, each with its `source` (`<fileName>:<line>`). */
export function parseWaivers(text: string, fileName: string): Waiver[] {
  const { data, lineOf } = parseYamlSource(text, fileName, waiverFileSchema);
  return data.waivers.map((entry, index) => {
    const waiver: Waiver = { check: entry.check, reason: entry.reason, source: `${fileName}:${lineOf(['waivers', index]) ?? '?'}` };
    if (entry.image !== undefined) waiver.image = entry.image;
    if (entry.firmware !== undefined) waiver.firmware = entry.firmware;
    if (entry.ticket !== undefined) waiver.ticket = entry.ticket;
    if (entry.expires !== undefined) waiver.expires = entry.expires;
    return waiver;
  });
}
