/** Builds EFI variable bytes (as efivarfs shows them: 4 attribute bytes first) for uefi-boot tests. */

const ATTRS = [0x07, 0x00, 0x00, 0x00];

export type Node = { type: number; subtype: number; data: number[] };

export const pciRoot = (uid = 0): Node => ({ type: 2, subtype: 1, data: [0xd0, 0x41, 0x03, 0x0a, uid, 0, 0, 0] });
export const pci = (device: number, fn = 0): Node => ({ type: 1, subtype: 1, data: [fn, device] });
export const fileNode = (path: string): Node => ({ type: 4, subtype: 4, data: [...Array.from(path).flatMap((c) => [c.charCodeAt(0), 0]), 0, 0] });
export const fvFile = (): Node => ({ type: 4, subtype: 6, data: [0x21, 0xaa, 0x2c, 0x46, 0x14, 0x76, 0x03, 0x45, 0x83, 0x6e, 0x8a, 0xb6, 0xf4, 0x66, 0x23, 0x31] });
export const mac = (): Node => ({ type: 3, subtype: 11, data: [0x52, 0x54, 0, 1, 2, 3, ...new Array(26).fill(0), 1] });
export const hd = (n: number): Node => ({ type: 4, subtype: 1, data: [n, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, ...new Array(16).fill(0xab), 2, 2] });

export function loadOption(description: string, nodes: Node[], active = true): number[] {
  const path = nodes.flatMap((n) => [n.type, n.subtype, (n.data.length + 4) & 0xff, (n.data.length + 4) >> 8, ...n.data]).concat([0x7f, 0xff, 4, 0]);
  const desc = [...Array.from(description).flatMap((c) => [c.charCodeAt(0), 0]), 0, 0];
  return [...ATTRS, active ? 1 : 0, 0, 0, 0, path.length & 0xff, path.length >> 8, ...desc, ...path];
}

export const hexOf = (bytes: number[]): string => ` ${bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ')} `;
export const u16Var = (...values: number[]): number[] => [...ATTRS, ...values.flatMap((v) => [v & 0xff, v >> 8])];
export const byteVar = (value: number): number[] => [...ATTRS, value];

/** A probe output as the suite's script prints it. */
export function probeOutput(o: {
  efi?: boolean;
  secureBoot?: number;
  setupMode?: number;
  bootCurrent?: number;
  bootOrder?: number[];
  entries?: Record<string, number[]>;
  mokutil?: string;
  kernel?: string[];
  lsblk?: unknown;
}): string {
  const lines: string[] = [`efi=${o.efi === false ? 'no' : 'yes'}`];
  if (o.efi !== false) {
    lines.push('platform-size=64');
    if (o.secureBoot !== undefined) lines.push(`var.SecureBoot=${hexOf(byteVar(o.secureBoot))}`);
    if (o.setupMode !== undefined) lines.push(`var.SetupMode=${hexOf(byteVar(o.setupMode))}`);
    if (o.bootCurrent !== undefined) lines.push(`var.BootCurrent=${hexOf(u16Var(o.bootCurrent))}`);
    if (o.bootOrder) lines.push(`var.BootOrder=${hexOf(u16Var(...o.bootOrder))}`);
    for (const [name, bytes] of Object.entries(o.entries ?? {})) lines.push(`var.${name}=${hexOf(bytes)}`);
  }
  lines.push(`mokutil=${o.mokutil ?? '(not installed)'}`);
  for (const k of o.kernel ?? []) lines.push(`kernel=${k}`);
  lines.push(`lsblk=${JSON.stringify(o.lsblk ?? { blockdevices: [] })}`);
  return `${lines.join('\n')}\n`;
}

/** lsblk -J of a virtio disk with an ESP (and optionally a second one) plus the seed CD-ROM. */
export function lsblkJson(options: { esps?: number; fstype?: string } = {}): unknown {
  const esp = (n: number) => ({
    name: `vda${n}`,
    path: `/dev/vda${n}`,
    type: 'part',
    pttype: 'gpt',
    parttype: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',
    fstype: options.fstype ?? 'vfat',
    pkname: 'vda',
    mountpoint: null,
  });
  const children = [esp(1), { name: 'vda2', path: '/dev/vda2', type: 'part', pttype: 'gpt', parttype: '0fc63daf-8483-4772-8e79-3d69d8477de4', fstype: 'ext4', pkname: 'vda', mountpoint: '/' }];
  for (let i = 1; i < (options.esps ?? 1); i++) children.push(esp(i + 2));
  return {
    blockdevices: [
      { name: 'sda', path: '/dev/sda', type: 'rom', pttype: null, parttype: null, fstype: 'iso9660', pkname: null, mountpoint: null },
      { name: 'vda', path: '/dev/vda', type: 'disk', pttype: 'gpt', parttype: null, fstype: null, pkname: null, mountpoint: null, children },
    ],
  };
}
