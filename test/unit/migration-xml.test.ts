import { describe, expect, it } from 'vitest';
import { disksOf, migrationXml, nvramPathOf, parseDomJobInfo, stripBackingStores } from '../../src/hosts/migration.js';
import { libvirtMessage, refuseVirsh } from '../../src/runner/guest-migration.js';

/** `virsh domjobinfo --completed --keep-completed --rawstats` on the destination, libvirt 9.0 (seen on the lab). */
const RAWSTATS = `Job type: 3

operation: 4
time_elapsed: 1833
time_elapsed_net: 1815
downtime: 432
downtime_net: 414
setup_time: 22
data_total: 273031168
data_processed: 45080011
data_remaining: 0
memory_total: 273031168
memory_processed: 45080011
memory_remaining: 0
memory_bps: 88582851
memory_constant: 55803
memory_normal: 10862
memory_normal_bytes: 44490752
memory_dirty_rate: 0
memory_iteration: 3
memory_postcopy_requests: 0
memory_page_size: 4096
disk_total: 0
disk_processed: 0
disk_remaining: 0
`;

/** The same job without --rawstats. */
const HUMAN = `Job type:         Completed
Operation:        Incoming migration
Time elapsed:     1833         ms
Time elapsed w/o network: 1815         ms
Data processed:   42.992 MiB
Data remaining:   0.000 B
Data total:       260.383 MiB
Memory processed: 42.992 MiB
Memory remaining: 0.000 B
Memory total:     260.383 MiB
Memory bandwidth: 84.479 MiB/s
Dirty rate:       0            pages/s
Page size:        4096         bytes
Iteration:        3
Postcopy requests: 0
Constant pages:   55803
Normal pages:     10862
Normal data:      42.430 MiB
Total downtime:   432          ms
Downtime w/o network: 414          ms
Setup time:       22           ms
`;

/** `virsh dumpxml --migratable` of a lab guest (UEFI, overlay on a base, seed CD-ROM, serial to a file), trimmed. */
const MIGRATABLE = `<domain type='qemu'>
  <name>imgtest-run1-g1</name>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/imgtest-run1-g1_VARS.fd</nvram>
    <boot dev='hd'/>
  </os>
  <cpu mode='custom' match='exact' check='full'>
    <model fallback='forbid'>qemu64</model>
  </cpu>
  <devices>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source pool='imgtest' volume='imgtest-run1-g1.qcow2'/>
      <backingStore type='file'>
        <format type='qcow2'/>
        <source file='/var/lib/imgtest/images/imgtest-run1-base.qcow2'/>
        <backingStore/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='volume' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source pool='imgtest' volume='imgtest-run1-g1-seed.iso'/>
      <target dev='sda' bus='scsi'/>
      <readonly/>
    </disk>
    <serial type='file'>
      <source path='/var/lib/imgtest/images/imgtest-run1-g1.serial.log' append='off'/>
      <target type='isa-serial' port='0'/>
    </serial>
    <console type='file'>
      <source path='/var/lib/imgtest/images/imgtest-run1-g1.serial.log' append='off'/>
      <target type='serial' port='0'/>
    </console>
  </devices>
</domain>
`;

describe('parseDomJobInfo', () => {
  it('reads --rawstats', () => {
    const stats = parseDomJobInfo(RAWSTATS);
    expect(stats).toMatchObject({
      timeElapsedMs: 1833,
      downtimeMs: 432,
      setupTimeMs: 22,
      dataProcessedBytes: 45080011,
      memoryProcessedBytes: 45080011,
      memoryTotalBytes: 273031168,
      diskProcessedBytes: 0,
      memoryIterations: 3,
      memoryDirtyRatePagesPerSecond: 0,
    });
    expect(stats.raw['memory_bps']).toBe('88582851');
  });

  it('reads the human form, converting units', () => {
    const stats = parseDomJobInfo(HUMAN);
    expect(stats.timeElapsedMs).toBe(1833);
    expect(stats.downtimeMs).toBe(432);
    expect(stats.setupTimeMs).toBe(22);
    expect(stats.memoryIterations).toBe(3);
    expect(stats.dataProcessedBytes).toBe(Math.round(42.992 * 2 ** 20));
    expect(stats.memoryTotalBytes).toBe(Math.round(260.383 * 2 ** 20));
    expect(stats.raw['Operation']).toBe('Incoming migration');
  });

  it('has nothing for empty output (no completed job)', () => {
    expect(parseDomJobInfo('')).toEqual({
      raw: {},
      timeElapsedMs: undefined,
      downtimeMs: undefined,
      setupTimeMs: undefined,
      dataProcessedBytes: undefined,
      memoryProcessedBytes: undefined,
      memoryTotalBytes: undefined,
      diskProcessedBytes: undefined,
      memoryIterations: undefined,
      memoryDirtyRatePagesPerSecond: undefined,
    });
  });
});

