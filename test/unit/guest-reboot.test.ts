import { describe, expect, it } from 'vitest';
import { rebootGuest, rebootStuck, type RebootSeam } from '../../src/runner/guest-reboot.js';
import { guestDiskBytes } from '../../src/runner/executor.js';
import { GuestHostKeyError, GuestTransportError } from '../../src/errors.js';
import type { ExecResult } from '../../src/suite-api/index.js';

/** An answer of the seam's exec: a result, or what it throws (the ssh2 session's errors). */
type Answer = ExecResult | Error;

/**
 * A guest on a fake clock: each poll advances 5 s. `afterReboot` answers the boot id command once the
 * reboot was asked for; `console` grows by one chunk per poll. By default the connection drops under
 * `systemctl reboot` before its exit status comes back.
 */
function seam(script: { afterReboot: (poll: number) => Answer; console?: string[]; rebootCommand?: Answer; before?: Answer }) {
  let now = 0;
  let polls = 0;
  let rebooted = false;
  const calls: string[] = [];
  const consoleChunks = ['boot 1 console\n', ...(script.console ?? [])];
  const fake: RebootSeam = {
    async exec(argv, options) {
      calls.push(`${options?.sudo ? '[sudo] ' : ''}${argv.join(' ')}`);
      const answer = (a: Answer): ExecResult => {
        if (a instanceof Error) throw a;
        return a;
      };
      if (argv[0] === 'systemctl') {
        rebooted = true;
        return answer(script.rebootCommand ?? dropped);
      }
      return answer(rebooted ? script.afterReboot(polls) : (script.before ?? { stdout: 'aaaa-1111\n', stderr: '', exitCode: 0 }));
    },
    async dropConnection() {
      calls.push('drop');
    },
    async readConsole() {
      return consoleChunks.slice(0, 1 + polls).join('');
    },
    now: () => now,
    async sleep(ms) {
      now += ms;
      polls += 1;
    },
  };
  return { fake, calls };
}

const dropped = new GuestTransportError(
  'SSH to imgtest@10.78.0.20: the connection was closed by the remote host before `sudo -n -- systemctl reboot` returned its exit status',
  '10.78.0.20',
  'closed',
);
const down = new GuestTransportError('SSH to imgtest@10.78.0.20: cannot connect: connection refused', '10.78.0.20', 'connect');

