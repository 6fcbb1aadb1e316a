import { describe, expect, it } from 'vitest';
import {
  mountPointsUnder,
  mountsToDrop,
  parseCapabilitiesHostUuid,
  parseDnsmasqLeases,
  parseDomainNames,
  parseLinkNames,
  parseMountInfo,
  parseNetnsNames,
  parsePoolInfo,
  parseVirshVersion,
  splitVirshBatch,
  virshBatch,
} from '../../src/lab/parse.js';

const CAPABILITIES = `<capabilities>

  <host>
    <uuid>6C61622D-696D-6774-6573-740000000001</uuid>
    <cpu>
      <arch>x86_64</arch>
    </cpu>
    <secmodel>
      <model>none</model>
      <doi>0</doi>
    </secmodel>
  </host>

  <guest>
    <os_type>hvm</os_type>
    <uuid>00000000-0000-0000-0000-000000000000</uuid>
  </guest>
</capabilities>
`;

describe('virsh output', () => {
  it('reads the host UUID from <host>, not from elsewhere', () => {
    expect(parseCapabilitiesHostUuid(CAPABILITIES)).toBe('6c61622d-696d-6774-6573-740000000001');
    expect(parseCapabilitiesHostUuid('<capabilities><guest><uuid>00000000-0000-0000-0000-000000000000</uuid></guest></capabilities>')).toBeUndefined();
  });

  it('reads libvirt and QEMU versions (from a remote connection: daemon version)', () => {
    const remote = 'Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\nRunning hypervisor: QEMU 7.2.22\nRunning against daemon: 9.0.0\n';
    expect(parseVirshVersion(remote)).toEqual({ libvirt: '9.0.0', qemu: '7.2.22' });
    const local = 'Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\nRunning hypervisor: QEMU 7.2.22\n';
    expect(parseVirshVersion(local)).toEqual({ libvirt: '9.0.0', qemu: '7.2.22' });
  });

  it('lists domain names, ignoring the blank trailer', () => {
    expect(parseDomainNames('vm1\nimgtest-abc-clean\n\n')).toEqual(['vm1', 'imgtest-abc-clean']);
    expect(parseDomainNames('\n')).toEqual([]);
  });

  it('reads pool state and autostart', () => {
    const info = 'Name:           imgtest\nUUID:           708c8cd2-9bfe-4a02-ac89-f6a5beb1f65c\nState:          running\nPersistent:     yes\nAutostart:      yes\nCapacity:       251.97 GiB\n';
    expect(parsePoolInfo(info)).toEqual({ state: 'running', autostart: true });
    expect(parsePoolInfo('Name: imgtest\nState:          inactive\nAutostart:      no\n')).toEqual({ state: 'inactive', autostart: false });
    expect(parsePoolInfo('')).toEqual({ state: undefined, autostart: undefined });
  });

  it('runs several commands in one virsh argument and splits their outputs', () => {
    const batch = virshBatch(['hostname', 'version', 'list --name', 'capabilities']);
    expect(batch).toBe('hostname; echo @@imgtest-lab@@; version; echo @@imgtest-lab@@; list --name; echo @@imgtest-lab@@; capabilities');
    const output = 'hv1\n\n@@imgtest-lab@@\nRunning hypervisor: QEMU 7.2.22\n\n@@imgtest-lab@@\n\n@@imgtest-lab@@\n<capabilities>\n</capabilities>\n';
    expect(splitVirshBatch(output)).toEqual(['hv1', 'Running hypervisor: QEMU 7.2.22', '', '<capabilities>\n</capabilities>']);
  });
});

const MOUNTINFO = [
  '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
  '42 27 254:0 /run/netns /run/netns rw,relatime shared:1 - ext4 /dev/vda rw',
  '43 42 0:4 net:[4026532177] /run/netns/imgtest-lab rw shared:2 - nsfs nsfs rw',
  '46 27 254:0 /var/lib/imgtest-lab/ns /var/lib/imgtest-lab/ns rw,relatime - ext4 /dev/vda rw',
  '73 46 0:4 uts:[4026532401] /var/lib/imgtest-lab/ns/hv2.uts rw - nsfs nsfs rw',
  '74 46 0:4 mnt:[4026532395] /var/lib/imgtest-lab/ns/hv2.mnt rw - nsfs nsfs rw',
  '80 27 254:0 /srv/a\\040b /mnt/with\\040space rw - ext4 /dev/vda rw',
  '90 27 254:0 / /var/lib/imgtest-lab-other rw - ext4 /dev/vda rw',
  '',
].join('\n');