describe('domain XML for a move', () => {
  it('finds the NVRAM file of a UEFI guest, none for BIOS', () => {
    expect(nvramPathOf(MIGRATABLE)).toBe('/var/lib/libvirt/qemu/nvram/imgtest-run1-g1_VARS.fd');
    expect(nvramPathOf('<domain><os><type>hvm</type></os></domain>')).toBeUndefined();
  });

  it('lists disks with cache, read-only and volume', () => {
    const disks = disksOf(MIGRATABLE);
    expect(disks.map(({ xml: _xml, ...d }) => d)).toEqual([
      { type: 'volume', device: 'disk', readonly: false, target: 'vda', bus: 'virtio', driverType: 'qcow2', cache: 'none', pool: 'imgtest', volume: 'imgtest-run1-g1.qcow2', file: undefined },
      { type: 'volume', device: 'cdrom', readonly: true, target: 'sda', bus: 'scsi', driverType: 'raw', cache: undefined, pool: 'imgtest', volume: 'imgtest-run1-g1-seed.iso', file: undefined },
    ]);
  });

  it('strips nested backing chains', () => {
    const chain = `<disk><source file='/a'/><backingStore type='file'><source file='/b'/><backingStore type='file'><source file='/c'/><backingStore/></backingStore></backingStore><target dev='vda'/></disk>`;
    expect(stripBackingStores(chain)).toBe(`<disk><source file='/a'/><target dev='vda'/></disk>`);
  });

  it('copy mode: the overlay becomes a file disk on the destination path, the CD-ROM stays a volume, the console appends', () => {
    const xml = migrationXml({
      xml: MIGRATABLE,
      copiedDiskPaths: new Map([['imgtest-run1-g1.qcow2', '/srv/pool2/imgtest-run1-g1.qcow2']]),
      sourcePool: 'imgtest',
      destinationPool: 'imgtest',
      sourcePoolPath: '/var/lib/imgtest/images',
      destinationPoolPath: '/var/lib/imgtest/images',
    });
    expect(xml).toContain(
      `<disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2' cache='none'/>\n      <source file='/srv/pool2/imgtest-run1-g1.qcow2'/>\n      <target dev='vda' bus='virtio'/>`,
    );
    expect(xml).not.toContain('backingStore');
    expect(xml).toContain(`<disk type='volume' device='cdrom'>`);
    expect(xml).toContain(`<source pool='imgtest' volume='imgtest-run1-g1-seed.iso'/>`);
    expect(xml.match(/append='on'/g)).toHaveLength(2);
    expect(xml).not.toContain(`append='off'`);
    // Guest-visible parts are untouched.
    expect(xml).toContain(`<model fallback='forbid'>qemu64</model>`);
    expect(xml).toContain(`<nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/imgtest-run1-g1_VARS.fd</nvram>`);
  });

  it('copy mode back from a file disk (an earlier leg) to a host whose pool has another name and folder', () => {
    const earlier = migrationXml({
      xml: MIGRATABLE,
      copiedDiskPaths: new Map([['imgtest-run1-g1.qcow2', '/var/lib/imgtest/images/imgtest-run1-g1.qcow2']]),
      sourcePool: 'imgtest',
      destinationPool: 'imgtest',
      sourcePoolPath: '/var/lib/imgtest/images',
      destinationPoolPath: '/var/lib/imgtest/images',
    });
    const back = migrationXml({
      xml: earlier,
      copiedDiskPaths: new Map([['imgtest-run1-g1.qcow2', '/data/other/imgtest-run1-g1.qcow2']]),
      sourcePool: 'imgtest',
      destinationPool: 'other',
      sourcePoolPath: '/var/lib/imgtest/images',
      destinationPoolPath: '/data/other',
    });
    expect(back).toContain(`<source file='/data/other/imgtest-run1-g1.qcow2'/>`);
    expect(back).toContain(`<source pool='other' volume='imgtest-run1-g1-seed.iso'/>`);
    expect(back).toContain(`<source path='/data/other/imgtest-run1-g1.serial.log' append='on'/>`);
  });

  it('shared mode: disks untouched, the shared console log continued', () => {
    const xml = migrationXml({
      xml: MIGRATABLE,
      sourcePool: 'imgtest-shared',
      destinationPool: 'imgtest-shared',
      sourcePoolPath: '/var/lib/imgtest/shared',
      destinationPoolPath: '/var/lib/imgtest/shared',
    });
    expect(xml).toContain(`<source pool='imgtest' volume='imgtest-run1-g1.qcow2'/>`);
    expect(xml).toContain('backingStore');
    expect(xml).toContain(`<source path='/var/lib/imgtest/images/imgtest-run1-g1.serial.log' append='on'/>`);
  });

  it('adds append to a file console that has none', () => {
    const xml = migrationXml({
      xml: `<serial type='file'><source path='/p/x.log'/><target port='0'/></serial>`,
      sourcePool: 'a',
      destinationPool: 'a',
      sourcePoolPath: '/p',
      destinationPoolPath: '/p',
    });
    expect(xml).toBe(`<serial type='file'><source path='/p/x.log' append='on'/><target port='0'/></serial>`);
  });
});

