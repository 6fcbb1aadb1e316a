import { describe, expect, it } from 'vitest';
import { cloudInitFinished } from '../../src/runner/guest-boot.js';
import { addressFromConsole, bootRefusal, firmwareRefusal, hostKeysFromConsole, lastLines } from '../../src/guest/serial.js';
import { parseOfferedMethods } from '../../src/guest/ssh.js';
import { shellJoin, shellQuote } from '../../src/guest/shell-quote.js';
import { parseDomIfAddr, parseDomState, parsePoolTargetPath, parseQemuImgInfo, parseVirshVersion } from '../../src/hosts/parse.js';

const CONSOLE = `
[   12.3] cloud-init[401]: Cloud-init v. 22.4.2 running 'init' at Wed, 25 Nov 2026 19:30:00 +0000.
ci-info: ++++++++++++++++++++++++++++++++++++++Net device info+++++++++++++++++++++++++++++++++++++++
ci-info: +--------+------+------------------------------+---------------+--------+-------------------+
ci-info: | Device |  Up  |           Address            |      Mask     | Scope  |     Hw-Address    |
ci-info: +--------+------+------------------------------+---------------+--------+-------------------+
ci-info: |  ens3  | True |         10.78.0.142          | 255.255.255.0 | global | 52:54:00:12:34:56 |
ci-info: |  ens3  | True | fe80::5054:ff:fe12:3456/64   |       .       |  link  | 52:54:00:12:34:56 |
ci-info: |   lo   | True |          127.0.0.1           |   255.0.0.0   |  host  |         .         |
<14>Nov 25 19:31:02 cloud-init: #############################################################
<14>Nov 25 19:31:02 cloud-init: -----BEGIN SSH HOST KEY FINGERPRINTS-----
<14>Nov 25 19:31:02 cloud-init: 256 SHA256:abc root@imgtest (ED25519)
<14>Nov 25 19:31:02 cloud-init: -----END SSH HOST KEY FINGERPRINTS-----
-----BEGIN SSH HOST KEY KEYS-----
ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFake= root@imgtest
ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFake root@imgtest
-----END SSH HOST KEY KEYS-----
`;

describe('serial console readers', () => {
  it('finds the address on the row with our MAC', () => {
    expect(addressFromConsole(CONSOLE, '52:54:00:12:34:56')).toBe('10.78.0.142');
  });
  it('finds nothing before cloud-init printed its table', () => {
    expect(addressFromConsole('[    0.000000] Linux version 6.1.0\n', '52:54:00:12:34:56')).toBeUndefined();
  });
  it('reads the host keys block', () => {
    const keys = hostKeysFromConsole(CONSOLE);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFake');
    expect(hostKeysFromConsole('no keys here')).toEqual([]);
  });
  it('recognises a Secure Boot refusal', () => {
    expect(firmwareRefusal('BdsDxe: failed to load Boot0002 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0): Access Denied\n')).toContain('Access Denied');
    expect(firmwareRefusal('BdsDxe: loading Boot0001')).toBeUndefined();
  });
  it('tells a firmware that found nothing to boot from one still booting', () => {
    const sbRefusal = 'BdsDxe: loading Boot0002 "UEFI Misc Device"\r\nBdsDxe: failed to load Boot0002 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0): Access Denied\r\n';
    expect(bootRefusal(sbRefusal)).toMatch(/^the firmware refused the loader: BdsDxe: failed to load .*Access Denied/);
    const noEsp = 'BdsDxe: failed to load Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0): Not Found\n\x1b[0mBdsDxe: No bootable option or device was found.\n';
    expect(bootRefusal(noEsp)).toBe('the firmware found nothing to boot: BdsDxe: No bootable option or device was found. (no EFI loader on the disk)');
    expect(bootRefusal('Booting from Hard Disk...\nBoot failed: not a bootable disk\n\nNo bootable device.\n')).toBe('the BIOS found nothing to boot: No bootable device.');
    // SeaBIOS skipping a non-bootable CD on the way to the disk is not a refusal.
    expect(bootRefusal('Boot failed: not a bootable disk\nBooting from Hard Disk...\n')).toBeUndefined();
    expect(bootRefusal('BdsDxe: loading Boot0001 "UEFI Misc Device"\nEFI stub: UEFI Secure Boot is enabled.\n')).toBeUndefined();
    // OVMF with the shell (plain UEFI) falls through to it: the prompt means nothing will boot.
    const shell =
      '\x1b[2JBdsDxe: failed to load Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x1,0x4)/Pci(0x0,0x0): Not Found\r\nBdsDxe: starting Boot0002 "EFI Internal Shell" from Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(7C04A583-9E3E-4F1C-AD65-E05268D0B4D1)\r\nUEFI Interactive Shell v2.2\r\nPress ESC in 1 seconds to skip startup.nsh or any other key to continue.\r\nShell> ';
    expect(bootRefusal(shell)).toBe(
      'the firmware found nothing to boot and stopped at the UEFI shell prompt: BdsDxe: failed to load Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x1,0x4)/Pci(0x0,0x0): Not Found (no EFI loader on the disk)',
    );
    expect(bootRefusal(shell.replace('Shell> ', 'FS0:\\> startup.nsh\r\n'))).toBeUndefined();
  });
  it("tells cloud-init's finished states from running ones", () => {
    expect(cloudInitFinished('status: done\n')).toBe(true);
    expect(cloudInitFinished('status: error')).toBe(true);
    expect(cloudInitFinished('status: degraded done')).toBe(true);
    expect(cloudInitFinished('status: running\n')).toBe(false);
    expect(cloudInitFinished('status: not run')).toBe(false);
    expect(cloudInitFinished('')).toBe(false);
  });
  it('keeps the last lines without escape sequences', () => {
    expect(lastLines('a\n\x1b[31mb\x1b[0m\n\nc\x07\n', 2)).toBe('b\nc');
  });
});

