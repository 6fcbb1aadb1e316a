/**
 * LibvirtHost.withFolderPool against a fake virsh (the seam is `host.virsh`): another run's pool over
 * the folder is waited for through p-retry (30 retries 2 s apart), our own left-over pool is taken over
 * at once, anything else fails at once. Fake timers: the 2 s delays take no time.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InterruptedError } from '../../src/errors.js';
import { FOLDER_POOL_CONFLICT_RETRY, LibvirtHost } from '../../src/hosts/libvirt-host.js';

const CONFLICT = "error: Failed to create pool from imgtest-r1-g1-nvram\nerror: operation failed: Storage source conflict with pool: 'imgtest-r2-g1-nvram'";
const EXISTS = "error: Failed to create pool from imgtest-r1-g1-nvram\nerror: operation failed: pool 'imgtest-r1-g1-nvram' already exists with uuid 1234";

/** A host whose `pool-create-as` answers from `refusals` (one per call, then success). */
function hostWith(refusals: string[]) {
  const calls: string[] = [];
  const host = new LibvirtHost({ name: 'hv1', uri: 'fake://hv1', pool: 'imgtest', network: { bridge: 'brg' } });
  (host as unknown as { virsh: unknown }).virsh = {
    run: async (args: readonly string[]) => {
      calls.push(args[0]!);
      const refusal = args[0] === 'pool-create-as' ? refusals.shift() : undefined;
      return refusal ? { stdout: '', stderr: refusal, exitCode: 1 } : { stdout: '', stderr: '', exitCode: 0 };
    },
  };
  return { host, calls };
}

describe('LibvirtHost.withFolderPool', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("waits out another run's pool over the folder, 2 s per retry, then runs the task and destroys the pool", async () => {
    vi.useFakeTimers();
    const { host, calls } = hostWith([CONFLICT, CONFLICT]);
    const started = Date.now();
    const running = host.withFolderPool('/var/lib/libvirt/qemu/nvram', 'imgtest-r1-g1-nvram', async (pool) => `read through ${pool}`);
    await vi.runAllTimersAsync();
    await expect(running).resolves.toBe('read through imgtest-r1-g1-nvram');
    expect(calls).toEqual(['pool-create-as', 'pool-create-as', 'pool-create-as', 'pool-destroy']);
    expect(Date.now() - started).toBe(4000);
  });

  it("gives up after the budget (30 retries 2 s apart) with libvirt's words", async () => {
    vi.useFakeTimers();
    expect(FOLDER_POOL_CONFLICT_RETRY).toEqual({ retries: 30, minTimeout: 2000, factor: 1 });
    const { host, calls } = hostWith(Array.from({ length: 40 }, () => CONFLICT));
    const started = Date.now();
    const running = host.withFolderPool('/nvram', 'p', async () => 'ran');
    running.catch(() => undefined);
    await vi.runAllTimersAsync();
    await expect(running).rejects.toMatchObject({
      code: 'E_POOL',
      message: expect.stringMatching(/^host hv1: cannot open \/nvram through a transient pool: [\s\S]*Storage source conflict with pool/),
    });
    expect(calls.filter((c) => c === 'pool-create-as')).toHaveLength(31);
    expect(Date.now() - started).toBe(60_000);
  });

  it('fails at once on any other refusal, without running the task', async () => {
    const { host, calls } = hostWith(["error: cannot create directory '/nvram': Permission denied"]);
    let ran = false;
    await expect(host.withFolderPool('/nvram', 'p', async () => void (ran = true))).rejects.toThrow(
      "host hv1: cannot open /nvram through a transient pool: error: cannot create directory '/nvram': Permission denied",
    );
    expect(calls).toEqual(['pool-create-as']);
    expect(ran).toBe(false);
  });

  it('takes over its own left-over pool at once (up to 3 times), then gives up', async () => {
    const once = hostWith([EXISTS]);
    const started = Date.now();
    await expect(once.host.withFolderPool('/nvram', 'p', async () => 'ran')).resolves.toBe('ran');
    expect(once.calls).toEqual(['pool-create-as', 'pool-destroy', 'pool-create-as', 'pool-destroy']);
    expect(Date.now() - started).toBeLessThan(1000);

    const always = hostWith([EXISTS, EXISTS, EXISTS, EXISTS, EXISTS]);
    await expect(always.host.withFolderPool('/nvram', 'p', async () => 'ran')).rejects.toThrow(/already exists/);
    expect(always.calls.filter((c) => c === 'pool-create-as')).toHaveLength(4);
  });

  it('stops waiting when its signal fires', async () => {
    const { host, calls } = hostWith(Array.from({ length: 40 }, () => CONFLICT));
    const controller = new AbortController();
    const running = host.withFolderPool('/nvram', 'p', async () => 'ran', { signal: controller.signal });
    setTimeout(() => controller.abort('SIGINT'), 50);
    await expect(running).rejects.toBeInstanceOf(InterruptedError);
    expect(calls).toEqual(['pool-create-as']);
  });
});
