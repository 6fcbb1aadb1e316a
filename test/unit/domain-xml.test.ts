import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { macFromBytes, renderDomainXml, startDomainArgs, type DomainSpec } from '../../src/hosts/domain-xml.js';

const spec = (over: Partial<DomainSpec> = {}): DomainSpec => ({
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
  ...over,
});

const wellFormed = (xml: string) => execFileSync('xmllint', ['--noout', '-'], { input: xml });

describe('renderDomainXml', () => {
  it('BIOS: no firmware autoselection, SeaBIOS on the serial port', () => {
    const xml = renderDomainXml(spec());
    wellFormed(xml);
    expect(xml).toContain("<domain type='qemu'>");
    expect(xml).not.toContain("firmware='efi'");
    expect(xml).toContain("<bios useserial='yes'/>");
  });

  it('UEFI: firmware autoselection with Secure Boot off', () => {
    const xml = renderDomainXml(spec({ firmware: 'uefi', virtType: 'kvm' }));
    wellFormed(xml);
    expect(xml).toContain("<domain type='kvm'>");
    expect(xml).toContain("<os firmware='efi'>");
    expect(xml).toContain("<feature enabled='no' name='secure-boot'/>");
    expect(xml).not.toContain('<smm');
  });

  it('has a standard VGA display adapter by default, another when asked, and none for a headless VM', () => {
    const xml = renderDomainXml(spec());
    expect(xml).toMatch(/<video>\s*<model type='vga'\/>\s*<\/video>/);
    expect(xml).not.toContain('<graphics');
    expect(renderDomainXml(spec({ video: 'virtio' }))).toContain("<model type='virtio'/>");
    const headless = renderDomainXml(spec({ video: 'none' }));
    wellFormed(headless);
    expect(headless).not.toContain('<video');
  });

  it('Secure Boot: enrolled keys and SMM', () => {
    const xml = renderDomainXml(spec({ firmware: 'uefi-secureboot' }));
    wellFormed(xml);
    expect(xml).toContain("<feature enabled='yes' name='secure-boot'/>");
    expect(xml).toContain("<feature enabled='yes' name='enrolled-keys'/>");
    expect(xml).toContain("<smm state='on'/>");
  });

  it('UEFI states both firmware features, so the host never picks a Secure Boot build for plain UEFI', () => {
    const xml = renderDomainXml(spec({ firmware: 'uefi' }));
    expect(xml).toMatch(
      /<os firmware='efi'>\s*<type arch='x86_64' machine='q35'>hvm<\/type>\s*<firmware>\s*<feature enabled='no' name='secure-boot'\/>\s*<feature enabled='no' name='enrolled-keys'\/>\s*<\/firmware>/,
    );
    expect(xml).not.toContain('<bios ');
  });

  it('never pins firmware or variable store paths: the host selects them (fresh store per domain name)', () => {
    for (const firmware of ['bios', 'uefi', 'uefi-secureboot'] as const) {
      const xml = renderDomainXml(spec({ firmware }));
      expect(xml).not.toMatch(/<loader|<nvram|OVMF/);
    }
  });

  it('BIOS has no firmware features and no SMM', () => {
    const xml = renderDomainXml(spec());
    expect(xml).not.toMatch(/<firmware>|<smm/);
  });

  it('puts the seed on a virtio-scsi CD-ROM (cloud kernels have no AHCI)', () => {
    const xml = renderDomainXml(spec());
    expect(xml).toMatch(/<controller type='scsi' model='virtio-scsi'\/>/);
    expect(xml).toMatch(/device='cdrom'>[\s\S]*<target dev='sda' bus='scsi'\/>/);
    expect(xml).not.toContain("bus='sata'");
  });

  it('attaches to a libvirt network when configured so, and escapes names', () => {
    const xml = renderDomainXml(spec({ network: { network: "lab'net" } }));
    wellFormed(xml);
    expect(xml).toContain("<source network='lab&apos;net'/>");
  });

  it('logs the serial console to the given file from power-on', () => {
    expect(renderDomainXml(spec())).toMatch(/<serial type='file'>\s*<source path='\/var\/lib\/imgtest\/images\/imgtest-r1-g1.serial.log' append='off'\/>/);
  });
});

describe('startDomainArgs', () => {
  it('starts every guest with --reset-nvram: UEFI from a fresh copy of the variable template', () => {
    expect(startDomainArgs('imgtest-r1-g1')).toEqual(['start', '--reset-nvram', 'imgtest-r1-g1']);
  });
});

describe('macFromBytes', () => {
  it('is in the 52:54:00 range', () => {
    expect(macFromBytes(new Uint8Array([1, 0xab, 255]))).toBe('52:54:00:01:ab:ff');
  });
});
