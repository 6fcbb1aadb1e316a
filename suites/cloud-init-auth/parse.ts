/**
 * Pure readers of command output seen in a guest. No I/O here: everything is unit-tested against
 * real-world output (cloud-init 22.4.2 as shipped in Debian 12, and newer shapes).
 */
import { createHash } from 'node:crypto';
import { oneLine } from './api.js';
// The contract's evidence helpers, re-exported for this suite's other files (one wording across suites).
export { oneLine };

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Parses the one JSON object in `text`, tolerating warnings printed before or after it. */
export function parseJsonObject(text: string): Parsed<JsonObject> {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) return bad(text.trim() ? 'no JSON object in the output' : 'empty output');
  try {
    const value: unknown = JSON.parse(text.slice(start, end + 1));
    return isObject(value) ? ok(value) : bad('JSON is not an object');
  } catch (error) {
    return bad(`invalid JSON: ${(error as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// cloud-init status

export interface RecoverableError {
  /** Log level cloud-init filed it under (WARNING, DEPRECATED, ERROR, ...). */
  level: string;
  message: string;
}

export interface CloudInitStatus {
  /** `status-json`: `cloud-init status --format json`; `run-files`: /run/cloud-init/status.json + result.json. */
  source: 'status-json' | 'run-files';
  /** done, running, error, disabled, "not run" (<= 23.3), "not started" (>= 23.4). */
  status: string;
  /** 23.4+: "done", "degraded done", "error - done", ... */
  extendedStatus?: string;
  errors: string[];
  /** Undefined when this cloud-init does not report recoverable errors at all (before 23.4). */
  recoverableErrors?: RecoverableError[];
  /** Short datasource name ("nocloud"), when reported. */
  datasource?: string;
  /** e.g. "DataSourceNoCloud [seed=/dev/sr0][dsmode=net]" */
  detail?: string;
  bootStatusCode?: string;
  lastUpdate?: string;
}

const STAGE_KEYS = ['init-local', 'init', 'modules-config', 'modules-final'];

function stringList(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
}

/** `{"WARNING": ["a", "b"]}` (or, defensively, a flat list) -> [{level, message}] */
function recoverableList(value: unknown): RecoverableError[] {
  if (Array.isArray(value)) return stringList(value).map((message) => ({ level: 'UNKNOWN', message }));
  if (!isObject(value)) return [];
  const out: RecoverableError[] = [];
  for (const [level, messages] of Object.entries(value)) {
    const list = Array.isArray(messages) ? stringList(messages) : [typeof messages === 'string' ? messages : JSON.stringify(messages)];
    for (const message of list) out.push({ level, message });
  }
  return out;
}

function pushUnique<T>(target: T[], items: readonly T[], key: (item: T) => string): void {
  const seen = new Set(target.map(key));
  for (const item of items) {
    const k = key(item);
    if (!seen.has(k)) {
      seen.add(k);
      target.push(item);
    }
  }
}

/** Errors and recoverable errors held in per-stage objects (status.json's v1, and newer status output). */
function stageFindings(container: JsonObject): { errors: string[]; recoverable?: RecoverableError[] } {
  const errors: string[] = [];
  let recoverable: RecoverableError[] | undefined;
  for (const [key, value] of Object.entries(container)) {
    if (!isObject(value)) continue;
    if (!STAGE_KEYS.includes(key) && !('errors' in value) && !('start' in value)) continue;
    pushUnique(errors, stringList(value.errors), (e) => e);
    if ('recoverable_errors' in value) {
      recoverable ??= [];
      pushUnique(recoverable, recoverableList(value.recoverable_errors), (r) => `${r.level}\n${r.message}`);
    }
  }
  return { errors, recoverable };
}

/**
 * `cloud-init status --format json`. Shapes handled:
 * - 22.2 .. 23.3 (Debian 12 has 22.4.2): status, boot_status_code, datasource, detail, errors,
 *   last_update, schemas {"1": ...}, _schema_version; no extended_status, no recoverable_errors.
 * - 23.4+: adds extended_status and recoverable_errors ({"WARNING": [...]}) and the per-stage objects.
 */
export function parseCloudInitStatusJson(text: string): Parsed<CloudInitStatus> {
  const parsed = parseJsonObject(text);
  if (!parsed.ok) return parsed;
  const top = parsed.value;
  const v1 = isObject(top.schemas) && isObject(top.schemas['1']) ? top.schemas['1'] : {};
  const status = str(top.status) ?? str(v1.status);
  if (!status) return bad('no "status" field');

  const errors = stringList(top.errors ?? v1.errors);
  const stages = stageFindings(top);
  pushUnique(errors, stages.errors, (e) => e);

  let recoverableErrors: RecoverableError[] | undefined;
  if ('recoverable_errors' in top) recoverableErrors = recoverableList(top.recoverable_errors);
  if (stages.recoverable) {
    recoverableErrors ??= [];
    pushUnique(recoverableErrors, stages.recoverable, (r) => `${r.level}\n${r.message}`);
  }

  const datasource = str(top.datasource) ?? str(v1.datasource);
  return ok({
    source: 'status-json',
    status,
    extendedStatus: str(top.extended_status),
    errors,
    recoverableErrors,
    // Newer versions spread status.json's v1 into the output; its datasource is the long form.
    datasource: datasource?.startsWith('DataSource') ? shortDatasource(datasource) : datasource,
    detail: str(top.detail) ?? str(v1.detail),
    bootStatusCode: str(top.boot_status_code) ?? str(v1.boot_status_code),
    lastUpdate: str(top.last_update) ?? str(v1.last_update),
  });
}

/** "DataSourceNoCloud [seed=/dev/sr0][dsmode=net]" -> "nocloud" (what cloud-init status does). */
export function shortDatasource(longForm: string): string {
  return (longForm.split(' ')[0] ?? '').toLowerCase().replace('datasource', '');
}

/**
 * The same verdict rebuilt from /run/cloud-init/status.json and result.json, for a cloud-init whose
 * `status` has no `--format` (before 22.2) or whose output could not be parsed.
 * result.json exists only once cloud-init has finished.
 */
export function cloudInitStatusFromRunFiles(statusJson: string, resultJson: string | undefined): Parsed<CloudInitStatus> {
  const status = parseJsonObject(statusJson);
  if (!status.ok) return bad(`status.json: ${status.reason}`);
  const v1 = status.value.v1;
  if (!isObject(v1)) return bad('status.json has no "v1" object');
  let result: JsonObject | undefined;
  if (resultJson !== undefined) {
    const parsed = parseJsonObject(resultJson);
    if (!parsed.ok) return bad(`result.json: ${parsed.reason}`);
    result = isObject(parsed.value.v1) ? parsed.value.v1 : undefined;
  }
  const stages = stageFindings(v1);
  const errors = [...stages.errors];
  if (result) pushUnique(errors, stringList(result.errors), (e) => e);
  let recoverableErrors = stages.recoverable;
  if (result && 'recoverable_errors' in result) {
    recoverableErrors ??= [];
    pushUnique(recoverableErrors, recoverableList(result.recoverable_errors), (r) => `${r.level}\n${r.message}`);
  }
  const running = (typeof v1.stage === 'string' && v1.stage !== '') || !result;
  const detail = str(v1.datasource) ?? str(result?.datasource);
  return ok({
    source: 'run-files',
    status: errors.length ? 'error' : running ? 'running' : 'done',
    errors,
    recoverableErrors,
    datasource: detail ? shortDatasource(detail) : undefined,
    detail,
  });
}

// ---------------------------------------------------------------------------------------------
// instance data

export interface InstanceData {
  platform?: string;
  subplatform?: string;
  cloudName?: string;
  instanceId?: string;
  localHostname?: string;
  /** ds.meta_data: what the datasource read (for NoCloud: the seed's meta-data). */
  metaData?: Record<string, unknown>;
}

/** /run/cloud-init/instance-data.json: standardized keys under v1 (22.4 has no top-level aliases there). */
export function parseInstanceData(text: string): Parsed<InstanceData> {
  const parsed = parseJsonObject(text);
  if (!parsed.ok) return parsed;
  const top = parsed.value;
  const v1 = isObject(top.v1) ? top.v1 : {};
  const pick = (...keys: string[]): string | undefined => {
    for (const source of [v1, top]) for (const key of keys) if (typeof source[key] === 'string') return source[key] as string;
    return undefined;
  };
  const metaData = isObject(top.ds) && isObject(top.ds.meta_data) ? (top.ds.meta_data as Record<string, unknown>) : undefined;
  const value: InstanceData = {
    platform: pick('platform'),
    subplatform: pick('subplatform'),
    cloudName: pick('cloud_name', 'cloud-name'),
    instanceId: pick('instance_id', 'instance-id') ?? str(metaData?.['instance-id']),
    localHostname: pick('local_hostname', 'local-hostname'),
    metaData,
  };
  if (!value.platform && !value.instanceId) return bad('neither v1.platform nor v1.instance_id present');
  return ok(value);
}

export interface NoCloudSeed {
  /** `config-disk` (a block device, e.g. the run's seed ISO) or `seed-dir` (a folder inside the image). */
  kind?: string;
  /** What NoCloud merged, in order: devices (/dev/sr0), seed folders, "cmdline", "dmi", URLs. */
  sources: string[];
}

/**
 * NoCloud's seed list, from `v1.subplatform` ("config-disk (/dev/sr0)",
 * "seed-dir (/var/lib/cloud/seed/nocloud-net,/dev/sr0)") or from the datasource string
 * ("DataSourceNoCloud [seed=/dev/sr0][dsmode=net]").
 */
export function parseNoCloudSeed(text: string): NoCloudSeed {
  const sub = /^\s*([\w-]+)\s*\((.*)\)\s*$/.exec(text);
  if (sub) return { kind: sub[1], sources: splitSeeds(sub[2]!) };
  const ds = /\[seed=([^\]]*)\]/.exec(text);
  if (ds) {
    const sources = splitSeeds(ds[1]!);
    return { kind: sources[0]?.startsWith('/dev') ? 'config-disk' : sources.length ? 'seed-dir' : undefined, sources };
  }
  return { sources: [] };
}

function splitSeeds(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

// ---------------------------------------------------------------------------------------------
// OpenSSH keys

export interface OpenSshKey {
  type: string;
  base64: string;
  /** authorized_keys options before the key (e.g. cloud-init's forced command on root's key). */
  options?: string;
  comment?: string;
  /** 1-based line in the file it came from. */
  line: number;
}

const KEY_TYPE = /^(?:ssh-[a-z0-9]+(?:@openssh\.com)?|ecdsa-sha2-nistp\d+|sk-[a-z0-9-]+@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,3}$/;

/** The key type named inside the base64 blob (SSH wire format: uint32 length, then the name). */
export function blobKeyType(base64: string): string | undefined {
  const blob = Buffer.from(base64, 'base64');
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return undefined;
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** Splits off an authorized_keys option string: up to the first whitespace outside double quotes. */
function splitOptions(line: string): { options: string; rest: string } {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && quoted) {
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === ' ' || c === '\t')) return { options: line.slice(0, i), rest: line.slice(i).trim() };
  }
  return { options: line, rest: '' };
}

/** One public key line: `[options] type base64 [comment]`; undefined for anything else. */
export function parseOpenSshKeyLine(raw: string, lineNumber = 1): OpenSshKey | undefined {
  const line = raw.trim();
  if (!line || line.startsWith('#')) return undefined;
  const attempt = (text: string, options?: string): OpenSshKey | undefined => {
    const [type, base64, ...comment] = text.split(/\s+/);
    if (!type || !base64 || !KEY_TYPE.test(type) || !BASE64.test(base64)) return undefined;
    if (blobKeyType(base64) !== type) return undefined;
    return { type, base64, options, comment: comment.length ? comment.join(' ') : undefined, line: lineNumber };
  };
  const direct = attempt(line);
  if (direct) return direct;
  const { options, rest } = splitOptions(line);
  return rest ? attempt(rest, options) : undefined;
}

export interface AuthorizedKeysFile {
  keys: OpenSshKey[];
  /** Non-empty, non-comment lines that are not keys (sshd ignores them). */
  invalid: { line: number; text: string }[];
}

export function parseAuthorizedKeys(text: string): AuthorizedKeysFile {
  const keys: OpenSshKey[] = [];
  const invalid: { line: number; text: string }[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const key = parseOpenSshKeyLine(trimmed, index + 1);
    if (key) keys.push(key);
    else invalid.push({ line: index + 1, text: trimmed });
  });
  return { keys, invalid };
}

/** Identity of a key, ignoring options and comment. */
export const keyId = (key: Pick<OpenSshKey, 'type' | 'base64'>): string => `${key.type} ${key.base64}`;

/** `SHA256:...` as `ssh-keygen -lf` prints it. */
export function fingerprint(base64: string): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(base64, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/** "ssh-ed25519 SHA256:abc (comment)" for messages. */
export function describeKey(key: Pick<OpenSshKey, 'type' | 'base64' | 'comment'>): string {
  return `${key.type} ${fingerprint(key.base64)}${key.comment ? ` (${key.comment})` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// sshd, accounts, kernel

/** `sshd -T`: lowercase keyword -> values, one entry per line (hostkey, authorizedkeysfile... repeat). */
export function parseSshdT(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const match = /^([A-Za-z0-9]+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const key = match[1]!.toLowerCase();
    const list = settings.get(key) ?? [];
    list.push(match[2]!.trim());
    settings.set(key, list);
  }
  return settings;
}

export const ROOT_LOGIN_DENYING = ['no', 'prohibit-password', 'without-password', 'forced-commands-only'];

export interface IdInfo {
  uid: number;
  user: string;
  gid: number;
  groups: { id: number; name: string }[];
}

/** `id USER`: "uid=1000(cloud) gid=1000(cloud) groups=1000(cloud),4(adm),27(sudo)" */
export function parseId(text: string): IdInfo | undefined {
  const match = /uid=(\d+)\(([^)]*)\)\s+gid=(\d+)\([^)]*\)(?:\s+groups=(\S+))?/.exec(text);
  if (!match) return undefined;
  const groups = [...(match[4] ?? '').matchAll(/(\d+)\(([^)]*)\)/g)].map((g) => ({ id: Number(g[1]), name: g[2]! }));
  return { uid: Number(match[1]), user: match[2]!, gid: Number(match[3]), groups };
}

