/**
 * Pure reading of a PE/COFF image (an EFI application such as `BOOTX64.EFI`): is it a PE, for which
 * machine, does it carry an Authenticode signature (data directory 4, the certificate table), who
 * the certificates name, and is it shim. Nothing here verifies a signature: whether the firmware
 * accepts it is decided by booting it under Secure Boot.
 */

export const IMAGE_FILE_MACHINE: Readonly<Record<number, string>> = {
  0x8664: 'x86_64',
  0x014c: 'i386',
  0xaa64: 'aarch64',
  0x01c4: 'arm',
  0x5064: 'riscv64',
};

/** WIN_CERTIFICATE.wCertificateType values. */
const WIN_CERT_TYPE: Readonly<Record<number, string>> = { 0x0001: 'X.509', 0x0002: 'PKCS#7 (Authenticode)', 0x0003: 'reserved', 0x0004: 'TS stack signed' };

export interface PeSection {
  name: string;
  virtualSize: number;
  rawOffset: number;
  rawSize: number;
}

export interface PeCertificate {
  /** File offset and size of the certificate table (data directory 4). */
  offset: number;
  size: number;
  /** WIN_CERTIFICATE revision (0x0200 for Authenticode) and type (2 = PKCS#7 signed data). */
  revision: number;
  type: number;
  typeName: string;
  /** Common names (X.509 CN) found in the signature's certificates, in order, without repeats. */
  commonNames: string[];
}

export type PeInfo =
  | {
      pe: true;
      machine: string;
      /** PE32+ (64-bit optional header). */
      pe32plus: boolean;
      /** EFI subsystem: 10 application, 11 boot service driver, 12 runtime driver. */
      subsystem: number;
      sections: PeSection[];
      /** The certificate table, when data directory 4 points at one inside the file. */
      certificate?: PeCertificate;
      /** A PKCS#7 Authenticode signature is attached (not verified). */
      signed: boolean;
      /** What the signature looks like, or why it is considered unsigned. */
      signatureNote: string;
      /** shim: a `.vendor_cert` section, or an SBAT entry for the `shim` component. */
      shim: boolean;
      /** The `.sbat` section's text (component generations), when present. */
      sbat?: string;
    }
  | { pe: false; reason: string };

const ascii = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

