import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { ImageError } from '../errors.js';
import { parseQemuImgInfo } from '../hosts/parse.js';
import type { ImageBootInfo, ImageInfo } from '../suite-api/index.js';
import { run } from '../util/exec.js';
import { espBootFacts, readEsp, type EspBootFacts } from './esp.js';
import { bytesFromQemuIoDump, readBootClaims, type BootClaims } from './partition-table.js';

const HEAD_BYTES = 34 * 512;

export interface InspectedImage extends ImageInfo {
  bootClaims: BootClaims;
}

export interface InspectOptions {
  /** Where the ESP's bytes are copied for reading (a folder of its own is made and removed inside). */
  workDir?: string;
}

/** Everything imgtest learns about the input before anything boots. Reads the file, never writes it. */
export async function inspectImage(path: string, options: InspectOptions = {}): Promise<InspectedImage> {
  const absolute = resolve(path);
  let size: number;
  try {
    const info = await stat(absolute);
    if (!info.isFile()) throw new ImageError(`${path}: not a regular file`);
    size = info.size;
    await access(absolute, constants.R_OK);
  } catch (error) {
    if (error instanceof ImageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ImageError(`${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable' : `cannot read (${code})`}`);
  }
  const probe = await run('qemu-img', ['info', '--output', 'json', '-U', absolute], { allowFailure: true });
  if (probe.exitCode !== 0) throw new ImageError(`${path}: qemu-img cannot read it: ${probe.stderr.trim().split('\n').pop()}`);
  const info = parseQemuImgInfo(probe.stdout);
  if (info.format !== 'qcow2' && info.format !== 'raw') throw new ImageError(`${path}: format ${info.format} is not supported (qcow2 or raw)`);
  if (info.backingFile) throw new ImageError(`${path}: has a backing file (${info.backingFile}); flatten it first: qemu-img convert -O qcow2 ${basename(path)} flat.qcow2`);
  if (info.encrypted) throw new ImageError(`${path}: encrypted images are not supported`);

  const dump = await run('qemu-io', ['-r', '-U', '-f', info.format, '-c', `read -v 0 ${Math.min(HEAD_BYTES, info.virtualSize)}`, absolute], { allowFailure: true });
  const bootClaims = readBootClaims(bytesFromQemuIoDump(dump.stdout, HEAD_BYTES));
  // qemu-img calls any file "raw"; a raw disk image must at least look like a disk.
  if (info.format === 'raw' && (size % 512 !== 0 || bootClaims.table === 'none')) {
    throw new ImageError(`${path}: not a disk image (no qcow2 header, and as a raw disk it has no partition table)`);
  }
  const esp = bootClaims.esp ? espBootFacts(await readEsp({ path: absolute, format: info.format }, bootClaims.esp, { workDir: options.workDir }), bootClaims.esp.index) : undefined;
  return {
    path: absolute,
    name: basename(absolute).replace(/\.(qcow2|img|raw)$/i, ''),
    format: info.format,
    virtualSize: info.virtualSize,
    actualSize: size,
    sha256: await sha256File(absolute),
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

export function sha256File(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}
