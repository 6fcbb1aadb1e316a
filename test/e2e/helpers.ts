import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const junitSchema = resolve(repoRoot, '..', 'shared', 'schemas', 'junit-10.xsd');
const execFileAsync = promisify(execFile);

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (`npm test` builds first) the way a user does. */
export async function imgtest(args: string[], options: { timeoutMs?: number } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync('node', [join(repoRoot, 'bin', 'imgtest.js'), ...args], { cwd: repoRoot, timeout: options.timeoutMs ?? 30 * 60_000, maxBuffer: 64 * 2 ** 20 });
    return { exitCode: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    return { exitCode: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
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

export const canBootGuests = process.getuid?.() === 0 && existsSync('/usr/bin/virsh') && existsSync('/usr/bin/qemu-system-x86_64');

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
    const pools = (await sh('virsh', ['-c', host.uri, 'pool-list', '--name'])).stdout.split('\n').map((p) => p.trim()).filter(Boolean);
    const volumes = await Promise.all(pools.map((pool) => sh('virsh', ['-c', host.uri, 'vol-list', '--pool', pool])));
    for (const line of [domains.stdout, ...volumes.map((v) => v.stdout)].join('\n').split('\n')) if (line.includes(runId)) found.push(`${host.name}: ${line.trim()}`);
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
