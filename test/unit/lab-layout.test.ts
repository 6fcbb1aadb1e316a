import { describe, expect, it } from 'vitest';
import { labHosts } from '../../src/lab/index.js';
import { rootMountpoints } from '../../src/lab/host-namespace.js';
import {
  GUEST_BRIDGE,
  HOST_GUEST_BRIDGE,
  HOST_SPECS,
  LINK_PREFIX,
  MGMT_BRIDGE,
  NS_PREFIX,
  POOL_NAME,
  POOL_TARGET,
  ROOT_LINKS,
  SHARED_POOL_NAME,
  SHARED_POOL_TARGET,
  labPaths,
  peerOf,
  stateDir,
} from '../../src/lab/layout.js';

const allLinkNames = [
  MGMT_BRIDGE,
  GUEST_BRIDGE,
  ...Object.values(ROOT_LINKS).flatMap((l) => [l.root, l.lab]),
  ...HOST_SPECS.flatMap((h) => [h.mgmtLink.host, h.mgmtLink.lab, h.guestLink.host, h.guestLink.lab]),
];

describe('lab layout', () => {
  it('names every interface it makes with its prefix, within the kernel’s 15 characters, without clashes', () => {
    for (const name of allLinkNames) {
      expect(name.startsWith(LINK_PREFIX), name).toBe(true);
      expect(name.length, name).toBeLessThanOrEqual(15);
    }
    expect(new Set(allLinkNames).size).toBe(allLinkNames.length);
    expect(HOST_GUEST_BRIDGE).toBe('brg');
  });

  it('has two hosts with distinct names, addresses, namespaces and valid distinct host UUIDs', () => {
    expect(HOST_SPECS.map((h) => h.name)).toEqual(['hv1', 'hv2']);
    expect(HOST_SPECS.map((h) => h.managementAddress)).toEqual(['10.77.0.1', '10.77.0.2']);
    expect(HOST_SPECS.map((h) => h.netns)).toEqual([`${NS_PREFIX}hv1`, `${NS_PREFIX}hv2`]);
    const uuids = HOST_SPECS.map((h) => h.hostUuid);
    for (const uuid of uuids) expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(new Set(uuids).size).toBe(2);
    expect(peerOf(HOST_SPECS[0]!).name).toBe('hv2');
    expect(peerOf(HOST_SPECS[1]!).name).toBe('hv1');
  });

  it('keeps its state in /var/lib/imgtest-lab unless IMGTEST_LAB_DIR says otherwise', () => {
    expect(stateDir({})).toBe('/var/lib/imgtest-lab');
    expect(stateDir({ IMGTEST_LAB_DIR: '/tmp/lab-x/' })).toBe('/tmp/lab-x');
    expect(() => stateDir({ IMGTEST_LAB_DIR: 'relative/dir' })).toThrow(/absolute/);
    expect(() => stateDir({ IMGTEST_LAB_DIR: '/tmp' })).toThrow(/too close/);
    expect(() => stateDir({ IMGTEST_LAB_DIR: '/' })).toThrow(/too close/);
    expect(() => stateDir({ IMGTEST_LAB_DIR: `/tmp/${'x'.repeat(80)}` })).toThrow(/longer than/);
  });

  it('binds each host folder over the libvirt folders, with the socket where the fallback URI expects it', () => {
    const hv1 = labPaths('/s').host('hv1');
    expect(hv1.binds).toEqual([
      { source: '/s/hv1/etc/libvirt', target: '/etc/libvirt' },
      { source: '/s/hv1/run/libvirt', target: '/run/libvirt' },
      { source: '/s/hv1/var/lib/libvirt', target: '/var/lib/libvirt' },
      { source: '/s/hv1/var/log/libvirt', target: '/var/log/libvirt' },
      { source: '/s/hv1/var/cache/libvirt', target: '/var/cache/libvirt' },
    ]);
    expect(hv1.libvirtSocket).toBe('/s/hv1/run/libvirt/libvirt-sock');
    expect(hv1.mountNs).toBe('/s/ns/hv1.mnt');
  });

  it('gives each host its own image folder and both the one shared folder, at fixed paths inside', () => {
    const [hv1, hv2] = [labPaths('/s').host('hv1'), labPaths('/s').host('hv2')];
    expect([hv1.images, hv2.images]).toEqual(['/s/hv1/images', '/s/hv2/images']);
    expect([hv1.sharedImages, hv2.sharedImages]).toEqual(['/s/shared', '/s/shared']);
    expect(rootMountpoints(hv1)).toEqual(['/etc/libvirt', '/var/lib/libvirt', '/var/log/libvirt', '/var/cache/libvirt', POOL_TARGET, SHARED_POOL_TARGET]);
    expect([POOL_NAME, POOL_TARGET, SHARED_POOL_NAME, SHARED_POOL_TARGET]).toEqual(['imgtest', '/var/lib/imgtest/images', 'imgtest-shared', '/var/lib/imgtest/shared']);
  });

  it('describes the hosts without touching the machine', () => {
    const previous = process.env['IMGTEST_LAB_DIR'];
    process.env['IMGTEST_LAB_DIR'] = '/nonexistent/imgtest-lab-unit';
    try {
      expect(labHosts()).toEqual([
        {
          name: 'hv1',
          uri: 'qemu+ssh://root@10.77.0.1/system?keyfile=/nonexistent/imgtest-lab-unit/ssh/id_ed25519&command=/nonexistent/imgtest-lab-unit/ssh/ssh',
          migrationUri: 'qemu+tcp://10.77.0.1/system',
          managementAddress: '10.77.0.1',
          pool: 'imgtest',
          sharedPool: 'imgtest-shared',
        },
        {
          name: 'hv2',
          uri: 'qemu+ssh://root@10.77.0.2/system?keyfile=/nonexistent/imgtest-lab-unit/ssh/id_ed25519&command=/nonexistent/imgtest-lab-unit/ssh/ssh',
          migrationUri: 'qemu+tcp://10.77.0.2/system',
          managementAddress: '10.77.0.2',
          pool: 'imgtest',
          sharedPool: 'imgtest-shared',
        },
      ]);
    } finally {
      if (previous === undefined) delete process.env['IMGTEST_LAB_DIR'];
      else process.env['IMGTEST_LAB_DIR'] = previous;
    }
  });
});
