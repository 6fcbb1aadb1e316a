/**
 * `life-disk-growth`: the root partition and filesystem grew to the disk, as cloud-init's growpart and
 * resizefs modules do on first boot (cloud-init docs, cc_growpart: "Growpart resizes partitions to fill
 * the available disk space"; with mode auto and no growpart/gpart installed it only logs "No resizers
 * available" at debug level). The runner gives every guest `guest.diskGrowthGiB` (default 2) more than
 * the image's virtual size, so an image without a working growpart shows it.
 *
 * Root's source (findmnt) -> its device in lsblk's tree -> partition (for LVM: the physical volume's
 * partition) -> disk. Passes when the disk is at least the size the runner gave it (smaller: the runner
 * did not grow it, an error), the partition ends within 1% of the disk's end (GPT keeps 33 sectors of
 * backup header there, and partitions are aligned), on LVM the physical volumes fill their partitions
 * and the root's volume group has no more than 1% of the disk free (../commands/lvm.ts), and the filesystem fills its device within 1% by its
 * own tool (within 5% by statfs, which leaves out the filesystem's metadata: ../commands/fs-size.ts).
 */
import type { Check, CheckContext, GuestHandle } from '../api.js';
import { growthLogLines } from '../commands/cloud-init.js';
import { readFilesystemSize } from '../commands/fs-size.js';
import { readRootMount } from '../commands/findmnt.js';
import { describeChain, dfHuman, readBlockTree, readSysfsStart, rootChain } from '../commands/lsblk.js';
import { readLvm } from '../commands/lvm.js';
import { formatBytes, onEveryGuest, verdict, type GuestVerdict } from '../guest.js';

/** The partition's end may fall short of the disk's end by this much, percent of the disk. */
export const PARTITION_SLACK_PERCENT = 1;
/** The disk may be smaller than `diskBytes` by this much (rounding to sectors), bytes. */
const DISK_ROUNDING = 1024 * 1024;

const pct = (part: number, whole: number): string => `${Math.round((part / whole) * 100)}%`;

