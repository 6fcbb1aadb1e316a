/** The `ssh-hardening` section of the run config, validated here (the runner passes it through untouched). */
import { z } from 'zod';

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

export const optionsSchema = z
  .object({
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
    /** Smallest acceptable RSA host key (and host CA key), in bits. */
    minRsaBits: z.number().int().min(1024).default(3072),
    /** Smallest acceptable Diffie-Hellman modulus, fixed groups and group exchange alike. */
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
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(section)'}: ${i.message}`).join('; ');
    throw new Error(`ssh-hardening options: ${issues}`);
  }
  return parsed.data;
}
