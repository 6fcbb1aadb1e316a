import { describe, expect, it } from 'vitest';
import { renderDomainXml, type DomainSpec } from '../../src/hosts/domain-xml.js';
import {
  LibvirtXmlError,
  disksOf,
  el,
  migrationXml,
  nvramPathOf,
  readCapabilitiesHostUuid,
  readDomain,
  readDomainCapabilities,
  readNetworkIp,
  readPool,
  rewriteXml,
  serializeXml,
} from '../../src/hosts/libvirt-xml/index.js';
import { parsePoolTargetPath, parsePoolType } from '../../src/hosts/parse.js';

/** `virsh dumpxml` of a running UEFI guest on libvirt 9.0 (Debian 12): autoselected firmware expanded, with <nvram>. */
const RUNNING_UEFI = `<domain type='kvm' id='3'>
  <name>imgtest-5f2a-g1</name>
  <uuid>0f4a3c8e-2b1d-4e5f-9a6b-7c8d9e0f1a2b</uuid>
  <metadata>
    <imgtest:run xmlns:imgtest="https://imgtest.dev/xmlns/domain/1" id="5f2a"/>
  </metadata>
  <memory unit='KiB'>1048576</memory>
  <currentMemory unit='KiB'>1048576</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <resource>
    <partition>/machine</partition>
  </resource>
  <sysinfo type='smbios'>
    <system>
      <entry name='manufacturer'>imgtest</entry>
      <entry name='product'>imgtest guest</entry>
    </system>
  </sysinfo>
  <os firmware='efi'>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <firmware>
      <feature enabled='no' name='enrolled-keys'/>
      <feature enabled='no' name='secure-boot'/>
    </firmware>
    <loader readonly='yes' secure='no' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/imgtest-5f2a-g1_VARS.fd</nvram>
    <boot dev='hd'/>
  </os>
  <features>
    <acpi/>
    <apic/>
    <smm state='off'/>
  </features>
  <cpu mode='custom' match='exact' check='full'>
    <model fallback='forbid'>qemu64</model>
    <feature policy='require' name='x2apic'/>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source pool='imgtest' volume='imgtest-5f2a-g1.qcow2' index='2'/>
      <backingStore type='file' index='3'>
        <format type='qcow2'/>
        <source file='/var/lib/imgtest/images/imgtest-5f2a-base.qcow2'/>
        <backingStore/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
      <address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>
    </disk>
    <disk type='volume' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source pool='imgtest' volume='imgtest-5f2a-g1-seed.iso' index='1'/>
      <backingStore/>
      <target dev='sda' bus='scsi'/>
      <readonly/>
      <alias name='scsi0-0-0-0'/>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </disk>
    <controller type='scsi' index='0' model='virtio-scsi'>
      <alias name='scsi0'/>
    </controller>
    <interface type='bridge'>
      <mac address='52:54:00:3c:9a:11'/>
      <source bridge='brg'/>
      <target dev='vnet2'/>
      <model type='virtio'/>
      <alias name='net0'/>
    </interface>
    <serial type='file'>
      <source path='/var/lib/imgtest/images/imgtest-5f2a-g1.serial.log' append='off'/>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
      <alias name='serial0'/>
    </serial>
    <console type='file'>
      <source path='/var/lib/imgtest/images/imgtest-5f2a-g1.serial.log' append='off'/>
      <target type='serial' port='0'/>
      <alias name='serial0'/>
    </console>
    <video>
      <model type='vga' vram='16384' heads='1' primary='yes'/>
      <alias name='video0'/>
    </video>
  </devices>
  <seclabel type='dynamic' model='apparmor' relabel='yes'>
    <label>libvirt-0f4a3c8e-2b1d-4e5f-9a6b-7c8d9e0f1a2b</label>
  </seclabel>
</domain>
`;

/**
 * The same kind of guest written another way, as other tools and libvirt versions do: double quotes,
 * other attribute orders, line breaks inside tags and around values, upper-case MAC, a comment that
 * quotes elements. Each of these defeated one of the regexes this module replaced.
 */
