/** Typed reading of `virsh domcapabilities` and `virsh capabilities`, over the parsed tree of ./tree.ts. */
import { attr, child, children, path, text, tryParseXml, type Element } from './tree.js';

export interface DomainCapabilities {
  /** `<domain>`: kvm or qemu (TCG). */
  domainType?: string;
  machine?: string;
  /** `<os><enum name='firmware'>` values, e.g. ['efi']. */
  firmware: string[];
  /** `<os><loader>` values: the UEFI code builds libvirt may pick (from the host's firmware descriptors). */
  loaders: string[];
  /** `<loader><enum name='secure'>` values: 'yes' means a Secure Boot build (which needs SMM) is usable. */
  secure: string[];
}

const supported = (element: Element | undefined): Element | undefined => (attr(element, 'supported') === 'yes' ? element : undefined);

/** The `<value>`s of the `<enum name=NAME>` child of `element`. */
function enumValues(element: Element | undefined, name: string): string[] {
  const list = element ? children(element, 'enum').find((e) => attr(e, 'name') === name) : undefined;
  return list ? values(list) : [];
}

function values(element: Element): string[] {
  return children(element, 'value').map((value) => text(value) ?? '');
}

/**
 * `virsh domcapabilities`: the domain type, and what it says about UEFI firmware. Output that is not
 * XML reads as no capabilities.
 */
export function readDomainCapabilities(xml: string): DomainCapabilities {
  const root = tryParseXml(xml);
  const os = supported(child(root, 'os'));
  const loader = supported(child(os, 'loader'));
  return {
    domainType: text(child(root, 'domain')),
    machine: text(child(root, 'machine')),
    firmware: enumValues(os, 'firmware'),
    loaders: loader ? values(loader) : [],
    secure: enumValues(loader, 'secure'),
  };
}

/** The `<host><uuid>` of `virsh capabilities` (the daemon's host_uuid), lower case. */
export function readCapabilitiesHostUuid(xml: string): string | undefined {
  const uuid = text(path(tryParseXml(xml), 'host', 'uuid'));
  return uuid && /^[0-9a-f-]{36}$/i.test(uuid) ? uuid.toLowerCase() : undefined;
}
