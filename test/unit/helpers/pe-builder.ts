/** Builds small synthetic PE/COFF files for tests: headers, named sections, an optional certificate table. */

export interface PeSpec {
  pe32plus?: boolean;
  machine?: number;
  sections?: { name: string; data: Uint8Array | string }[];
  /** WIN_CERTIFICATE appended at the end and pointed at by data directory 4. */
  certificate?: { type?: number; revision?: number; blob: Uint8Array };
  /** Override data directory 4 (offset, size) after building, e.g. to point outside the file. */
  directory4?: { offset: number; size: number };
  /** NumberOfRvaAndSizes (default 16). */
  directoryCount?: number;
}

export function buildPe(spec: PeSpec = {}): Uint8Array {
  const pe32plus = spec.pe32plus ?? true;
  const directoryCount = spec.directoryCount ?? 16;
  const optionalSize = (pe32plus ? 112 : 96) + directoryCount * 8;
  const peOffset = 0x80;
  const sectionTable = peOffset + 4 + 20 + optionalSize;
  const sections = (spec.sections ?? [{ name: '.text', data: new Uint8Array(64) }]).map((s) => ({ name: s.name, data: typeof s.data === 'string' ? new TextEncoder().encode(s.data) : s.data }));
  let cursor = Math.ceil((sectionTable + sections.length * 40) / 512) * 512;
  const placed = sections.map((s) => {
    const at = cursor;
    cursor += Math.ceil(s.data.length / 512) * 512 || 512;
    return { ...s, at };
  });
  // Names over 8 bytes go to a COFF string table (`/N` in the header), as in shim's `.vendor_cert`.
  const longNames = placed.filter((s) => s.name.length > 8);
  let stringTable = new Uint8Array(0);
  const nameOffsets = new Map<string, number>();
  if (longNames.length) {
    const parts: number[] = [0, 0, 0, 0];
    for (const s of longNames) {
      nameOffsets.set(s.name, parts.length);
      parts.push(...new TextEncoder().encode(s.name), 0);
    }
    stringTable = Uint8Array.from(parts);
    new DataView(stringTable.buffer).setUint32(0, parts.length, true);
  }
  const stringsAt = cursor;
  cursor += Math.ceil(stringTable.length / 8) * 8;
  const certAt = cursor;
  const certLength = spec.certificate ? 8 + spec.certificate.blob.length : 0;
  const total = certAt + Math.ceil(certLength / 8) * 8;
  const file = new Uint8Array(total);
  const view = new DataView(file.buffer);
  file[0] = 0x4d;
  file[1] = 0x5a;
  view.setUint32(0x3c, peOffset, true);
  file.set([0x50, 0x45, 0, 0], peOffset);
  const coff = peOffset + 4;
  view.setUint16(coff, spec.machine ?? 0x8664, true);
  view.setUint16(coff + 2, sections.length, true);
  view.setUint16(coff + 16, optionalSize, true);
  const optional = coff + 20;
  view.setUint16(optional, pe32plus ? 0x20b : 0x10b, true);
  view.setUint16(optional + 68, 10, true); // EFI application
  view.setUint32(optional + (pe32plus ? 108 : 92), directoryCount, true);
  const directories = optional + (pe32plus ? 112 : 96);
  if (stringTable.length) {
    file.set(stringTable, stringsAt);
    view.setUint32(coff + 8, stringsAt, true); // PointerToSymbolTable; no symbols: the strings follow at once
    view.setUint32(coff + 12, 0, true);
  }
  placed.forEach((s, i) => {
    const at = sectionTable + i * 40;
    file.set(new TextEncoder().encode(s.name.length > 8 ? `/${nameOffsets.get(s.name)}` : s.name), at);
    view.setUint32(at + 8, s.data.length, true);
    view.setUint32(at + 16, Math.ceil(s.data.length / 512) * 512, true);
    view.setUint32(at + 20, s.at, true);
    file.set(s.data, s.at);
  });
  if (spec.certificate && directoryCount > 4) {
    view.setUint32(certAt, certLength, true);
    view.setUint16(certAt + 4, spec.certificate.revision ?? 0x0200, true);
    view.setUint16(certAt + 6, spec.certificate.type ?? 0x0002, true);
    file.set(spec.certificate.blob, certAt + 8);
    view.setUint32(directories + 32, certAt, true);
    view.setUint32(directories + 36, total - certAt, true);
  }
  if (spec.directory4) {
    view.setUint32(directories + 32, spec.directory4.offset, true);
    view.setUint32(directories + 36, spec.directory4.size, true);
  }
  return file;
}

/** A DER fragment `SET { SEQUENCE { OID 2.5.4.3, UTF8String name } }` as certificates carry it. */
export function derCommonName(name: string, tag = 0x0c): Uint8Array {
  const value = new TextEncoder().encode(name);
  const attr = [0x06, 0x03, 0x55, 0x04, 0x03, tag, value.length, ...value];
  const seq = [0x30, attr.length, ...attr];
  return Uint8Array.from([0x31, seq.length, ...seq]);
}

export const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
