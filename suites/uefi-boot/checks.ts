/**
 * The uefi-boot checks. The suite runs once per firmware of the run's matrix; each check says whether
 * it applies to this run's firmware and skips with the reason when not. Checks that need the guest
 * turn a failed boot into their own failure when the image explains it (the firmware's message, or
 * what the image lacks for this firmware), and into an error when nothing points at the image.
 */
import { fail, pass, skip, type Check, type CheckContext, type CheckOutcome, type Firmware, type ImageBootInfo } from './api.js';
import { bootFailureOutcome, consoleOf, guestState, isUefi, offlineObstacle, probeGuest } from './guest-data.js';
import { parseOptions } from './options.js';
import { bootCurrent, bootEntries, byteVariable, consoleBootLines, describeBootEntries, ESP_TYPE_GUID, espPartitionsSeen, mokutilState, namesFile, oneLine } from './parse.js';

const claimedList = (boot: ImageBootInfo): string =>
  [boot.claims.uefi && 'uefi', boot.claims.bios && 'bios', boot.claims.secureBoot && 'secure boot'].filter(Boolean).join(' + ') || 'nothing bootable';

const bootSummary = (boot: ImageBootInfo): string => `image boot facts (read offline):\n${boot.reasons.map((r) => `  ${r}`).join('\n')}`;

/** Skip outcome for a UEFI check in a run that is not UEFI. */
function unlessUefi(context: CheckContext): CheckOutcome | undefined {
  const firmware = context.firmware;
  if (!firmware) return skip('not applicable: this run boots no guest');
  if (isUefi(firmware)) return undefined;
  const { boot } = context.image;
  return skip(
    boot.claims.uefi
      ? `not applicable: this run boots with ${firmware}; the image claims UEFI too, tested in the uefi run`
      : `not applicable: this run boots with ${firmware}; the image claims no UEFI boot (${offlineObstacle(boot, 'uefi') ?? 'no ESP'})`,
    bootSummary(boot),
  );
}

export const uefiBootedCheck: Check = {
  id: 'uefi-booted',
  title: 'the guest booted with UEFI firmware (/sys/firmware/efi present)',
  severity: 'must',
  async run(context) {
    const notHere = unlessUefi(context);
    if (notHere) return notHere;
    const state = guestState(context);
    if (!state.booted) return bootFailureOutcome(state, 'UEFI boot');
    const { probe, evidence } = await probeGuest(context, state.guest);
    if (!probe.efi) return fail(`the guest came up under ${context.firmware}, but /sys/firmware/efi is absent: its kernel runs without EFI support (CONFIG_EFI off, or noefi)`, evidence);
    return pass(`booted with UEFI (${context.firmware}): /sys/firmware/efi present${probe.platformSize ? `, ${probe.platformSize}-bit firmware` : ''}`, evidence);
  },
};

export const gptEspCheck: Check = {
  id: 'uefi-gpt-esp',
  title: 'GPT with one EFI system partition (type C12A7328-F81F-11D2-BA4B-00A0C93EC93B), FAT',
  severity: 'must',
  tags: ['storage'],
  async run(context) {
    const notHere = unlessUefi(context);
    if (notHere) return notHere;
    const { boot } = context.image;
    const offline = bootSummary(boot);
    if (boot.partitionTable !== 'gpt') {
      const table = boot.partitionTable === 'mbr' ? 'an MBR (dos) partition table' : 'no partition table';
      return fail(`no EFI system partition: the image has ${table}, not GPT`, offline);
    }
    if (!boot.esp) return fail(`no EFI system partition: no GPT partition has type ${ESP_TYPE_GUID.toUpperCase()}`, offline);
    const state = guestState(context);
    const seen = state.booted ? await probeGuest(context, state.guest) : undefined;
    const evidence = seen ? `${offline}\n\n${seen.evidence}` : offline;
    const fs = boot.esp.filesystem;
    if (fs && !fs.startsWith('FAT')) return fail(`EFI system partition ${boot.esp.partition} is ${fs}, not FAT: UEFI firmware cannot read it`, evidence);
    let guestView = '';
    if (seen) {
      const disks = espPartitionsSeen(seen.probe.lsblk);
      const many = disks.find((d) => d.partitions.length > 1);
      if (many) return fail(`${many.partitions.length} partitions on ${many.disk} carry the ESP type (${many.partitions.map((p) => p.path ?? p.name).join(', ')}): there must be one`, evidence);
      const esp = disks[0]?.partitions[0];
      if (esp) guestView = `; the guest sees ${esp.path ?? esp.name}${esp.fstype ? ` (${esp.fstype})` : ''}${esp.mountpoint ? ` mounted at ${esp.mountpoint}` : ''}`;
      if (!fs) {
        if (esp?.fstype === 'vfat') return pass(`GPT, EFI system partition ${boot.esp.partition}: not readable offline, the guest sees it as vfat${guestView}`, evidence);
        return fail(`EFI system partition ${boot.esp.partition} could not be read offline and the guest does not see it as vfat`, evidence);
      }
    } else if (!fs) {
      throw new Error(`EFI system partition ${boot.esp.partition} could not be read offline and no guest booted to look at it`);
    }
    return pass(`GPT, EFI system partition ${boot.esp.partition}, ${fs}${guestView}`, evidence);
  },
};