/** `getent passwd USER` -> home directory. */
export function parsePasswdHome(text: string): string | undefined {
  const fields = text.trim().split('\n')[0]?.split(':');
  return fields && fields.length >= 7 && fields[5] ? fields[5] : undefined;
}

/** `/proc/stat` -> boot time (seconds since the epoch). */
export function parseBtime(procStat: string): number | undefined {
  const match = /^btime\s+(\d+)\s*$/m.exec(procStat);
  return match ? Number(match[1]) : undefined;
}

/** `find ... -printf '%T@ %p\n'` -> [{mtime, path}] */
export function parseFindMtimes(text: string): { mtime: number; path: string }[] {
  const out: { mtime: number; path: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    const match = /^(\d+(?:\.\d+)?)\s+(\S.*)$/.exec(line.trim());
    if (match) out.push({ mtime: Number(match[1]), path: match[2]! });
  }
  return out;
}

/** The `console=` arguments on a kernel command line, in order. */
export function kernelConsoles(cmdline: string): string[] {
  return cmdline
    .trim()
    .split(/\s+/)
    .filter((arg) => arg.startsWith('console='))
    .map((arg) => arg.slice('console='.length));
}

/** True when `console=<device>` (with or without options, e.g. ttyS0,115200n8) is on the command line. */
export function hasKernelConsole(cmdline: string, device: string): boolean {
  return kernelConsoles(cmdline).some((c) => c === device || c.startsWith(`${device},`));
}

