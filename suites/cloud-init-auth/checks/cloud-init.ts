/** What cloud-init did with the run's NoCloud seed: datasource, verdict, instance-id, hostname. */
import type { Check, CheckContext, GuestHandle } from '../api.js';
import { artifactName, cloudInitStatus, INSTANCE_DATA, instanceData, readText, run } from '../guest-data.js';
import { onEveryGuest, verdict, type GuestVerdict } from '../per-guest.js';
import { oneLine, parseNoCloudSeed, type CloudInitStatus, type InstanceData } from '../parse.js';

/** The part of instance-data.json that proves where the data came from. */
function instanceDataExcerpt(data: InstanceData): string {
  return JSON.stringify(
    { 'v1.platform': data.platform, 'v1.subplatform': data.subplatform, 'v1.cloud_name': data.cloudName, 'v1.instance_id': data.instanceId, 'ds.meta_data': data.metaData },
    null,
    2,
  );
}

/** Judges NoCloud + a seed disk from platform and the seed list. Pure, for tests. */
export function judgeDatasource(platform: string | undefined, seedText: string | undefined, from: string): { ok: boolean; message: string } {
  if (!platform) return { ok: false, message: `${from} names no datasource platform` };
  if (platform !== 'nocloud') return { ok: false, message: `datasource is '${platform}'${seedText ? ` (${seedText})` : ''}, not NoCloud` };
  const seed = parseNoCloudSeed(seedText ?? '');
  const devices = seed.sources.filter((s) => s.startsWith('/dev/'));
  const folders = seed.sources.filter((s) => s.startsWith('/') && !s.startsWith('/dev/'));
  if (!devices.length) {
    return { ok: false, message: `NoCloud did not read a seed disk (${seedText ? `seed: ${seedText}` : 'no seed named'})` };
  }
  if (folders.length) {
    return { ok: false, message: `NoCloud also merged a seed folder baked into the image: ${folders.join(', ')} (${seedText})` };
  }
  return { ok: true, message: `NoCloud, seed read from ${devices.join(', ')}${seed.kind ? ` (${seed.kind})` : ''}` };
}

export const datasourceCheck: Check = {
  id: 'ci-datasource',
  title: 'cloud-init took its data from the NoCloud seed disk',
  severity: 'must',
  run: (context) =>
    onEveryGuest(context, async (guest) => {
      const data = await instanceData(context, guest);
      if (data.parsed.ok) {
        if (data.file.state === 'ok') await context.artifacts.write(artifactName('instance-data', guest, 'json'), data.file.text);
        const judged = judgeDatasource(data.parsed.value.platform, data.parsed.value.subplatform, INSTANCE_DATA);
        return verdict(judged.ok, judged.message, `$ cat ${INSTANCE_DATA}   (excerpt; whole file in the artifact)\n${instanceDataExcerpt(data.parsed.value)}`);
      }
      // No usable instance-data.json: fall back on cloud-init's own status detail.
      const status = await cloudInitStatus(context, guest);
      const evidence = `${data.file.evidence}\n(${data.parsed.reason})\n${status.evidence}`;
      if (!status.parsed.ok) return verdict(false, `cloud-init names no datasource: ${data.parsed.reason}; status: ${status.parsed.reason}`, evidence);
      const judged = judgeDatasource(status.parsed.value.datasource, status.parsed.value.detail, 'cloud-init status');
      return verdict(judged.ok, `${judged.message} (from cloud-init status; ${data.parsed.reason})`, evidence);
    }),
};

/** cloud-init 22.4 records errors as str((module, exception)): newlines arrive as literal "\\n". */
const readable = (message: string): string => oneLine(message.replace(/\\[nrt]/g, ' '), 160);

/** Judges cloud-init's verdict. Pure, for tests. */
export function judgeStatus(status: CloudInitStatus, exitCode: number): { ok: boolean; message: string } {
  const extended = status.extendedStatus && status.extendedStatus !== status.status ? ` (${status.extendedStatus})` : '';
  if (status.errors.length) {
    const more = status.errors.length > 1 ? ` (+${status.errors.length - 1} more)` : '';
    return { ok: false, message: `cloud-init status '${status.status}'${extended} with errors: ${readable(status.errors[0]!)}${more}` };
  }
  if (status.status !== 'done') return { ok: false, message: `cloud-init status is '${status.status}'${extended}, not 'done'${status.detail ? `: ${oneLine(status.detail, 100)}` : ''}` };
  const recoverable = status.recoverableErrors;
  if (recoverable?.length) {
    const first = recoverable[0]!;
    const more = recoverable.length > 1 ? ` (+${recoverable.length - 1} more)` : '';
    return { ok: false, message: `cloud-init finished with recoverable errors: ${first.level}: ${readable(first.message)}${more}` };
  }
  if (status.extendedStatus && /degraded|error/i.test(status.extendedStatus)) {
    return { ok: false, message: `cloud-init extended_status is '${status.extendedStatus}'` };
  }
  const source = status.source === 'run-files' ? ' (from /run/cloud-init status.json and result.json)' : '';
  const code = exitCode !== 0 && status.source === 'status-json' ? `; exit code ${exitCode} ignored, the JSON is the verdict` : '';
  if (!recoverable) return { ok: true, message: `cloud-init done, no errors; this cloud-init reports no recoverable_errors${source}${code}` };
  return { ok: true, message: `cloud-init done, no errors, no recoverable errors${source}${code}` };
}

