/**
 * `life-time-sync`: a time synchronisation service is enabled and running (systemd-timesyncd, chrony,
 * ntpsec or ntp; Google's cloud-image-tests TestNTP likewise requires a time sync package, "virtual
 * machines are particularly prone to clock drift"), it reports synchronisation when the run knows the time
 * servers the guest's network offers (polled up to `timeSyncWaitSeconds`), and the guest's clock is within
 * `clockToleranceMs` of the imgtest machine's (which stands in for the hosts'; the local lab's NTP server
 * is that machine). Tolerance and wait, with sources: ../options.ts.
 */
import { done, notYet, poll, type Check, type CheckContext, type GuestHandle } from '../api.js';
import { describeTimeUnit, readClockOffset, readSyncState, readTimeUnits, timesyncStatus, type SyncState, type TimeUnit } from '../commands/timesync.js';
import { onEveryGuest, optionsOf, verdict, type GuestVerdict } from '../guest.js';
import type { SuiteTools } from '../tools.js';

/** How often the synchronisation state is asked while waiting. */
export const SYNC_POLL_MS = 5000;
/** Extra tolerance when no time server is known: the clock came from the RTC, which has whole seconds. */
export const RTC_RESOLUTION_MS = 1000;

async function waitForSync(guest: GuestHandle, unit: TimeUnit, waitSeconds: number, tools: SuiteTools, signal: AbortSignal): Promise<{ state: SyncState; polls: number; seconds: number }> {
  const waited = await poll(
    async () => {
      const state = await readSyncState(guest, unit.service);
      return state.synchronised ? done(state) : notYet(state);
    },
    { intervalMs: SYNC_POLL_MS, timeoutMs: waitSeconds * 1000, signal, now: () => tools.now(), sleep: (ms) => tools.sleep(ms) },
  );
  return { state: waited.ok ? waited.value : waited.last, polls: waited.attempts, seconds: waited.elapsedMs / 1000 };
}

async function judge(context: CheckContext, guest: GuestHandle, tools: SuiteTools): Promise<GuestVerdict> {
  const options = await optionsOf(context);
  const units = await readTimeUnits(guest);
  const evidence: string[] = [units.evidence, units.units.length ? `time sync units: ${units.units.map(describeTimeUnit).join('; ')}` : 'time sync units: none installed'];
  const problems: string[] = [];
  const facts: string[] = [];
  const prefix = `life.${guest.name}`;

  const running = units.units.filter((u) => u.enabled && u.active);
  if (!units.units.length) problems.push('no time synchronisation service is installed (systemd-timesyncd, chrony, ntpsec, ntp)');
  else if (!running.length) problems.push(`no time synchronisation service is enabled and running: ${units.units.map(describeTimeUnit).join('; ')}`);
  else facts.push(`${running.map((u) => u.unit).join(', ')} enabled and active`);
  if (running[0]) context.property(`${prefix}.time-sync-service`, running[0].unit);

  const servers = context.timeServers;
  const judgedSync = servers.length > 0 && running.length > 0;
  if (judgedSync) {
    const unit = running[0]!;
    const waited = await waitForSync(guest, unit, options.timeSyncWaitSeconds, tools, context.signal);
    evidence.push(
      `the network offers ${servers.join(', ')}; ${unit.unit} asked ${waited.polls} time(s) over ${waited.seconds.toFixed(0)} s (wait up to ${options.timeSyncWaitSeconds} s); last answer:\n${waited.state.evidence}`,
    );
    if (unit.service === 'timesyncd') evidence.push(await timesyncStatus(guest));
    if (waited.state.synchronised) {
      facts.push(`synchronised (${waited.state.detail})`);
      context.property(`${prefix}.time-sync-seconds`, Number(waited.seconds.toFixed(0)));
    } else {
      problems.push(`${unit.unit} is not synchronised after ${waited.seconds.toFixed(0)} s although the network offers ${servers.join(', ')} (${waited.state.detail})`);
    }
  } else if (servers.length === 0) {
    evidence.push('synchronisation not judged: the run knows no time server the guest network offers (config network.timeServers)');
  }

  const tolerance = options.clockToleranceMs + (judgedSync ? 0 : RTC_RESOLUTION_MS);
  const clock = await readClockOffset(guest, tools.now);
  context.property(`${prefix}.clock-offset-ms`, clock.offsetMs);
  evidence.push(
    clock.evidence,
    `guest clock minus host clock: ${clock.offsetMs} ms (±${clock.uncertaintyMs} ms); tolerance ${tolerance} ms${judgedSync ? '' : ` (clockToleranceMs + ${RTC_RESOLUTION_MS} ms: no known time server, the clock comes from the RTC)`}`,
  );
  const signed = `${clock.offsetMs >= 0 ? '+' : ''}${clock.offsetMs} ms`;
  if (Math.abs(clock.offsetMs) - clock.uncertaintyMs > tolerance) problems.push(`the guest's clock is ${signed} off the host's (tolerance ${tolerance} ms, ±${clock.uncertaintyMs} ms measuring)`);
  else facts.push(`clock ${signed} off the host's (±${clock.uncertaintyMs} ms)`);

  if (problems.length) return verdict(false, problems.join('; '), evidence.join('\n\n'));
  return verdict(true, `${facts.join('; ')}${servers.length ? '' : '; synchronisation not judged (no known time server)'}`, evidence.join('\n\n'));
}

export function timeSyncCheck(tools: SuiteTools): Check {
  return {
    id: 'life-time-sync',
    title: 'a time sync service is enabled and running, synchronised, and the clock is right',
    severity: 'must',
    tags: ['time'],
    run: (context) => onEveryGuest(context, (guest) => judge(context, guest, tools)),
  };
}
