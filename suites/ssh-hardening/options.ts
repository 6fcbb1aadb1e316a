/** The `ssh-hardening` section of the run config, validated here (the runner passes it through untouched). */
import { z } from 'zod';
import { POLICY_CHECK_IDS, PROFILES } from './policy.js';

const pattern = z.string().refine(
  (source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);

/**
 * One algorithm category. `allow`: only these exact names are acceptable. `forbid`: regular expressions
 * (case-insensitive) that are never acceptable. Without either, the suite's hardened default applies;
 * with `allow` alone, the default forbid list is dropped (the allow list is the whole policy).
 */
const category = z
  .object({
    allow: z.array(z.string().min(1)).optional(),
    forbid: z.array(pattern).optional(),
  })
  .strict();

const checkId = z.string().refine((id) => POLICY_CHECK_IDS.includes(id), { message: `not an ssh-hardening check id (one of ${POLICY_CHECK_IDS.join(', ')})` });

export const optionsSchema = z
  .object({
    /** Which profile weighs the findings (see ./policy.ts): baseline (default), cis-level1, strict. */
    policy: z.enum(PROFILES).default('baseline'),
    /** Per-check severity, whatever the profile says: `{ ssh-max-auth-tries: must }`. */
    severity: z.record(checkId, z.enum(['must', 'should'])).default({}),
    /** The connection `sshd -T -C` evaluates Match blocks for; defaults: the seeded user, `imgtest-probe`, our own client address. */
    match: z
      .object({
        user: z.string().min(1).optional(),
        host: z.string().min(1).default('imgtest-probe'),
        addr: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    maxAuthTries: z.number().int().min(1).default(4),
    maxLoginGraceTimeSeconds: z.number().int().min(1).default(60),
    /** How to see the offered algorithms from the host: `ssh-audit` (required), `builtin` (own KEXINIT probe), `auto` (ssh-audit if installed). */
    probe: z.enum(['auto', 'ssh-audit', 'builtin']).default('auto'),
    sshAuditCommand: z.string().min(1).default('ssh-audit'),
    port: z.number().int().min(1).max(65535).default(22),
    probeTimeoutSeconds: z.number().int().min(1).max(300).default(15),
    /** Smallest RSA host key (and host CA key) without a finding, in bits; under 2048 is always `must` (rule rsa-under-2048), below this rule rsa-small. */
    minRsaBits: z.number().int().min(1024).default(3072),
    /** Smallest Diffie-Hellman modulus without a finding, fixed groups and group exchange alike; under 2048 is always `must` (rule kex-dh-under-2048), below this rule kex-dh-small. */
    minDhModulusBits: z.number().int().min(1024).default(3072),
    algorithms: z
      .object({ ciphers: category.prefault({}), macs: category.prefault({}), kex: category.prefault({}), hostKeys: category.prefault({}) })
      .strict()
      .prefault({}),
  })
  .strict();

export type SshHardeningOptions = z.infer<typeof optionsSchema>;

export function parseOptions(raw: Readonly<Record<string, unknown>>): SshHardeningOptions {
  const parsed = optionsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    // zod says only "Invalid key in record" for a bad key; its own issues say which ids are valid.
    const said = (i: z.core.$ZodIssue): string => (i.code === 'invalid_key' ? `${i.message}: ${i.issues.map((n) => n.message).join(', ')}` : i.message);
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(section)'}: ${said(i)}`).join('; ');
    throw new Error(`ssh-hardening options: ${issues}`);
  }
  return parsed.data;
}