describe('rebootGuest', () => {
  it('is ok once SSH answers with a new boot id, after asking systemd with sudo and dropping the old connection', async () => {
    const { fake, calls } = seam({ afterReboot: (poll) => (poll < 3 ? down : { stdout: 'bbbb-2222\n', stderr: '', exitCode: 0 }) });
    const outcome = await rebootGuest(fake, { timeoutSeconds: 300 });
    expect(outcome).toMatchObject({ ok: true, bootIdBefore: 'aaaa-1111', bootIdAfter: 'bbbb-2222', seconds: 15 });
    expect(calls.slice(0, 3)).toEqual(['cat /proc/sys/kernel/random/boot_id', '[sudo] systemctl reboot', 'drop']);
  });

  it('does not take the old boot id (the guest not down yet) for being back', async () => {
    const { fake } = seam({ afterReboot: (poll) => (poll < 2 ? { stdout: 'aaaa-1111\n', stderr: '', exitCode: 0 } : { stdout: 'cccc\n', stderr: '', exitCode: 0 }) });
    const outcome = await rebootGuest(fake, { timeoutSeconds: 300 });
    expect(outcome.bootIdAfter).toBe('cccc');
    expect(outcome.seconds).toBe(10);
  });

  it("stops at once, as the image's failure, when the console shows emergency mode", async () => {
    const emergency = [
      '[ TIME ] Timed out waiting for device dev-disk-by\\x2dlabel-data.device - /dev/disk/by-label/data.\n',
      '[DEPEND] Dependency failed for data.mount - /data.\nYou are in emergency mode. After logging in, type "journalctl -xb" to view\nCannot open access to console, the root account is locked.\n',
    ];
    const { fake } = seam({ afterReboot: () => down, console: emergency });
    const outcome = await rebootGuest(fake, { timeoutSeconds: 600 });
    expect(outcome).toMatchObject({ ok: false, cause: 'image', seconds: 10 });
    expect(outcome.error).toContain('You are in emergency mode');
    expect(outcome.console).toContain('Dependency failed for data.mount');
    expect(outcome.console).not.toContain('boot 1 console');
  });

  it("calls changed host keys the image's failure", async () => {
    const changed = new GuestHostKeyError('SECURITY: SSH to imgtest@10.78.0.20: host key mismatch: ...', '10.78.0.20', 'ssh-ed25519 SHA256:new', ['ssh-ed25519 SHA256:old']);
    const { fake } = seam({ afterReboot: () => changed });
    const outcome = await rebootGuest(fake, { timeoutSeconds: 300 });
    expect(outcome).toMatchObject({ ok: false, cause: 'image' });
    expect(outcome.error).toBe('the guest came back with other SSH host keys than those pinned at first boot (it offered ssh-ed25519 SHA256:new)');
  });

  it('takes a program exit of 255 from the boot id command as an answer, not as the connection', async () => {
    const { fake } = seam({ afterReboot: (poll) => (poll < 2 ? { stdout: '', stderr: 'cat: weird\n', exitCode: 255 } : { stdout: 'bbbb-2222\n', stderr: '', exitCode: 0 }) });
    expect(await rebootGuest(fake, { timeoutSeconds: 300 })).toMatchObject({ ok: true, bootIdAfter: 'bbbb-2222' });
  });

  it('goes on when systemctl reboot answers exit 0 before the connection drops', async () => {
    const { fake, calls } = seam({ rebootCommand: { stdout: '', stderr: '', exitCode: 0 }, afterReboot: (poll) => (poll < 2 ? down : { stdout: 'bbbb-2222\n', stderr: '', exitCode: 0 }) });
    expect(await rebootGuest(fake, { timeoutSeconds: 300 })).toMatchObject({ ok: true, bootIdAfter: 'bbbb-2222' });
    expect(calls).toContain('drop');
  });

  it('is an infrastructure outcome, not a throw, when the boot id cannot be read before the reboot', async () => {
    const { fake, calls } = seam({ before: down, afterReboot: () => down });
    const outcome = await rebootGuest(fake, { timeoutSeconds: 300 });
    expect(outcome).toMatchObject({
      ok: false,
      cause: 'infrastructure',
      seconds: 0,
      error: 'could not read the boot id before rebooting: SSH to imgtest@10.78.0.20: cannot connect: connection refused',
    });
    expect(calls).not.toContain('[sudo] systemctl reboot');
  });

  it("gives up at the deadline as an infrastructure error naming the console's last line", async () => {
    const { fake } = seam({ afterReboot: () => down, console: ['[  OK  ] Reached target reboot.target - System Reboot.\n'] });
    const outcome = await rebootGuest(fake, { timeoutSeconds: 60 });
    expect(outcome).toMatchObject({ ok: false, cause: 'infrastructure', seconds: 60 });
    expect(outcome.error).toContain('within 60 s');
    expect(outcome.error).toContain('(SSH to imgtest@10.78.0.20: cannot connect: connection refused)');
    expect(outcome.error).toContain('Reached target reboot.target');
  });

  it("reports a refused sudo as the image's failure without waiting", async () => {
    const { fake } = seam({ afterReboot: () => down, rebootCommand: { stdout: '', stderr: 'sudo: a password is required', exitCode: 1 } });
    const outcome = await rebootGuest(fake, { timeoutSeconds: 300 });
    expect(outcome).toMatchObject({ ok: false, cause: 'image', seconds: 0 });
    expect(outcome.error).toContain('a password is required');
  });
});

describe('rebootStuck', () => {
  it('reads initramfs shells and panics, and nothing in a normal boot', () => {
    expect(rebootStuck('Gave up waiting for root file system device.\nALERT!  LABEL=root does not exist.  Dropping to a shell!\n(initramfs)')).toBe('Dropping to a shell!');
    expect(rebootStuck('[    3.1] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n')).toBe(
      'Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)',
    );
    expect(rebootStuck('[  OK  ] Reached target multi-user.target - Multi-User System.\nDebian GNU/Linux 12 vm ttyS0\n\nvm login:')).toBeUndefined();
  });
});

describe('guestDiskBytes', () => {
  it('adds the configured growth to the image, rounded up to a MiB', () => {
    expect(guestDiskBytes(2 * 2 ** 30, 2)).toBe(4 * 2 ** 30);
    expect(guestDiskBytes(2 * 2 ** 30, 0)).toBe(2 * 2 ** 30);
    expect(guestDiskBytes(10 ** 9 + 1, 0.5)).toBe(Math.ceil((10 ** 9 + 1 + 2 ** 29) / 2 ** 20) * 2 ** 20);
  });
});
