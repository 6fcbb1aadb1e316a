/** A CycloneDX 1.5 JSON SBOM of the image's installed Debian packages. Pure: time and serial are passed in. */
import type { PackageEntry } from './dpkg.js';
import type { OsRelease } from './os-release.js';

/**
 * A purl for a Debian package (purl-spec, type `deb`): `pkg:deb/debian/openssh-server@1:9.2p1-2%2Bdeb12u10?arch=amd64&distro=debian-12`.
 * The version is percent-encoded except `:` (as packageurl-js does); qualifiers are sorted by key.
 */
export function debPurl(pkg: Pick<PackageEntry, 'name' | 'version' | 'arch'>, os: Pick<OsRelease, 'id' | 'versionId'>): string {
  const namespace = encodeURIComponent(os.id);
  const name = encodeURIComponent(pkg.name);
  const version = encodeURIComponent(pkg.version).replace(/%3A/gi, ':');
  const qualifiers: [string, string][] = [['arch', pkg.arch]];
  if (os.versionId) qualifiers.push(['distro', `${os.id}-${os.versionId}`]);
  const query = qualifiers
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
  return `pkg:deb/${namespace}/${name}@${version}?${query}`;
}

export interface SbomInput {
  packages: readonly PackageEntry[];
  os: OsRelease;
  image: { name: string; sha256: string; path: string };
  toolVersion?: string;
  /** ISO timestamp. */
  timestamp: string;
  /** A UUID for the serial number. */
  serial: string;
}

export function buildSbom(input: SbomInput): Record<string, unknown> {
  const { os } = input;
  const seen = new Set<string>();
  const components: Record<string, unknown>[] = [];
  for (const p of [...input.packages].sort((a, b) => a.name.localeCompare(b.name) || a.arch.localeCompare(b.arch))) {
    const purl = debPurl(p, os);
    if (seen.has(purl)) continue;
    seen.add(purl);
    const properties = [
      { name: 'imgtest:deb:source', value: p.source },
      { name: 'imgtest:deb:source-version', value: p.sourceVersion },
      { name: 'imgtest:deb:status', value: `${p.want} ${p.flag} ${p.state}` },
    ];
    components.push({ type: 'library', 'bom-ref': purl, name: p.name, version: p.version, purl, properties });
  }
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.5.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${input.serial}`,
    version: 1,
    metadata: {
      timestamp: input.timestamp,
      tools: { components: [{ type: 'application', name: 'imgtest', ...(input.toolVersion ? { version: input.toolVersion } : {}), description: 'package-audit suite' }] },
      component: {
        type: 'operating-system',
        'bom-ref': `image:${input.image.sha256}`,
        name: os.id,
        ...(os.versionId ? { version: os.versionId } : {}),
        description: os.prettyName ?? os.id,
        hashes: /^[0-9a-f]{64}$/.test(input.image.sha256) ? [{ alg: 'SHA-256', content: input.image.sha256 }] : undefined,
        properties: [
          { name: 'imgtest:image:name', value: input.image.name },
          { name: 'imgtest:image:path', value: input.image.path },
          ...(os.versionCodename ? [{ name: 'imgtest:os:codename', value: os.versionCodename }] : []),
        ],
      },
    },
    components,
  };
}
