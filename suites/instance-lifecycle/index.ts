/**
 * Instance lifecycle: what happens to an instance of the image over its life, from its first boot to a
 * reboot. On the run's guests (two, one per host when it can), after the read-only suites:
 *
 *   life-failed-units   no failed systemd units after boot
 *   life-boot-errors    no kernel or journal messages at priority err or above during boot
 *   life-boot-time      power-on to cloud-init done within a limit per accelerator (should)
 *   life-clone-unique   the instances share no machine-id, host key, DHCP identity, random seed, hostname, instance-id
 *   life-time-sync      a time sync service runs, is synchronised, and the clock is right
 *   life-disk-growth    the root partition and filesystem grew to the disk
 *   life-reboot         the instance reboots and comes back as itself (last: it changes the guest)
 *
 * The runner runs a suite's checks one after the other, in this order (src/runner/checks.ts). Written only
 * against the plugin contract. Options: ./options.ts (validated by the run before anything boots).
 */
import { defineSuite, type Suite } from './api.js';
import { bootErrorsCheck } from './checks/boot-errors.js';
import { bootTimeCheck } from './checks/boot-time.js';
import { cloneUniqueCheck } from './checks/clone-unique.js';
import { diskGrowthCheck } from './checks/disk-growth.js';
import { failedUnitsCheck } from './checks/failed-units.js';
import { rebootCheck } from './checks/reboot.js';
import { timeSyncCheck } from './checks/time-sync.js';
import { optionsSchema, type LifecycleOptions } from './options.js';
import { realTools, type SuiteTools } from './tools.js';

/** The suite with the machine-side tools injectable (tests pass a fake clock and sleep). */
export function createInstanceLifecycleSuite(tools: SuiteTools = realTools): Suite<LifecycleOptions> {
  return defineSuite({
    id: 'instance-lifecycle',
    title: 'Instance lifecycle: clean boot, boot time, unique clones, time sync, disk growth, reboot',
    description:
      'On two guests of the image: no failed units and no boot errors, boot time per accelerator, no identity ' +
      'shared between instances (machine-id, host keys, DHCP identity, random seed, hostname, instance-id), a ' +
      'synchronised clock, root grown to the disk, and a reboot that keeps the instance as it was.',
    // Reboots the guests (exclusive: after the read-only suites, on the run's shared guests); compares two
    // instances whatever firmware they booted with, so it costs no extra boot.
    requires: { guests: { count: 2, placement: 'spread', sharing: 'exclusive', firmwareMatrix: 'any' } },
    // No suite-level tags: no word of the vocabulary fits all seven checks (a suite tag goes to every
    // check, and `--exclude-tag boot` must not drop time sync or disk growth); each check has its own.
    // The run validates the config's section with it before anything boots; context.options is its output.
    optionsSchema,
    checks: [failedUnitsCheck, bootErrorsCheck, bootTimeCheck, cloneUniqueCheck, timeSyncCheck(tools), diskGrowthCheck, rebootCheck],
  });
}

export const instanceLifecycleSuite = createInstanceLifecycleSuite();
export default instanceLifecycleSuite;
