/**
 * Reads `qemu-img check --output json` of a qcow2. Its exit status is the verdict (0 clean, 1 the
 * check could not finish, 2 corrupt, 3 only leaked clusters, 63 not supported); the JSON adds the
 * counts. Leaked clusters waste space but no data points at them, so they do not make an image unusable.
 */

export interface QemuImgCheckCounts {
  corruptions: number;
  leaks: number;
  checkErrors: number;
}

export type QemuImgCheckVerdict = { ok: true; leaks: number } | { ok: false; reason: string };

export function parseQemuImgCheck(json: string): QemuImgCheckCounts | undefined {
  try {
    const data = JSON.parse(json) as Record<string, unknown>;
    const count = (key: string) => (typeof data[key] === 'number' ? data[key] : 0);
    return { corruptions: count('corruptions'), leaks: count('leaks'), checkErrors: count('check-errors') };
  } catch {
    return undefined;
  }
}

/** The verdict of one `qemu-img check` run, with the reason in words when the image is refused. Pure. */
export function qemuImgCheckVerdict(exitCode: number, stdout: string, stderr: string): QemuImgCheckVerdict {
  const counts = parseQemuImgCheck(stdout);
  if (exitCode === 0 || exitCode === 3) return { ok: true, leaks: counts?.leaks ?? 0 };
  const lastLine = stderr.trim().split('\n').filter(Boolean).pop();
  if (exitCode === 2) {
    const n = counts?.corruptions;
    return { ok: false, reason: `the qcow2 is corrupt (qemu-img check found ${n === undefined ? 'corruption' : `${n} corruption${n === 1 ? '' : 's'}`}; truncated or overwritten?)` };
  }
  if (exitCode === 1) return { ok: false, reason: `qemu-img check could not finish reading the qcow2 metadata${lastLine ? `: ${lastLine}` : ''}` };
  return { ok: false, reason: `qemu-img check failed (exit ${exitCode})${lastLine ? `: ${lastLine}` : ''}` };
}