const VARIANT = `<?xml version="1.0" encoding="UTF-8"?>
<!-- an old copy said: <os><nvram>/var/lib/libvirt/qemu/nvram/old_VARS.fd</nvram></os> -->
<domain type="kvm">
  <name>guest&amp;co</name>
  <os firmware="efi">
    <type machine="q35" arch="x86_64">hvm</type>
    <loader type="pflash" readonly="yes">
      /usr/share/OVMF/OVMF_CODE_4M.ms.fd
    </loader>
    <nvram
        template="/usr/share/OVMF/OVMF_VARS_4M.ms.fd">
      /var/lib/libvirt/qemu/nvram/guest_VARS.fd
    </nvram>
  </os>
  <devices>
    <disk device="disk" type="file">
      <target bus="virtio" dev="vda"></target>
      <source file="/srv/a b/o'brien &amp; co.qcow2"></source>
      <driver cache="writeback" type="qcow2" name="qemu"/>
    </disk>
    <disk device="cdrom"
          type="file">
      <readonly></readonly>
      <source file="/srv/seed.iso"/>
      <target dev="sda" bus="sata"/>
    </disk>
    <interface type="network">
      <model type="e1000"/>
      <source network="lab"
              portid="a0a1"/>
      <mac address="52:54:00:AB:CD:EF"/>
    </interface>
    <video><model heads="1" type="virtio"/></video>
  </devices>
</domain>`;

/** `virsh pool-dumpxml` of a dir pool on libvirt 9.0. */
const POOL = `<pool type='dir'>
  <name>imgtest</name>
  <uuid>a8845599-0a3d-445c-b403-db828ce1ae21</uuid>
  <capacity unit='bytes'>270553174016</capacity>
  <allocation unit='bytes'>26232107008</allocation>
  <available unit='bytes'>244321067008</available>
  <source>
  </source>
  <target>
    <path>/var/lib/imgtest/images</path>
    <permissions>
      <mode>0755</mode>
      <owner>0</owner>
      <group>0</group>
    </permissions>
  </target>
</pool>
`;

/** `virsh domcapabilities --virttype kvm --machine q35` on libvirt 9.0, excerpt (os, and features that follow it). */
const DOMCAPS_KVM = `<domainCapabilities>
  <path>/usr/bin/qemu-system-x86_64</path>
  <domain>kvm</domain>
  <machine>pc-q35-7.2</machine>
  <arch>x86_64</arch>
  <vcpu max='255'/>
  <iothreads supported='yes'/>
  <os supported='yes'>
    <enum name='firmware'>
      <value>efi</value>
    </enum>
    <loader supported='yes'>
      <value>/usr/share/OVMF/OVMF_CODE_4M.ms.fd</value>
      <value>/usr/share/OVMF/OVMF_CODE_4M.secboot.fd</value>
      <value>/usr/share/OVMF/OVMF_CODE_4M.fd</value>
      <enum name='type'>
        <value>rom</value>
        <value>pflash</value>
      </enum>
      <enum name='readonly'>
        <value>yes</value>
        <value>no</value>
      </enum>
      <enum name='secure'>
        <value>yes</value>
        <value>no</value>
      </enum>
    </loader>
  </os>
  <devices>
    <disk supported='yes'>
      <enum name='diskDevice'>
        <value>disk</value>
        <value>cdrom</value>
      </enum>
    </disk>
  </devices>
  <features>
    <gic supported='no'/>
    <vmcoreinfo supported='yes'/>
    <genid supported='yes'/>
    <backingStoreInput supported='yes'/>
    <backup supported='yes'/>
    <sev supported='no'/>
  </features>
</domainCapabilities>
`;

const SPEC: DomainSpec = {
  name: 'imgtest-r1-g1',
  runId: 'r1',
  virtType: 'qemu',
  memoryMiB: 1024,
  vcpus: 1,
  firmware: 'bios',
  pool: 'imgtest',
  diskVolume: 'imgtest-r1-g1.qcow2',
  seedVolume: 'imgtest-r1-g1-seed.iso',
  mac: '52:54:00:aa:bb:cc',
  network: { bridge: 'brg' },
  serialLogPath: '/var/lib/imgtest/images/imgtest-r1-g1.serial.log',
};

