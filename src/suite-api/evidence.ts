/**
 * Evidence text, once for every suite: a command and what it printed (`transcript`), a message cut to
 * one line (`oneLine`), and stderr without sudo's own complaints (`withoutSudoNoise`). Part of the
 * plugin contract (exported from `imgtest/suite-api`), so every suite's evidence reads the same way.
 */

/** The parts of `ExecResult`/`ExecOptions` (./index.ts) these read; declared here so this file imports nothing. */
interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * One line of at most `max` characters: terminal escape sequences dropped, control characters and
 * runs of white space made one space, an ellipsis where it was cut. For messages (JUnit `message`
 * attributes, console lines), where a guest's raw output must not break the layout.
 */
export function oneLine(text: string, max = 300): string {
  const flat = text
    .replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, '')
    .replace(/[\x00-\x1f\x7f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** sudo's own complaints (an unresolvable hostname: cloud-init had not written /etc/hosts yet) are not the command's output. */
export function withoutSudoNoise(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => !/^sudo: unable to resolve host /.test(line))
    .join('\n');
}

/**
 * A command and what it printed, as evidence: `$ [sudo -n ]argv   (exit N[, note])`, then stdout, then
 * stderr (without sudo's noise) marked `[stderr]`. `note` adds a word to the exit, e.g. `timed out`.
 */
export function transcript(argv: readonly string[], result: ExecResult, options: { sudo?: boolean } = {}, note = ''): string {
  const lines = [`$ ${options.sudo ? 'sudo -n ' : ''}${argv.join(' ')}   (exit ${result.exitCode}${note ? `, ${note}` : ''})`];
  if (result.stdout.trim()) lines.push(result.stdout.replace(/\s+$/, ''));
  const stderr = withoutSudoNoise(result.stderr);
  if (stderr.trim()) lines.push(`[stderr] ${stderr.replace(/\s+$/, '')}`);
  return lines.join('\n');
}
