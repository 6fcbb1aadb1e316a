import { describe, expect, it } from 'vitest';
import { defaultConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

describe('config', () => {
  it('defaults: no hosts (the lab), auto firmware and accel, reports/', () => {
    const config = defaultConfig();
    expect(config.hosts).toBeUndefined();
    expect(config).toMatchObject({ firmware: 'auto', accel: 'auto', reportDir: 'reports', guest: { memoryMiB: 1024, user: 'imgtest' } });
  });

  it('reads hosts with libvirt URIs', () => {
    const config = parseConfig(
      `hosts:\n  - name: hv1\n    uri: qemu+ssh://root@hv1/system\n    pool: images\n    network: { bridge: br0 }\n  - name: hv2\n    uri: qemu+ssh://root@hv2/system\n`,
      'c.yaml',
    );
    expect(config.hosts).toHaveLength(2);
    expect(config.hosts![0]).toMatchObject({ name: 'hv1', pool: 'images', network: { bridge: 'br0' } });
    expect(config.hosts![1]).toMatchObject({ pool: 'default', network: { network: 'default' } });
  });

  it('datasource: nocloud by default; one or a list, each known, none twice', () => {
    expect(defaultConfig().datasource).toEqual(['nocloud']);
    expect(parseConfig('datasource: ec2-imdsv2-only\n', 'c.yaml').datasource).toEqual(['ec2-imdsv2-only']);
    expect(parseConfig('datasource: [configdrive, nocloud]\n', 'c.yaml').datasource).toEqual(['configdrive', 'nocloud']);
    expect(() => parseConfig('datasource: azure\n', 'c.yaml')).toThrowError(/c\.yaml:1: datasource/);
    expect(() => parseConfig('datasource: [ec2, ec2]\n', 'c.yaml')).toThrowError(/listed twice/);
  });

  it('storage: no shared pool by default; a named one when set; nothing else allowed', () => {
    expect(defaultConfig().storage).toEqual({});
    expect(parseConfig('storage:\n  sharedPool: imgtest-shared\n', 'c.yaml').storage).toEqual({ sharedPool: 'imgtest-shared' });
    expect(() => parseConfig('storage:\n  sharedPool: ""\n', 'c.yaml')).toThrowError(/c\.yaml:2: storage\.sharedPool: /);
    expect(() => parseConfig('storage:\n  nfs: yes\n', 'c.yaml')).toThrowError(/storage: unknown field\(s\) nfs/);
  });

  it('network.timeServers: unset by default; IPv4 addresses and host names; anything else refused with its line', () => {
    expect(defaultConfig().network).toEqual({});
    expect(parseConfig('network:\n  timeServers: [10.78.0.1, ntp.example.org, time-1.lab.]\n', 'c.yaml').network.timeServers).toEqual(['10.78.0.1', 'ntp.example.org', 'time-1.lab.']);
    expect(parseConfig('network:\n  timeServers: []\n', 'c.yaml').network.timeServers).toEqual([]);
    expect(() => parseConfig('network:\n  timeServers:\n    - 10.78.0.1\n    - 10.78.0.300\n', 'c.yaml')).toThrowError(/^c\.yaml:4: network\.timeServers\[1\]: an IPv4 address or a host name$/);
    for (const bad of ['"ntp server"', '"-ntp.example.org"', '"ntp_1.example.org"', '"fd00::1"', '""']) {
      expect(() => parseConfig(`network:\n  timeServers: [${bad}]\n`, 'c.yaml'), bad).toThrowError(/network\.timeServers\[0\]: an IPv4 address or a host name/);
    }
    expect(() => parseConfig('network:\n  timeServers: 10.78.0.1\n', 'c.yaml')).toThrowError(/c\.yaml:2: network\.timeServers: /);
    expect(() => parseConfig('network:\n  dns: [10.0.0.1]\n', 'c.yaml')).toThrowError(/network: unknown field\(s\) dns/);
  });

  it('names the file, line and field of a wrong value', () => {
    const text = 'firmware: auto\nguest:\n  memoryMiB: lots\n';
    expect(() => parseConfig(text, 'imgtest.yaml')).toThrowError(ConfigError);
    expect(() => parseConfig(text, 'imgtest.yaml')).toThrowError(/^imgtest\.yaml:3: guest\.memoryMiB: /);
  });

  it('names an unknown field, at its own line', () => {
    expect(() => parseConfig('hosts:\n  - name: hv1\n    uri: qemu:///system\n    colour: red\n', 'x.yaml')).toThrowError(/x\.yaml:4: hosts\[0\]: unknown field\(s\) colour/);
  });

  it('rejects an invalid enum and broken YAML with a line', () => {
    expect(() => parseConfig('firmware: coreboot\n', 'x.yaml')).toThrowError(/x\.yaml:1: firmware: /);
    expect(() => parseConfig('hosts: [\n', 'x.yaml')).toThrowError(/^x\.yaml:\d+: invalid YAML/);
  });

  it('image size bounds: 1 GiB to 2 TiB by default, configurable', () => {
    expect(defaultConfig().image).toEqual({ minVirtualSizeGiB: 1, maxVirtualSizeGiB: 2048 });
    expect(parseConfig('image:\n  minVirtualSizeGiB: 0.5\n  maxVirtualSizeGiB: 4096\n', 'c.yaml').image).toEqual({ minVirtualSizeGiB: 0.5, maxVirtualSizeGiB: 4096 });
  });

  it('boot timeout: at most a day', () => {
    expect(parseConfig('guest:\n  bootTimeoutSeconds: 86400\n', 'c.yaml').guest.bootTimeoutSeconds).toBe(86400);
    expect(() => parseConfig('guest:\n  bootTimeoutSeconds: 86401\n', 'c.yaml')).toThrowError(/^c\.yaml:2: guest\.bootTimeoutSeconds: /);
  });

  it('host names may repeat in no case; migration URIs are checked like URIs', () => {
    const hosts =
      'hosts:\n  - name: a\n    uri: qemu:///system\n  - name: b\n    uri: qemu+tcp://10.0.0.2/system\n    migrationUri: qemu+tcp://10.1.0.2/system\n  - name: a\n    uri: qemu+tcp://10.0.0.3/system\n';
    expect(() => parseConfig(hosts, 'c.yaml')).toThrowError(/^c\.yaml:7: hosts\[2\]\.name: duplicate host name 'a' \(already hosts\[0\]\)$/);
    expect(parseConfig(hosts.replace(/name: a\n {4}uri: qemu\+tcp/, 'name: c\n    uri: qemu+tcp'), 'c.yaml').hosts?.map((h) => h.name)).toEqual(['a', 'b', 'c']);
  });
});
