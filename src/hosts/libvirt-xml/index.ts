/**
 * libvirt XML, read and written as a tree (as avocado-vt's `virttest/libvirt_xml` does), never with
 * regular expressions: domains, domain capabilities, capabilities, storage pools, networks, and the
 * rewrite of a domain for its migration destination.
 */
export * from './tree.js';
export * from './domain.js';
export * from './capabilities.js';
export * from './pool.js';
export * from './network.js';
