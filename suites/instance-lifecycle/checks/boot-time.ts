/**
 * `life-boot-time` (should): power-on to cloud-init done under the limit for the guest's accelerator,
 * with the split: the runner's stages from outside (first console output, kernel, DHCP lease, SSH,
 * cloud-init) and systemd's own (`systemd-analyze time`: kernel, initrd, userspace). Limits and their
 * sources: ../options.ts.
 */
import type { Check, CheckContext, GuestBootStages, GuestHandle } from '../api.js';
import { describeStartup, readStartupTimes } from '../commands/systemd-analyze.js';
import { onEveryGuest, optionsOf, seconds, verdict, type GuestVerdict } from '../guest.js';

const STAGES: readonly [keyof GuestBootStages, string][] = [
  ['firmware', 'firmware'],
  ['kernel', 'kernel'],
  ['address', 'address'],
  ['ssh', 'ssh'],
  ['cloudInit', 'cloud-init'],
];

export function describeStages(stages: GuestBootStages): string {
  const seen = STAGES.filter(([key]) => stages[key] !== undefined).map(([key, label]) => `${label} ${seconds(stages[key]!)}`);
  return seen.length ? seen.join(', ') : 'no stage times';
}

async function judge(context: CheckContext, guest: GuestHandle): Promise<GuestVerdict> {
  const options = await optionsOf(context);
  const { accel, seconds: total, stages } = guest.boot;
  const limit = options.bootTimeLimitSeconds[accel];
  const prefix = `life.${guest.name}`;
  context.property(`${prefix}.boot-seconds`, Number(total.toFixed(1)));
  context.property(`${prefix}.accel`, accel);
  context.property(`${prefix}.boot-limit-seconds`, limit);
  for (const [key, label] of STAGES) if (stages[key] !== undefined) context.property(`${prefix}.stage.${label}-s`, Number(stages[key]!.toFixed(1)));

  const analyze = await readStartupTimes(guest);
  if (analyze.times) {
    for (const [phase, value] of Object.entries(analyze.times.phases)) context.property(`${prefix}.${phase}-s`, Number(value.toFixed(1)));
  }
  const systemd = analyze.times ? `systemd-analyze: ${describeStartup(analyze.times)}` : `systemd-analyze: ${analyze.note}`;
  const line = `${seconds(total)} from power-on to cloud-init done under ${accel} (limit ${limit} s); stages from power-on: ${describeStages(stages)}; ${systemd}`;
  const evidence = [
    `accelerator ${accel}; limit ${limit} s (suites.instance-lifecycle.bootTimeLimitSeconds.${accel})`,
    `power-on to cloud-init done: ${total.toFixed(1)} s`,
    `stages, seconds from power-on (as the runner saw them from outside): ${describeStages(stages)}`,
    analyze.evidence,
    analyze.note ? `note: ${analyze.note}` : '',
  ].filter(Boolean);
  return verdict(total <= limit, total <= limit ? line : `booted too slowly: ${line}`, evidence.join('\n'));
}

export const bootTimeCheck: Check = {
  id: 'life-boot-time',
  title: 'power-on to cloud-init done within the limit for the accelerator (KVM, TCG)',
  severity: 'should',
  tags: ['boot'],
  run: (context) => onEveryGuest(context, (guest) => judge(context, guest)),
};
