/**
 * The addresses a run's guests were given, per host, so a second guest given an address another
 * guest of the run already holds is told at once and in words, instead of timing out on SSH (the
 * two NICs answer ARP for one address; each guest's SSH goes to whichever answers).
 *
 * Per host: guests on one host share its network. Two hosts may each have a NAT network of their own
 * (libvirt's `default`), where one address on both is normal.
 */
export interface AddressHolder {
  domain: string;
  mac: string;
}

export class GuestAddressBook {
  private readonly byHost = new Map<string, Map<string, AddressHolder>>();

  /** Records `address` for the guest; returns the other guest already holding it on that host, if any. */
  claim(host: string, address: string, holder: AddressHolder): AddressHolder | undefined {
    let addresses = this.byHost.get(host);
    if (!addresses) this.byHost.set(host, (addresses = new Map()));
    const other = addresses.get(address);
    if (other && other.domain !== holder.domain && other.mac !== holder.mac) return other;
    addresses.set(address, holder);
    return undefined;
  }

  /** Forgets what a guest held (it was discarded, e.g. to boot again under TCG). */
  release(domain: string): void {
    for (const addresses of this.byHost.values()) {
      for (const [address, holder] of addresses) if (holder.domain === domain) addresses.delete(address);
    }
  }
}

/**
 * Why two NICs of one run got one address: a DHCP server that leases by client identifier (dnsmasq's
 * default, so libvirt's networks) gives one address to clients sending the same identifier, and
 * systemd-networkd and dhcpcd derive it from /etc/machine-id (an RFC 4361 DUID), which an image
 * that bakes one makes the same in every clone.
 */
export function sharedAddressMessage(domain: string, mac: string, address: string, other: AddressHolder, host: string): string {
  return (
    `${domain} (${mac}) was given ${address}, which ${other.domain} (${other.mac}) on ${host} already has: ` +
    'the DHCP server leased one address to two NICs, so both guests sent it the same DHCP client identifier. ' +
    'systemd-networkd and dhcpcd derive it from /etc/machine-id: the image most likely bakes one machine-id into every clone (see hyg-machine-id). ' +
    'A DHCP server that leases by MAC, as clouds do (dnsmasq --dhcp-ignore-clid; the imgtest lab does), gives each guest its own address'
  );
}
