import { describe, expect, it } from 'vitest';
import { oneLine, transcript, withoutSudoNoise } from '../../src/suite-api/index.js';

describe('evidence helpers of the contract', () => {
  it('oneLine: escape sequences dropped, control characters and white space made one space, cut with an ellipsis', () => {
    expect(oneLine('\x1b[31mred\x1b[0m\tand\r\n\x07bell  ')).toBe('red and bell');
    expect(oneLine('a'.repeat(10), 5)).toBe('aaaa…');
    expect(oneLine('abcde', 5)).toBe('abcde');
    expect(oneLine('x'.repeat(400))).toHaveLength(300);
  });

  it("withoutSudoNoise drops only sudo's unresolvable-host complaint", () => {
    expect(withoutSudoNoise('sudo: unable to resolve host g1: Name or service not known\nreal error')).toBe('real error');
    expect(withoutSudoNoise('sudo: a password is required')).toBe('sudo: a password is required');
  });

  it('transcript: the command with sudo and exit (and a note), stdout, then stderr without sudo noise', () => {
    const result = { stdout: 'out\n\n', stderr: 'sudo: unable to resolve host g1: x\nerr\n', exitCode: 3 };
    expect(transcript(['systemctl', 'is-enabled', 'ssh'], result, { sudo: true }, 'timed out')).toBe('$ sudo -n systemctl is-enabled ssh   (exit 3, timed out)\nout\n[stderr] err');
    expect(transcript(['true'], { stdout: '', stderr: 'sudo: unable to resolve host g1: x', exitCode: 0 })).toBe('$ true   (exit 0)');
  });
});
