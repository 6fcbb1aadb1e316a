import { run } from '../util/exec.js';
import { METADATA_ADDRESS, METADATA_GATEWAY, ROOT_LINKS } from './layout.js';

/**
 * Brings one lab guest's requests for the cloud metadata service to the run's own server for that
 * guest. The guest reaches 169.254.169.254 through the root namespace (DHCP's host route, see
 * dnsmasqArgs); there, a DNAT rule matched on the guest's MAC, on the lab's guest link only, rewrites
 * the destination to the port imgtest listens on for that guest. The source address is kept (the
 * server logs who asked) and replies are un-NATed by conntrack. Matching by MAC (known before the
 * guest boots, unlike its address) lets several runs share the lab, each guest with its own server.
 */

/** The two services a guest may ask: the metadata service (80) and Exoscale's password server (8080). */
export interface MetadataPorts {
  metadata: number;
  password?: number;
}

/** The well-known port each service answers on, as the guest asks it. */
const GUEST_PORTS = { metadata: 80, password: 8080 } as const;

/** The comment every rule of a run carries: how `imgtest clean` finds a dead run's rules. */
export function redirectTag(runId: string): string {
  return `imgtest-run-${runId}`;
}

/** iptables' arguments to add (`-A`) or delete (`-D`) the rules of one guest. Pure. */
export function redirectRuleArgs(action: '-A' | '-D', input: { mac: string; ports: MetadataPorts; runId: string }): string[][] {
  return (Object.keys(GUEST_PORTS) as (keyof MetadataPorts)[]).flatMap((service) => {
    const to = input.ports[service];
    if (to === undefined) return [];
    return [
      [
        '-w',
        '-t',
        'nat',
        action,
        'PREROUTING',
        '-i',
        ROOT_LINKS.guest.root,
        '-m',
        'mac',
        '--mac-source',
        input.mac,
        '-d',
        `${METADATA_ADDRESS}/32`,
        '-p',
        'tcp',
        '--dport',
        String(GUEST_PORTS[service]),
        '-m',
        'comment',
        '--comment',
        redirectTag(input.runId),
        '-j',
        'DNAT',
        '--to-destination',
        `${METADATA_GATEWAY}:${to}`,
      ],
    ];
  });
}

/** Adds one guest's redirect; returns what removes it (quiet when it is gone already). */
export async function addMetadataRedirect(input: { mac: string; ports: MetadataPorts; runId: string }): Promise<() => Promise<void>> {
  for (const args of redirectRuleArgs('-A', input)) await run('iptables', args, { timeoutMs: 30_000 });
  return async () => {
    for (const args of redirectRuleArgs('-D', input)) await run('iptables', args, { allowFailure: true, timeoutMs: 30_000 });
  };
}

/** The rules of PREROUTING (as `iptables -S` prints them) that carry a run's tag, by run id. */
export function redirectRulesByRun(listing: string): Map<string, string[]> {
  const byRun = new Map<string, string[]>();
  for (const line of listing.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== '-A' || words[1] !== 'PREROUTING') continue;
    const comment = words.indexOf('--comment');
    const tag = comment > 0 ? words[comment + 1]?.replace(/^"|"$/g, '') : undefined;
    const runId = tag?.startsWith('imgtest-run-') ? tag.slice('imgtest-run-'.length) : undefined;
    if (runId) byRun.set(runId, [...(byRun.get(runId) ?? []), line.trim()]);
  }
  return byRun;
}

/** The lab's metadata redirects now in place, by run id. */
export async function listRedirectRules(): Promise<Map<string, string[]>> {
  const listing = await run('iptables', ['-w', '-t', 'nat', '-S', 'PREROUTING'], { allowFailure: true, timeoutMs: 30_000 });
  return redirectRulesByRun(listing.stdout);
}

/** Deletes rules as `iptables -S` printed them (`-A ...`: the same words after `-D` delete it). */
export async function deleteRedirectRules(rules: readonly string[]): Promise<void> {
  for (const rule of rules) await run('iptables', ['-w', '-t', 'nat', '-D', ...rule.split(/\s+/).slice(1)], { allowFailure: true, timeoutMs: 30_000 });
}