describe('ssh helpers', () => {
  it('reads the methods a server still offers', () => {
    expect(parseOfferedMethods('imgtest@10.78.0.5: Permission denied (publickey,password,keyboard-interactive).')).toEqual(['publickey', 'password', 'keyboard-interactive']);
    expect(parseOfferedMethods('Connection refused')).toEqual([]);
  });
  it('quotes arguments so the remote shell sees them verbatim', () => {
    expect(shellQuote('plain-arg_1.2')).toBe('plain-arg_1.2');
    expect(shellQuote("it's; rm -rf /")).toBe(`'it'\\''s; rm -rf /'`);
    expect(shellQuote('')).toBe("''");
    expect(shellJoin(['cat', '/var/log/a b', '$(x)'])).toBe("cat '/var/log/a b' '$(x)'");
  });
});

describe('virsh and qemu-img output', () => {
  it('virsh version', () => {
    const out = 'Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\nRunning hypervisor: QEMU 7.2.0\nRunning against daemon: 9.0.0\n';
    expect(parseVirshVersion(out)).toEqual({ libvirt: '9.0.0', qemu: '7.2.0' });
  });
  it('domstate --reason', () => {
    expect(parseDomState('running (booted)\n')).toEqual({ state: 'running', reason: 'booted' });
    expect(parseDomState('shut off (destroyed)')).toEqual({ state: 'shut off', reason: 'destroyed' });
    expect(parseDomState('paused (unknown)')).toEqual({ state: 'paused', reason: 'unknown' });
  });
  it('pool target path', () => {
    expect(parsePoolTargetPath("<pool type='dir'><name>imgtest</name><target>\n<path>/var/lib/imgtest/images</path>\n</target></pool>")).toBe('/var/lib/imgtest/images');
  });
  it('qemu-img info', () => {
    const info = parseQemuImgInfo(JSON.stringify({ 'virtual-size': 2147483648, format: 'qcow2', 'actual-size': 205520896, 'backing-filename': 'base.qcow2' }));
    expect(info).toEqual({ format: 'qcow2', virtualSize: 2147483648, actualSize: 205520896, backingFile: 'base.qcow2', encrypted: false });
  });
  it('domifaddr', () => {
    const out =
      ' Name       MAC address          Protocol     Address\n-------------------------------------------------\n lo         00:00:00:00:00:00    ipv4         127.0.0.1/8\n ens3       52:54:00:12:34:56    ipv4         10.78.0.142/24\n';
    expect(parseDomIfAddr(out)).toContainEqual({ mac: '52:54:00:12:34:56', address: '10.78.0.142' });
  });
});