describe('reading a domain', () => {
  it('reads a running UEFI guest: os, loader, nvram, disks, interface, serial, video, sysinfo, metadata', () => {
    const domain = readDomain(RUNNING_UEFI);
    expect(domain).toMatchObject({ type: 'kvm', name: 'imgtest-5f2a-g1', uuid: '0f4a3c8e-2b1d-4e5f-9a6b-7c8d9e0f1a2b', runId: '5f2a', memoryMiB: 1024, vcpus: 1 });
    expect(domain.os).toEqual({
      firmware: 'efi',
      arch: 'x86_64',
      machine: 'pc-q35-7.2',
      firmwareFeatures: { 'enrolled-keys': false, 'secure-boot': false },
      loader: { path: '/usr/share/OVMF/OVMF_CODE_4M.fd', readonly: 'yes', type: 'pflash', secure: 'no' },
      nvram: { path: '/var/lib/libvirt/qemu/nvram/imgtest-5f2a-g1_VARS.fd', template: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
      bootDevices: ['hd'],
      biosUseSerial: false,
    });
    expect(domain.features).toEqual(['acpi', 'apic']);
    expect(domain.disks.map(({ xml: _xml, ...d }) => d)).toEqual([
      { type: 'volume', device: 'disk', readonly: false, target: 'vda', bus: 'virtio', driverType: 'qcow2', cache: 'none', pool: 'imgtest', volume: 'imgtest-5f2a-g1.qcow2', file: undefined },
      { type: 'volume', device: 'cdrom', readonly: true, target: 'sda', bus: 'scsi', driverType: 'raw', cache: undefined, pool: 'imgtest', volume: 'imgtest-5f2a-g1-seed.iso', file: undefined },
    ]);
    expect(domain.interfaces).toEqual([{ type: 'bridge', mac: '52:54:00:3c:9a:11', bridge: 'brg', network: undefined, model: 'virtio' }]);
    expect(domain.serials).toEqual([
      { kind: 'serial', type: 'file', path: '/var/lib/imgtest/images/imgtest-5f2a-g1.serial.log', append: 'off' },
      { kind: 'console', type: 'file', path: '/var/lib/imgtest/images/imgtest-5f2a-g1.serial.log', append: 'off' },
    ]);
    expect(domain.videoModels).toEqual(['vga']);
    expect(domain.sysinfo).toEqual({ type: 'smbios', sections: { system: { manufacturer: 'imgtest', product: 'imgtest guest' } } });
    expect(nvramPathOf(RUNNING_UEFI)).toBe('/var/lib/libvirt/qemu/nvram/imgtest-5f2a-g1_VARS.fd');
  });

  it('reads quoting, attribute order, line breaks, entities and comments the regexes missed or misread', () => {
    const domain = readDomain(VARIANT);
    expect(domain.name).toBe('guest&co');
    // The regex took the path from the comment, and would have kept the whitespace of a wrapped value.
    expect(nvramPathOf(VARIANT)).toBe('/var/lib/libvirt/qemu/nvram/guest_VARS.fd');
    expect(domain.os.nvram?.template).toBe('/usr/share/OVMF/OVMF_VARS_4M.ms.fd');
    expect(domain.os.loader?.path).toBe('/usr/share/OVMF/OVMF_CODE_4M.ms.fd');
    expect(domain.os.machine).toBe('q35');
    expect(domain.disks.map(({ xml: _xml, ...d }) => d)).toEqual([
      { type: 'file', device: 'disk', readonly: false, target: 'vda', bus: 'virtio', driverType: 'qcow2', cache: 'writeback', pool: undefined, volume: undefined, file: "/srv/a b/o'brien & co.qcow2" },
      { type: 'file', device: 'cdrom', readonly: true, target: 'sda', bus: 'sata', driverType: undefined, cache: undefined, pool: undefined, volume: undefined, file: '/srv/seed.iso' },
    ]);
    expect(domain.interfaces).toEqual([{ type: 'network', mac: '52:54:00:ab:cd:ef', network: 'lab', bridge: undefined, model: 'e1000' }]);
    expect(domain.videoModels).toEqual(['virtio']);
  });

  it('refuses text that is not well-formed XML instead of guessing', () => {
    expect(() => readDomain('')).toThrow(LibvirtXmlError);
    expect(() => readDomain("<domain><devices><disk type='file'></devices></domain>")).toThrow(LibvirtXmlError);
    expect(() => nvramPathOf('error: failed to get domain')).toThrow(LibvirtXmlError);
  });
});

describe('writing', () => {
  it('writes an unchanged document back as it was (attributes in single quotes, as libvirt writes its own)', () => {
    // libvirt writes <metadata> children with double quotes; nothing else in the text changes.
    expect(rewriteXml(RUNNING_UEFI, () => {})).toBe(RUNNING_UEFI.replace(/"/g, "'"));
    expect(rewriteXml(POOL, () => {})).toBe(POOL);
    expect(rewriteXml(DOMCAPS_KVM, () => {})).toBe(DOMCAPS_KVM);
  });

  it('escapes every value it writes: attributes and text', () => {
    const xml = serializeXml(el('disk', { type: 'file' }, el('source', { file: `/a'b"c<d>&e` }), el('serial', {}, 'x<y&z')));
    expect(xml).toBe(`<disk type='file'><source file='/a&apos;b&quot;c&lt;d&gt;&amp;e'/><serial>x&lt;y&amp;z</serial></disk>`);
    expect(disksOf(xml)[0]!.file).toBe(`/a'b"c<d>&e`);
  });

  it('renderDomainXml reads back to its spec, for every firmware, video and network', () => {
    for (const firmware of ['bios', 'uefi', 'uefi-secureboot'] as const)
      for (const video of [undefined, 'none', 'virtio'] as const)
        for (const network of [{ bridge: 'brg' }, { network: `lab'net&<x>"` }]) {
          const spec: DomainSpec = { ...SPEC, firmware, video, network, virtType: firmware === 'bios' ? 'qemu' : 'kvm', name: `g<&>'"1`, pool: `p'&`, serialLogPath: `/var/log/a'&b.log` };
          const domain = readDomain(renderDomainXml(spec));
          const efi = firmware !== 'bios';
          const secure = firmware === 'uefi-secureboot';
          expect(domain).toMatchObject({ type: spec.virtType, name: spec.name, runId: 'r1', memoryMiB: 1024, vcpus: 1 });
          expect(domain.os).toEqual({
            firmware: efi ? 'efi' : undefined,
            arch: 'x86_64',
            machine: 'q35',
            firmwareFeatures: efi ? { 'secure-boot': secure, 'enrolled-keys': secure } : {},
            loader: undefined,
            nvram: undefined,
            bootDevices: ['hd'],
            biosUseSerial: !efi,
          });
          expect(domain.features).toEqual(secure ? ['acpi', 'apic', 'smm'] : ['acpi', 'apic']);
          expect(domain.disks.map(({ xml: _xml, ...d }) => d)).toEqual([
            { type: 'volume', device: 'disk', readonly: false, target: 'vda', bus: 'virtio', driverType: 'qcow2', cache: 'none', pool: spec.pool, volume: spec.diskVolume, file: undefined },
            { type: 'volume', device: 'cdrom', readonly: true, target: 'sda', bus: 'scsi', driverType: 'raw', cache: undefined, pool: spec.pool, volume: spec.seedVolume, file: undefined },
          ]);
          expect(domain.interfaces).toEqual([
            {
              type: 'bridge' in network ? 'bridge' : 'network',
              mac: spec.mac,
              bridge: 'bridge' in network ? network.bridge : undefined,
              network: 'network' in network ? network.network : undefined,
              model: 'virtio',
            },
          ]);
          expect(domain.serials).toEqual([{ kind: 'serial', type: 'file', path: spec.serialLogPath, append: 'off' }]);
          expect(domain.videoModels).toEqual(video === 'none' ? [] : [video ?? 'vga']);
          expect(domain.sysinfo).toBeUndefined();
        }
  });
});

describe('migration rewrite', () => {
  it('copy mode on a running guest: file disk at the escaped destination path, chain dropped, the rest untouched', () => {
    const path = `/srv/pool 2/o'neil&co.qcow2`;
    const xml = migrationXml({
      xml: RUNNING_UEFI,
      copiedDiskPaths: new Map([['imgtest-5f2a-g1.qcow2', path]]),
      sourcePool: 'imgtest',
      destinationPool: 'other',
      sourcePoolPath: '/var/lib/imgtest/images',
      destinationPoolPath: '/data/other',
    });
    const domain = readDomain(xml);
    expect(domain.disks.map(({ xml: _xml, ...d }) => d)).toEqual([
      { type: 'file', device: 'disk', readonly: false, target: 'vda', bus: 'virtio', driverType: 'qcow2', cache: 'none', pool: undefined, volume: undefined, file: path },
      { type: 'volume', device: 'cdrom', readonly: true, target: 'sda', bus: 'scsi', driverType: 'raw', cache: undefined, pool: 'other', volume: 'imgtest-5f2a-g1-seed.iso', file: undefined },
    ]);
    expect(xml).toContain(`<source file='/srv/pool 2/o&apos;neil&amp;co.qcow2'/>`);
    expect(xml).not.toContain("<backingStore type='file'");
    expect(domain.serials.map((s) => [s.path, s.append])).toEqual([
      ['/data/other/imgtest-5f2a-g1.serial.log', 'on'],
      ['/data/other/imgtest-5f2a-g1.serial.log', 'on'],
    ]);
    // Guest-visible parts as they were.
    expect(domain.os).toEqual(readDomain(RUNNING_UEFI).os);
    expect(xml).toContain(`<address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>`);
    expect(xml).toContain(`<model fallback='forbid'>qemu64</model>`);
  });

  it('handles double-quoted, reordered attributes the regex rewrite did not', () => {
    const xml = migrationXml({
      xml: VARIANT,
      copiedDiskPaths: new Map([["o'brien & co.qcow2", '/dst/disk.qcow2']]),
      sourcePool: 'a',
      destinationPool: 'a',
      sourcePoolPath: '/srv',
      destinationPoolPath: '/srv',
    });
    expect(disksOf(xml).map((d) => [d.type, d.file])).toEqual([
      ['file', '/dst/disk.qcow2'],
      ['file', '/srv/seed.iso'],
    ]);
    expect(readDomain(xml).name).toBe('guest&co');
  });
});

describe('pools, capabilities, networks', () => {
  it('reads pool-dumpxml, with whitespace and quoting variations', () => {
    expect(readPool(POOL)).toEqual({ type: 'dir', name: 'imgtest', targetPath: '/var/lib/imgtest/images' });
    const variant = `<pool\n    type="netfs"><name>nfs</name><source><dir path='/export'/></source><target>\n  <path>\n    /mnt/nfs pool\n  </path></target></pool>`;
    expect(parsePoolType(variant)).toBe('netfs');
    expect(parsePoolTargetPath(variant)).toBe('/mnt/nfs pool');
    expect(parsePoolTargetPath('error: failed to get pool')).toBeUndefined();
  });

  it('reads domcapabilities: domain type, machine, firmware, loaders, secure', () => {
    expect(readDomainCapabilities(DOMCAPS_KVM)).toEqual({
      domainType: 'kvm',
      machine: 'pc-q35-7.2',
      firmware: ['efi'],
      loaders: ['/usr/share/OVMF/OVMF_CODE_4M.ms.fd', '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', '/usr/share/OVMF/OVMF_CODE_4M.fd'],
      secure: ['yes', 'no'],
    });
    const doubleQuoted = DOMCAPS_KVM.replace(/'/g, '"').replace('<enum name="firmware">', '<enum\n      name="firmware">');
    expect(readDomainCapabilities(doubleQuoted)).toEqual(readDomainCapabilities(DOMCAPS_KVM));
    const noUefi = DOMCAPS_KVM.replace(/<loader supported='yes'>[\s\S]*?<\/loader>/, "<loader supported='no'/>");
    expect(readDomainCapabilities(noUefi)).toMatchObject({ loaders: [], secure: [], firmware: ['efi'] });
    expect(readDomainCapabilities('')).toEqual({ domainType: undefined, machine: undefined, firmware: [], loaders: [], secure: [] });
  });

  it("reads the host's UUID from capabilities", () => {
    const caps = `<capabilities>\n  <host>\n    <uuid>\n      6C61622D-696D-6774-6573-740000000001\n    </uuid>\n    <cpu><arch>x86_64</arch></cpu>\n  </host>\n  <guest><os_type>hvm</os_type></guest>\n</capabilities>`;
    expect(readCapabilitiesHostUuid(caps)).toBe('6c61622d-696d-6774-6573-740000000001');
    expect(readCapabilitiesHostUuid('')).toBeUndefined();
  });

  it("reads a network's IPv4 address, skipping IPv6", () => {
    const net = `<network><name>default</name><ip family="ipv6" address="fd00::1" prefix="64"/><ip prefix="24" address="192.168.122.1"><dhcp/></ip></network>`;
    expect(readNetworkIp(net)).toEqual({ address: '192.168.122.1', prefix: 24, netmask: undefined });
  });
});
