import { describe, expect, it } from 'vitest';
import { defaultConfig, parseConfig } from '../../src/config/load.js';
import { NTP_SERVER_ADDRESS } from '../../src/lab/layout.js';
import { runTimeServers } from '../../src/runner/hosts.js';

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
