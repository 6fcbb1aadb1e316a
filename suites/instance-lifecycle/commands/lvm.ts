/**
 * LVM (lvm2's `lvs` and `pvs`, as root): how the root logical volume's volume group uses its physical
 * volumes. growpart grows a PV's partition; the PV and the LV grow only when `pvresize` and `lvextend`
 * run after it (cloud-init 22.4's cc_growpart skips a device-mapper root that is not encrypted, so LVM
 * images do those two themselves). Sizes in bytes: `--units b --nosuffix`; one record a line,
 * fields separated by `|` (`--separator`), no header (`--noheadings`).
 */
import type { GuestHandle } from '../api.js';
import { run } from '../guest.js';

const FORMAT = ['--noheadings', '--units', 'b', '--nosuffix', '--separator', '|'] as const;

export const lvsArgv = (device: string): string[] => ['lvs', ...FORMAT, '-o', 'vg_name,lv_name,lv_size,vg_size,vg_free', device];
export const pvsArgv = (vg: string): string[] => ['pvs', ...FORMAT, '-o', 'pv_name,vg_name,pv_size,dev_size', '-S', `vg_name=${vg}`];

export interface LogicalVolume {
  vg: string;
  lv: string;
  lvBytes: number;
  vgBytes: number;
  vgFreeBytes: number;
}

export interface PhysicalVolume {
  pv: string;
  vg: string;
  /** What LVM uses (pvresize sets it). */
  pvBytes: number;
  /** The device under it (the partition). */
  devBytes: number;
}

const records = (output: string): string[][] =>
  output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => line.split('|').map((field) => field.trim()));

const bytes = (field: string | undefined): number | undefined => (field !== undefined && /^\d+$/.test(field) ? Number(field) : undefined);

/** `lvs ... -o vg_name,lv_name,lv_size,vg_size,vg_free DEVICE`: `vg0|root|1874853888|1874853888|0`. */
export function parseLvs(output: string): LogicalVolume | undefined {
  const [vg, lv, lvBytes, vgBytes, vgFree] = records(output)[0] ?? [];
  const sizes = [bytes(lvBytes), bytes(vgBytes), bytes(vgFree)];
  if (!vg || !lv || sizes.some((n) => n === undefined)) return undefined;
  return { vg, lv, lvBytes: sizes[0]!, vgBytes: sizes[1]!, vgFreeBytes: sizes[2]! };
}

/** `pvs ... -o pv_name,vg_name,pv_size,dev_size -S vg_name=VG`: `/dev/vda2|vg0|1874853888|1877999616` a line. */
export function parsePvs(output: string): PhysicalVolume[] {
  return records(output).flatMap(([pv, vg, pvBytes, devBytes]) => {
    const p = bytes(pvBytes);
    const d = bytes(devBytes);
    return pv && vg && p !== undefined && d !== undefined ? [{ pv, vg, pvBytes: p, devBytes: d }] : [];
  });
}

/** The root LV, its VG's free space and the VG's PVs; an error when LVM cannot be asked or its answer not read. */
export async function readLvm(guest: GuestHandle, device: string): Promise<{ lv: LogicalVolume; pvs: PhysicalVolume[]; evidence: string }> {
  const what = 'read the root logical volume (lvm2)';
  const lvs = await run(guest, lvsArgv(device), { sudo: true }, what);
  const lv = lvs.result.exitCode === 0 ? parseLvs(lvs.result.stdout) : undefined;
  if (!lv) throw new Error(`${guest.name}: cannot ${what}: \`lvs ${device}\` exited ${lvs.result.exitCode} with nothing to read\n${lvs.evidence}`);
  const pvs = await run(guest, pvsArgv(lv.vg), { sudo: true }, what);
  const volumes = pvs.result.exitCode === 0 ? parsePvs(pvs.result.stdout) : [];
  if (!volumes.length) throw new Error(`${guest.name}: cannot ${what}: \`pvs\` listed no physical volume of ${lv.vg}\n${pvs.evidence}`);
  return { lv, pvs: volumes, evidence: `${lvs.evidence}\n${pvs.evidence}` };
}
