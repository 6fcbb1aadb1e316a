/**
 * Probes from the machine running imgtest, outside the guest, while it moves: ICMP echo (`ping -D`,
 * 5 a second) and TCP connects to its SSH port (one a second). What they see is what the guest's users
 * see of a move: the longest stretch without an answer.
 *
 * TCP connects stay at one a second and are reset at once: every connection makes sshd fork (and
 * re-exec) in the guest, which under software emulation starves it, and OpenSSH 9.8+ counts
 * connections that never authenticate against the source (PerSourcePenalties `noauth`), blocking it
 * once they outpace real time.
 */
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { longestGap, parsePingReplies, parsePingSummary } from './parse.js';

export interface ProbeSeries {
  /** The probe could run at all (`ping` missing: false, with the reason). */
  available: boolean;
  note?: string;
  /** Epoch ms of each answer. */
  replies: number[];
  sent: number;
  lost: number;
}

export interface ProbeReport {
  startedAt: number;
  stoppedAt: number;
  icmp: ProbeSeries;
  tcp: ProbeSeries;
}

export interface RunningProbes {
  stop(): Promise<ProbeReport>;
}

/** Starts both probes at `address`; the suite's seam for tests (a fake returns scripted replies). */
export type ProbeStarter = (address: string, port: number) => RunningProbes;

const ICMP_INTERVAL_MS = 200;
const TCP_INTERVAL_MS = 1000;

export const startProbes: ProbeStarter = (address, port) => {
  const startedAt = Date.now();
  const icmp = startPing(address);
  const tcp = startTcp(address, port);
  return {
    async stop() {
      const [icmpSeries, tcpSeries] = await Promise.all([icmp(), tcp()]);
      return { startedAt, stoppedAt: Date.now(), icmp: icmpSeries, tcp: tcpSeries };
    },
  };
};

function startPing(address: string): () => Promise<ProbeSeries> {
  let output = '';
  let failure: string | undefined;
  const child = spawn('ping', ['-n', '-D', '-i', String(ICMP_INTERVAL_MS / 1000), '-W', '1', address], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (failure = (failure ?? '') + chunk.toString('utf8')));
  child.on('error', (error) => (failure = error.message));
  const exited = new Promise<void>((resolve) => {
    child.on('close', () => resolve());
    child.on('error', () => resolve());
  });
  return async () => {
    if (child.exitCode === null && child.pid !== undefined) child.kill('SIGINT');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    const replies = parsePingReplies(output);
    const summary = parsePingSummary(output);
    if (!replies.length && failure) return { available: false, note: `ping: ${failure.trim().split('\n').pop()}`, replies, sent: 0, lost: 0 };
    const sent = summary?.transmitted ?? replies.length;
    return { available: true, replies, sent, lost: Math.max(0, sent - (summary?.received ?? replies.length)) };
  };
}

function startTcp(address: string, port: number): () => Promise<ProbeSeries> {
  const replies: number[] = [];
  let sent = 0;
  let stopped = false;
  const attempt = () =>
    new Promise<void>((resolve) => {
      sent++;
      const socket = createConnection({ host: address, port });
      const done = (ok: boolean) => {
        if (ok) replies.push(Date.now());
        if (ok) socket.resetAndDestroy();
        else socket.destroy();
        resolve();
      };
      socket.setTimeout(1000, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    });
  // A measurement, not a wait (so not the contract's poll): one connect per second on a fixed schedule,
  // whatever each takes, until the leg stops the probes; the replies' times are the figure.
  const loop = (async () => {
    while (!stopped) {
      const next = Date.now() + TCP_INTERVAL_MS;
      await attempt();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    return { available: true, replies, sent, lost: sent - replies.length };
  };
}

/** The longest silence of a series over the probing window, ms (undefined when it could not run). */
export function seriesGap(series: ProbeSeries, report: ProbeReport): number | undefined {
  return series.available ? longestGap(series.replies, report.startedAt, report.stoppedAt) : undefined;
}