export const fallbackLoaderCheck: Check = {
  id: 'uefi-fallback-loader',
  title: 'the removable-media fallback loader EFI/BOOT/BOOTX64.EFI is on the ESP',
  severity: 'must',
  async run(context) {
    const notHere = unlessUefi(context);
    if (notHere) return notHere;
    const { boot } = context.image;
    const evidence = bootSummary(boot);
    if (!boot.esp) return fail(`no EFI/BOOT/BOOTX64.EFI: ${offlineObstacle(boot, 'uefi')}`, evidence);
    const fs = boot.esp.filesystem;
    if (fs && !fs.startsWith('FAT')) return fail(`no readable EFI/BOOT/BOOTX64.EFI: the EFI system partition is ${fs}, not FAT`, evidence);
    const loader = boot.fallbackLoader;
    if (loader) {
      const broken = boot.reasons.find(
        (r) => r.startsWith(`${loader.path} is not an EFI executable`) || r.startsWith(`${loader.path} is built for`) || /^shim's second stage .* (is missing|is not an EFI executable)/.test(r),
      );
      if (broken) return fail(broken, evidence);
      return pass(`${loader.path} present: ${loader.shim ? 'shim' : 'EFI application'}, ${loader.signed ? 'signed' : 'unsigned'}`, evidence);
    }
    if (fs) {
      const missing = boot.reasons.find((r) => r.startsWith('no EFI/BOOT/BOOTX64.EFI')) ?? 'no EFI/BOOT/BOOTX64.EFI on the ESP';
      return fail(missing, evidence);
    }
    // The ESP could not be read offline: a boot from an empty variable store proves the loader is there.
    const state = guestState(context);
    if (state.booted) {
      const lines = consoleBootLines(await consoleOf(context, state.guest)).filter((l) => l.event === 'starting');
      if (lines[0] && !namesFile(lines[0].path))
        return pass(`the ESP was not readable offline, but the firmware started the disk's removable-media path from an empty variable store (${lines[0].line})`, evidence);
    }
    throw new Error('the ESP could not be read offline, and the boot does not show the fallback path either');
  },
};

export const freshNvramCheck: Check = {
  id: 'uefi-fresh-nvram',
  title: 'boots from an empty variable store (no boot entry of its own, through the fallback path)',
  severity: 'must',
  async run(context) {
    const notHere = unlessUefi(context);
    if (notHere) return notHere;
    const state = guestState(context);
    if (!state.booted) return bootFailureOutcome(state, 'boot from an empty variable store');
    const [console, { probe, evidence: probeEvidence }] = await Promise.all([consoleOf(context, state.guest), probeGuest(context, state.guest)]);
    const lines = consoleBootLines(console);
    const entries = bootEntries(probe);
    const current = bootCurrent(probe);
    const currentEntry = current ? entries.get(current) : undefined;
    const evidence = [
      'firmware boot lines on the serial console:',
      ...(lines.length ? lines.map((l) => `  ${l.line}`) : ['  (none)']),
      '',
      'EFI boot variables in the guest:',
      describeBootEntries(probe),
      '',
      probeEvidence,
    ].join('\n');
    const first = lines[0];
    if (first) {
      // Every UEFI guest starts from a fresh copy of the firmware's variable template, which holds no
      // entry naming a file: a file path in the very first option tried means the store was not fresh.
      if (namesFile(first.path)) throw new Error(`the variable store was not empty at power-on: the firmware's first boot option ${first.option} "${first.description}" names ${first.path}`);
      const started = lines.find((l) => l.event === 'starting');
      if (!started) return fail("the firmware started no boot option from the console's point of view", evidence);
      const later = currentEntry?.file ? `; the running system came up through ${current} "${currentEntry.description}" (${currentEntry.file}), which the image's fallback created` : '';
      return pass(
        `booted from an empty variable store: the firmware started its own entry ${started.option} "${started.description}" (${started.path}), the disk's removable-media path EFI/BOOT/BOOTX64.EFI${later}`,
        evidence,
      );
    }
    // No BdsDxe lines on this firmware's console: judge by the entry the firmware booted.
    if (!currentEntry) return fail(`no firmware boot lines on the console and no BootCurrent entry${current ? ` (${current} not found)` : ''}: cannot tell how the guest booted`, evidence);
    if (currentEntry.file) return fail(`the guest booted through ${current} "${currentEntry.description}", which names ${currentEntry.file}, not the firmware's own entry for the disk`, evidence);
    return pass(`booted from an empty variable store: BootCurrent ${current} "${currentEntry.description}" (${currentEntry.path}) is the firmware's own entry for the disk`, evidence);
  },
};

