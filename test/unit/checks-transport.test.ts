/**
 * A lost SSH connection is never a defect of the image: the guest handle's exec throws
 * GuestTransportError (src/guest/ssh-session.ts), and a check that lets it through ends as a JUnit
 * `<error>` with the transport's own message, never a `<failure>`; --retries reruns it. The built-in
 * suites let it through (none turns it into a failure).
 */
import { describe, expect, it } from 'vitest';
import { GuestHostKeyError, GuestTransportError } from '../../src/errors.js';
import type { CaseResult } from '../../src/report/model.js';
import { renderJunit } from '../../src/report/junit.js';
import { runSuiteChecks } from '../../src/runner/checks.js';
import { defineSuite, fail, pass, type GuestHandle, type Suite } from '../../src/suite-api/index.js';
import cloudInitAuth from '../../suites/cloud-init-auth/index.js';
import { createInstanceLifecycleSuite } from '../../suites/instance-lifecycle/index.js';
import packageAudit from '../../suites/package-audit/index.js';
import { createSshHardeningSuite } from '../../suites/ssh-hardening/index.js';
import uefiBoot from '../../suites/uefi-boot/index.js';
import { fakeGuest, HYBRID_BOOT } from './helpers/fake-guest.js';
import { runResult, suiteResult } from './helpers/results.js';

const image = { path: '/i.qcow2', name: 'i', format: 'qcow2' as const, virtualSize: 2 ** 31, actualSize: 2 ** 28, sha256: '0'.repeat(64), boot: HYBRID_BOOT };

const ADDRESS = '10.78.0.11';
const closed = () => new GuestTransportError(`SSH to cloud@${ADDRESS}: the connection was closed by the remote host before \`id -u\` returned its exit status`, ADDRESS, 'closed');

/** A guest whose SSH connection is gone: every command throws what the ssh2 session throws. */
function lostGuest(error: () => Error = closed): GuestHandle {
  const guest = fakeGuest({ address: ADDRESS, login: () => Promise.reject(error()), reboot: () => Promise.reject(error()) });
  guest.exec = async () => {
    throw error();
  };
  guest.script = async () => {
    throw error();
  };
  return guest;
}

async function run(suite: Suite, guests: readonly GuestHandle[], extra: { retries?: number; options?: Record<string, unknown> } = {}): Promise<CaseResult[]> {
  const cases: CaseResult[] = [];
  await runSuiteChecks({
    suite,
    image,
    firmware: 'uefi',
    guests,
    hosts: guests.map((g) => g.host),
    options: extra.options ?? {},
    artifactDir: '/nonexistent',
    retries: extra.retries,
    log: () => undefined,
    onCase: (c) => cases.push(c),
  });
  return cases;
}

describe('a check whose exec throws GuestTransportError', () => {
  const suite = defineSuite({
    id: 'probe',
    title: 'probe',
    requires: { guests: { count: 1, placement: 'any', sharing: 'shared' } },
    checks: [
      {
        id: 'probe-uid',
        title: 'the seeded user is not root',
        severity: 'must',
        run: async ({ guests: [guest] }) => {
          const result = await guest!.exec(['id', '-u']);
          return result.stdout.trim() === '0' ? fail('the seeded user is root') : pass(`uid ${result.stdout.trim()}`);
        },
      },
    ],
  });

  it('ends as an error whose message is the transport message, never a failure', async () => {
    const [only] = await run(suite, [lostGuest()]);
    expect(only).toMatchObject({ status: 'error', message: `check could not run: SSH to cloud@${ADDRESS}: the connection was closed by the remote host before \`id -u\` returned its exit status` });
    expect(only!.evidence).toMatch(/^GuestTransportError: SSH to cloud@10\.78\.0\.11/);
  });

  it('is written to JUnit as <error type="infrastructure">, not <failure>', async () => {
    const cases = await run(suite, [lostGuest()]);
    const xml = renderJunit(runResult({ suites: [suiteResult({ suiteId: 'probe', title: 'probe', cases })] }));
    expect(xml).toContain(
      `<error message="check could not run: SSH to cloud@${ADDRESS}: the connection was closed by the remote host before \`id -u\` returned its exit status" type="infrastructure">`,
    );
    expect(xml).not.toContain('<failure');
  });

  it('is rerun with --retries (an infrastructure error), and passes once the connection is back', async () => {
    const guest = fakeGuest({ address: ADDRESS, exec: { 'id -u': '1000\n' } });
    const answered = guest.exec.bind(guest);
    let calls = 0;
    guest.exec = async (argv, options) => {
      if (++calls === 1) throw closed();
      return answered(argv, options);
    };
    const [only] = await run(suite, [guest], { retries: 1 });
    expect(only).toMatchObject({ status: 'passed', message: 'uid 1000', attempts: 2 });
    expect(only!.earlierAttempts?.[0]).toMatchObject({ status: 'error', message: expect.stringContaining('the connection was closed by the remote host') });
  });

  it('a host key mismatch is an error that says it is a security event', async () => {
    const mismatch = () =>
      new GuestHostKeyError(
        `SECURITY: SSH to cloud@${ADDRESS}: host key mismatch: the guest answered with ssh-ed25519 SHA256:x, which is not one of the 1 key(s) pinned from its serial console (ssh-ed25519 SHA256:y); someone else may be answering at this address, or its host keys were replaced; nothing was run`,
        ADDRESS,
        'ssh-ed25519 SHA256:x',
        ['ssh-ed25519 SHA256:y'],
      );
    const [only] = await run(suite, [lostGuest(mismatch)]);
    expect(only).toMatchObject({ status: 'error', message: expect.stringMatching(/^check could not run: SECURITY: SSH to cloud@10\.78\.0\.11: host key mismatch/) });
  });
});

describe('the built-in suites let a lost connection through as an error', () => {
  const noWait = { now: () => Date.now(), sleep: async () => undefined };
  const hostTools = {
    run: async () => ({ notFound: true as const }),
    kexinit: async () => {
      throw new Error(`SSH probe of ${ADDRESS}:22: connect ETIMEDOUT`);
    },
  };
  const suites: [string, Suite][] = [
    ['ssh-hardening', createSshHardeningSuite(hostTools) as Suite],
    ['instance-lifecycle', createInstanceLifecycleSuite(noWait) as Suite],
    ['cloud-init-auth', cloudInitAuth as Suite],
    ['package-audit', packageAudit as Suite],
    ['uefi-boot', uefiBoot as Suite],
  ];

  for (const [id, suite] of suites) {
    it(`${id}: no check fails; the transport message reaches the errors`, async () => {
      const cases = await run(suite, [lostGuest()]);
      const failed = cases.filter((c) => c.status === 'failed').map((c) => `${c.checkId}: ${c.message}`);
      expect(failed).toEqual([]);
      const errors = cases.filter((c) => c.status === 'error');
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.filter((c) => c.message.includes('the connection was closed by the remote host')).length).toBeGreaterThan(0);
    });
  }
});
