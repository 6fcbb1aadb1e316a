import { access, constants, open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ImageError } from '../errors.js';
import { shellQuote } from '../guest/shell-quote.js';
import { parseQemuImgInfo, type QemuImgInfo } from '../hosts/parse.js';
import { run } from '../util/exec.js';
import { readBootClaims } from './partition-table.js';
import { qemuImgCheckVerdict, type QemuImgCheckVerdict } from './qemu-img-check.js';

/** MBR + GPT header + the GPT's first 32 sectors of entries. */
const HEAD_BYTES = 34 * 512;

/** Bounds of the virtual size in bytes (from the config's `image` section). */
export interface ImageLimits {
  minVirtualSize: number;
  maxVirtualSize: number;
}

export function imageLimitsFrom(image: { minVirtualSizeGiB: number; maxVirtualSizeGiB: number }): ImageLimits {
  return { minVirtualSize: image.minVirtualSizeGiB * 2 ** 30, maxVirtualSize: image.maxVirtualSizeGiB * 2 ** 30 };
}

export interface ValidatedImage {
  /** Absolute path. */
  path: string;
  /** Bytes of the file itself. */
  size: number;
  info: QemuImgInfo & { format: 'qcow2' | 'raw' };
}

/**
 * The checks that refuse an input image before it is hashed, copied or booted (each an ImageError,
 * exit 2, one line): a readable regular file, qcow2 or raw, no backing file, not encrypted, raw only
 * with a partition table, a virtual size within `limits` (when given), and for qcow2 a clean `qemu-img check` (a truncated file or a
 * broken L1 table boots into I/O errors that look like a bad host). Reads metadata only.
 */
export async function validateImageFile(path: string, options: { limits?: ImageLimits } = {}): Promise<ValidatedImage> {
  const absolute = resolve(path);
  const shown = printable(path);
  let size: number;
  let identity: string;
  try {
    const info = await stat(absolute);
    if (!info.isFile()) throw new ImageError(`${shown}: not a regular file`);
    size = info.size;
    identity = `${absolute}\0${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}`;
    await access(absolute, constants.R_OK);
  } catch (error) {
    if (error instanceof ImageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ImageError(`${shown}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable' : `cannot read (${code})`}`);
  }
  const probe = await run('qemu-img', ['info', '--output', 'json', '-U', absolute], { allowFailure: true });
  if (probe.exitCode !== 0) throw new ImageError(`${shown}: qemu-img cannot read it: ${probe.stderr.trim().split('\n').pop()}`);
  const info = parseQemuImgInfo(probe.stdout);
  if (info.format !== 'qcow2' && info.format !== 'raw') throw new ImageError(`${shown}: format ${info.format} is not supported (qcow2 or raw)`);
  if (info.backingFile) {
    throw new ImageError(`${shown}: has a backing file (${printable(info.backingFile)}); flatten it first: qemu-img convert -O qcow2 ${shellArg(path)} flat.qcow2`);
  }
  if (info.encrypted) throw new ImageError(`${shown}: encrypted images are not supported`);
  // qemu-img calls any file "raw"; a raw disk image must at least look like a disk. Checked before the
  // size, so a text file is called what it is rather than "too small".
  if (info.format === 'raw' && (size % 512 !== 0 || readBootClaims(await readHead(absolute)).table === 'none')) {
    throw new ImageError(`${shown}: not a disk image (no qcow2 header, and as a raw disk it has no partition table)`);
  }
  if (options.limits) checkVirtualSize(shown, info.virtualSize, options.limits);
  if (info.format === 'qcow2') {
    const verdict = await checkQcow2(absolute, identity);
    if (!verdict.ok) throw new ImageError(`${shown}: ${verdict.reason}; see: qemu-img check -f qcow2 ${shellArg(path)}`);
  }
  return { path: absolute, size, info: { ...info, format: info.format } };
}

async function readHead(absolute: string): Promise<Uint8Array> {
  const head = new Uint8Array(HEAD_BYTES);
  const file = await open(absolute, 'r');
  try {
    await file.read(head, 0, HEAD_BYTES, 0);
  } finally {
    await file.close();
  }
  return head;
}

function checkVirtualSize(shown: string, virtualSize: number, limits: ImageLimits): void {
  if (virtualSize < limits.minVirtualSize) {
    throw new ImageError(`${shown}: virtual size ${formatSize(virtualSize)} is below the minimum of ${formatSize(limits.minVirtualSize)} (config image.minVirtualSizeGiB)`);
  }
  if (virtualSize > limits.maxVirtualSize) {
    throw new ImageError(`${shown}: virtual size ${formatSize(virtualSize)} is above the maximum of ${formatSize(limits.maxVirtualSize)} (config image.maxVirtualSizeGiB)`);
  }
}

/**
 * `qemu-img check` reads all of a qcow2's metadata, so it is run once per file: the CLI checks before
 * the run starts (with the config's limits) and inspection checks again; the file's identity (inode,
 * size, mtime) keys the result, so a file changed in between is checked anew.
 */
const qcow2Checks = new Map<string, Promise<QemuImgCheckVerdict>>();

function checkQcow2(absolute: string, identity: string): Promise<QemuImgCheckVerdict> {
  let verdict = qcow2Checks.get(identity);
  if (!verdict) {
    verdict = run('qemu-img', ['check', '--output', 'json', '-U', '-f', 'qcow2', absolute], { allowFailure: true }).then((r) => qemuImgCheckVerdict(r.exitCode, r.stdout, r.stderr));
    qcow2Checks.set(identity, verdict);
  }
  return verdict;
}

/**
 * A file name as one shell word a user can paste: quoted, and never read as an option. A name with
 * control characters (a newline would split the one-line message) gets bash's $'...' form instead.
 */
export function shellArg(path: string): string {
  const word = path.startsWith('-') ? `./${path}` : path;
  if (!/[\u0000-\u001f\u007f]/.test(word)) return shellQuote(word);
  return `$'${printable(word.replace(/\\/g, '\\\\').replace(/'/g, "\\'"))}'`;
}

/** A file name inside a one-line message: control characters (a newline would split it) shown escaped. */
export function printable(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
