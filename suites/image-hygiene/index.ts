/**
 * image-hygiene: what a vendor must scrub from an image before shipping it, read from the image file
 * itself (offline, read-only), before and beside the first boot.
 *
 * The first boot regenerates machine-id and host keys and rewrites cloud-init state, hiding exactly
 * what this suite looks for, so it never boots the image: one read-only libguestfs appliance
 * (`guestfish --ro`) reads everything every check needs into a snapshot (`context.memo`), then
 * the checks are pure functions of that snapshot. `hyg-image-file` needs no appliance at all.
 *
 * Uses only the public suite API, as a third-party suite would.
 */
import { defineSuite, type Check, type CheckContext, type Severity } from './api.js';
import {
  checkAptCaches,
  checkAuthorizedKeys,
  checkCloudInitState,
  checkDhcpLeases,
  checkForbiddenPaths,
  checkHeadlessConsole,
  checkHostname,
  checkImageFile,
  checkMacBoundNetwork,
  checkMachineId,
  checkPasswordHashes,
  checkShellHistory,
  checkSshHostKeys,
  checkSwap,
  checkTmpFiles,
  type SnapshotCheck,
} from './checks.js';
import { CollectError, collectSnapshot } from './collect.js';
import { parseQcow2Header, readImageHead } from './image-file.js';
import { optionsSchema, parseOptions } from './options.js';
import { SnapshotView, type HygieneSnapshot } from './snapshot.js';

export const SNAPSHOT_MEMO_KEY = 'hygiene-snapshot';

/** The snapshot of this image, collected once per suite run (the first check that asks pays). */
export function hygieneSnapshot(context: CheckContext): Promise<HygieneSnapshot> {
  return context.memo(SNAPSHOT_MEMO_KEY, async () => {
    const options = parseOptions(context.options);
    try {
      const { snapshot } = await collectSnapshot({
        image: context.image.path,
        format: context.image.format,
        forbiddenPaths: options.forbiddenPaths,
        launchTimeoutMs: options.applianceTimeoutSeconds * 1000,
        signal: context.signal,
        log: (line) => context.log(line),
      });
      const t = snapshot.timings;
      context.log(
        `image-hygiene: ${snapshot.os.product || snapshot.os.distro} read in ${Math.round(t.totalMs / 1000)} s ` +
          `(appliance ${Math.round(t.launchMs / 1000)} s, inspection ${Math.round(t.inspectMs / 1000)} s, ` +
          `${Object.keys(snapshot.entries).length} paths in ${Math.round(t.collectMs / 1000)} s)`,
      );
      await context.artifacts.write('image-hygiene-snapshot.json', `${JSON.stringify(snapshot, null, 2)}\n`).catch(() => undefined);
      return snapshot;
    } catch (error) {
      if (error instanceof CollectError && error.transcript) {
        await context.artifacts.write('image-hygiene-guestfish.log', error.transcript).catch(() => undefined);
      }
      throw new Error(`offline inspection of ${context.image.name} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  });
}

function snapshotCheck(id: string, title: string, severity: Severity, evaluate: SnapshotCheck, tags?: readonly string[]): Check {
  return {
    id,
    title,
    severity,
    tags,
    async run(context) {
      const options = parseOptions(context.options);
      return evaluate(new SnapshotView(await hygieneSnapshot(context)), options);
    },
  };
}

export const imageFileCheck: Check = {
  id: 'hyg-image-file',
  title: 'Image file: qcow2 or raw, no backing file, virtual size in range',
  severity: 'must',
  tags: ['storage'],
  async run(context) {
    const options = parseOptions(context.options);
    const header = context.image.format === 'qcow2' ? parseQcow2Header(await readImageHead(context.image.path)) : undefined;
    return checkImageFile(context.image, header, options);
  },
};

export const imageHygieneSuite = defineSuite({
  id: 'image-hygiene',
  title: 'Offline image hygiene: nothing of the build machine left in the image',
  description:
    'Reads the image file read-only with libguestfs (no boot) and looks for what every clone would share or leak: ' +
    'SSH host keys, machine-id, password hashes, shell history, cloud-init state, authorized_keys, DHCP leases, ' +
    'MAC-bound network config, swap, apt caches, a baked hostname, temp files; whether the bootloader and kernel ' +
    'use the serial console (a headless VM); and checks the file itself ' +
    '(format, backing file, virtual size). Options: minVirtualSizeGiB, maxVirtualSizeGiB, forbiddenPaths, applianceTimeoutSeconds.',
  tags: ['hygiene', 'offline'],
  requires: { offline: true },
  optionsSchema,
  checks: [
    imageFileCheck,
    snapshotCheck('hyg-ssh-host-keys', 'No SSH host keys baked into the image', 'must', checkSshHostKeys, ['security', 'ssh']),
    snapshotCheck('hyg-machine-id', 'machine-id empty or uninitialized (and no D-Bus machine-id file)', 'must', checkMachineId),
    snapshotCheck('hyg-password-hashes', 'No password hashes or empty passwords in /etc/shadow', 'must', checkPasswordHashes, ['security']),
    snapshotCheck('hyg-shell-history', 'No shell or tool history under /root and /home', 'must', checkShellHistory, ['security']),
    snapshotCheck('hyg-cloud-init-state', 'No leftover cloud-init instance state or logs', 'must', checkCloudInitState, ['cloud-init']),
    snapshotCheck('hyg-authorized-keys', 'No authorized_keys baked into the image', 'must', checkAuthorizedKeys, ['security', 'ssh']),
    snapshotCheck('hyg-dhcp-leases', 'No DHCP leases from the build network', 'should', checkDhcpLeases, ['network']),
    snapshotCheck('hyg-mac-bound-network', 'No network configuration bound to a MAC address', 'must', checkMacBoundNetwork, ['network']),
    snapshotCheck('hyg-swap', 'No swap file or swap in fstab', 'should', checkSwap, ['storage']),
    snapshotCheck('hyg-apt-caches', 'apt caches and package lists cleaned', 'should', checkAptCaches, ['packages']),
    snapshotCheck('hyg-hostname', 'No hostname baked into /etc/hostname', 'must', checkHostname, ['cloud-init']),
    snapshotCheck('hyg-tmp-files', 'No leftover files in /tmp and /var/tmp', 'should', checkTmpFiles),
    snapshotCheck('hyg-forbidden-paths', 'None of the configured forbidden paths present', 'must', checkForbiddenPaths, ['security']),
    snapshotCheck('hyg-headless-console', 'Boots and logs on a headless VM: bootloader and kernel on the serial console', 'should', checkHeadlessConsole, ['boot']),
  ],
});

export default imageHygieneSuite;
