import { describe, expect, it } from 'vitest';
import { redirectRuleArgs, redirectRulesByRun } from '../../src/lab/metadata-redirect.js';

describe('lab metadata redirect', () => {
  it('redirects the guest’s metadata port, matched by its MAC on the lab’s guest link, to its own server port', () => {
    const rules = redirectRuleArgs('-A', { mac: '52:54:00:ab:cd:ef', ports: { metadata: 40001 }, runId: '20261201T1200-abcd' });
    expect(rules).toEqual([
      [
        '-w',
        '-t',
        'nat',
        '-A',
        'PREROUTING',
        '-i',
        'itl-g-root',
        '-m',
        'mac',
        '--mac-source',
        '52:54:00:ab:cd:ef',
        '-d',
        '169.254.169.254/32',
        '-p',
        'tcp',
        '--dport',
        '80',
        '-m',
        'comment',
        '--comment',
        'imgtest-run-20261201T1200-abcd',
        '-j',
        'DNAT',
        '--to-destination',
        '10.78.0.253:40001',
      ],
    ]);
  });

  it('adds the password server (8080) only when the guest has one, and deletes with the same words', () => {
    const added = redirectRuleArgs('-A', { mac: '52:54:00:00:00:01', ports: { metadata: 40001, password: 40002 }, runId: 'r1' });
    expect(added.map((args) => [args[args.indexOf('--dport') + 1], args.at(-1)])).toEqual([
      ['80', '10.78.0.253:40001'],
      ['8080', '10.78.0.253:40002'],
    ]);
    const deleted = redirectRuleArgs('-D', { mac: '52:54:00:00:00:01', ports: { metadata: 40001, password: 40002 }, runId: 'r1' });
    expect(deleted.map((args) => args.filter((word) => word !== '-D'))).toEqual(added.map((args) => args.filter((word) => word !== '-A')));
  });

  it('finds each run’s rules in `iptables -S` output, and nobody else’s', () => {
    const listing = [
      '-P PREROUTING ACCEPT',
      '-A PREROUTING -d 169.254.169.254/32 -i itl-g-root -p tcp -m mac --mac-source 52:54:00:aa:bb:cc -m tcp --dport 80 -m comment --comment imgtest-run-r1 -j DNAT --to-destination 10.78.0.253:40000',
      '-A PREROUTING -d 169.254.169.254/32 -i itl-g-root -p tcp -m mac --mac-source 52:54:00:aa:bb:cd -m tcp --dport 80 -m comment --comment imgtest-run-r2 -j DNAT --to-destination 10.78.0.253:40001',
      '-A PREROUTING -i docker0 -j DOCKER',
      '-A PREROUTING -p tcp -m comment --comment "someone else" -j ACCEPT',
    ].join('\n');
    const byRun = redirectRulesByRun(listing);
    expect([...byRun.keys()]).toEqual(['r1', 'r2']);
    expect(byRun.get('r1')).toEqual([expect.stringContaining('--mac-source 52:54:00:aa:bb:cc')]);
  });
});
