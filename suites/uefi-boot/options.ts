/** The `uefi-boot` section of the run config, validated here (the runner passes it through untouched). */
import { z } from 'zod';

export const optionsSchema = z
  .object({
    /**
     * How much Secure Boot matters for this image:
     * - absent (default): `uefi-secureboot` is `must` whenever it runs (the image claims Secure Boot,
     *   or the run asked for `uefi-secureboot` firmware);
     * - `required`: also fails, without booting, an image that does not claim Secure Boot (unsigned
     *   or missing fallback loader);
     * - `optional`: a Secure Boot failure of an image that does not claim it is a `should`.
     */
    secureBoot: z.enum(['required', 'optional']).optional(),
  })
  .strict();

export type UefiBootOptions = z.infer<typeof optionsSchema>;

export function parseOptions(raw: Readonly<Record<string, unknown>>): UefiBootOptions {
  const parsed = optionsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`suites.uefi-boot.${issue.path.join('.') || '(section)'}: ${issue.message}`);
  }
  return parsed.data;
}
