/** `life-failed-units`: no systemd unit failed during boot. */
import type { Check, CheckContext, GuestHandle } from '../api.js';
import { unitLog } from '../commands/journalctl.js';
import { describeUnit, readFailedUnits, type FailedUnitsRead } from '../commands/systemctl.js';
import { onEveryGuest, perGuest, verdict, type GuestVerdict } from '../guest.js';

/** The failed units as first seen (shared with life-reboot, which compares after its reboot). */
export const failedUnitsOf = (context: CheckContext, guest: GuestHandle): Promise<FailedUnitsRead> => perGuest(context, guest, 'failed-units', () => readFailedUnits(guest));

async function judge(context: CheckContext, guest: GuestHandle): Promise<GuestVerdict> {
  const read = await failedUnitsOf(context, guest);
  if (!read.units.length) return verdict(true, 'no failed units', read.evidence);
  const logs: string[] = [];
  for (const unit of read.units) logs.push(`--- ${unit.unit}: its last journal lines this boot\n${await unitLog(guest, unit.unit)}`);
  const names = read.units.map(describeUnit);
  return verdict(false, `${read.units.length} failed unit${read.units.length > 1 ? 's' : ''}: ${names.join(', ')}`, [read.evidence, ...logs].join('\n\n'));
}

export const failedUnitsCheck: Check = {
  id: 'life-failed-units',
  title: 'no systemd unit failed during boot (systemctl --failed)',
  severity: 'must',
  tags: ['boot'],
  run: (context) => onEveryGuest(context, (guest) => judge(context, guest)),
};
