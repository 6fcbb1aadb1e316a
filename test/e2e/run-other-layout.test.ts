import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256File } from '../../src/image/inspect.js';
import type { RunResult } from '../../src/report/model.js';
import { canBootGuests, fixture, imgtest, latestRun, leftovers, nvramLeftovers, repoRoot, validateJunit } from './helpers.js';

/**
 * An image laid out unlike debian-12-clean, booted once in CI with the suites that meet its
 * differences (issue 11): debian-12-lvm is BIOS-only with an MBR, a separate ext4 /boot and its root
 * on LVM (vg0/root). Firmware detection and BIOS boot (uefi-boot), the offline read of a root the
 * appliance must find inside a volume group (image-hygiene), and the growth of partition, physical
 * volume and logical volume, then a reboot through the separate /boot (instance-lifecycle) must all
 * pass. Every other suite and every other image is `npm run matrix`'s (README). Two guests, TCG.
 */

const reportDir = join(repoRoot, 'reports', 'e2e-other-layout');
const caseOf = (result: RunResult, suiteId: string, checkId: string) => result.suites.find((s) => s.suiteId === suiteId)!.cases.find((c) => c.checkId === checkId)!;

describe.skipIf(!canBootGuests)('imgtest run on another layout (real guests in the lab)', () => {
  it(
    'debian-12-lvm (MBR, BIOS only, separate /boot, LVM root): detected BIOS-only, the layout suites pass, exit 0, image untouched',
    async () => {
      const image = await fixture('debian-12-lvm');
      const before = await sha256File(image);
      const run = await imgtest(['run', image, '--suite', 'uefi-boot', 'image-hygiene', 'instance-lifecycle', '--report-dir', reportDir]);
      const { result, dir } = await latestRun(reportDir);
      const notPassed = result.suites.flatMap((s) => s.cases.filter((c) => c.status !== 'passed' && c.status !== 'skipped').map((c) => `${s.suiteId}/${c.checkId}: ${c.status}: ${c.message}`));
      expect(notPassed).toEqual([]);
      expect(run.exitCode, run.stdout.slice(-3000) + run.stderr).toBe(0);

      // Detected from the disk alone: an MBR with boot code and no EFI system partition.
      expect(result.image.boot).toMatchObject({ partitionTable: 'mbr', claims: { uefi: false, bios: true, secureBoot: false } });
      expect(result.image.boot!.reasons).toContain('claims: bios');
      expect(result.firmware).toBe('auto -> bios');
      expect(caseOf(result, 'uefi-boot', 'bios-boot')).toMatchObject({ status: 'passed', message: expect.stringMatching(/^booted with BIOS to SSH/) });
      expect(caseOf(result, 'uefi-boot', 'uefi-booted')).toMatchObject({ status: 'skipped', message: expect.stringMatching(/claims no UEFI boot \(the image has no EFI system partition/) });

      // The offline suite found the root inside the volume group (not the /boot partition) and read it.
      expect(caseOf(result, 'image-hygiene', 'hyg-machine-id')).toMatchObject({ status: 'passed', message: expect.stringMatching(/^no machine-id in the image/) });
      expect(caseOf(result, 'image-hygiene', 'hyg-headless-console').message).toMatch(/extlinux\.conf/);

      // Growth measured through LVM's own sizes on both guests, and a reboot that mounts /boot again.
      const growth = caseOf(result, 'instance-lifecycle', 'life-disk-growth');
      expect(growth.message.match(/physical volume partition vda2 ends at 100% of it, vg0\/root fills vg0/g)).toHaveLength(2);
      expect(caseOf(result, 'instance-lifecycle', 'life-reboot').message).toMatch(/2 fstab mount\(s\)/);
      expect(new Set(result.suites.flatMap((s) => s.guests.map((g) => `${g.host} ${g.firmware}`)))).toEqual(new Set(['hv1 bios', 'hv2 bios']));

      expect((await validateJunit(join(dir, 'junit.xml'))).exitCode).toBe(0);
      expect(await readFile(join(dir, 'junit.xml'), 'utf8')).not.toMatch(/<(failure|error)/);
      expect(await sha256File(image)).toBe(before);
      expect(await leftovers(result.runId)).toEqual([]);
      expect(await nvramLeftovers(result.runId)).toEqual([]);
    },
    40 * 60_000,
  );
});
