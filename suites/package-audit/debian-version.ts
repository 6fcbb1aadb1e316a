/**
 * Debian version ordering, exactly as dpkg compares (`dpkg --compare-versions`, lib/dpkg/version.c):
 * `[epoch:]upstream[-revision]`. Epochs compare as numbers; upstream and revision each with
 * `verrevcmp`: alternating runs of non-digits (compared character by character, where `~` sorts
 * before everything, even the end of the string, and letters sort before all other characters) and
 * digits (compared as numbers, leading zeros ignored). A missing revision is the empty string, which
 * equals `0`.
 */

export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/** Splits a version the way dpkg's parseversion does (epoch up to the first `:`, revision after the last `-`). */
export function parseDebianVersion(text: string): DebianVersion {
  const version = text.trim();
  if (!version) throw new Error('empty Debian version');
  if (/\s/.test(version)) throw new Error(`Debian version '${text}' contains whitespace`);
  let rest = version;
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const epochText = rest.slice(0, colon);
    if (!/^\d+$/.test(epochText)) throw new Error(`Debian version '${text}': epoch '${epochText}' is not a number`);
    epoch = Number(epochText);
    if (!Number.isSafeInteger(epoch) || epoch > 2 ** 31 - 1) throw new Error(`Debian version '${text}': epoch is too big`);
    rest = rest.slice(colon + 1);
    if (!rest) throw new Error(`Debian version '${text}': nothing after the epoch`);
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const revision = hyphen >= 0 ? rest.slice(hyphen + 1) : '';
  if (!upstream) throw new Error(`Debian version '${text}': empty upstream version`);
  if (hyphen >= 0 && !revision) throw new Error(`Debian version '${text}': empty revision`);
  return { epoch, upstream, revision };
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** dpkg's order(): digits 0, letters their code, `~` -1, anything else its code + 256; the end of the string 0. */
function order(c: number | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 126) return -1; // '~'
  return c + 256;
}

/** dpkg's verrevcmp() on one part (upstream or revision). Negative, zero or positive. */
export function compareVersionPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(i < a.length ? a.charCodeAt(i) : undefined);
      const bc = order(j < b.length ? b.charCodeAt(j) : undefined);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 48) i++;
    while (b.charCodeAt(j) === 48) j++;
    while (i < a.length && j < b.length && isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && isDigit(a.charCodeAt(i))) return 1;
    if (j < b.length && isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/**
 * Compares two Debian versions: -1 when a < b, 0 when equal, 1 when a > b (same answers as
 * `dpkg --compare-versions a lt|eq|gt b`). Throws on a version dpkg would reject as unparsable.
 */
export function compareDebianVersions(a: string, b: string): -1 | 0 | 1 {
  const va = parseDebianVersion(a);
  const vb = parseDebianVersion(b);
  const sign = (n: number): -1 | 0 | 1 => (n < 0 ? -1 : n > 0 ? 1 : 0);
  if (va.epoch !== vb.epoch) return sign(va.epoch - vb.epoch);
  const upstream = compareVersionPart(va.upstream, vb.upstream);
  if (upstream) return sign(upstream);
  return sign(compareVersionPart(va.revision, vb.revision));
}
