/**
 * What the uefi-boot checks share: the run's guest (or why it did not boot), one probe of the guest's
 * firmware state (read once per guest through `context.memo`), and the image's offline boot claims.
 */
import type { BootFailure, CheckContext, CheckOutcome, Firmware, GuestHandle, ImageBootInfo } from './api.js';
import { fail } from './api.js';
import { EFI_GLOBAL_GUID, oneLine, parseEfiProbe, type EfiProbe } from './parse.js';

export const isUefi = (firmware: Firmware | undefined): boolean => firmware === 'uefi' || firmware === 'uefi-secureboot';

/**
 * Reads, as root, everything the checks need in one SSH round trip: /sys/firmware/efi, the global
 * EFI variables that matter (hex bytes), mokutil's verdict, the kernel's Secure Boot line, lsblk.
 */
export const PROBE_SCRIPT = `V=${EFI_GLOBAL_GUID}
E=/sys/firmware/efi
hex() { od -An -v -t x1 "$1" 2>/dev/null | tr -s ' \\n' '  '; }
if [ -d "$E" ]; then echo "efi=yes"; else echo "efi=no"; fi
if [ -r "$E/fw_platform_size" ]; then echo "platform-size=$(cat "$E/fw_platform_size")"; fi
if [ -d "$E/efivars" ]; then
  for f in "$E"/efivars/*-"$V"; do
    [ -e "$f" ] || continue
    n=\${f##*/}; n=\${n%-"$V"}
    case "$n" in
      SecureBoot|SetupMode|BootCurrent|BootOrder|Boot[0-9A-F][0-9A-F][0-9A-F][0-9A-F]) echo "var.$n=$(hex "$f")" ;;
    esac
  done
fi
if command -v mokutil >/dev/null 2>&1; then echo "mokutil=$(mokutil --sb-state 2>&1 | tr '\\n' ' ')"; else echo "mokutil=(not installed)"; fi
dmesg 2>/dev/null | grep -i -m 3 -e 'secure boot' -e 'secureboot' | sed 's/^/kernel=/'
echo "lsblk=$(lsblk -J -o NAME,PATH,TYPE,PTTYPE,PARTTYPE,FSTYPE,PKNAME,MOUNTPOINT 2>/dev/null | tr -d '\\n')"
`;

export interface ProbeRead {
  probe: EfiProbe;
  raw: string;
  evidence: string;
}

export function probeGuest(context: CheckContext, guest: GuestHandle): Promise<ProbeRead> {
  return context.memo(`uefi-boot:probe:${guest.name}`, async () => {
    const result = await guest.script(PROBE_SCRIPT, [], { sudo: true, timeoutMs: 60_000 });
    if (result.exitCode !== 0 && !result.stdout.includes('efi=')) {
      throw new Error(`probing the guest's firmware state failed (exit ${result.exitCode}): ${oneLine(result.stderr || result.stdout, 160)}`);
    }
    const raw = result.stdout;
    await context.artifacts.write(`uefi-probe-${guest.name.replace(/[^A-Za-z0-9._-]+/g, '_')}.txt`, raw);
    const evidence = `$ sudo -n sh -s   (probe: /sys/firmware/efi, EFI variables, mokutil, dmesg, lsblk; exit ${result.exitCode})\n${raw.replace(/\s+$/, '')}`;
    return { probe: parseEfiProbe(raw), raw, evidence };
  });
}

/** The guest's serial console, read once. */
export function consoleOf(context: CheckContext, guest: GuestHandle): Promise<string> {
  return context.memo(`uefi-boot:console:${guest.name}`, () => guest.serialLog());
}

export type GuestState =
  | { booted: true; guest: GuestHandle }
  | { booted: false; failure: BootFailure; /** The image explains the failure (the firmware said so, or the image lacks what this firmware needs). */ imageCaused: boolean; why?: string };

/**
 * Why the image cannot boot with `firmware`, from what it claims offline (undefined when it claims
 * it can). The words name what is missing, e.g. "the image has no EFI system partition".
 */
export function offlineObstacle(boot: ImageBootInfo, firmware: Firmware): string | undefined {
  if (firmware === 'bios') return boot.claims.bios ? undefined : 'the image has no boot code in its MBR (it claims no BIOS boot)';
  if (!boot.esp) {
    const table = boot.partitionTable === 'gpt' ? 'GPT without one' : boot.partitionTable === 'mbr' ? 'MBR (dos) partition table, not GPT' : 'no partition table at all';
    return `the image has no EFI system partition (${table})`;
  }
  if (boot.esp.filesystem && !boot.esp.filesystem.startsWith('FAT')) return `the image's EFI system partition is ${boot.esp.filesystem}, not FAT`;
  if (boot.esp.filesystem && !boot.fallbackLoader) return 'the image has no EFI/BOOT/BOOTX64.EFI on its EFI system partition';
  if (firmware === 'uefi-secureboot' && boot.fallbackLoader && !boot.fallbackLoader.signed) return `the image's fallback loader ${boot.fallbackLoader.path} is not signed`;
  return undefined;
}

/** The suite's one guest for this firmware, or its boot failure. */
export function guestState(context: CheckContext): GuestState {
  const guest = context.guests[0];
  if (guest) return { booted: true, guest };
  const failure = context.bootFailures[0];
  if (!failure) throw new Error('no guest was booted for this suite and no boot failure was reported');
  const why = offlineObstacle(context.image.boot, failure.firmware);
  return { booted: false, failure, imageCaused: failure.cause === 'image' || why !== undefined, why };
}

/**
 * The outcome for a check that needed a booted guest and has none: the image's failure (with the
 * firmware's own words and what the image lacks) or, when nothing points at the image, an error.
 */
export function bootFailureOutcome(state: Extract<GuestState, { booted: false }>, what: string): CheckOutcome {
  const { failure } = state;
  const firmwareSaid = failure.message.replace(/^imgtest-\S+\s+(\([^)]*\)\s*)?:?\s*/, '');
  if (!state.imageCaused) throw new Error(`${what}: the guest did not boot (${failure.cause}): ${oneLine(failure.message, 200)}`);
  const message = `${what}: the guest did not boot with ${failure.firmware}${state.why ? `; ${state.why}` : ''}: ${firmwareSaid}`;
  return fail(oneLine(message, 400), `guest ${failure.guestName} on ${failure.host} (${failure.firmware}): ${failure.message}\n--- last serial console lines ---\n${failure.consoleTail}`);
}
