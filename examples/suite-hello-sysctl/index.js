// @ts-check
/**
 * imgtest-suite-hello-sysctl: an example of a suite written outside imgtest. It imports nothing but
 * the plugin contract (`imgtest/suite-api`), boots nothing itself, and reads three kernel parameters
 * in a guest the runner booted from the image, with `sysctl -n <key>` over the guest's SSH channel.
 *
 * Plain ESM JavaScript with JSDoc types: no build step, and an editor (or `tsc --checkJs`) checks it
 * against the contract's own types.
 *
 * A check returns pass / fail / skip: `fail` means the image has a defect. When the value cannot be
 * read at all (SSH lost, sysctl missing, a key this kernel lacks) nothing was observed, so the check
 * throws and imgtest reports an `<error>` (an infrastructure problem, exit 3), never a `<failure>`. A
 * lost SSH connection needs nothing here: `exec` throws `GuestTransportError` by itself.
 */
import { defineSuite, fail, pass, skip } from 'imgtest/suite-api';

/** @typedef {import('imgtest/suite-api').CheckContext} CheckContext */
/** @typedef {import('imgtest/suite-api').CheckOutcome} CheckOutcome */
/** @typedef {import('imgtest/suite-api').GuestHandle} GuestHandle */
/** @typedef {import('imgtest/suite-api').Severity} Severity */

/**
 * @typedef {object} Parameter
 * @property {string} check    check id (prefixed `hello-sysctl-`)
 * @property {string} key      the sysctl key
 * @property {string} title
 * @property {Severity} severity
 * @property {number[]} accept values that pass by default (option `expected` replaces them)
 */

/**
 * Expected values hold on a stock Debian 12 cloud image (linux-image-cloud-amd64, 6.1): each is the
 * kernel's compiled-in default under Debian's config, and Debian ships no sysctl.d file changing it
 * (`/etc/sysctl.d/99-sysctl.conf` is all comments; `/usr/lib/sysctl.d/` only sets pid_max and
 * fs.protected_*). Checked in /boot/config-6.1.0-*-cloud-amd64 of the fixture debian-12-clean.
 * The three files are mode 0644 in /proc/sys, so the unprivileged seeded user can read them.
 * @type {readonly Parameter[]}
 */
export const PARAMETERS = Object.freeze([
  // Source: CONFIG_SECURITY_DMESG_RESTRICT=y in Debian's kernel config; kernel/printk/printk.c
  // `int dmesg_restrict = IS_ENABLED(CONFIG_SECURITY_DMESG_RESTRICT);`;
  // Documentation/admin-guide/sysctl/kernel.rst (dmesg_restrict: 1 = dmesg needs CAP_SYSLOG).
  { check: 'hello-sysctl-dmesg-restrict', key: 'kernel.dmesg_restrict', title: 'only privileged users read the kernel log (kernel.dmesg_restrict = 1)', severity: 'must', accept: [1] },
  // Source: CONFIG_BPF_UNPRIV_DEFAULT_OFF=y in Debian's kernel config; kernel/bpf/syscall.c
  // `sysctl_unprivileged_bpf_disabled = IS_BUILTIN(CONFIG_BPF_UNPRIV_DEFAULT_OFF) ? 2 : 0`;
  // kernel.rst (unprivileged_bpf_disabled: 1 = disabled for good, 2 = disabled, an admin may re-enable).
  {
    check: 'hello-sysctl-unprivileged-bpf',
    key: 'kernel.unprivileged_bpf_disabled',
    title: 'unprivileged bpf() is disabled (kernel.unprivileged_bpf_disabled = 1 or 2)',
    severity: 'must',
    accept: [1, 2],
  },
  // Source: CONFIG_SYN_COOKIES=y in Debian's kernel config; net/ipv4/tcp_ipv4.c
  // `net->ipv4.sysctl_tcp_syncookies = 1;`; Documentation/networking/ip-sysctl.rst (tcp_syncookies,
  // default 1: cookies only when the SYN backlog overflows; 2 = always, meant for testing).
  { check: 'hello-sysctl-syncookies', key: 'net.ipv4.tcp_syncookies', title: 'SYN cookies on under a SYN flood (net.ipv4.tcp_syncookies = 1)', severity: 'should', accept: [1] },
]);

/**
 * procps installs sysctl in /usr/sbin (`/sbin` is a link to it on Debian 12's merged /usr). The full
 * path, because a non-root SSH command gets sshd's default PATH, which on Debian has no sbin folder.
 */
export const SYSCTL = '/usr/sbin/sysctl';

/**
 * @typedef {object} HelloSysctlOptions
 * @property {Record<string, number[] | null>} expected accepted values per key; null: not checked
 */

/**
 * Reads and validates this suite's section of the run config (`suites: { hello-sysctl: ... }`):
 *
 *     expected:                           # optional; per key, replaces the default accepted values
 *       kernel.dmesg_restrict: 1          # an integer,
 *       kernel.unprivileged_bpf_disabled: [1, 2]   # a list of integers,
 *       net.ipv4.tcp_syncookies: null     # or null (~): the check is skipped
 *
 * Anything else throws an Error naming the option and what is wrong with it.
 * @param {Readonly<Record<string, unknown>>} options
 * @returns {HelloSysctlOptions}
 */
