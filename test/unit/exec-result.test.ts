import { describe, expect, it } from 'vitest';
import { commandMissing, sudoFailed, transportFailed, unobserved } from '../../src/suite-api/index.js';

const r = (exitCode: number, stderr = '', stdout = '') => ({ exitCode, stderr, stdout });

describe('unobserved: a command that could not run observed nothing', () => {
  it("transportFailed (deprecated) still reads the OpenSSH client's exit 255", () => {
    expect(transportFailed(r(255, 'ssh: connect to host 10.78.0.20 port 22: Connection refused'))).toBe(true);
    expect(transportFailed(r(255, 'Connection to 10.78.0.20 closed by remote host.'))).toBe(true);
    expect(transportFailed(r(255, 'client_loop: send disconnect: Broken pipe'))).toBe(true);
    // sshd -t exits 255 with its own words: that is the guest's answer.
    expect(transportFailed(r(255, '/etc/ssh/sshd_config line 3: Bad configuration option: Foo'))).toBe(false);
    expect(transportFailed(r(1, 'ssh: connect to host x port 22: Connection refused'))).toBe(false);
  });

  it('tells sudo refusing and a missing program from a command that answered', () => {
    expect(sudoFailed(r(1, 'sudo: a password is required'))).toBe(true);
    expect(sudoFailed(r(1, 'grep: /etc/x: No such file or directory'))).toBe(false);
    expect(commandMissing(r(127, 'sh: 1: chronyc: not found'))).toBe(true);
    expect(commandMissing(r(1, 'sudo: chronyc: command not found'))).toBe(true);
    expect(commandMissing(r(3, '', 'inactive'))).toBe(false);
  });

  it('names why, sudo only when the command asked for it', () => {
    // exec throws on a lost connection, so a result's 255 is the program's own: an answer, even in ssh's words
    // (`ssh localhost` run inside the guest).
    expect(unobserved(r(255, 'ssh: connect to host localhost port 22: Connection refused'))).toBeUndefined();
    expect(unobserved(r(255, '/etc/ssh/sshd_config line 3: Bad configuration option: Foo'), { sudo: true })).toBeUndefined();
    expect(unobserved(r(1, 'sudo: a password is required'), { sudo: true })).toBe('sudo');
    expect(unobserved(r(1, 'sudo: a password is required'))).toBeUndefined();
    expect(unobserved(r(127, 'sh: 1: xfs_info: not found'))).toBe('missing');
    expect(unobserved(r(3, '', 'inactive\n'))).toBeUndefined();
  });
});

describe('run: a command stopped by the run being interrupted', () => {
  it('is killed at once and rejects as an interrupted step (E_INTERRUPTED), allowFailure or not', async () => {
    const { run } = await import('../../src/util/exec.js');
    const { InterruptedError } = await import('../../src/errors.js');
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort('SIGINT'), 200);
    await expect(run('sleep', ['30'], { allowFailure: true, signal: controller.signal })).rejects.toBeInstanceOf(InterruptedError);
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect(run('true', [], { signal: controller.signal })).rejects.toBeInstanceOf(InterruptedError);
  });
});
