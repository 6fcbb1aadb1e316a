/** cloud-init's own records: the instance id it acted on, its per-instance semaphores, its log. */
import type { GuestHandle } from '../api.js';
import { cannotObserve, readFile, run, tryRun } from '../guest.js';

export const INSTANCE_ID_PATH = '/var/lib/cloud/data/instance-id';
/** `instance` links to instances/<instance-id>; its sem/ holds one file per per-instance module that ran. */
export const INSTANCE_SEM_DIR = '/var/lib/cloud/instance/sem';
export const SEM_ARGV = ['find', INSTANCE_SEM_DIR, '-maxdepth', '1', '-type', 'f', '-printf', '%T@ %f\\n'] as const;
export const CLOUD_INIT_LOG = '/var/log/cloud-init.log';
export const GROWTH_LOG_ARGV = ['grep', '-E', 'cc_growpart|cc_resizefs|growpart|resize2fs|xfs_growfs|resizefs', CLOUD_INIT_LOG] as const;

export async function readInstanceId(guest: GuestHandle): Promise<{ value?: string; evidence: string }> {
  const read = await readFile(guest, INSTANCE_ID_PATH, { sudo: true });
  return { value: read.state === 'ok' ? read.text.trim() || undefined : undefined, evidence: read.evidence };
}

/** `find -printf '%T@ %f\n'`: "1700000000.1234567890 config_ssh" -> name -> mtime (seconds). */
export function parseMtimes(output: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of output.split('\n')) {
    const m = /^(\d+(?:\.\d+)?) (.+)$/.exec(line.trim());
    if (m) out.set(m[2]!, Number(m[1]));
  }
  return out;
}

/** The per-instance semaphores and their mtimes; an absent directory is an empty map. */
export async function readSemaphores(guest: GuestHandle): Promise<{ mtimes: Map<string, number>; evidence: string }> {
  const what = `list ${INSTANCE_SEM_DIR}`;
  const ran = await run(guest, SEM_ARGV, { sudo: true }, what);
  if (ran.result.exitCode !== 0 && !/No such file or directory/.test(ran.result.stderr)) throw cannotObserve(guest, what, ran);
  return { mtimes: parseMtimes(ran.result.stdout), evidence: ran.evidence };
}

/** growpart/resizefs lines of cloud-init's log (the last 40), for evidence; none is an answer too. */
export async function growthLogLines(guest: GuestHandle): Promise<string> {
  const ran = await tryRun(guest, GROWTH_LOG_ARGV, { sudo: true });
  if (ran.unobserved) throw cannotObserve(guest, `read ${CLOUD_INIT_LOG}`, ran);
  const lines = ran.result.stdout.split('\n').filter((l) => l.trim());
  const head = `$ sudo -n ${GROWTH_LOG_ARGV.map((a) => (/[|\s]/.test(a) ? `'${a}'` : a)).join(' ')}   (exit ${ran.result.exitCode})`;
  if (ran.result.exitCode === 1 && !lines.length) return `${head}\n(no growpart or resizefs lines in ${CLOUD_INIT_LOG})`;
  if (ran.result.exitCode > 1) return `${head}\n${ran.result.stderr.trim()}`;
  return [head, ...(lines.length > 40 ? ['…', ...lines.slice(-40)] : lines)].join('\n');
}
