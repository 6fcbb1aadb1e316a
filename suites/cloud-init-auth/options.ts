/**
 * The `cloud-init-auth` section of the run config. The suite has no options: what it checks comes
 * from the run's own seed (user, keys, instance-id, hostname). The schema still refuses anything
 * written under `suites: { cloud-init-auth: ... }`, so a misplaced option is named before any boot.
 */
import { z } from 'zod';

export const optionsSchema = z.object({}).strict();

export type CloudInitAuthOptions = z.infer<typeof optionsSchema>;
