/** The kernel writes to the serial port, so a failed boot leaves a log behind. */
import type { Check } from '../api.js';
import { run } from '../guest-data.js';
import { onEveryGuest, verdict } from '../per-guest.js';
import { hasKernelConsole, kernelBanner, kernelConsoles } from '../parse.js';

export const SERIAL_DEVICE = 'ttyS0';

/** What is missing for a usable serial console. Pure, for tests. */
export function judgeConsole(cmdline: string, serialLog: string): { ok: boolean; message: string; banner?: string } {
  const missing: string[] = [];
  if (!hasKernelConsole(cmdline, SERIAL_DEVICE)) {
    const consoles = kernelConsoles(cmdline);
    missing.push(`no console=${SERIAL_DEVICE} on the kernel command line (${consoles.length ? consoles.map((c) => `console=${c}`).join(' ') : 'no console= at all'})`);
  }
  const banner = kernelBanner(serialLog);
  if (!serialLog.trim()) missing.push('the serial log is empty');
  else if (!banner) missing.push("the serial log has no kernel output (no 'Linux version' line)");
  if (missing.length) return { ok: false, message: missing.join('; '), banner };
  return { ok: true, message: `kernel console on ${SERIAL_DEVICE}, serial log holds kernel output`, banner };
}

export const consoleCheck: Check = {
  id: 'ci-console',
  title: 'kernel console on the serial port, and the serial log holds kernel output',
  severity: 'must',
  tags: ['boot'],
  run: (context) =>
    onEveryGuest(context, async (guest) => {
      const cmdline = await run(guest, ['cat', '/proc/cmdline']);
      const log = await guest.serialLog();
      const judged = judgeConsole(cmdline.result.stdout, log);
      const evidence = [cmdline.evidence, `serial log: ${log.length} bytes (attached by the runner)`, `kernel banner: ${judged.banner ?? '(none)'}`].join('\n');
      return verdict(judged.ok, judged.message, evidence);
    }),
};
