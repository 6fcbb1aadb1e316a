/**
 * Checks a libvirt connection URI (`driver[+transport]://[user@][host][:port]/path[?params]`) when the
 * config is read, so a typo is a config error naming its line (exit 2), not a failed `virsh` call
 * later that looks like a broken host (exit 3). Only what imgtest can use is accepted: the QEMU
 * driver (imgtest writes QEMU domain XML) and libvirt's own transports.
 */

const TRANSPORTS = new Set(['ssh', 'libssh', 'libssh2', 'tcp', 'tls', 'unix', 'ext']);
/** Transports that connect to another machine, so the URI must name it. */
const REMOTE_TRANSPORTS = new Set(['ssh', 'libssh', 'libssh2', 'tcp', 'tls']);
/** The QEMU driver's instances (libvirt refuses any other path with "unexpected QEMU URI path"). */
const QEMU_PATHS = new Set(['/system', '/session', '/embed']);

export const LIBVIRT_URI_EXAMPLE = 'qemu+ssh://root@hv1/system';

/** Why `uri` is not a libvirt URI imgtest can use, or undefined when it is one. Pure. */
export function libvirtUriProblem(uri: string): string | undefined {
  const expected = `expected a libvirt URI such as ${LIBVIRT_URI_EXAMPLE} or qemu:///system`;
  if (/\s/.test(uri)) return `${JSON.stringify(uri)} contains white space; ${expected}`;
  const scheme = /^([a-z][a-z0-9]*)(?:\+([a-z0-9]+))?:\/\//i.exec(uri);
  if (!scheme) return `${JSON.stringify(uri)} is not a URI; ${expected}`;
  const driver = scheme[1]!.toLowerCase();
  const transport = scheme[2]?.toLowerCase();
  if (driver !== 'qemu') return `driver '${driver}' is not supported (imgtest needs qemu); ${expected}`;
  if (transport !== undefined && !TRANSPORTS.has(transport)) {
    return `unknown transport '${transport}' (one of ${[...TRANSPORTS].join(', ')}); ${expected}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    return `${JSON.stringify(uri)} does not parse as a URI (host or port?); ${expected}`;
  }
  // Without a transport but with a host, libvirt connects over TLS, so a host is needed exactly then.
  const remote = transport === undefined ? parsed.hostname !== '' : REMOTE_TRANSPORTS.has(transport);
  if (remote && parsed.hostname === '') return `transport '${transport ?? 'tls'}' needs a host (${LIBVIRT_URI_EXAMPLE})`;
  if (!QEMU_PATHS.has(parsed.pathname)) {
    return `path '${parsed.pathname}' is not one of the QEMU driver's (${[...QEMU_PATHS].join(', ')}); ${expected}`;
  }
  if (transport === 'ext' && !parsed.searchParams.has('command')) return `transport 'ext' needs ?command=/path/to/program`;
  return undefined;
}
