import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { RunResult, SuiteResult } from '../../src/report/model.js';
import { promisify } from 'node:util';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
import { junitSchemaPath } from '../shared-dir.js';
export const junitSchema = junitSchemaPath;
const execFileAsync = promisify(execFile);

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * The console's output with each wrapped progress line joined back into one (the console wraps a long
 * one at 100 columns, continuations indented by seven spaces), so a test can match a whole message.
 */
export function unwrapped(stdout: string): string {
  return stdout.replace(/\n {7}(?=\S)/g, ' ');
}

/** Runs the built CLI (`npm test` builds first) the way a user does; stdout comes `unwrapped`. */
export async function imgtest(args: string[], options: { timeoutMs?: number } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync('node', [join(repoRoot, 'bin', 'imgtest.js'), ...args], { cwd: repoRoot, timeout: options.timeoutMs ?? 30 * 60_000, maxBuffer: 64 * 2 ** 20 });
    return { exitCode: 0, stdout: unwrapped(stdout), stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    return { exitCode: typeof e.code === 'number' ? e.code : -1, stdout: unwrapped(e.stdout ?? ''), stderr: e.stderr ?? String(error) };
  }
}

/** Builds a fixture image if its cached build is missing (cached by recipe hash; instant when built). */
export async function fixture(name: string): Promise<string> {
  await execFileAsync('bash', [join(repoRoot, 'fixtures', 'build.sh'), name], { cwd: repoRoot, timeout: 40 * 60_000, maxBuffer: 64 * 2 ** 20 });
  const path = join(repoRoot, 'fixtures', 'out', `${name}.qcow2`);
  if (!existsSync(path)) throw new Error(`fixture ${name} was not built at ${path}`);
  return path;
}

export async function sh(file: string, args: string[], timeoutMs = 120_000): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 });
    return { exitCode: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { exitCode: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

/** xmllint against the xUnit plugin's schema; returns xmllint's verdict text. */
export async function validateJunit(file: string): Promise<CliResult> {
  return sh('xmllint', ['--noout', '--schema', junitSchema, file]);
}

/**
 * Why an end-to-end test file cannot run here ('' when it can): root and the given programs. Outside
 * CI such files are skipped; with CI=true a missing prerequisite fails the run instead, so a CI that
 * lost its lab or its packages cannot pass by skipping every test that boots a guest.
 */
export function e2eSkipReason(programs: readonly string[]): string {
  const missing = [...(process.getuid?.() === 0 ? [] : ['root']), ...programs.filter((p) => !existsSync(p))];
  if (!missing.length) return '';
  const reason = `needs ${missing.join(', ')}`;
  if (process.env['CI'] === 'true') throw new Error(`CI=true but the end-to-end tests cannot run here: ${reason} (bash scripts/install-deps.sh installs them)`);
  return reason;
}

export const canBootGuests = e2eSkipReason(['/usr/bin/virsh', '/usr/bin/qemu-system-x86_64', '/usr/sbin/libvirtd']) === '';

/** Alive = exists and is not a zombie (an init that reaps slowly may leave zombies for a while). */
export async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

/** Live processes whose command line mentions the lab state folder (sshd, dnsmasq carry it in argv). */
export async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text) && (await alive(Number(entry)))) found.push(`${entry}: ${cmdline.replace(/\0/g, ' ')}`);
  }
  return found;
}

/** What is left on the lab's hosts that carries this run's id (must be nothing). */
export async function leftovers(runId: string): Promise<string[]> {
  const status = JSON.parse((await imgtest(['lab', 'status', '--json'])).stdout) as { hosts: { name: string; uri: string }[] };
  const found: string[] = [];
  for (const host of status.hosts) {
    const domains = await sh('virsh', ['-c', host.uri, 'list', '--all', '--name']);
    // Every pool, temporary ones included (their names carry the run id too); refreshed, because a
    // pool both hosts see lists only what this host created until it is refreshed.
    const poolList = await sh('virsh', ['-c', host.uri, 'pool-list', '--all', '--name']);
    const pools = poolList.stdout
      .split('\n')
      .map((p) => p.trim())
      .filter(Boolean);
    const volumes = await Promise.all(
      pools.map(async (pool) => {
        await sh('virsh', ['-c', host.uri, 'pool-refresh', pool]);
        return sh('virsh', ['-c', host.uri, 'vol-list', '--pool', pool]);
      }),
    );
    for (const line of [domains.stdout, poolList.stdout, ...volumes.map((v) => v.stdout)].join('\n').split('\n')) if (line.includes(runId)) found.push(`${host.name}: ${line.trim()}`);
  }
  return found;
}

