/** /etc/os-release (os-release(5)): which distribution, and whether dpkg's checks apply to it. */

export interface OsRelease {
  /** Lower-case id, e.g. `debian`, `ubuntu`, `fedora` (os-release's default is `linux`). */
  id: string;
  idLike: string[];
  versionId?: string;
  versionCodename?: string;
  prettyName?: string;
  fields: Record<string, string>;
}

/** Unquotes one os-release value: shell-style double or single quotes, backslash escapes in double quotes. */
function unquote(raw: string): string {
  const value = raw.trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1);
  return value;
}

export function parseOsRelease(text: string): OsRelease {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match) fields[match[1]!] = unquote(match[2]!);
  }
  const id = (fields.ID || 'linux').toLowerCase();
  return {
    id,
    idLike: (fields.ID_LIKE ?? '').toLowerCase().split(/\s+/).filter(Boolean),
    versionId: fields.VERSION_ID || undefined,
    versionCodename: fields.VERSION_CODENAME || fields.UBUNTU_CODENAME || undefined,
    prettyName: fields.PRETTY_NAME || undefined,
    fields,
  };
}

const DPKG_FAMILY = ['debian', 'ubuntu'];

/** Debian, Ubuntu and their derivatives (ID_LIKE naming either). */
export function isDpkgFamily(os: OsRelease): boolean {
  return DPKG_FAMILY.includes(os.id) || os.idLike.some((like) => DPKG_FAMILY.includes(like));
}

export function describeOs(os: OsRelease): string {
  const name = os.prettyName ?? `${os.id}${os.versionId ? ` ${os.versionId}` : ''}`;
  return `${name} (ID=${os.id}${os.idLike.length ? `, ID_LIKE=${os.idLike.join(' ')}` : ''})`;
}
