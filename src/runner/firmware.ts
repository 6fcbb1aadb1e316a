/**
 * Which firmware a run boots the image with. `auto` tests every firmware the image claims (read
 * offline by src/image: an ESP -> uefi, boot code in the MBR -> bios, a signed loader on the ESP's
 * fallback path -> uefi-secureboot), the image's preferred one first: suites with
 * `firmwareMatrix: 'first'` run only with that one. An explicit setting is a matrix of one.
 */
import type { FirmwareSetting } from '../config/schema.js';
import type { Firmware, ImageBootInfo } from '../suite-api/index.js';

export interface FirmwareChoice {
  /** The run's firmware matrix; the first is what the image prefers. */
  firmwares: Firmware[];
  /** One line for the log and the report: what was decided, and why. */
  reason: string;
  /** Said when the setting asks for a firmware the image does not claim (the run still tests it). */
  warning?: string;
}

const claimedList = (boot: ImageBootInfo): string =>
  [boot.claims.uefi && 'uefi', boot.claims.bios && 'bios', boot.claims.secureBoot && 'secure boot'].filter(Boolean).join(' + ') || 'nothing bootable';

/** Why the image does not claim `firmware`, in a few words; undefined when it does. */
export function unclaimedBecause(firmware: Firmware, boot: ImageBootInfo): string | undefined {
  if (firmware === 'bios') return boot.claims.bios ? undefined : 'no boot code in the MBR';
  if (!boot.claims.uefi) return boot.partitionTable === 'gpt' ? 'no EFI system partition' : `no EFI system partition (${boot.partitionTable === 'mbr' ? 'MBR partition table' : 'no partition table'})`;
  if (firmware === 'uefi-secureboot' && !boot.claims.secureBoot) {
    if (!boot.fallbackLoader) return `no fallback loader EFI/BOOT/BOOTX64.EFI${boot.esp?.filesystem ? '' : ' (the ESP could not be read)'}`;
    return `its fallback loader ${boot.fallbackLoader.path} is not signed`;
  }
  return undefined;
}

export function resolveFirmware(setting: FirmwareSetting, boot: ImageBootInfo): FirmwareChoice {
  const claimed = claimedList(boot);
  if (setting !== 'auto') {
    const why = unclaimedBecause(setting, boot);
    return {
      firmwares: [setting],
      reason: `firmware ${setting} as asked (the image claims ${claimed})`,
      warning: why ? `the image does not claim ${setting} boot (${why}); testing it with ${setting} as asked` : undefined,
    };
  }
  const firmwares: Firmware[] = [];
  // UEFI is what an image with an ESP prefers (it is also the only way to boot large disks).
  if (boot.claims.uefi) firmwares.push('uefi');
  if (boot.claims.bios) firmwares.push('bios');
  if (boot.claims.uefi && boot.claims.secureBoot) firmwares.push('uefi-secureboot');
  if (!firmwares.length) {
    // Nothing detected is not proof of nothing bootable (e.g. a boot loader we do not recognise):
    // boot it the way a plain VM would, with BIOS, and let the firmware's verdict be the result.
    return {
      firmwares: ['bios'],
      reason: 'firmware auto -> bios: the image claims nothing bootable (no ESP, no MBR boot code); booting it with BIOS, the default of a plain VM',
      warning: 'the image claims no way to boot; expect the firmware to find nothing to boot',
    };
  }
  return { firmwares, reason: `firmware auto -> ${firmwares.join(', ')} (the image claims ${claimed}${firmwares.length > 1 ? `; ${firmwares[0]} first, as the image prefers` : ''})` };
}
