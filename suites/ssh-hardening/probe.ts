/**
 * Probing the guest's sshd from the machine running imgtest, the way an attacker sees it:
 * `ssh-audit -j` (Debian package ssh-audit), or, where it is not installed, our own KEXINIT probe
 * plus `ssh-keyscan -t rsa` for the RSA key size. Programs run with execFile and argument arrays.
 */
import { execFile } from 'node:child_process';
import { isIP } from 'node:net';
import { parseSshAuditJson, type OfferedAlgorithms } from './algorithms.js';
import { probeKexinit, rsaBitsFromKeyscan, type ServerHello } from './kexinit.js';

export type HostRun = { stdout: string; stderr: string; exitCode: number } | { notFound: true };

/** What the probe needs from the machine running imgtest; tests pass fakes. */
export interface HostTools {
  run(file: string, args: readonly string[], timeoutMs: number): Promise<HostRun>;
  kexinit(host: string, port: number, timeoutMs: number): Promise<ServerHello>;
}

export const realHostTools: HostTools = {
  run(file, args, timeoutMs) {
    return new Promise((resolve, reject) => {
      execFile(file, [...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr, exitCode: 0 });
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return resolve({ notFound: true });
        if (typeof code === 'number') return resolve({ stdout, stderr, exitCode: code });
        if (error.killed) return reject(new Error(`${file} did not finish within ${timeoutMs} ms`));
        reject(new Error(`${file}: ${error.message}`));
      });
    });
  },
  kexinit: probeKexinit,
};

export interface ProbeSettings {
  probe: 'auto' | 'ssh-audit' | 'builtin';
  sshAuditCommand: string;
  port: number;
  probeTimeoutSeconds: number;
}

export interface ProbeResult {
  offered: OfferedAlgorithms;
  /** The command(s) and raw output, for evidence. */
  evidence: string;
  /** ssh-audit's JSON, pretty-printed, for the artifact. */
  rawJson?: string;
}

const strip = (text: string): string => text.replace(/\x1b\[[0-9;]*m/g, '').trim();

/** ssh-audit reads `host`, `host:port` and `[v6]:port`; a bare IPv6 address needs brackets. */
function auditTarget(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address;
}

export async function probeServer(address: string, settings: ProbeSettings, tools: HostTools): Promise<ProbeResult> {
  const timeoutMs = settings.probeTimeoutSeconds * 1000;
  let fallbackNote = '';
  if (settings.probe !== 'builtin') {
    const args = ['-j', '-p', String(settings.port), '-t', String(settings.probeTimeoutSeconds), auditTarget(address)];
    const shown = `$ ${settings.sshAuditCommand} ${args.join(' ')}`;
    const result = await tools.run(settings.sshAuditCommand, args, timeoutMs * 8 + 30_000);
    if ('notFound' in result) {
      if (settings.probe === 'ssh-audit') throw new Error(`${settings.sshAuditCommand} is not installed on this machine (Debian package ssh-audit); probe: ssh-audit requires it`);
      fallbackNote = `(${settings.sshAuditCommand} is not installed on this machine; using the builtin KEXINIT probe and ssh-keyscan)`;
    } else {
      // ssh-audit exits 1..3 when it finds problems or cannot connect: the JSON decides, not the exit code.
      let offered: OfferedAlgorithms;
      try {
        offered = parseSshAuditJson(result.stdout);
      } catch (error) {
        throw new Error(
          `${settings.sshAuditCommand} could not audit ${address}:${settings.port} (exit ${result.exitCode}): ${(error as Error).message}${result.stderr.trim() ? `; ${strip(result.stderr).slice(0, 200)}` : ''}`,
          { cause: error },
        );
      }
      const rawJson = JSON.stringify(JSON.parse(result.stdout), null, 2);
      return { offered, evidence: `${shown}   (exit ${result.exitCode}; ssh-audit's exit code reports its own verdict, the JSON is judged here)`, rawJson };
    }
  }
  const hello = await tools.kexinit(address, settings.port, timeoutMs);
  const evidence = [fallbackNote, `builtin probe: connected to ${address}:${settings.port}, server identification: ${hello.banner}; read its KEXINIT`].filter(Boolean);
  const unmeasured: OfferedAlgorithms['unmeasured'] = {};
  const kex = hello.kexinit.kex.map((name) => ({ name }));
  if (kex.some((k) => /group-exchange/i.test(k.name))) unmeasured.kex = 'group-exchange modulus sizes not measured (the builtin probe does not run a key exchange; install ssh-audit)';
  let rsaBits: number | undefined;
  if (hello.kexinit.hostKeys.some((n) => /^(ssh-rsa|rsa-sha2-)/i.test(n))) {
    const args = ['-T', String(settings.probeTimeoutSeconds), '-p', String(settings.port), '-t', 'rsa', address];
    const scan = await tools.run('ssh-keyscan', args, timeoutMs + 10_000);
    if ('notFound' in scan) {
      unmeasured.hostKeys = 'RSA key size not measured (neither ssh-audit nor ssh-keyscan is installed here); ssh-hostkey-files reads it on the guest';
      evidence.push('$ ssh-keyscan: not installed');
    } else {
      rsaBits = rsaBitsFromKeyscan(scan.stdout);
      evidence.push(
        `$ ssh-keyscan ${args.join(' ')}   (exit ${scan.exitCode})${rsaBits !== undefined ? `: RSA host key of ${rsaBits} bits` : ''}\n${scan.stdout.trim()}${scan.stderr.trim() ? `\n[stderr] ${scan.stderr.trim()}` : ''}`,
      );
      if (rsaBits === undefined) unmeasured.hostKeys = 'RSA key size not measured (ssh-keyscan returned no RSA key)';
    }
  }
  const offered: OfferedAlgorithms = {
    source: 'builtin',
    banner: hello.banner,
    kex,
    hostKeys: hello.kexinit.hostKeys.map((name) => ({ name, keyBits: /^(ssh-rsa|rsa-sha2-)/i.test(name) ? rsaBits : undefined })),
    // What the server accepts in either direction.
    ciphers: [...new Set([...hello.kexinit.ciphersServerToClient, ...hello.kexinit.ciphersClientToServer])],
    macs: [...new Set([...hello.kexinit.macsServerToClient, ...hello.kexinit.macsClientToServer])],
    unmeasured,
    toolNotes: {},
  };
  return { offered, evidence: evidence.join('\n') };
}

/** The offered lists as evidence lines, the way the probe reported them. */
export function offeredLines(offered: OfferedAlgorithms, category: 'kex' | 'hostKeys' | 'ciphers' | 'macs'): string[] {
  switch (category) {
    case 'kex':
      return offered.kex.map((k) => `  ${k.name}${k.modulusBits !== undefined ? `  (group exchange: accepts a ${k.modulusBits}-bit modulus)` : ''}`);
    case 'hostKeys':
      return offered.hostKeys.map((k) => `  ${k.name}${k.keyBits !== undefined ? `  (${k.keyBits}-bit key)` : ''}${k.caBits !== undefined ? `  (${k.caBits}-bit CA)` : ''}`);
    default:
      return offered[category].map((n) => `  ${n}`);
  }
}