export const secureBootCheck: Check = {
  id: 'uefi-secureboot',
  title: 'with Secure Boot on, the image boots and the SecureBoot variable reads 1',
  severity: 'must',
  tags: ['security'],
  async run(context) {
    const options = parseOptions(context.options);
    const { boot } = context.image;
    const firmware = context.firmware;
    const claimed = boot.claims.secureBoot;
    // must: the image claims Secure Boot, or the config asks for it (an option, or --firmware
    // uefi-secureboot for an image that does not claim it: auto only adds it when claimed).
    const severity = claimed || options.secureBoot !== 'optional' ? 'must' : 'should';
    const evidence = bootSummary(boot);
    if (firmware !== 'uefi-secureboot') {
      const reportsHere = boot.claims.uefi ? firmware === 'uefi' : true;
      if (options.secureBoot === 'required' && !claimed && reportsHere) {
        return {
          status: 'fail',
          severity: 'must',
          message: `Secure Boot is required (suites.uefi-boot.secureBoot: required), but ${offlineObstacle(boot, 'uefi-secureboot') ?? 'the image claims no Secure Boot'}: the firmware would refuse it`,
          evidence,
        };
      }
      if (!firmware) return skip('not applicable: this run boots no guest');
      return skip(
        claimed
          ? `not applicable: Secure Boot is off in this run (${firmware}); the image claims it, tested in the uefi-secureboot run`
          : `not tested: the image claims no Secure Boot (${offlineObstacle(boot, 'uefi-secureboot') ?? claimedList(boot)}); --firmware uefi-secureboot tests it`,
        evidence,
      );
    }
    const state = guestState(context);
    if (!state.booted) return { ...bootFailureOutcome(state, 'Secure Boot'), severity };
    const { probe, evidence: probeEvidence } = await probeGuest(context, state.guest);
    const all = `${evidence}\n\n${probeEvidence}`;
    if (!probe.efi) return { status: 'fail', severity, message: 'booted under Secure Boot firmware, but /sys/firmware/efi is absent: the kernel cannot see the Secure Boot state', evidence: all };
    const secure = byteVariable(probe, 'SecureBoot');
    const setup = byteVariable(probe, 'SetupMode');
    // The firmware's state is the host's doing, not the image's: a wrong one is an error, not a defect.
    if (secure === undefined) throw new Error('the firmware has no SecureBoot variable: the host did not start a Secure Boot capable OVMF');
    if (secure !== 1) throw new Error(`SecureBoot reads ${secure}${setup === 1 ? ' and SetupMode 1: the firmware has no keys enrolled (the host picked OVMF without enrolled keys)' : ''}`);
    const mok = mokutilState(probe.mokutil);
    if (mok && mok !== 'enabled') return { status: 'fail', severity, message: `SecureBoot variable reads 1, but mokutil --sb-state disagrees: ${oneLine(probe.mokutil ?? '', 120)}`, evidence: all };
    // The kernel's own verdict, without the timestamp (`secureboot: Secure boot enabled`).
    const kernelSays = probe.kernel.map((k) => k.replace(/^\[[^\]]*\]\s*/, '')).find((k) => /^secureboot:/i.test(k));
    const facts = [`SecureBoot=1`, `SetupMode=${setup ?? '?'}`, mok ? 'mokutil: SecureBoot enabled' : 'mokutil not installed', ...(kernelSays ? [`kernel: ${oneLine(kernelSays, 80)}`] : [])];
    const loader = boot.fallbackLoader ? `; loader ${boot.fallbackLoader.path} (${boot.fallbackLoader.shim ? 'shim' : 'EFI application'}, ${boot.fallbackLoader.signed ? 'signed' : 'unsigned'})` : '';
    return { status: 'pass', severity, message: `booted with Secure Boot on: ${facts.join(', ')}${loader}`, evidence: all };
  },
};

export const biosBootCheck: Check = {
  id: 'bios-boot',
  title: 'the guest boots with BIOS (SeaBIOS) to SSH',
  severity: 'must',
  async run(context) {
    const firmware: Firmware | undefined = context.firmware;
    const { boot } = context.image;
    if (firmware !== 'bios') {
      if (!firmware) return skip('not applicable: this run boots no guest');
      return skip(
        boot.claims.bios
          ? `not applicable: this run boots with ${firmware}; the image claims BIOS too, tested in the bios run`
          : `not applicable: the image claims no BIOS boot (no boot code in the MBR)`,
        bootSummary(boot),
      );
    }
    const state = guestState(context);
    if (!state.booted) return bootFailureOutcome(state, 'BIOS boot');
    const { probe, evidence } = await probeGuest(context, state.guest);
    if (probe.efi) throw new Error('the guest was meant to boot with BIOS, but /sys/firmware/efi exists: it ran UEFI firmware');
    return pass(`booted with BIOS to SSH (no /sys/firmware/efi)${boot.claims.bios ? '' : '; note: the image does not claim BIOS boot'}`, evidence);
  },
};
