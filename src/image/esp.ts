/**
 * The EFI system partition of an image, read offline: its bytes are copied out of the image (qcow2 or
 * raw, read-only, through qemu-img's raw driver with an offset and size) into a temporary file, then
 * listed and read with mtools. No mount, no loop device, no partition device nodes.
 */
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../util/exec.js';
import { readVolumeKind, volumeKindName, type VolumeKind } from './fat.js';
import type { GptPartition } from './partition-table.js';
import { readPe, type PeInfo } from './pe.js';

/** The removable-media fallback path for x86_64 (UEFI spec 3.5.1.1), and shim's default second stage. */
export const FALLBACK_LOADER = 'EFI/BOOT/BOOTX64.EFI';
export const SHIM_SECOND_STAGE = 'EFI/BOOT/grubx64.efi';
/** Larger ESPs are not copied out (a sane ESP is 100 MiB to 1 GiB). */
const MAX_ESP_BYTES = 4 * 2 ** 30;

export interface EspReading {
  volume: VolumeKind;
  /** Regular files on the ESP, as paths without a leading slash (e.g. `EFI/BOOT/BOOTX64.EFI`). */
  files: string[];
  loader?: { path: string; pe: PeInfo };
  /** Shim's second stage next to it (`grubx64.efi`), when the loader is shim. */
  secondStage?: { path: string; missing?: boolean; pe?: PeInfo };
  /** Why the ESP could not be (completely) read. */
  problem?: string;
}

const findFile = (files: readonly string[], wanted: string) => files.find((f) => f.toLowerCase() === wanted.toLowerCase());

/** `mdir -/ -b` lines (`::/EFI/BOOT/BOOTX64.EFI`, folders end with `/`) -> file paths. */
export function parseMdirListing(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.startsWith('::/') && !line.endsWith('/'))
    .map((line) => line.slice(3));
}

const MTOOLS_ENV = { MTOOLS_SKIP_CHECK: '1' };

/**
 * Copies the ESP out of the image and reads what the firmware would: the file system type, the file
 * list, the fallback loader and (for shim) its second stage. Never throws for the image's content;
 * what could not be read is in `problem`.
 */