/** The kernel's banner line on a serial log ("Linux version 6.1.0-... ..."), if any. */
export function kernelBanner(serialLog: string): string | undefined {
  const match = /Linux version \d[^\r\n]*/.exec(serialLog);
  return match ? oneLine(match[0], 200) : undefined;
}

// ---------------------------------------------------------------------------------------------
// SSH login attempts

export interface LoginLike {
  accepted: boolean;
  methodsOffered: string[];
  transcript: string;
}

export type LoginVerdict =
  /** Logged in and ran the command. */
  | 'accepted'
  /** Authenticated, but the session did not run the command (a forced command, e.g. cloud-init's disable_root). */
  | 'authenticated'
  /** sshd answered and refused authentication. */
  | 'refused'
  /** No sign that sshd answered: network, host key or client trouble. */
  | 'unreached';

export interface LoginReading {
  verdict: LoginVerdict;
  /** Methods the server still offers (from the attempt, else from "Permission denied (...)" in the transcript). */
  methods: string[];
  /** cloud-init's disable_root message, when the forced command printed it. */
  forcedCommandMessage?: string;
}

export function readLogin(attempt: LoginLike): LoginReading {
  const transcript = attempt.transcript ?? '';
  const fromTranscript =
    /Permission denied \(([^)]*)\)/
      .exec(transcript)?.[1]
      ?.split(',')
      .map((m) => m.trim())
      .filter(Boolean) ?? [];
  const methods = [...new Set([...attempt.methodsOffered, ...fromTranscript])];
  const forced = /Please login as the user[^\r\n]*/.exec(transcript)?.[0];
  const forcedCommandMessage = forced ? oneLine(forced) : undefined;
  if (attempt.accepted) return { verdict: 'accepted', methods, forcedCommandMessage };
  // ssh exits 255 for its own failures; any other status came from a command that ran after authentication.
  const remoteExit = /^exit (\d+)$/.exec(transcript.trim());
  const ranRemotely = remoteExit !== null && remoteExit[1] !== '255';
  if (forcedCommandMessage || ranRemotely || /Authenticated to |Authentication succeeded|Exit status \d+/i.test(transcript)) {
    return { verdict: 'authenticated', methods, forcedCommandMessage };
  }
  if (methods.length || /Permission denied|Too many authentication failures|No more authentication methods/i.test(transcript)) {
    return { verdict: 'refused', methods };
  }
  return { verdict: 'unreached', methods };
}