describe('mountinfo', () => {
  const entries = parseMountInfo(MOUNTINFO);

  it('reads mountpoints, filesystem types and propagation', () => {
    expect(entries).toHaveLength(8);
    expect(entries[1]).toMatchObject({ id: 42, parentId: 27, mountPoint: '/run/netns', fsType: 'ext4', propagation: ['shared:1'] });
    expect(entries[4]).toMatchObject({ mountPoint: '/var/lib/imgtest-lab/ns/hv2.uts', fsType: 'nsfs', root: 'uts:[4026532401]', propagation: [] });
  });
  it('unescapes octal escapes', () => {
    expect(entries[6]).toMatchObject({ root: '/srv/a b', mountPoint: '/mnt/with space' });
  });
  it('drops everything but the system mounts from a new host’s copy of the tree, top-most first', () => {
    const copy = parseMountInfo(
      [
        ...MOUNTINFO.trim().split('\n'),
        '50 27 0:22 / /sys rw - sysfs sysfs rw',
        '51 50 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw',
        '52 27 0:6 / /dev rw - devtmpfs devtmpfs rw',
        '53 52 0:26 / /dev/pts rw - devpts devpts rw',
        '54 27 0:5 / /proc rw - proc proc rw',
        '55 27 7:0 / /var/cache/imgtest/fixtures/.work-x/root rw - ext4 /dev/loop0 rw',
        '56 55 0:39 / /var/cache/imgtest/fixtures/.work-x/root/proc rw - proc proc rw',
        '57 27 254:1 / /home rw - ext4 /dev/vdb rw',
        '58 27 0:40 / /run/user/0 rw - tmpfs tmpfs rw',
      ].join('\n'),
    );
    expect(mountsToDrop(copy)).toEqual(['/mnt/with space', '/run/netns', '/run/user/0', '/var/cache/imgtest/fixtures/.work-x/root', '/var/lib/imgtest-lab-other', '/var/lib/imgtest-lab/ns']);
    expect(mountsToDrop(parseMountInfo('27 1 254:0 / / rw - ext4 /dev/vda rw\n54 27 0:5 / /proc rw - proc proc rw\n'))).toEqual([]);
  });

  it('orders mounts under a folder for unmounting: deepest and newest first, siblings by name prefix excluded', () => {
    expect(mountPointsUnder(entries, '/var/lib/imgtest-lab')).toEqual(['/var/lib/imgtest-lab/ns/hv2.mnt', '/var/lib/imgtest-lab/ns/hv2.uts', '/var/lib/imgtest-lab/ns']);
    expect(mountPointsUnder(entries, '/nowhere')).toEqual([]);
  });
});

describe('lab files and ip output', () => {
  it('reads dnsmasq leases', () => {
    const text = '1795638363 d6:2e:87:E6:44:ab 10.78.0.166 vm *\n1795638400 52:54:00:12:34:56 10.78.0.101 * 01:52:54:00:12:34:56\n\n';
    expect(parseDnsmasqLeases(text)).toEqual([
      { expires: 1795638363, mac: 'd6:2e:87:e6:44:ab', address: '10.78.0.166', hostname: 'vm' },
      { expires: 1795638400, mac: '52:54:00:12:34:56', address: '10.78.0.101', hostname: undefined },
    ]);
    expect(parseDnsmasqLeases('duid 00:01:00:01\n')).toEqual([]);
  });

  it('reads interface names from `ip -o link`, without the @peer suffix', () => {
    const output = [
      '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00',
      '18: itl-m-root@if4: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether 06:74:d5:42:10:d6 brd ff:ff:ff:ff:ff:ff link-netns imgtest-lab',
      '4: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc pfifo_fast state UP',
    ].join('\n');
    expect(parseLinkNames(output)).toEqual(['lo', 'itl-m-root', 'eth0']);
  });

  it('reads `ip netns list` with and without ids', () => {
    expect(parseNetnsNames('imgtest-hv2\nimgtest-hv1\nimgtest-lab (id: 0)\n')).toEqual(['imgtest-hv2', 'imgtest-hv1', 'imgtest-lab']);
    expect(parseNetnsNames('')).toEqual([]);
  });
});