async function judge(context: CheckContext, guest: GuestHandle): Promise<GuestVerdict> {
  const [root, tree] = await Promise.all([readRootMount(guest), readBlockTree(guest)]);
  const evidence: string[] = [root.evidence, tree.evidence];
  const chain = rootChain(tree.nodes, root.mount.source);
  if (!chain) throw new Error(`${guest.name}: cannot find the root filesystem's device ${root.mount.source} in lsblk's tree`);
  evidence.push(`root: ${root.mount.fstype} on ${describeChain(chain)}`);
  const { device, partition, disk } = chain;
  const prefix = `life.${guest.name}`;

  if (!disk) throw new Error(`${guest.name}: cannot walk from ${device.name} to its disk in lsblk's tree`);
  context.property(`${prefix}.disk-bytes`, disk.size);
  if (disk.size + DISK_ROUNDING < guest.diskBytes) {
    throw new Error(
      `${guest.name}: the disk ${disk.name} is ${formatBytes(disk.size)}, less than the ${formatBytes(guest.diskBytes)} the run gave the guest (image ${formatBytes(context.image.virtualSize)} plus guest.diskGrowthGiB): the runner did not grow it`,
    );
  }

  const problems: string[] = [];
  const facts: string[] = [`disk ${disk.name} ${formatBytes(disk.size)}`];
  if (partition) {
    let start = partition.start;
    if (start === undefined) {
      const sysfs = await readSysfsStart(guest, partition.kname);
      evidence.push(sysfs.evidence);
      start = sysfs.start;
    }
    if (start === undefined) throw new Error(`${guest.name}: cannot read where partition ${partition.name} starts (lsblk START, /sys/class/block/${partition.kname}/start)`);
    const end = start * 512 + partition.size;
    const gap = disk.size - end;
    const role = device === partition ? 'root partition' : `root's ${device.type === 'lvm' ? 'physical volume' : 'underlying'} partition`;
    evidence.push(`${role} ${partition.name}: starts at ${start * 512} B, ${partition.size} B long, ends at ${end} B; disk ${disk.size} B; gap ${gap} B (${((gap / disk.size) * 100).toFixed(2)}%)`);
    context.property(`${prefix}.root-partition-end-bytes`, end);
    if (gap > (disk.size * PARTITION_SLACK_PERCENT) / 100) problems.push(`${role} ${partition.name} ends at ${formatBytes(end)} of a ${formatBytes(disk.size)} disk (${pct(end, disk.size)})`);
    else facts.push(`${role} ${partition.name} ends at ${pct(end, disk.size)} of it`);
  } else {
    facts.push(`root on ${device.name} without a partition`);
  }

  const fsDevice = root.mount.source.startsWith('/dev/') && root.mount.source !== '/dev/root' ? root.mount.source : `/dev/${device.kname}`;
  if (device.type === 'lvm') {
    // The partition can grow under a PV that was never resized, and a PV under an LV that was never
    // extended; the filesystem still fills its LV then. So LVM's own sizes are read between the two.
    const lvm = await readLvm(guest, fsDevice);
    evidence.push(lvm.evidence);
    const slack = (disk.size * PARTITION_SLACK_PERCENT) / 100;
    for (const pv of lvm.pvs) {
      if (pv.devBytes - pv.pvBytes > slack)
        problems.push(`the physical volume ${pv.pv} is ${formatBytes(pv.pvBytes)} of its ${formatBytes(pv.devBytes)} device (${pct(pv.pvBytes, pv.devBytes)}): pvresize did not run`);
    }
    if (lvm.lv.vgFreeBytes > slack)
      problems.push(
        `the volume group ${lvm.lv.vg} has ${formatBytes(lvm.lv.vgFreeBytes)} free that the root logical volume ${lvm.lv.vg}/${lvm.lv.lv} (${formatBytes(lvm.lv.lvBytes)}) did not take: lvextend did not run`,
      );
    else facts.push(`${lvm.lv.vg}/${lvm.lv.lv} fills ${lvm.lv.vg} (${formatBytes(lvm.lv.vgFreeBytes)} free)`);
  }
  const fs = await readFilesystemSize(guest, root.mount.fstype, fsDevice);
  evidence.push(fs.evidence);
  if (fs.note) evidence.push(`note: ${fs.note}`);
  const fsGap = device.size - fs.bytes;
  evidence.push(
    `${root.mount.fstype} filesystem: ${fs.bytes} B by ${fs.method}; its device ${device.name} ${device.size} B; gap ${fsGap} B (${((fsGap / device.size) * 100).toFixed(2)}%, allowed ${fs.slackPercent}%)`,
  );
  context.property(`${prefix}.root-fs-bytes`, fs.bytes);
  if (fsGap > (device.size * fs.slackPercent) / 100)
    problems.push(
      `the ${root.mount.fstype} filesystem is ${formatBytes(fs.bytes)} of its ${formatBytes(device.size)} ${device.type === 'part' ? 'partition' : device.type} ${device.name} (${pct(fs.bytes, device.size)}, by ${fs.method})`,
    );
  else facts.push(`${root.mount.fstype} fills ${device.name} (${pct(fs.bytes, device.size)})`);

  evidence.push(await dfHuman(guest), await growthLogLines(guest));
  if (problems.length) return verdict(false, `root did not grow to the disk: ${problems.join('; ')}`, evidence.join('\n\n'));
  return verdict(true, facts.join(', '), evidence.join('\n\n'));
}

export const diskGrowthCheck: Check = {
  id: 'life-disk-growth',
  title: 'the root partition and filesystem grew to fill the disk (growpart, resizefs)',
  severity: 'must',
  tags: ['storage', 'cloud-init'],
  run: (context) => onEveryGuest(context, (guest) => judge(context, guest)),
};
