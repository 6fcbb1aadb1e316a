/**
 * The image file itself: format, backing file, encryption, virtual size. Reads the first 4 KiB of
 * the file (read-only) for the qcow2 header; needs no appliance.
 */
import { open } from 'node:fs/promises';

export interface Qcow2Header {
  version: number;
  virtualSize: number;
  /** Name of the backing file, or undefined when there is none. */
  backingFile?: string;
  /** 0 none, 1 AES, 2 LUKS. */
  cryptMethod: number;
  /** Incompatible feature bits (v3): 1 dirty, 2 corrupt, 4 external data file. */
  incompatibleFeatures: number;
}

export const QCOW2_MAGIC = 0x514649fb; // 'Q' 'F' 'I' 0xfb

/** Parses a qcow2 header from the file's first bytes; undefined when it is not qcow2. */
export function parseQcow2Header(bytes: Uint8Array): Qcow2Header | undefined {
  if (bytes.length < 72) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== QCOW2_MAGIC) return undefined;
  const version = view.getUint32(4);
  const backingOffset = Number(view.getBigUint64(8));
  const backingSize = view.getUint32(16);
  const virtualSize = Number(view.getBigUint64(24));
  const cryptMethod = view.getUint32(32);
  const incompatibleFeatures = version >= 3 && bytes.length >= 80 ? Number(view.getBigUint64(72)) : 0;
  let backingFile: string | undefined;
  if (backingOffset !== 0) {
    const end = backingOffset + backingSize;
    backingFile =
      backingSize > 0 && end <= bytes.length ? Buffer.from(bytes.subarray(backingOffset, end)).toString('utf8') : `(a backing file name of ${backingSize} bytes at offset ${backingOffset})`;
  }
  return { version, virtualSize, backingFile, cryptMethod, incompatibleFeatures };
}

/** Reads the head of the image file, read-only. */
export async function readImageHead(path: string, bytes = 4096): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
