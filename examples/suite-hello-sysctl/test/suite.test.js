// The suite against a fake guest: no VM, no SSH. `npm test` (node --test) in this folder; it needs
// `imgtest/suite-api` resolvable from here (installed beside this package, as its peer dependency).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GuestTransportError, SUITE_API_VERSION } from 'imgtest/suite-api';
import suite, { SYSCTL, parseOptions } from '../index.js';

/** What a stock Debian 12 cloud guest answers. */
const DEBIAN_12 = { 'kernel.dmesg_restrict': '1', 'kernel.unprivileged_bpf_disabled': '2', 'net.ipv4.tcp_syncookies': '1' };

/**
 * A guest whose `exec` answers `sysctl -n <key>` from `values`; a value that is an object is returned
 * as the whole exec result (an exit code, stderr), a function is called (to throw). Calls are recorded.
 */
function fakeGuest(values, name = 'imgtest-run1-g1') {
  const calls = [];
  return {
    name,
    calls,
    async exec(argv, options) {
      calls.push({ argv: [...argv], options });
      assert.equal(argv[0], SYSCTL);
      assert.equal(argv[1], '-n');
      const answer = values[argv[2]];
      if (typeof answer === 'function') return answer();
      if (typeof answer === 'object') return { stdout: '', stderr: '', ...answer };
      if (answer === undefined) return { stdout: '', stderr: `sysctl: cannot stat /proc/sys/${argv[2].replaceAll('.', '/')}: No such file or directory\n`, exitCode: 1 };
      return { stdout: `${answer}\n`, stderr: '', exitCode: 0 };
    },
  };
}

function context(guests, options = {}) {
  return { guests, options, bootFailures: [], hosts: [], log() {}, property() {}, memo: (_key, compute) => compute() };
}

const check = (id) => {
  const found = suite.checks.find((c) => c.id === id);
  assert.ok(found, `no check ${id}`);
  return found;
};

test('is a suite of this contract: id, one shared guest, three checks', () => {
  assert.equal(suite.id, 'hello-sysctl');
  assert.equal(suite.apiVersion, SUITE_API_VERSION);
  assert.deepEqual(suite.requires, { guests: { count: 1, placement: 'any', sharing: 'shared', firmwareMatrix: 'first' } });
  assert.deepEqual(
    suite.checks.map((c) => [c.id, c.severity]),
    [
      ['hello-sysctl-dmesg-restrict', 'must'],
      ['hello-sysctl-unprivileged-bpf', 'must'],
      ['hello-sysctl-syncookies', 'should'],
    ],
  );
});

test('pass: every check passes on what a stock Debian 12 cloud image reports', async () => {
  const guest = fakeGuest(DEBIAN_12);
  for (const c of suite.checks) {
    const outcome = await c.run(context([guest]));
    assert.equal(outcome.status, 'pass', `${c.id}: ${outcome.message}`);
  }
  assert.deepEqual(
    guest.calls.map((call) => call.argv),
    [
      [SYSCTL, '-n', 'kernel.dmesg_restrict'],
      [SYSCTL, '-n', 'kernel.unprivileged_bpf_disabled'],
      [SYSCTL, '-n', 'net.ipv4.tcp_syncookies'],
    ],
  );
  assert.equal(guest.calls[0].options.sudo, undefined, 'reads as the unprivileged user');
  const outcome = await check('hello-sysctl-unprivileged-bpf').run(context([guest]));
  assert.equal(outcome.message, 'kernel.unprivileged_bpf_disabled is 2 (expected one of 1, 2)');
  assert.equal(outcome.evidence, `imgtest-run1-g1: $ ${SYSCTL} -n kernel.unprivileged_bpf_disabled\n2`);
});

test('fail: a value the image should not have is a failure naming value and expectation', async () => {
  const guest = fakeGuest({ ...DEBIAN_12, 'kernel.dmesg_restrict': '0', 'kernel.unprivileged_bpf_disabled': '0' });
  const dmesg = await check('hello-sysctl-dmesg-restrict').run(context([guest]));
  assert.equal(dmesg.status, 'fail');
  assert.equal(dmesg.message, 'kernel.dmesg_restrict is 0, expected 1');
  assert.match(dmesg.evidence, /kernel\.dmesg_restrict\n0$/);
  const bpf = await check('hello-sysctl-unprivileged-bpf').run(context([guest]));
  assert.equal(bpf.status, 'fail');
  assert.equal(bpf.message, 'kernel.unprivileged_bpf_disabled is 0, expected one of 1, 2');
  assert.equal((await check('hello-sysctl-syncookies').run(context([guest]))).status, 'pass');
});