export const statusCheck: Check = {
  id: 'ci-status',
  title: 'cloud-init finished without errors or recoverable errors',
  severity: 'must',
  run: (context) =>
    onEveryGuest(context, async (guest) => {
      const status = await cloudInitStatus(context, guest);
      if (status.raw.trim()) await context.artifacts.write(artifactName('cloud-init-status', guest, 'json'), status.raw);
      if (!status.parsed.ok) return verdict(false, `cloud-init status unreadable: ${status.parsed.reason}`, status.evidence);
      const judged = judgeStatus(status.parsed.value, status.exitCode);
      return verdict(judged.ok, judged.message, status.evidence);
    }),
};

const INSTANCE_ID_FILE = '/var/lib/cloud/data/instance-id';

async function instanceIdOn(context: CheckContext, guest: GuestHandle): Promise<GuestVerdict> {
  const seeded = guest.seed.instanceId;
  const data = await instanceData(context, guest);
  const file = await readText(guest, INSTANCE_ID_FILE);
  const evidence = [
    data.parsed.ok ? `$ cat ${INSTANCE_DATA} | v1.instance_id\n${data.parsed.value.instanceId ?? '(absent)'}` : `${data.file.evidence}\n(${data.parsed.reason})`,
    file.evidence,
    `seeded instance-id: ${seeded}`,
  ].join('\n');
  const problems: string[] = [];
  const fromData = data.parsed.ok ? data.parsed.value.instanceId : undefined;
  if (!data.parsed.ok) problems.push(`instance-data unreadable (${data.parsed.reason})`);
  else if (fromData === undefined) problems.push('instance-data.json has no instance_id');
  else if (fromData !== seeded) problems.push(`instance-data.json says '${fromData}'`);
  const fromFile = file.state === 'ok' ? file.text.trim() : undefined;
  if (fromFile === undefined) problems.push(`${INSTANCE_ID_FILE} ${file.state}`);
  else if (fromFile !== seeded) problems.push(`${INSTANCE_ID_FILE} says '${fromFile}'`);
  if (problems.length) return verdict(false, `instance-id is not the seeded '${seeded}': ${problems.join('; ')}`, evidence);
  return verdict(true, `instance-id '${seeded}' as seeded (instance-data.json and ${INSTANCE_ID_FILE})`, evidence);
}

export const instanceIdCheck: Check = {
  id: 'ci-instance-id',
  title: "cloud-init's instance-id is the seeded one",
  severity: 'must',
  run: (context) => onEveryGuest(context, (guest) => instanceIdOn(context, guest)),
};

export const hostnameCheck: Check = {
  id: 'ci-hostname',
  title: 'the hostname is the seeded one',
  severity: 'must',
  run: (context) =>
    onEveryGuest(context, async (guest) => {
      let { result, evidence } = await run(guest, ['hostname']);
      if (result.exitCode === 127 || /not found/i.test(result.stderr)) {
        // No hostname(1) in the image: the kernel's own record is the same value.
        const kernel = await run(guest, ['cat', '/proc/sys/kernel/hostname']);
        result = kernel.result;
        evidence = `${evidence}\n${kernel.evidence}`;
      }
      const seeded = guest.seed.hostname.split('.')[0]!;
      const full = result.stdout.trim();
      const short = full.split('.')[0] ?? '';
      const shown = `${evidence}\nseeded hostname: ${guest.seed.hostname}`;
      if (result.exitCode !== 0 || !full) return verdict(false, `hostname could not be read (exit ${result.exitCode}: ${oneLine(result.stderr, 100)})`, shown);
      if (short !== seeded) return verdict(false, `hostname is '${full}', seeded '${guest.seed.hostname}'`, shown);
      return verdict(true, `hostname '${full}' as seeded`, shown);
    }),
};