export function readPe(file: Uint8Array): PeInfo {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.length < 64 || file[0] !== 0x4d || file[1] !== 0x5a) return { pe: false, reason: 'no MZ header' };
  const peOffset = view.getUint32(0x3c, true);
  if (peOffset + 24 > file.length || ascii(file.subarray(peOffset, peOffset + 4)) !== 'PE\0\0') return { pe: false, reason: 'no PE signature' };
  const coff = peOffset + 4;
  const machineCode = view.getUint16(coff, true);
  const sectionCount = view.getUint16(coff + 2, true);
  const optionalSize = view.getUint16(coff + 16, true);
  const optional = coff + 20;
  if (optionalSize < 2 || optional + optionalSize > file.length) return { pe: false, reason: 'truncated optional header' };
  const magic = view.getUint16(optional, true);
  if (magic !== 0x10b && magic !== 0x20b) return { pe: false, reason: `unknown optional header magic 0x${magic.toString(16)}` };
  const pe32plus = magic === 0x20b;
  const subsystem = optionalSize >= 70 ? view.getUint16(optional + 68, true) : 0;
  // NumberOfRvaAndSizes, then the data directories (8 bytes each): 4 = certificate table.
  const countAt = optional + (pe32plus ? 108 : 92);
  const directories = optional + (pe32plus ? 112 : 96);
  const directoryCount = countAt + 4 <= optional + optionalSize ? view.getUint32(countAt, true) : 0;

  const sections: PeSection[] = [];
  const sectionTable = optional + optionalSize;
  // Names longer than 8 bytes are `/N`: offset N into the COFF string table, which follows the
  // symbol table (shim's `.vendor_cert` and `.sbatlevel` are stored this way).
  const symbolTable = view.getUint32(coff + 8, true);
  const stringTable = symbolTable ? symbolTable + view.getUint32(coff + 12, true) * 18 : 0;
  const longName = (short: string): string => {
    const match = /^\/(\d+)$/.exec(short);
    if (!match || !stringTable) return short;
    const start = stringTable + Number(match[1]);
    if (start >= file.length) return short;
    const end = file.indexOf(0, start);
    return ascii(file.subarray(start, end < 0 ? Math.min(file.length, start + 256) : end));
  };
  for (let i = 0; i < sectionCount; i++) {
    const at = sectionTable + i * 40;
    if (at + 40 > file.length) break;
    sections.push({
      name: longName(ascii(file.subarray(at, at + 8)).replace(/\0.*$/s, '')),
      virtualSize: view.getUint32(at + 8, true),
      rawSize: view.getUint32(at + 16, true),
      rawOffset: view.getUint32(at + 20, true),
    });
  }
  const sbatSection = sections.find((s) => s.name === '.sbat');
  const sbat = sbatSection ? sectionText(file, sbatSection) : undefined;
  const shim = sections.some((s) => s.name === '.vendor_cert') || (sbat !== undefined && /^shim,/m.test(sbat));
  const base = { pe: true as const, machine: IMAGE_FILE_MACHINE[machineCode] ?? `0x${machineCode.toString(16)}`, pe32plus, subsystem, sections, shim, sbat };

  if (directoryCount <= 4 || directories + 5 * 8 > optional + optionalSize) return { ...base, signed: false, signatureNote: 'no certificate table entry in the data directories' };
  const offset = view.getUint32(directories + 4 * 8, true);
  const size = view.getUint32(directories + 4 * 8 + 4, true);
  if (offset === 0 || size === 0) return { ...base, signed: false, signatureNote: 'certificate table is empty' };
  if (offset + size > file.length || size < 8) return { ...base, signed: false, signatureNote: `certificate table (offset ${offset}, ${size} bytes) lies outside the file` };
  const length = view.getUint32(offset, true);
  const revision = view.getUint16(offset + 4, true);
  const type = view.getUint16(offset + 6, true);
  const blob = file.subarray(offset + 8, offset + Math.min(size, Math.max(8, length)));
  const certificate: PeCertificate = { offset, size, revision, type, typeName: WIN_CERT_TYPE[type] ?? `type 0x${type.toString(16)}`, commonNames: commonNames(blob) };
  const signed = type === 0x0002 && length >= 8 && length <= size;
  const signatureNote = signed
    ? `Authenticode signature attached${certificate.commonNames.length ? ` (certificates: ${certificate.commonNames.slice(0, 2).join('; ')}${certificate.commonNames.length > 2 ? `; +${certificate.commonNames.length - 2} more` : ''})` : ''}`
    : `certificate table holds ${certificate.typeName}, not an Authenticode (PKCS#7) signature`;
  return { ...base, certificate, signed, signatureNote };
}

function sectionText(file: Uint8Array, section: PeSection): string {
  const end = Math.min(file.length, section.rawOffset + Math.min(section.rawSize, section.virtualSize || section.rawSize));
  return ascii(file.subarray(section.rawOffset, end)).replace(/\0.*$/s, '');
}

/**
 * X.509 common names inside DER data: every `OID 2.5.4.3` (06 03 55 04 03) followed by a string
 * (UTF8String, PrintableString, IA5String, T61String, BMPString). Enough to say who signed a loader.
 */
export function commonNames(der: Uint8Array): string[] {
  const names: string[] = [];
  for (let i = 0; i + 7 < der.length; i++) {
    if (der[i] !== 0x06 || der[i + 1] !== 0x03 || der[i + 2] !== 0x55 || der[i + 3] !== 0x04 || der[i + 4] !== 0x03) continue;
    const tag = der[i + 5]!;
    let length = der[i + 6]!;
    let start = i + 7;
    if (length === 0x81) {
      length = der[i + 7]!;
      start = i + 8;
    } else if (length > 0x7f) continue;
    if (start + length > der.length) continue;
    const bytes = der.subarray(start, start + length);
    let text: string;
    if (tag === 0x0c) text = new TextDecoder('utf-8').decode(bytes);
    else if (tag === 0x13 || tag === 0x16 || tag === 0x14) text = ascii(bytes);
    else if (tag === 0x1e) text = String.fromCharCode(...Array.from({ length: bytes.length >> 1 }, (_, k) => (bytes[2 * k]! << 8) | bytes[2 * k + 1]!));
    else continue;
    if (!names.includes(text)) names.push(text);
  }
  return names;
}
