/** SSH logins from outside: the seeded key works; a wrong key, passwords and root do not. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Check, CheckContext, GuestHandle, LoginAttempt, LoginOptions } from '../api.js';
import { artifactName, sshdEffective } from '../guest-data.js';
import { onEveryGuest, verdict, type GuestVerdict } from '../per-guest.js';
import { oneLine, readLogin, ROOT_LOGIN_DENYING, type LoginReading } from '../parse.js';

const execFileAsync = promisify(execFile);

function loginEvidence(options: LoginOptions, attempt: LoginAttempt, reading: LoginReading): string {
  const shown = { ...options, keyFile: options.keyFile ?? '(none)' };
  return [
    `tryLogin ${JSON.stringify(shown)}`,
    `accepted: ${attempt.accepted}; reading: ${reading.verdict}; methods offered: ${reading.methods.join(',') || '(none reported)'}`,
    attempt.transcript.trim() ? `transcript:\n${attempt.transcript.trim()}` : 'transcript: (empty)',
  ].join('\n');
}

async function attempt(guest: GuestHandle, options: LoginOptions): Promise<{ attempt: LoginAttempt; reading: LoginReading; evidence: string }> {
  const result = await guest.tryLogin(options);
  const reading = readLogin(result);
  return { attempt: result, reading, evidence: loginEvidence(options, result, reading) };
}

/** A refusal only proves something when sshd answered; otherwise the lab is at fault. */
function assertReached(guest: GuestHandle, what: string, reading: LoginReading, transcript: string): void {
  if (reading.verdict === 'unreached') {
    throw new Error(`${guest.name}: ${what}: ssh got no answer from sshd at ${guest.address}: ${oneLine(transcript.split('\n').pop() ?? '', 200)}`);
  }
}

const lastLine = (text: string): string => oneLine(text.trim().split('\n').pop() ?? '', 120);

export const keyLoginCheck: Check = {
  id: 'ci-key-login',
  title: 'the seeded key logs in as the seeded user',
  severity: 'must',
  tags: ['ssh'],
  run: (context) =>
    onEveryGuest(context, async (guest) => {
      const user = guest.seed.user;
      const login = await attempt(guest, { user, keyFile: guest.seed.privateKeyFile });
      if (login.reading.verdict === 'accepted') return verdict(true, `key login as '${user}' accepted`, login.evidence);
      assertReached(guest, 'key login', login.reading, login.attempt.transcript);
      if (login.reading.verdict === 'authenticated') return verdict(false, `key login as '${user}' authenticated but could not run a command: ${lastLine(login.attempt.transcript)}`, login.evidence);
      return verdict(false, `key login as '${user}' refused: ${lastLine(login.attempt.transcript)}`, login.evidence);
    }),
};

/** A fresh ed25519 key nobody seeded, in a private temporary folder. */
export async function makeThrowawayKey(): Promise<{ keyFile: string; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'imgtest-wrong-key-'));
  const keyFile = join(dir, 'wrong');
  try {
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'imgtest-wrong-key', '-f', keyFile]);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`cloud-init-auth: ssh-keygen could not make a throwaway key: ${(error as Error).message}`, { cause: error });
  }
  return { keyFile, dispose: () => rm(dir, { recursive: true, force: true }) };
}

export const wrongKeyCheck: Check = {
  id: 'ci-wrong-key-rejected',
  title: 'a key that was never seeded is refused',
  severity: 'must',
  tags: ['ssh', 'security'],
  run: async (context) => {
    const key = await makeThrowawayKey();
    try {
      return await onEveryGuest(context, async (guest) => {
        const user = guest.seed.user;
        const login = await attempt(guest, { user, keyFile: key.keyFile });
        if (login.reading.verdict === 'accepted') return verdict(false, `a never-seeded ed25519 key logged in as '${user}'`, login.evidence);
        if (login.reading.verdict === 'authenticated')
          return verdict(false, `a never-seeded ed25519 key authenticated as '${user}' (session then ended: ${lastLine(login.attempt.transcript)})`, login.evidence);
        assertReached(guest, 'wrong-key login', login.reading, login.attempt.transcript);
        return verdict(true, `a never-seeded ed25519 key is refused for '${user}' (offered: ${login.reading.methods.join(',') || 'nothing'})`, login.evidence);
      });
    } finally {
      await key.dispose();
    }
  },
};

