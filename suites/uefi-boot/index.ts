/**
 * UEFI boot and Secure Boot, with firmware as an axis of the run.
 *
 * Runs once per firmware of the run's matrix (`--firmware auto` tests every firmware the image claims)
 * on one shared guest, and sees failed boots: a firmware refusing the loader, or finding nothing to
 * boot, becomes the failure of the checks of that firmware, with the firmware's own words, while the
 * image's other firmware is still tested. Checks that do not apply to a run's firmware skip with the
 * reason. Every UEFI guest starts from a fresh copy of the firmware's variable template, so the image
 * must boot through the removable-media fallback path. Uses only the public suite API.
 */
import { defineSuite } from './api.js';
import { optionsSchema } from './options.js';
import { biosBootCheck, fallbackLoaderCheck, freshNvramCheck, gptEspCheck, secureBootCheck, uefiBootedCheck } from './checks.js';

export const uefiBootSuite = defineSuite({
  id: 'uefi-boot',
  title: 'UEFI boot and Secure Boot (once per firmware)',
  description:
    'Per firmware of the run: UEFI boot (/sys/firmware/efi), GPT with one FAT EFI system partition, the ' +
    'fallback loader EFI/BOOT/BOOTX64.EFI, booting from an empty variable store, Secure Boot (the image ' +
    "boots, SecureBoot reads 1, mokutil agrees) and BIOS boot. A firmware refusal is the image's failure.",
  tags: ['boot', 'firmware'],
  requires: { guests: { count: 1, placement: 'any', sharing: 'shared', seesFailedBoots: true } },
  optionsSchema,
  checks: [uefiBootedCheck, gptEspCheck, fallbackLoaderCheck, freshNvramCheck, secureBootCheck, biosBootCheck],
});

export default uefiBootSuite;
