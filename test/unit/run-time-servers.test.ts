import { describe, expect, it } from 'vitest';
import { defaultConfig, parseConfig } from '../../src/config/load.js';
import { NTP_SERVER_ADDRESS } from '../../src/lab/layout.js';
import { runEnvironment, runTimeServers } from '../../src/cli/run-environment.js';

describe('the time servers a run tells its suites about (CheckContext.timeServers)', () => {
  const hosts = 'hosts:\n  - name: hv1\n    uri: qemu+ssh://root@hv1/system\n';

  it('on the local lab (no hosts configured): the lab’s NTP server, 10.78.0.1', () => {
    expect(NTP_SERVER_ADDRESS).toBe('10.78.0.1');
    expect(runTimeServers(defaultConfig())).toEqual(['10.78.0.1']);
  });
  it('on configured hosts: none unless the config names them', () => {
    expect(runTimeServers(parseConfig(hosts, 'c.yaml'))).toEqual([]);
    expect(runTimeServers(parseConfig(`${hosts}network:\n  timeServers: [ntp1.example.org, 192.0.2.123]\n`, 'c.yaml'))).toEqual(['ntp1.example.org', '192.0.2.123']);
  });
  it('the config wins over the lab’s, also when it says none', () => {
    expect(runTimeServers(parseConfig('network:\n  timeServers: [192.0.2.7]\n', 'c.yaml'))).toEqual(['192.0.2.7']);
    expect(runTimeServers(parseConfig('network:\n  timeServers: []\n', 'c.yaml'))).toEqual([]);
  });
});

describe('the run environment the CLI wires (lab or not is decided there, not in the runner)', () => {
  const hosts = 'hosts:\n  - name: hv1\n    uri: qemu+ssh://root@hv1/system\n  - name: hv2\n    uri: qemu+ssh://root@hv2/system\n';

  it('configured hosts: those hosts as they are, no address check, no time servers', async () => {
    const config = parseConfig(hosts, 'c.yaml');
    const env = runEnvironment(config);
    expect((await env.hosts(() => undefined)).map((h) => h.uri)).toEqual(['qemu+ssh://root@hv1/system', 'qemu+ssh://root@hv2/system']);
    expect(env.checkAddresses).toBeUndefined();
    expect(env.timeServers).toEqual([]);
    expect(env.connect(config.hosts![0]!).name).toBe('hv1');
  });
  it('no hosts configured: the lab’s, with its DHCP pool checked and its NTP server offered', () => {
    const env = runEnvironment(defaultConfig());
    expect(env.checkAddresses).toBeTypeOf('function');
    expect(env.timeServers).toEqual(['10.78.0.1']);
  });
});