async function sshdAuthSummary(context: CheckContext, guest: GuestHandle, user: string, keys: readonly string[]): Promise<string> {
  const sshd = await sshdEffective(context, guest, user);
  if (!sshd.ok) return `(sshd -T for ${user} unreadable: ${sshd.problem})`;
  return `sshd -T -C user=${user}: ${keys.map((k) => `${k} ${sshd.settings.get(k)?.[0] ?? '(absent)'}`).join(', ')}`;
}

const INTERACTIVE = ['password', 'keyboard-interactive'];

/** Which interactive methods the server offers, as the failure message names them. Pure, for tests. */
export function judgeOfferedMethods(user: string, methods: readonly string[]): { ok: boolean; message: string } {
  const offered = INTERACTIVE.filter((m) => methods.includes(m));
  if (offered.length) return { ok: false, message: `server offers ${offered.join(' and ')} authentication to ${user}: ${methods.join(',')}` };
  return { ok: true, message: `server offers ${user} only: ${methods.join(',')}` };
}

export const passwordLoginCheck: Check = {
  id: 'ci-password-login-rejected',
  title: 'sshd offers no password or keyboard-interactive login',
  severity: 'must',
  tags: ['ssh', 'security'],
  run: (context) =>
    onEveryGuest(context, async (guest) => {
      const user = guest.seed.user;
      const login = await attempt(guest, { user, preferredAuthentications: ['none'], keyFile: undefined });
      const settings = await sshdAuthSummary(context, guest, user, ['passwordauthentication', 'kbdinteractiveauthentication', 'permitemptypasswords']);
      const evidence = `${login.evidence}\n${settings}`;
      if (login.reading.verdict === 'accepted' || login.reading.verdict === 'authenticated') {
        return verdict(false, `server let '${user}' in with no authentication at all ('none' method)`, evidence);
      }
      assertReached(guest, "'none' login", login.reading, login.attempt.transcript);
      if (!login.reading.methods.length) return verdict(false, `server refused '${user}' without naming the methods it offers: ${lastLine(login.attempt.transcript)}`, evidence);
      const judged = judgeOfferedMethods(user, login.reading.methods);
      return verdict(judged.ok, judged.message, evidence);
    }),
};

async function rootLoginOn(context: CheckContext, guest: GuestHandle): Promise<GuestVerdict> {
  const login = await attempt(guest, { user: 'root', keyFile: guest.seed.privateKeyFile });
  const sshd = await sshdEffective(context, guest, 'root');
  if (sshd.ok) await context.artifacts.write(artifactName('sshd-T-root', guest, 'txt'), sshd.raw);
  const permit = sshd.settings.get('permitrootlogin')?.[0];
  const evidence = [login.evidence, sshd.evidence, `permitrootlogin: ${permit ?? '(unknown)'}`];
  if (login.reading.verdict === 'accepted') return verdict(false, 'root logged in with the seeded key', evidence.join('\n'));
  if (login.reading.verdict !== 'authenticated') assertReached(guest, 'root login', login.reading, login.attempt.transcript);
  if (!sshd.ok) return verdict(false, `could not read sshd's effective PermitRootLogin (${sshd.problem})`, evidence.join('\n'));
  if (permit === 'yes') return verdict(false, 'sshd permits root login (PermitRootLogin yes)', evidence.join('\n'));
  if (!permit || !ROOT_LOGIN_DENYING.includes(permit)) return verdict(false, `sshd's PermitRootLogin is '${permit ?? 'absent'}', not one that denies password logins`, evidence.join('\n'));
  if (login.reading.verdict === 'authenticated') {
    evidence.push(
      `note: root's key was accepted, but a forced command refused the session${login.reading.forcedCommandMessage ? ` ("${login.reading.forcedCommandMessage}")` : ''}; cloud-init's disable_root does this (exit 142). Counted as denied.`,
    );
    return verdict(true, `root denied by a forced command after key auth${login.reading.forcedCommandMessage ? ' (cloud-init disable_root)' : ''}; PermitRootLogin ${permit}`, evidence.join('\n'));
  }
  return verdict(true, `root login refused (offered: ${login.reading.methods.join(',') || 'nothing'}); PermitRootLogin ${permit}`, evidence.join('\n'));
}

export const rootLoginCheck: Check = {
  id: 'ci-root-login-denied',
  title: 'root cannot log in over SSH',
  severity: 'must',
  tags: ['ssh', 'security'],
  run: (context) => onEveryGuest(context, (guest) => rootLoginOn(context, guest)),
};
