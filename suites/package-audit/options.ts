/** The `package-audit` section of the run config, validated here (the runner passes it through untouched). */
import { z } from 'zod';

export const DEFAULT_REQUIRED = ['cloud-init', 'openssh-server', 'qemu-guest-agent'];

/** Cleartext or legacy network services no cloud image should ship (CIS 2.1/2.2 "ensure ... not installed"). */
export const DEFAULT_FORBIDDEN = [
  'telnetd',
  'telnetd-ssl',
  'inetutils-telnetd',
  'rsh-server',
  'rsh-redone-server',
  'nis',
  'ypserv',
  'tftpd',
  'tftpd-hpa',
  'atftpd',
  'xinetd',
  'openbsd-inetd',
  'inetutils-inetd',
  'rlinetd',
  'talkd',
  'inetutils-talkd',
  'fingerd',
  'ftpd',
  'inetutils-ftpd',
];

const packageName = z.string().regex(/^[a-z0-9*?][a-z0-9.+*?-]*(:[a-z0-9-]+)?$/, 'a Debian package name (globs * and ? allowed), optionally :arch');

export const optionsSchema = z
  .object({
    /** Packages that must be installed (names, `name:arch`, or globs). */
    required: z.array(packageName).default(DEFAULT_REQUIRED),
    /** Packages that must not be installed; replaces the default list. */
    forbidden: z.array(packageName).default(DEFAULT_FORBIDDEN),
    /** Added to `forbidden` (keeps the defaults). */
    extraForbidden: z.array(packageName).default([]),
    /** Path globs whose content changes `pkg-integrity` accepts (e.g. files a vendor patches on purpose). */
    integrityIgnore: z.array(z.string().startsWith('/')).default([]),
    /** `dpkg --verify` reads every packaged file; on a slow guest that takes a while. */
    verifyTimeoutSeconds: z.number().int().min(10).default(900),
    /** Path (relative to the working directory) or http(s) URL of a Debian security tracker JSON or OSV feed. */
    vulnerabilityFeed: z.string().min(1).optional(),
    /** What fails `pkg-vulnerabilities`: a missing available fix (default), any known vulnerability, or nothing. */
    failOn: z.enum(['fixed', 'any', 'none']).default('fixed'),
    /** Issues below this urgency are listed but never fail (unknown urgencies always count). */
    minUrgency: z.enum(['unimportant', 'low', 'medium', 'high', 'critical']).default('low'),
    /** Vulnerability ids (or aliases) to accept. */
    ignoreVulnerabilities: z.array(z.string().min(1)).default([]),
    /** Debian tracker release key; default: VERSION_CODENAME from os-release. */
    release: z.string().min(1).optional(),
    /** OSV ecosystem; default `Debian:<VERSION_ID>` (or `Ubuntu:<VERSION_ID>`). */
    ecosystem: z.string().min(1).optional(),
    feedTimeoutSeconds: z.number().int().min(1).default(120),
  })
  .strict();

export type PackageAuditOptions = z.infer<typeof optionsSchema>;

export function parseOptions(raw: Readonly<Record<string, unknown>>): PackageAuditOptions {
  const parsed = optionsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(section)'}: ${i.message}`).join('; ');
    throw new Error(`package-audit options: ${issues}`);
  }
  return parsed.data;
}
