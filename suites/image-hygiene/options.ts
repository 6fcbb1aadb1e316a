import { z } from 'zod';

/** The `image-hygiene` section of the run config (`suites: { image-hygiene: {...} }`). */
export const optionsSchema = z
  .object({
    /** Smallest acceptable virtual disk size, GiB. */
    minVirtualSizeGiB: z.number().positive().default(1),
    /** Largest acceptable virtual disk size, GiB (a huge disk costs every clone its full size on copy). */
    maxVirtualSizeGiB: z.number().positive().default(64),
    /**
     * More paths the image must not contain, as absolute paths or globs expanded inside the image
     * (e.g. `/etc/ssl/private/*.key`, `/opt/build-agent`). Checked by `hyg-forbidden-paths`.
     */
    forbiddenPaths: z.array(z.string().regex(/^\//, 'must be an absolute path or glob, starting with /')).default([]),
    /** How long the libguestfs appliance may take to boot (TCG is slow on a busy machine). */
    applianceTimeoutSeconds: z.number().int().positive().default(900),
  })
  .strict()
  .refine((o) => o.minVirtualSizeGiB <= o.maxVirtualSizeGiB, {
    message: 'minVirtualSizeGiB must not exceed maxVirtualSizeGiB',
    path: ['minVirtualSizeGiB'],
  });

export type HygieneOptions = z.infer<typeof optionsSchema>;

/** Validates the suite's options; a bad config is an error of the run, named in one line. */
export function parseOptions(raw: Readonly<Record<string, unknown>>): HygieneOptions {
  const result = optionsSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
  throw new Error(`image-hygiene options are invalid: ${issues}`);
}
