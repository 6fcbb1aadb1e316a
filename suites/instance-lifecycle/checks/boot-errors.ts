/**
 * `life-boot-errors`: no kernel or journal message at priority err (3) or above while the guest booted.
 *
 * Only messages up to the guest's readiness count: later ones are caused by what ran after boot, e.g.
 * sshd's "maximum authentication attempts exceeded" from another suite's login probes. Readiness, on the
 * journal's clock (CLOCK_MONOTONIC, from the kernel's start): when cloud-final.service became active
 * (cloud-init done), else the runner's power-on-to-cloud-init-done figure minus when the kernel first
 * printed on the serial console (power-on is before the kernel's clock starts), else that figure as is.
 */
import type { Check, CheckContext, GuestHandle } from '../api.js';
import { DEFAULT_BOOT_ERROR_IGNORE, formatEntry, readBootErrors, splitBootErrors, TCG_BOOT_ERROR_IGNORE, type IgnoreRule } from '../commands/journalctl.js';
import { readActiveEnterMonotonic } from '../commands/systemctl.js';
import { oneLine, onEveryGuest, optionsOf, verdict, type GuestVerdict } from '../guest.js';

export interface Cutoff {
  microseconds: number;
  basis: string;
  evidence: string;
}

export async function readinessCutoff(guest: GuestHandle): Promise<Cutoff> {
  const final = await readActiveEnterMonotonic(guest, 'cloud-final.service');
  if (final.microseconds !== undefined) {
    return { microseconds: final.microseconds, basis: `cloud-final.service active at ${(final.microseconds / 1e6).toFixed(1)} s (cloud-init done)`, evidence: final.evidence };
  }
  const { seconds, stages } = guest.boot;
  if (stages.kernel !== undefined && stages.kernel < seconds) {
    const at = seconds - stages.kernel;
    return {
      microseconds: at * 1e6,
      basis: `${at.toFixed(1)} s: cloud-init done ${seconds.toFixed(1)} s after power-on, the kernel's first output at ${stages.kernel.toFixed(1)} s`,
      evidence: final.evidence,
    };
  }
  return { microseconds: seconds * 1e6, basis: `${seconds.toFixed(1)} s: cloud-init done after power-on (no kernel stage seen: a later cut-off)`, evidence: final.evidence };
}

/** The default rules, those for a TCG guest when it ran under TCG, then the config's own. */
export function ignoreRules(extra: readonly string[], accel?: 'kvm' | 'tcg'): IgnoreRule[] {
  return [
    ...DEFAULT_BOOT_ERROR_IGNORE,
    ...(accel === 'tcg' ? TCG_BOOT_ERROR_IGNORE : []),
    ...extra.map((source) => ({ pattern: new RegExp(source), why: 'suites.instance-lifecycle.bootErrorIgnore' })),
  ];
}

async function judge(context: CheckContext, guest: GuestHandle): Promise<GuestVerdict> {
  const options = await optionsOf(context);
  const [journal, cutoff] = await Promise.all([readBootErrors(guest), readinessCutoff(guest)]);
  const split = splitBootErrors(journal.entries, cutoff.microseconds, ignoreRules(options.bootErrorIgnore, guest.boot.accel));
  const evidence = [
    journal.evidence,
    cutoff.evidence,
    `boot ends at ${cutoff.basis}`,
    split.kept.length ? `errors during boot (${split.kept.length}):\n${split.kept.map(formatEntry).join('\n')}` : 'errors during boot: none',
    split.ignored.length
      ? `ignored (${split.ignored.length}):\n${split.ignored.map(({ entry, rule }) => `${formatEntry(entry)}\n    ignored: ${rule.why} (${rule.pattern.source})`).join('\n')}`
      : 'ignored: none',
    split.late.length ? `after boot, not judged (${split.late.length}):\n${split.late.slice(0, 20).map(formatEntry).join('\n')}${split.late.length > 20 ? '\n…' : ''}` : '',
  ].filter(Boolean);
  const counts = `${split.ignored.length} ignored, ${split.late.length} after boot not judged`;
  if (split.kept.length) {
    const first = split.kept[0]!;
    const more = split.kept.length > 1 ? ` (+${split.kept.length - 1} more)` : '';
    return verdict(
      false,
      `${split.kept.length} error line${split.kept.length > 1 ? 's' : ''} at priority err or above during boot: ${oneLine(`${first.identifier}: ${first.message}`, 200)}${more}; ${counts}`,
      evidence.join('\n\n'),
    );
  }
  return verdict(true, `no error lines during boot (${counts})`, evidence.join('\n\n'));
}

export const bootErrorsCheck: Check = {
  id: 'life-boot-errors',
  title: 'no kernel or journal messages at priority err or above during boot',
  severity: 'must',
  tags: ['boot'],
  run: (context) => onEveryGuest(context, (guest) => judge(context, guest)),
};