/** NVRAM files of this run left in the lab hosts' libvirt state (undefine --nvram must remove them). */
export async function nvramLeftovers(runId: string): Promise<string[]> {
  const found: string[] = [];
  for (const host of ['hv1', 'hv2']) {
    const dir = join('/var/lib/imgtest-lab', host, 'var/lib/libvirt/qemu/nvram');
    for (const file of await readdir(dir).catch(() => [] as string[])) if (file.includes(runId)) found.push(`${host}: ${file}`);
  }
  return found;
}

const MIGRATION_LEG_CHECKS = ['migrate', 'running-on-destination', 'same-boot', 'same-address', 'ssh-session', 'clock', 'kernel-log', 'file-integrity', 'guest-agent', 'network-gap'];

/** live-migration's result after the default two legs: every preflight and leg check passed, legs 3-4 skipped, figures recorded. */
export function expectTwoGoodLegs(suite: SuiteResult, storage: 'copy' | 'shared'): void {
  const ran = suite.cases.filter((c) => !/^mig-leg[34]-/.test(c.checkId));
  expect(ran.filter((c) => c.status !== 'passed').map((c) => `${c.checkId}: ${c.status}: ${c.message}`)).toEqual([]);
  for (const leg of [1, 2]) for (const check of MIGRATION_LEG_CHECKS) expect(ran.map((c) => c.checkId)).toContain(`mig-leg${leg}-${check}`);
  expect(suite.cases.filter((c) => /^mig-leg[34]-/.test(c.checkId)).every((c) => c.status === 'skipped')).toBe(true);
  const p = suite.properties;
  expect(p['migration.storage']).toBe(storage);
  expect(p['migration.route']).toBe('hv1 -> hv2 -> hv1');
  for (const leg of [1, 2]) {
    expect(p[`migration.leg${leg}.result`]).toBe('moved');
    for (const figure of ['libvirt-downtime-ms', 'libvirt-total-ms', 'wall-ms', 'guest-gap-ms', 'icmp-gap-ms', 'tcp-gap-ms', 'memory-bytes', 'bytes']) {
      expect(p[`migration.leg${leg}.${figure}`], `leg ${leg} ${figure}`).toMatch(/^\d+$/);
    }
  }
  expect(Number(p['migration.leg1.memory-bytes'])).toBeGreaterThan(2 ** 20);
  if (storage === 'copy') {
    expect(suite.cases.find((c) => c.checkId === 'mig-leg1-migrate')!.evidence).toMatch(/--copy-storage-inc/);
    expect(Number(p['migration.leg1.disk-bytes'])).toBeGreaterThan(0);
  }
}

/** The newest run under a report folder (`latest` points at it): its results.json and its folder. */
export async function latestRun(reportDir: string): Promise<{ result: RunResult; dir: string }> {
  // `latest` is relative (`<run id>`), so it still points right when the folder moves.
  const dir = resolve(reportDir, await readlink(join(reportDir, 'latest')));
  return { result: JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as RunResult, dir };
}

/** `runUntil`'s readiness test: `marker` shown `times` times in the run's output. */
export function shown(marker: RegExp, times: number): (stdout: string) => boolean {
  return (stdout) => (stdout.match(new RegExp(marker.source, 'g')) ?? []).length >= times;
}

/**
 * Starts `imgtest <args>` as a user would in a terminal; once `ready(stdout)` holds, `act` does to it
 * what a user or a fault would (SIGINT, a host's libvirtd killed). Returns how the run ended and the
 * report it left under `--report-dir`.
 */
export async function runUntil(args: string[], ready: (stdout: string) => boolean | Promise<boolean>, act: (child: ChildProcess) => void | Promise<void>, waitMs = 600_000) {
  const child = spawn('node', [join(repoRoot, 'bin', 'imgtest.js'), ...args], { cwd: repoRoot });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let running = true;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => ((running = false), resolve(code))));
  let isReady = false;
  for (const started = Date.now(); running && Date.now() - started < waitMs; await new Promise((r) => setTimeout(r, 250))) {
    if ((isReady = await ready(unwrapped(stdout)))) break;
  }
  if (running) await (isReady ? act(child) : child.kill('SIGINT'));
  const code = await exited;
  expect(isReady, `never ready to act:\n${stdout}${stderr}`).toBe(true);
  const { result, dir } = await latestRun(args[args.indexOf('--report-dir') + 1]!);
  return { code, stdout: unwrapped(stdout), stderr, result, junitDir: dir };
}

/** This machine's temporary folders named for the run (its work folder, the hygiene appliance's): none may be left. */
export async function tempFoldersOf(runId: string): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.includes(runId));
}
