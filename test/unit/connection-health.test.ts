/**
 * A host whose libvirt stops answering mid-run (libvirtd killed, its ssh tunnel refused) is named at
 * once its calls have failed for long enough, but one failed connection under load is not a lost host.
 * ConnectionHealth is pure; the Virsh client and LibvirtHost.domainState run a fake `virsh` on PATH
 * that says what virsh 9.0 says when libvirtd is gone.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConnectionHealth, isConnectionFailure, LOST_AFTER_MS } from '../../src/hosts/connection-health.js';
import { LibvirtHost } from '../../src/hosts/libvirt-host.js';
import { Virsh } from '../../src/hosts/virsh.js';

// virsh 9.0 against a lab host whose libvirtd was killed (qemu+ssh, virt-ssh-helper cannot connect).
const GONE = "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': Connection refused";
const NO_DOMAIN = "error: failed to get domain 'g9'";

describe('ConnectionHealth', () => {
  it('is lost only after three failed connections in a row spanning 30 s', () => {
    const health = new ConnectionHealth();
    health.failed(GONE, 0);
    health.failed(GONE, 1000);
    health.failed(GONE, 2000);
    expect(health.lost(2000)).toBeUndefined(); // three, but within two seconds
    expect(health.lost(LOST_AFTER_MS + 1000)).toMatch(
      /^libvirt has not answered for 31 s \(3 connections in a row failed: Failed to connect socket to '\/var\/run\/libvirt\/libvirt-sock': Connection refused\)$/,
    );
  });

  it('two failures over a long time are not enough, and an answer starts the count again', () => {
    const health = new ConnectionHealth();
    health.failed(GONE, 0);
    health.failed(GONE, 60_000);
    expect(health.lost(120_000)).toBeUndefined();
    health.answered();
    health.failed(GONE, 130_000);
    health.failed(GONE, 131_000);
    health.failed(GONE, 132_000);
    expect(health.lost(150_000)).toBeUndefined(); // failing since 130 s only
    expect(health.lost(161_000)).toMatch(/for 31 s/);
  });

  it("tells a failed connection from the command's own refusal", () => {
    expect(isConnectionFailure(GONE)).toBe(true);
    expect(isConnectionFailure('error: Disconnected from qemu+ssh://root@10.0.0.2/system due to end of file')).toBe(true);
    expect(isConnectionFailure('error: End of file while reading data: nc: unix connect failed: No such file or directory: Input/output error')).toBe(true);
    expect(isConnectionFailure(NO_DOMAIN)).toBe(false);
    expect(isConnectionFailure('error: Guest agent is not responding: Guest agent not available for now')).toBe(false);
  });
});

describe('Virsh and LibvirtHost.domainState with libvirtd gone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgtest-fake-virsh-'));
  const mode = join(dir, 'mode');
  const path = process.env.PATH;
  let now = 1_000_000;
  beforeAll(() => {
    // Answers by the mode file: up (the domain runs), gone (libvirtd killed), nodomain.
    writeFileSync(
      join(dir, 'virsh'),
      [
        '#!/bin/sh',
        `case "$(cat '${mode}')" in`,
        '  up) echo "running (booted)"; exit 0 ;;',
        `  gone) printf '%s\\n' "${GONE.split('\n').join('" "')}" >&2; exit 1 ;;`,
        `  *) echo "${NO_DOMAIN}" >&2; exit 1 ;;`,
        'esac',
        '',
      ].join('\n'),
    );
    chmodSync(join(dir, 'virsh'), 0o755);
    process.env.PATH = `${dir}:${path}`;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterAll(() => {
    process.env.PATH = path;
    vi.restoreAllMocks();
  });
  afterEach(() => writeFileSync(mode, 'up'));
  const host = () => new LibvirtHost({ name: 'hv2', uri: 'qemu:///fake', pool: 'imgtest', network: { bridge: 'brg' } });

  it('reads no domain as undefined, and a passing failure too, then names the host once it is lost', async () => {
    const hv2 = host();
    writeFileSync(mode, 'nodomain');
    expect(await hv2.domainState('g9')).toBeUndefined();
    writeFileSync(mode, 'gone');
    for (let call = 0; call < 3; call++) {
      expect(await hv2.domainState('g1')).toBeUndefined();
      now += 5000;
    }
    now += LOST_AFTER_MS;
    await expect(hv2.domainState('g1')).rejects.toMatchObject({
      code: 'E_HOST_UNREACHABLE',
      message: expect.stringMatching(/^host hv2 stopped answering: libvirt has not answered for 45 s \(4 connections in a row failed: Failed to connect socket/),
    });
    // libvirtd back: the host answers again and nothing is held against it.
    writeFileSync(mode, 'up');
    expect(await hv2.domainState('g1')).toEqual({ state: 'running', reason: 'booted' });
    expect(hv2.health.lost(now + LOST_AFTER_MS)).toBeUndefined();
  });

  it('a call that must succeed and cannot connect names the host and the cause, in one line', async () => {
    writeFileSync(mode, 'gone');
    await expect(host().virsh.run(['start', 'g2'])).rejects.toMatchObject({
      code: 'E_HOST_UNREACHABLE',
      message: "host hv2 did not answer (virsh start): Failed to connect socket to '/var/run/libvirt/libvirt-sock': Connection refused",
    });
    writeFileSync(mode, 'nodomain');
    await expect(host().virsh.run(['start', 'g9'])).rejects.toMatchObject({ code: 'E_COMMAND' });
  });

  it('cleanup tells "nothing to remove" from "the host did not answer", so what is left gets said', async () => {
    writeFileSync(mode, 'nodomain');
    await expect(host().removeDomain('g9')).resolves.toBeUndefined();
    await expect(host().deleteVolume('g9.qcow2')).resolves.toBeUndefined();
    writeFileSync(mode, 'gone');
    await expect(host().removeDomain('g2')).rejects.toThrow(/^host hv2 did not answer \(virsh destroy\): Failed to connect socket/);
    await expect(host().deleteVolume('g2.qcow2')).rejects.toThrow(/^host hv2 did not answer \(virsh vol-delete\)/);
  });

  it("a command's refusal is an answer: it resets the count", async () => {
    const virsh = new Virsh('qemu:///fake');
    writeFileSync(mode, 'gone');
    await virsh.run(['domstate', 'g1'], { allowFailure: true });
    await virsh.run(['domstate', 'g1'], { allowFailure: true });
    writeFileSync(mode, 'nodomain');
    await expect(virsh.run(['domstate', 'g1'])).rejects.toThrow(/failed to get domain/);
    writeFileSync(mode, 'gone');
    await virsh.run(['domstate', 'g1'], { allowFailure: true });
    now += 2 * LOST_AFTER_MS;
    expect(virsh.health.lost(now)).toBeUndefined(); // one failure since the answer
  });
});
