/** Running one check on every guest and folding the results into one outcome. */
import { fail, pass, type CheckContext, type CheckOutcome, type GuestHandle } from './api.js';
import { oneLine } from './parse.js';

export interface GuestVerdict {
  ok: boolean;
  /** One line naming what was found on this guest. */
  message: string;
  evidence: string;
}

export const verdict = (isOk: boolean, message: string, evidence: string): GuestVerdict => ({ ok: isOk, message, evidence });

export function guestHeader(guest: GuestHandle, index: number): string {
  return `=== guests[${index}] ${guest.name} on ${guest.host.name} (${guest.address}) ===`;
}

/** The guests to check; an empty list is the runner's fault, not the image's. */
export function requireGuests(context: CheckContext): readonly GuestHandle[] {
  if (context.guests.length === 0) throw new Error('cloud-init-auth: the runner planned no guest for this suite');
  return context.guests;
}

/** Runs `check` on every guest (in parallel) and combines: any failing guest fails the check. */
export async function onEveryGuest(context: CheckContext, check: (guest: GuestHandle, index: number) => Promise<GuestVerdict>): Promise<CheckOutcome> {
  const guests = requireGuests(context);
  const verdicts = await Promise.all(guests.map((guest, index) => check(guest, index)));
  return combine(guests, verdicts);
}

export function combine(guests: readonly GuestHandle[], verdicts: readonly GuestVerdict[]): CheckOutcome {
  const many = guests.length > 1;
  const evidence = verdicts.map((v, i) => `${guestHeader(guests[i]!, i)}\n${v.evidence.trim()}`).join('\n\n');
  const failing = verdicts.map((v, i) => ({ v, i })).filter(({ v }) => !v.ok);
  if (failing.length) {
    const first = failing[0]!;
    const others = failing.length - 1;
    const prefix = many ? `${guests[first.i]!.name}: ` : '';
    const suffix = others ? ` (and ${others} more guest${others > 1 ? 's' : ''})` : '';
    return fail(oneLine(`${prefix}${first.v.message}${suffix}`, 300), evidence);
  }
  const messages = [...new Set(verdicts.map((v) => v.message))];
  if (!many) return pass(oneLine(messages[0] ?? '', 300), evidence);
  if (messages.length === 1) return pass(oneLine(`${messages[0]} (all ${guests.length} guests)`, 300), evidence);
  return pass(oneLine(verdicts.map((v, i) => `${guests[i]!.name}: ${v.message}`).join('; '), 400), evidence);
}
