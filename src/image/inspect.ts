import { basename } from 'node:path';
import type { ImageBootInfo, ImageInfo } from '../suite-api/index.js';
import { run } from '../util/exec.js';
import { espBootFacts, readEsp, type EspBootFacts } from './esp.js';
import { sha256File } from './hash.js';
import { bytesFromQemuIoDump, readBootClaims, type BootClaims } from './partition-table.js';
import { validateImageFile, type ImageLimits } from './validate.js';

// Hashing moved to hash.ts (with progress); re-exported for existing importers.
export { sha256File } from './hash.js';

const HEAD_BYTES = 34 * 512;

export interface InspectedImage extends ImageInfo {
  bootClaims: BootClaims;
}

export interface InspectOptions {
  /** Where the ESP's bytes are copied for reading (a folder of its own is made and removed inside). */
  workDir?: string;
  /** Bounds of the virtual size; without them none are applied (the CLI checks the config's before the run). */
  limits?: ImageLimits;
  /** Progress of hashing a big file (default: lines on stderr, see hash.ts). */
  onProgress?: (line: string) => void;
  /** The run's interrupt: stops the hashing. */
  signal?: AbortSignal;
}

/** Everything imgtest learns about the input before anything boots. Reads the file, never writes it. */
export async function inspectImage(path: string, options: InspectOptions = {}): Promise<InspectedImage> {
  const { path: absolute, size, info } = await validateImageFile(path, { limits: options.limits });
  const dump = await run('qemu-io', ['-r', '-U', '-f', info.format, '-c', `read -v 0 ${Math.min(HEAD_BYTES, info.virtualSize)}`, absolute], { allowFailure: true });
  const bootClaims = readBootClaims(bytesFromQemuIoDump(dump.stdout, HEAD_BYTES));
  const esp = bootClaims.esp ? espBootFacts(await readEsp({ path: absolute, format: info.format }, bootClaims.esp, { workDir: options.workDir }), bootClaims.esp.index) : undefined;
  return {
    path: absolute,
    name: basename(absolute).replace(/\.(qcow2|img|raw)$/i, ''),
    format: info.format,
    virtualSize: info.virtualSize,
    actualSize: size,
    sha256: await sha256File(absolute, { onProgress: options.onProgress ?? ((line) => process.stderr.write(`imgtest: ${line}\n`)), label: basename(absolute), signal: options.signal }),
    bootClaims,
    boot: bootInfoFrom(bootClaims, esp),
  };
}

/**
 * The contract's view of how the image boots: the partition table's claims (ESP -> uefi, MBR boot
 * code -> bios) plus what the ESP holds (a signed loader on the fallback path -> Secure Boot). Pure.
 */
export function bootInfoFrom(claims: BootClaims, esp?: EspBootFacts): ImageBootInfo {
  const secureBoot = Boolean(claims.claims.uefi && esp?.secureBoot);
  const all = { ...claims.claims, secureBoot };
  const named = [all.uefi && 'uefi', all.bios && 'bios', all.secureBoot && 'secure boot'].filter(Boolean).join(' + ');
  return {
    partitionTable: claims.table,
    biosBootCode: claims.mbrBootCode,
    esp: claims.esp ? { partition: claims.esp.index, ...(esp?.filesystem ? { filesystem: esp.filesystem } : {}) } : undefined,
    ...(esp?.fallbackLoader ? { fallbackLoader: esp.fallbackLoader } : {}),
    claims: all,
    reasons: [...claims.reasons.filter((r) => !r.startsWith('claims:')), ...(esp?.reasons ?? []), `claims: ${named || 'nothing bootable'}`],
  };
}
