/**
 * cloud-init (NoCloud) provisioning and key-only login.
 *
 * The runner boots two guests of the image (one per host when it can), each with its own NoCloud seed:
 * distinct instance-id and hostname, the same test user and key. These checks read what cloud-init
 * made of that seed and try SSH logins from outside, the way a user or an attacker would.
 * Uses only the public suite API, as a third-party suite would.
 */
import { defineSuite } from './api.js';
import { datasourceCheck, hostnameCheck, instanceIdCheck, statusCheck } from './checks/cloud-init.js';
import { consoleCheck } from './checks/console.js';
import { hostKeysCheck } from './checks/hostkeys.js';
import { keyLoginCheck, passwordLoginCheck, rootLoginCheck, wrongKeyCheck } from './checks/login.js';
import { authorizedKeysCheck, userCheck } from './checks/user.js';
import { optionsSchema } from './options.js';

export const cloudInitAuthSuite = defineSuite({
  id: 'cloud-init-auth',
  title: 'cloud-init (NoCloud) provisioning and key-only login',
  description:
    'Boots two guests with distinct NoCloud seeds and checks the datasource, cloud-init status, instance-id, ' +
    'hostname, the seeded user and its keys, key-only SSH login (wrong key, password and root refused), ' +
    'fresh per-guest host keys, and the serial console.',
  // Provisioning and login do not depend on the firmware, and the host-key comparison needs a second
  // guest: run once, on two of the run's guests whatever they booted with (one per host), so a run
  // that tests two firmwares boots no extra guest for it.
  tags: ['cloud-init'],
  requires: { guests: { count: 2, placement: 'spread', sharing: 'shared', firmwareMatrix: 'any' } },
  optionsSchema,
  checks: [datasourceCheck, statusCheck, instanceIdCheck, hostnameCheck, userCheck, authorizedKeysCheck, keyLoginCheck, wrongKeyCheck, passwordLoginCheck, rootLoginCheck, hostKeysCheck, consoleCheck],
});

export default cloudInitAuthSuite;