test('error: a lost SSH connection (exec throws GuestTransportError) passes through, never a failure', async () => {
  const lost = new GuestTransportError('SSH to cloud@10.78.0.12: cannot connect: connection refused', '10.78.0.12', 'connect');
  const guest = fakeGuest({
    'kernel.dmesg_restrict': () => {
      throw lost;
    },
  });
  await assert.rejects(check('hello-sysctl-dmesg-restrict').run(context([guest])), (error) => error === lost && error instanceof GuestTransportError && error.code === 'E_GUEST_TRANSPORT');
});

test("error: exit 255 is sysctl's own, and throws like any non-zero exit", async () => {
  const guest = fakeGuest({ 'kernel.dmesg_restrict': { exitCode: 255, stderr: 'sysctl: something went wrong\n' } });
  await assert.rejects(check('hello-sysctl-dmesg-restrict').run(context([guest])), {
    message: `guest imgtest-run1-g1: cannot read kernel.dmesg_restrict: \`${SYSCTL} -n kernel.dmesg_restrict\` ended with exit 255: sysctl: something went wrong`,
  });
});

test("error: any other non-zero exit (a key this kernel lacks) throws with sysctl's words", async () => {
  const guest = fakeGuest({ 'net.ipv4.tcp_syncookies': { exitCode: 1, stderr: 'sysctl: cannot stat /proc/sys/net/ipv4/tcp_syncookies: No such file or directory\n' } });
  await assert.rejects(check('hello-sysctl-syncookies').run(context([guest])), /ended with exit 1: sysctl: cannot stat \/proc\/sys\/net\/ipv4\/tcp_syncookies/);
});

test('error: output that is not an integer, an exec that throws, no guest at all', async () => {
  await assert.rejects(check('hello-sysctl-syncookies').run(context([fakeGuest({ 'net.ipv4.tcp_syncookies': 'yes' })])), /printed "yes", not an integer/);
  const lost = fakeGuest({
    'kernel.dmesg_restrict': () => {
      throw new Error('ssh transport closed');
    },
  });
  await assert.rejects(check('hello-sysctl-dmesg-restrict').run(context([lost])), /ssh transport closed/);
  await assert.rejects(check('hello-sysctl-dmesg-restrict').run(context([])), /no guest to read from/);
});

test('option expected: replaces the accepted values (integer or list), null skips the check', async () => {
  const guest = fakeGuest({ ...DEBIAN_12, 'kernel.dmesg_restrict': '0' });
  const options = { expected: { 'kernel.dmesg_restrict': 0, 'kernel.unprivileged_bpf_disabled': [1], 'net.ipv4.tcp_syncookies': null } };
  assert.equal((await check('hello-sysctl-dmesg-restrict').run(context([guest], options))).status, 'pass');
  const bpf = await check('hello-sysctl-unprivileged-bpf').run(context([guest], options));
  assert.equal(bpf.status, 'fail');
  assert.equal(bpf.message, 'kernel.unprivileged_bpf_disabled is 2, expected 1');
  const syn = await check('hello-sysctl-syncookies').run(context([guest], options));
  assert.equal(syn.status, 'skip');
  assert.equal(syn.message, 'not checked: suites.hello-sysctl.expected.net.ipv4.tcp_syncookies is null');
  assert.equal(guest.calls.length, 2, 'a skipped check reads nothing');
});

test('a bad option throws a clear error before the guest is asked anything', async () => {
  const cases = [
    [{ expect: {} }, "suite hello-sysctl: option 'expect' is unknown (the only option is 'expected')"],
    [{ expected: 1 }, 'suite hello-sysctl: option expected must be a mapping of sysctl key to value, got number 1'],
    [
      { expected: { 'kernel.kptr_restrict': 1 } },
      'suite hello-sysctl: option expected.kernel.kptr_restrict: not a key this suite checks (kernel.dmesg_restrict, kernel.unprivileged_bpf_disabled, net.ipv4.tcp_syncookies)',
    ],
    [{ expected: { 'kernel.dmesg_restrict': '1' } }, 'suite hello-sysctl: option expected.kernel.dmesg_restrict: must be an integer, a non-empty list of integers, or null, got string "1"'],
    [{ expected: { 'kernel.dmesg_restrict': [] } }, 'suite hello-sysctl: option expected.kernel.dmesg_restrict: must be an integer, a non-empty list of integers, or null, got []'],
    [{ expected: { 'kernel.dmesg_restrict': [1, 1.5] } }, 'suite hello-sysctl: option expected.kernel.dmesg_restrict: must be an integer, a non-empty list of integers, or null, got [1,1.5]'],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => parseOptions(options), { message });
    const guest = fakeGuest(DEBIAN_12);
    await assert.rejects(check('hello-sysctl-dmesg-restrict').run(context([guest], options)), { message });
    assert.equal(guest.calls.length, 0);
  }
  assert.deepEqual(parseOptions({}), { expected: {} });
});