export async function readEsp(image: { path: string; format: 'qcow2' | 'raw' }, esp: GptPartition, options: { workDir?: string; sectorSize?: number } = {}): Promise<EspReading> {
  const sectorSize = options.sectorSize ?? 512;
  const offset = Number(esp.firstLba) * sectorSize;
  const size = (Number(esp.lastLba) - Number(esp.firstLba) + 1) * sectorSize;
  const empty: EspReading = { volume: { kind: 'unknown', reason: 'not read' }, files: [] };
  if (size <= 0) return { ...empty, problem: `partition ${esp.index} has no sectors` };
  if (size > MAX_ESP_BYTES) return { ...empty, problem: `partition ${esp.index} is ${(size / 2 ** 30).toFixed(1)} GiB, not copied out for reading` };
  const dir = await mkdtemp(join(options.workDir ?? tmpdir(), 'esp-'));
  try {
    const file = join(dir, 'esp.img');
    const source = { driver: 'raw', offset, size, file: image.format === 'qcow2' ? { driver: 'qcow2', file: { driver: 'file', filename: image.path } } : { driver: 'file', filename: image.path } };
    const copy = await run('qemu-img', ['convert', '-U', '-O', 'raw', `json:${JSON.stringify(source)}`, file], { allowFailure: true, timeoutMs: 10 * 60_000 });
    if (copy.exitCode !== 0) return { ...empty, problem: `qemu-img could not copy partition ${esp.index} out: ${copy.stderr.trim().split('\n').pop()}` };
    const volume = readVolumeKind(await readHead(file, 4096));
    if (volume.kind !== 'fat') return { volume, files: [], problem: volume.kind === 'unknown' ? volume.reason : undefined };

    const listing = await run('mdir', ['-i', file, '-/', '-b', '::/'], { allowFailure: true, env: MTOOLS_ENV, timeoutMs: 60_000 });
    // mdir exits 1 on an empty volume (`File "::/" not found`): that is a listing too.
    if (listing.exitCode !== 0 && !/File "::\/?" not found|no files/i.test(`${listing.stdout}\n${listing.stderr}`)) {
      return { volume, files: [], problem: `mtools cannot list the ESP: ${(listing.stderr || listing.stdout).trim().split('\n').pop()}` };
    }
    const files = parseMdirListing(listing.stdout);
    const reading: EspReading = { volume, files };
    const readLoader = async (path: string): Promise<PeInfo | undefined> => {
      const out = join(dir, `f${Math.random().toString(36).slice(2)}.efi`);
      const copied = await run('mcopy', ['-n', '-i', file, `::/${path}`, out], { allowFailure: true, env: MTOOLS_ENV, timeoutMs: 60_000 });
      if (copied.exitCode !== 0) {
        reading.problem = `mtools cannot read ${path}: ${copied.stderr.trim().split('\n').pop()}`;
        return undefined;
      }
      return readPe(new Uint8Array(await readFile(out)));
    };
    const loaderPath = findFile(files, FALLBACK_LOADER);
    if (loaderPath) {
      const pe = await readLoader(loaderPath);
      if (pe) reading.loader = { path: loaderPath, pe };
      if (pe?.pe && pe.shim) {
        const second = findFile(files, SHIM_SECOND_STAGE);
        reading.secondStage = second ? { path: second, pe: await readLoader(second) } : { path: SHIM_SECOND_STAGE, missing: true };
      }
    }
    return reading;
  } catch (error) {
    return { ...empty, problem: `ESP could not be read: ${(error as Error).message.split('\n')[0]}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readHead(file: string, length: number): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const buffer = new Uint8Array(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export interface EspBootFacts {
  filesystem?: string;
  fallbackLoader?: { path: string; signed: boolean; shim: boolean };
  /** A signed loader on the fallback path: the image claims Secure Boot. */
  secureBoot: boolean;
  reasons: string[];
}

/** What an ESP reading means for booting, in the report's words. Pure. */
export function espBootFacts(reading: EspReading, partition: number): EspBootFacts {
  const reasons: string[] = [];
  const where = `ESP (partition ${partition})`;
  const filesystem = reading.volume.kind === 'unknown' && reading.volume.reason === 'not read' ? undefined : volumeKindName(reading.volume);
  if (reading.volume.kind === 'fat') reasons.push(`${where} is ${reading.volume.type}${reading.volume.label ? ` labelled ${reading.volume.label}` : ''}, ${reading.files.length} file(s)`);
  else if (filesystem) reasons.push(`${where} is not FAT (${filesystem}${reading.volume.kind === 'unknown' ? `: ${reading.volume.reason}` : ''}): the firmware cannot read it`);
  if (reading.problem) reasons.push(`${where}: ${reading.problem}`);
  if (reading.volume.kind !== 'fat') return { filesystem, secureBoot: false, reasons };

  const loader = reading.loader;
  if (!loader) {
    if (!reading.problem) {
      const others = reading.files.filter((f) => /\.efi$/i.test(f));
      reasons.push(
        `no ${FALLBACK_LOADER} on the ESP${others.length ? ` (EFI binaries found: ${others.slice(0, 6).join(', ')}${others.length > 6 ? ', …' : ''})` : ' (no EFI binaries at all)'}: a fresh variable store has nothing to boot`,
      );
    }
    return { filesystem, secureBoot: false, reasons };
  }
  const pe = loader.pe;
  if (!pe.pe) {
    reasons.push(`${loader.path} is not an EFI executable (${pe.reason})`);
    return { filesystem, fallbackLoader: { path: loader.path, signed: false, shim: false }, secureBoot: false, reasons };
  }
  const kind = pe.shim ? 'shim' : 'EFI application';
  reasons.push(`${loader.path}: ${pe.machine} ${kind}, ${pe.signed ? pe.signatureNote : `unsigned (${pe.signatureNote})`}`);
  if (pe.machine !== 'x86_64') reasons.push(`${loader.path} is built for ${pe.machine}, not x86_64: OVMF will not start it`);
  if (pe.shim && reading.secondStage) {
    const second = reading.secondStage;
    if (second.missing) reasons.push(`shim's second stage ${second.path} is missing: shim will have nothing to start`);
    else if (!second.pe) reasons.push(`shim's second stage ${second.path} could not be read`);
    else if (!second.pe.pe) reasons.push(`shim's second stage ${second.path} is not an EFI executable (${second.pe.reason})`);
    else reasons.push(`shim's second stage ${second.path}: ${second.pe.signed ? 'signed' : 'unsigned: shim will refuse it under Secure Boot'}`);
  }
  const secureBoot = pe.signed && pe.machine === 'x86_64';
  return { filesystem, fallbackLoader: { path: loader.path, signed: pe.signed, shim: pe.shim }, secureBoot, reasons };
}
