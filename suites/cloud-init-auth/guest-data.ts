/**
 * Reads from a guest that several checks share, computed once per guest through `context.memo`.
 * Every read keeps the command and its raw output, so checks can show it as evidence.
 */
import type { CheckContext, ExecOptions, ExecResult, GuestHandle } from './api.js';
import { cloudInitStatusFromRunFiles, parseCloudInitStatusJson, parseInstanceData, parseSshdT, type CloudInitStatus, type InstanceData, type Parsed } from './parse.js';
import { transcript } from './api.js';
// The contract's evidence helpers, re-exported for this suite's other files (one wording across suites).
export { transcript };

export async function run(guest: GuestHandle, argv: readonly string[], options: ExecOptions = {}): Promise<{ result: ExecResult; evidence: string }> {
  const result = await guest.exec(argv, options);
  return { result, evidence: transcript(argv, result, options) };
}

export interface FileRead {
  path: string;
  state: 'ok' | 'missing' | 'unreadable';
  text: string;
  /** Read through sudo because the test user could not. */
  sudo: boolean;
  evidence: string;
}

const MISSING = /No such file or directory/i;

/** `cat PATH` as the test user, again through sudo when permission was denied. */
export async function readText(guest: GuestHandle, path: string): Promise<FileRead> {
  const argv = ['cat', path];
  const first = await run(guest, argv);
  if (first.result.exitCode === 0) return { path, state: 'ok', text: first.result.stdout, sudo: false, evidence: first.evidence };
  if (MISSING.test(first.result.stderr)) return { path, state: 'missing', text: '', sudo: false, evidence: first.evidence };
  const second = await run(guest, argv, { sudo: true });
  const evidence = `${first.evidence}\n${second.evidence}`;
  if (second.result.exitCode === 0) return { path, state: 'ok', text: second.result.stdout, sudo: true, evidence };
  return { path, state: MISSING.test(second.result.stderr) ? 'missing' : 'unreadable', text: '', sudo: true, evidence };
}

const key = (name: string, guest: GuestHandle, extra = ''): string => `cloud-init-auth:${name}:${guest.name}${extra ? `:${extra}` : ''}`;

export interface StatusRead {
  parsed: Parsed<CloudInitStatus>;
  /** The text that was parsed (status JSON, or the run files), for the artifact. */
  raw: string;
  exitCode: number;
  evidence: string;
}

/**
 * cloud-init's verdict: `cloud-init status --format json` (the runner already waited for it), else
 * /run/cloud-init/status.json + result.json for a cloud-init without `--format`.
 */
export function cloudInitStatus(context: CheckContext, guest: GuestHandle): Promise<StatusRead> {
  return context.memo(key('status', guest), async () => {
    const argv = ['cloud-init', 'status', '--format', 'json'];
    const { result, evidence } = await run(guest, argv);
    const parsed = parseCloudInitStatusJson(result.stdout);
    if (parsed.ok) return { parsed, raw: result.stdout, exitCode: result.exitCode, evidence };
    const status = await readText(guest, '/run/cloud-init/status.json');
    const done = await readText(guest, '/run/cloud-init/result.json');
    const fallbackEvidence = [evidence, `(status output not usable: ${parsed.reason}; reading cloud-init's run files)`, status.evidence, done.evidence].join('\n');
    if (status.state !== 'ok') {
      return {
        parsed: { ok: false, reason: `cloud-init status --format json: ${parsed.reason}; ${status.path} ${status.state}` },
        raw: result.stdout,
        exitCode: result.exitCode,
        evidence: fallbackEvidence,
      };
    }
    const fromFiles = cloudInitStatusFromRunFiles(status.text, done.state === 'ok' ? done.text : undefined);
    const raw = JSON.stringify({ 'status.json': safeJson(status.text), 'result.json': done.state === 'ok' ? safeJson(done.text) : null }, null, 2);
    return { parsed: fromFiles, raw, exitCode: result.exitCode, evidence: fallbackEvidence };
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface InstanceDataRead {
  file: FileRead;
  parsed: Parsed<InstanceData>;
}

export const INSTANCE_DATA = '/run/cloud-init/instance-data.json';

/** /run/cloud-init/instance-data.json (world-readable, sensitive keys redacted; what `cloud-init query` reads). */
export function instanceData(context: CheckContext, guest: GuestHandle): Promise<InstanceDataRead> {
  return context.memo(key('instance-data', guest), async () => {
    const file = await readText(guest, INSTANCE_DATA);
    const parsed: Parsed<InstanceData> = file.state === 'ok' ? parseInstanceData(file.text) : { ok: false, reason: `${INSTANCE_DATA} ${file.state}` };
    return { file, parsed };
  });
}

export interface SshdRead {
  ok: boolean;
  settings: Map<string, string[]>;
  raw: string;
  evidence: string;
  /** Why it could not be read. */
  problem?: string;
}

/**
 * sshd's effective settings for a connection as `user` (`sshd -T -C ...`), so Match blocks and the
 * first-value-wins drop-ins (cloud-init's 50-cloud-init.conf) are already applied.
 */
export function sshdEffective(context: CheckContext, guest: GuestHandle, user: string): Promise<SshdRead> {
  return context.memo(key('sshd-T', guest, user), async () => {
    const spec = `user=${user},host=imgtest.invalid,addr=127.0.0.1`;
    const attempts = [
      ['sshd', '-T', '-C', spec],
      ['/usr/sbin/sshd', '-T', '-C', spec],
    ];
    const evidence: string[] = [];
    let last: ExecResult | undefined;
    for (const argv of attempts) {
      const { result, evidence: shown } = await run(guest, argv, { sudo: true });
      last = result;
      const settings = parseSshdT(result.stdout);
      if (result.exitCode === 0 && settings.size > 0) {
        evidence.push(`$ sudo -n ${argv.join(' ')}   (exit 0, ${settings.size} settings; full output in the artifact)`);
        return { ok: true, settings, raw: result.stdout, evidence: evidence.join('\n') };
      }
      evidence.push(shown);
      if (!/not found|No such file/i.test(result.stderr)) break;
    }
    const problem = `sshd -T exit ${last?.exitCode}: ${(last?.stderr || last?.stdout || '').trim().split('\n').pop() ?? ''}`;
    return { ok: false, settings: new Map(), raw: last?.stdout ?? '', evidence: evidence.join('\n'), problem };
  });
}

/** A file name safe for the report folder. */
export function artifactName(base: string, guest: GuestHandle, extension: string): string {
  return `${base}-${guest.name.replace(/[^A-Za-z0-9._-]+/g, '_')}.${extension}`;
}
