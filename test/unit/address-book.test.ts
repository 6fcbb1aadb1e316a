/** The run's address book (src/runner/address-book.ts): which second claim of an address is a clash. */
import { describe, expect, it } from 'vitest';
import { GuestAddressBook, sharedAddressMessage } from '../../src/runner/address-book.js';

const g1 = { domain: 'imgtest-r-g1', mac: '52:54:00:00:00:01' };
const g2 = { domain: 'imgtest-r-g2', mac: '52:54:00:00:00:02' };

describe('GuestAddressBook', () => {
  it('a second guest on the same host given the same address gets the first one back', () => {
    const book = new GuestAddressBook();
    expect(book.claim('hv1', '10.78.0.85', g1)).toBeUndefined();
    expect(book.claim('hv1', '10.78.0.85', g2)).toEqual(g1);
  });

  it('the same guest (or NIC) claiming its address again is no clash, nor is the same address on another host', () => {
    const book = new GuestAddressBook();
    book.claim('hv1', '10.78.0.85', g1);
    expect(book.claim('hv1', '10.78.0.85', g1)).toBeUndefined();
    expect(book.claim('hv1', '10.78.0.85', { domain: 'imgtest-r-g1t', mac: g1.mac })).toBeUndefined();
    expect(book.claim('hv2', '10.78.0.85', g2)).toBeUndefined();
  });

  it('a released guest (discarded to boot again) no longer holds its address', () => {
    const book = new GuestAddressBook();
    book.claim('hv1', '10.78.0.85', g1);
    book.release(g1.domain);
    expect(book.claim('hv1', '10.78.0.85', g2)).toBeUndefined();
  });

  it('the message names both guests, both MACs, the host and the likely cause', () => {
    const text = sharedAddressMessage(g2.domain, g2.mac, '10.78.0.85', g1, 'hv1');
    expect(text).toContain('imgtest-r-g2 (52:54:00:00:00:02) was given 10.78.0.85, which imgtest-r-g1 (52:54:00:00:00:01) on hv1 already has');
    expect(text).toMatch(/machine-id/);
  });
});