describe('what suites may ask virsh', () => {
  it('allows read-only queries', () => {
    expect(refuseVirsh(['domjobinfo', 'g1', '--completed'], 'g1')).toBeUndefined();
    expect(refuseVirsh(['hypervisor-cpu-compare', '/tmp/cpu.xml', '--virttype', 'qemu'], 'g1')).toBeUndefined();
    expect(refuseVirsh(['domstate', 'g1'], 'g1')).toBeUndefined();
    expect(refuseVirsh(['qemu-agent-command', 'g1', '{"execute":"guest-ping"}', '--timeout', '10'], 'g1')).toBeUndefined();
  });

  it('refuses anything that changes something, other guests, and command strings', () => {
    expect(refuseVirsh(['destroy', 'g1'], 'g1')).toMatch(/not a read-only query/);
    expect(refuseVirsh(['migrate', 'g1', 'qemu+tcp://x/system'], 'g1')).toMatch(/not a read-only query/);
    expect(refuseVirsh(['list; destroy g1'], 'g1')).toMatch(/not a read-only query/);
    expect(refuseVirsh([], 'g1')).toMatch(/nothing/);
    expect(refuseVirsh(['domtime', 'g1', '--sync'], 'g1')).toMatch(/only reading/);
    expect(refuseVirsh(['qemu-agent-command', 'other', '{"execute":"guest-ping"}'], 'g1')).toMatch(/only for this guest/);
    expect(refuseVirsh(['qemu-agent-command', 'g1', '{"execute":"guest-exec","arguments":{"path":"/bin/rm"}}'], 'g1')).toMatch(/guest-exec is not a read-only/);
    expect(refuseVirsh(['qemu-agent-command', 'g1', 'not json'], 'g1')).toMatch(/one JSON object/);
  });
});

describe('libvirtMessage', () => {
  it("keeps libvirt's error lines", () => {
    expect(libvirtMessage('error: Unsafe migration: Migration without shared storage is unsafe\n')).toBe('Unsafe migration: Migration without shared storage is unsafe');
    expect(libvirtMessage('warning: x\nerror: operation failed: a\nerror: b\n')).toBe('operation failed: a | b');
    expect(libvirtMessage('something odd\n')).toBe('something odd');
    expect(libvirtMessage('')).toMatch(/without a message/);
  });
});
