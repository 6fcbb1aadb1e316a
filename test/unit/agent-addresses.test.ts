/**
 * LibvirtHost.agentAddresses against a fake virsh (the seam is `host.virsh`): the guest agent is asked
 * while the guest boots, so a call it holds past the timeout, or a refused one, is "no address yet",
 * never an error that ends the boot (a trixie guest's boot ended as an infrastructure error that way:
 * `virsh domifaddr --source agent` killed after 15 s while its agent was starting).
 */
import { describe, expect, it } from 'vitest';
import { LibvirtHost } from '../../src/hosts/libvirt-host.js';

function hostAnswering(run: (args: readonly string[]) => Promise<{ stdout: string; stderr: string; exitCode: number }>) {
  const host = new LibvirtHost({ name: 'hv1', uri: 'fake://hv1', pool: 'imgtest', network: { bridge: 'brg' } });
  (host as unknown as { virsh: unknown }).virsh = { run };
  return host;
}

const DOMIFADDR = [
  ' Name       MAC address          Protocol     Address',
  '-------------------------------------------------------------------------------',
  ' lo         00:00:00:00:00:00    ipv4         127.0.0.1/8',
  ' enp1s0     52:54:00:fc:c7:c9    ipv4         10.78.0.106/24',
].join('\n');

describe('LibvirtHost.agentAddresses', () => {
  it("reads the agent's addresses by MAC", async () => {
    const host = hostAnswering(async () => ({ stdout: DOMIFADDR, stderr: '', exitCode: 0 }));
    expect(await host.agentAddresses('g1')).toContainEqual({ mac: '52:54:00:fc:c7:c9', address: '10.78.0.106' });
  });

  it('an agent that is not up yet is no address', async () => {
    const host = hostAnswering(async () => ({ stdout: '', stderr: 'error: Guest agent is not responding: Guest agent not available for now', exitCode: 1 }));
    expect(await host.agentAddresses('g1')).toEqual([]);
  });

  it('a call killed at its timeout (or a dropped connection) is no address, not an error', async () => {
    const host = hostAnswering(async (args) => {
      throw new Error(`virsh --quiet -c fake://hv1 ${args.join(' ')}: timed out after 15000 ms`);
    });
    await expect(host.agentAddresses('g1')).resolves.toEqual([]);
  });
});
