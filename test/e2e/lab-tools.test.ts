import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { e2eSkipReason, imgtest } from './helpers.js';

/**
 * doctor, clean --dry-run and the lab lock against the running lab. Nothing here boots a guest or
 * removes anything: clean runs with --dry-run only, and `lab down` only while a fake run holds the lab
 * (it must refuse before touching anything).
 */
const skip = e2eSkipReason(['/usr/bin/virsh']);

async function labUp(): Promise<boolean> {
  const status = await imgtest(['lab', 'status', '--json']);
  return status.exitCode === 0 && (JSON.parse(status.stdout) as { up: boolean }).up;
}

describe.skipIf(skip)('lab tools (doctor, clean, lock)', () => {
  // Other test files take the lab down (lab.test.ts ends with `lab down`); the address this file
  // probes (10.77.0.99) must route into the lab's management network, never out of the machine.
  beforeAll(async () => {
    const up = await imgtest(['lab', 'up'], { timeoutMs: 300_000 });
    if (up.exitCode !== 0) throw new Error(`imgtest lab up failed: ${up.stderr}`);
  }, 300_000);

  it('doctor checks both lab hosts and this machine, one line each, and ends with a summary', async () => {
    if (!(await labUp())) throw new Error('the lab is not up (imgtest lab up)');
    const result = await imgtest(['doctor'], { timeoutMs: 180_000 });
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe("doctor: the local lab's hosts (hv1, hv2); no --config given");
    for (const host of ['hv1', 'hv2']) {
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ok      ${host}: libvirt \\d+\\.\\d+\\.\\d+, QEMU \\d+\\.\\d+\\.\\d+ \\(hostname ${host}\\)$`)));
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^(ok      ${host}: KVM offered|warn    ${host}: KVM not usable: )`)));
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ok      ${host}: UEFI firmware: .*OVMF_CODE_4M\\.fd \\(UEFI, no Secure Boot\\)`)));
      expect(lines).toContainEqual(`ok      ${host}: Secure Boot with Microsoft keys: /usr/share/OVMF/OVMF_CODE_4M.ms.fd`);
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ok      ${host}: pool imgtest: dir pool at /var/lib/imgtest/images, running`)));
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ok      ${host}: shared pool imgtest-shared: dir pool at /var/lib/imgtest/shared, running`)));
      expect(lines).toContainEqual(`ok      ${host}: guest bridge brg: present and active`);
    }
    expect(lines).toContainEqual('ok      lab: SSH to guests: this machine is on the guest network (10.78.0.253 on itl-g-root; 10.78.0.1 answers)');
    expect(lines).toContainEqual(expect.stringMatching(/^(ok {6}|warn {4})lab: DHCP: \d+ of \d+ addresses leased/));
    for (const tool of ['virsh', 'qemu-img', 'ssh', 'guestfish', 'ssh-audit']) expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ok      this machine: ${tool}: /`)));
    expect(lines.at(-1)).toMatch(/^doctor: \d+ ok, \d+ warning\(s\), 0 missing, 0 broken: ready$/);
    expect(result.exitCode).toBe(0);
  }, 240_000);

  it('doctor declares a host that does not answer broken within its connect timeout, exit 3', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imgtest-doctor-'));
    try {
      // An unused address on the lab's management network: no host answers ARP, so the TCP connect hangs.
      await writeFile(join(dir, 'c.yaml'), 'hosts:\n  - name: ghost\n    uri: qemu+ssh://root@10.77.0.99/system\n    pool: imgtest\n    network: { bridge: brg }\n    connectTimeoutSeconds: 2\n');
      const result = await imgtest(['doctor', '--config', join(dir, 'c.yaml')], { timeoutMs: 120_000 });
      expect(result.stdout).toContain('BROKEN  ghost: libvirt does not answer at qemu+ssh://root@10.77.0.99/system (connect timeout 2 s): 10.77.0.99:22: ');
      expect(result.stdout.trim().split('\n').at(-1)).toMatch(/^doctor: .* 1 broken: not ready \(ghost\)$/);
      expect(result.exitCode).toBe(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('clean --dry-run lists what it would remove and removes nothing', async () => {
    if (!(await labUp())) throw new Error('the lab is not up (imgtest lab up)');
    const before = JSON.parse((await imgtest(['lab', 'status', '--json'])).stdout) as { hosts: { domains: string[] }[] };
    const result = await imgtest(['clean', '--dry-run'], { timeoutMs: 180_000 });
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^runs in progress on this machine \(kept\): /);
    for (const line of lines.slice(1, -1)) {
      expect(line).toMatch(
        /^(would remove (hv[12]: (domain|volume|temporary pool) imgtest-\d{8}T\d{6}-[0-9a-f]{4}|lab: DHCP lease 10\.78\.0\.\d+ )|clean: imgtest run process|error: |lab: DHCP leases not checked)/,
      );
    }
    expect(lines.at(-1)).toMatch(/^clean --dry-run: \d+ item\(s\) would be removed; nothing was removed$/);
    expect(result.stdout).not.toMatch(/^removed /m);
    const after = JSON.parse((await imgtest(['lab', 'status', '--json'])).stdout) as { hosts: { domains: string[] }[] };
    // Nothing removed: every running domain seen before is still there unless its own run removed it meanwhile.
    expect(after.hosts.length).toBe(before.hosts.length);
  }, 240_000);

  it('lab down refuses while a run holds the lab, naming the run and its pid (exit 3)', async () => {
    if (!(await labUp())) throw new Error('the lab is not up (imgtest lab up)');
    const runDir = await mkdtemp(join(tmpdir(), 'imgtest-rundir-'));
    const fake = spawn('sleep', ['120'], { stdio: 'ignore' });
    const runId = '20261130T000000-fa4e';
    try {
      const registry = await import('../../src/lab/run-registry.js');
      await registry.acquireLabShare(runId, { dir: runDir, pid: fake.pid! });
      // Safety first: `lab down` must see the holder, or this test would take the shared lab down.
      expect((await registry.labShareHolders({ dir: runDir })).map((h) => h.runId)).toEqual([runId]);
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn('node', [join(import.meta.dirname, '..', '..', 'bin', 'imgtest.js'), 'lab', 'down'], { env: { ...process.env, IMGTEST_RUN_DIR: runDir } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`imgtest: lab down: the lab is in use by run ${runId} (pid ${fake.pid}); wait for it to end, or 'imgtest lab down --force' stops it first [E_LAB_IN_USE]\n`);
      expect(await labUp()).toBe(true);
    } finally {
      fake.kill('SIGKILL');
      await rm(runDir, { recursive: true, force: true });
    }
  }, 120_000);
});
