/** Pure readers of a guest's serial console text. */

/** Host public keys cloud-init prints between the BEGIN/END SSH HOST KEY KEYS markers. */
export function hostKeysFromConsole(log: string): string[] {
  const match = /-----BEGIN SSH HOST KEY KEYS-----([\s\S]*?)-----END SSH HOST KEY KEYS-----/.exec(log);
  if (!match) return [];
  return match[1]!
    .split(/\r?\n/)
    .map((line) => line.replace(/^.*?((?:ssh|ecdsa|sk)-[\w@.-]+\s+[A-Za-z0-9+/=]+).*$/, '$1').trim())
    .filter((line) => /^(?:ssh|ecdsa|sk)-[\w@.-]+\s+[A-Za-z0-9+/=]{20,}$/.test(line));
}

/**
 * The guest's IPv4 address from cloud-init's "ci-info" network table, matched by MAC when the row
 * has one: `ci-info: | eth0 | True | 10.78.0.123 | 255.255.255.0 | global | 52:54:00:aa:bb:cc |`.
 */
export function addressFromConsole(log: string, mac: string): string | undefined {
  const wanted = mac.toLowerCase();
  let fallback: string | undefined;
  for (const line of log.split(/\r?\n/)) {
    if (!line.includes('ci-info:')) continue;
    const cells = line.split('|').map((c) => c.trim());
    const ip = cells.find((c) => /^\d+\.\d+\.\d+\.\d+$/.test(c));
    if (!ip || ip.startsWith('127.') || ip.startsWith('255.') || ip === '0.0.0.0') continue;
    if (cells.some((c) => c.toLowerCase() === wanted)) return ip;
    // Rows without our MAC: only trust one that names some NIC's MAC (a single-NIC guest's table).
    if (cells.some((c) => /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(c))) fallback ??= ip;
  }
  return fallback;
}

/** UEFI firmware refusing the loader under Secure Boot. */
export function firmwareRefusal(text: string): string | undefined {
  return /(BdsDxe: failed to load[^\n]*Access Denied[^\n]*)/.exec(text)?.[1]?.trim();
}

/**
 * The firmware saying, on the console, that the image gave it nothing it will boot: OVMF refusing
 * the loader (Secure Boot) or finding no boot option, SeaBIOS finding no bootable disk. These are
 * the image's defects, reported as failures, not as a timeout.
 */
export function bootRefusal(text: string): string | undefined {
  const refused = firmwareRefusal(text);
  if (refused) return `the firmware refused the loader: ${refused}`;
  const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  const nothing = /(BdsDxe: No bootable option or device was found\.?)/.exec(clean)?.[1];
  if (nothing) return `the firmware found nothing to boot: ${nothing}${/failed to load[^\n]*Not Found/.test(clean) ? ' (no EFI loader on the disk)' : ''}`;
  // OVMF builds with the UEFI shell fall through to it when the disk has no loader; its prompt
  // (after any startup.nsh has run) means nothing will boot.
  if (/UEFI Interactive Shell/.test(clean) && /^Shell> /m.test(clean)) {
    const notFound = /(BdsDxe: failed to load [^\n]*Not Found)/.exec(clean)?.[1]?.trim();
    return `the firmware found nothing to boot and stopped at the UEFI shell prompt${notFound ? `: ${notFound} (no EFI loader on the disk)` : ''}`;
  }
  const seabios = /(No bootable device\.?)/.exec(clean)?.[1] ?? /(Boot failed: not a bootable disk)/.exec(clean)?.[1];
  if (seabios && /No bootable device/.test(clean)) return `the BIOS found nothing to boot: ${seabios}`;
  return undefined;
}

/** The last `count` non-empty lines, without ANSI escapes and control characters. */
export function lastLines(text: string, count: number): string {
  return text
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-count)
    .join('\n');
}