export function parseOptions(options) {
  const where = 'suite hello-sysctl: option';
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new Error(`${where}s must be a mapping, got ${shown(options)}`);
  for (const name of Object.keys(options)) {
    if (name !== 'expected') throw new Error(`${where} '${name}' is unknown (the only option is 'expected')`);
  }
  /** @type {Record<string, number[] | null>} */
  const expected = {};
  const given = options['expected'];
  if (given === undefined) return { expected };
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new Error(`${where} expected must be a mapping of sysctl key to value, got ${shown(given)}`);
  const known = PARAMETERS.map((p) => p.key);
  for (const [key, value] of Object.entries(given)) {
    if (!known.includes(key)) throw new Error(`${where} expected.${key}: not a key this suite checks (${known.join(', ')})`);
    if (value === null) {
      expected[key] = null;
      continue;
    }
    const values = Array.isArray(value) ? value : [value];
    if (!values.length || !values.every((v) => Number.isInteger(v))) throw new Error(`${where} expected.${key}: must be an integer, a non-empty list of integers, or null, got ${shown(value)}`);
    expected[key] = /** @type {number[]} */ (values);
  }
  return { expected };
}

/** @param {unknown} value */
function shown(value) {
  return value === null ? 'null' : Array.isArray(value) ? JSON.stringify(value) : `${typeof value} ${JSON.stringify(value)}`;
}

/** @param {string} text */
function firstLine(text) {
  return text.trim().split('\n')[0]?.slice(0, 200) ?? '';
}

/**
 * `sysctl -n <key>` in the guest, as an integer. Throws when nothing could be read: sysctl failed (any
 * non-zero exit, e.g. an unknown key: this kernel lacks the feature), or the output is not an integer.
 * When the SSH connection fails, `exec` itself throws (`GuestTransportError` from `imgtest/suite-api`),
 * and that error passes through as it is: an exit code is always sysctl's own.
 * @param {GuestHandle} guest
 * @param {string} key
 * @returns {Promise<{ value: number, evidence: string }>}
 */
export async function readSysctl(guest, key) {
  const argv = [SYSCTL, '-n', key];
  const result = await guest.exec(argv, { timeoutMs: 60_000 });
  const command = argv.join(' ');
  if (result.exitCode !== 0) {
    throw new Error(`guest ${guest.name}: cannot read ${key}: \`${command}\` ended with exit ${result.exitCode}${result.stderr.trim() ? `: ${firstLine(result.stderr)}` : ''}`);
  }
  const text = result.stdout.trim();
  if (!/^-?\d+$/.test(text)) throw new Error(`guest ${guest.name}: cannot read ${key}: \`${command}\` printed ${JSON.stringify(text.slice(0, 80))}, not an integer`);
  return { value: Number(text), evidence: `${guest.name}: $ ${command}\n${text}` };
}

/**
 * @param {Parameter} parameter
 * @returns {import('imgtest/suite-api').Check}
 */
function sysctlCheck(parameter) {
  return {
    id: parameter.check,
    title: parameter.title,
    severity: parameter.severity,
    /**
     * @param {CheckContext} context
     * @returns {Promise<CheckOutcome>}
     */
    async run(context) {
      const override = parseOptions(context.options).expected[parameter.key];
      if (override === null) return skip(`not checked: suites.hello-sysctl.expected.${parameter.key} is null`);
      const accept = override ?? parameter.accept;
      const wanted = accept.length === 1 ? String(accept[0]) : `one of ${accept.join(', ')}`;
      if (!context.guests.length) throw new Error('no guest to read from (the suite requires one)');
      const seen = [];
      const wrong = [];
      const evidence = [];
      for (const guest of context.guests) {
        const { value, evidence: lines } = await readSysctl(guest, parameter.key);
        evidence.push(lines);
        seen.push(context.guests.length > 1 ? `${value} on ${guest.name}` : String(value));
        if (!accept.includes(value)) wrong.push(context.guests.length > 1 ? `${value} on ${guest.name}` : String(value));
      }
      if (wrong.length) return fail(`${parameter.key} is ${wrong.join(', ')}, expected ${wanted}`, evidence.join('\n'));
      return pass(`${parameter.key} is ${seen.join(', ')} (expected ${wanted})`, evidence.join('\n'));
    },
  };
}

export const suite = defineSuite({
  id: 'hello-sysctl',
  title: 'Kernel parameters (example suite)',
  description:
    'Reads kernel.dmesg_restrict, kernel.unprivileged_bpf_disabled and net.ipv4.tcp_syncookies in a booted guest and compares them with the values a stock Debian 12 cloud image has (option: expected).',
  // One guest, which it only reads, so it can share the guest with other suites; the values do not
  // depend on the firmware, so one run with the image's preferred firmware is enough.
  requires: { guests: { count: 1, placement: 'any', sharing: 'shared', firmwareMatrix: 'first' } },
  checks: PARAMETERS.map(sysctlCheck),
});

export default suite;
