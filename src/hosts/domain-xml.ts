import type { Firmware } from '../suite-api/index.js';

export interface DomainSpec {
  name: string;
  runId: string;
  /** `kvm` or `qemu` (TCG). */
  virtType: 'kvm' | 'qemu';
  memoryMiB: number;
  vcpus: number;
  firmware: Firmware;
  pool: string;
  diskVolume: string;
  seedVolume: string;
  mac: string;
  network: { bridge: string } | { network: string };
  /** Where the host's virtlogd writes the serial console (inside the pool, so it can be downloaded). */
  serialLogPath: string;
  /** The display adapter (default `vga`); `none` makes a headless VM, as some clouds are. */
  video?: GuestVideo;
}

export type GuestVideo = 'none' | 'vga' | 'virtio';

const IMGTEST_XMLNS = 'https://imgtest.dev/xmlns/domain/1';

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/**
 * The libvirt domain XML for one test guest. Choices, and why:
 * - q35 for every firmware: Secure Boot needs it (with SMM), and BIOS boots on it just as well.
 * - UEFI through `firmware='efi'` autoselection: the host picks its own OVMF build from its firmware
 *   descriptors, so nothing assumes host paths. Both features are always stated (never left to the
 *   host's preference): Secure Boot asks for `secure-boot` + `enrolled-keys` (on Debian's libvirt 9
 *   that selects OVMF_CODE_4M.ms.fd with OVMF_VARS_4M.ms.fd, Microsoft's keys enrolled; a host
 *   without such a build refuses to start the guest instead of booting one without keys), plain
 *   UEFI asks for neither (OVMF_CODE_4M.fd). SMM, which Secure Boot firmware requires, only then.
 * - No `<nvram>` path: libvirt names the variable store after the domain (unique per run and guest)
 *   and fills it from the template the selected firmware names; `startDomainArgs` also passes
 *   `--reset-nvram`, so every boot starts from a fresh copy of the template even if a store of that
 *   name was left behind. The image must then boot through the removable-media fallback path.
 * - the NoCloud seed on a virtio-scsi CD-ROM: cloud kernels lack AHCI, a SATA CD is never seen.
 * - no <cpu> element: QEMU's default model is the same on every host, so guests can migrate.
 * - a display adapter by default (QEMU's standard VGA, what `qemu-system-x86_64` and a new libvirt VM
 *   with graphics get): images whose bootloader draws on a screen (GRUB's `gfxterm`) hang without
 *   one, though they work on every cloud that has one. No <graphics>: nobody watches the screen.
 * - serial console straight into a file from power-on: a pty with a <log> records nothing while
 *   no client is attached, so a file is the only capture that never misses the firmware's first lines.
 */
export function renderDomainXml(spec: DomainSpec): string {
  const e = escapeXml;
  const efi = spec.firmware !== 'bios';
  const secure = spec.firmware === 'uefi-secureboot';
  const osOpen = efi ? `<os firmware='efi'>` : '<os>';
  const firmwareFeatures = efi
    ? `
    <firmware>
      <feature enabled='${secure ? 'yes' : 'no'}' name='secure-boot'/>
      <feature enabled='${secure ? 'yes' : 'no'}' name='enrolled-keys'/>
    </firmware>`
    : '';
  const iface =
    'bridge' in spec.network
      ? `<interface type='bridge'>
      <source bridge='${e(spec.network.bridge)}'/>`
      : `<interface type='network'>
      <source network='${e(spec.network.network)}'/>`;
  return `<domain type='${spec.virtType}'>
  <name>${e(spec.name)}</name>
  <metadata>
    <imgtest:run xmlns:imgtest='${IMGTEST_XMLNS}' id='${e(spec.runId)}'/>
  </metadata>
  <memory unit='MiB'>${spec.memoryMiB}</memory>
  <vcpu>${spec.vcpus}</vcpu>
  ${osOpen}
    <type arch='x86_64' machine='q35'>hvm</type>${firmwareFeatures}
    <boot dev='hd'/>${efi ? '' : "\n    <bios useserial='yes'/>"}
  </os>
  <features>
    <acpi/>
    <apic/>${secure ? "\n    <smm state='on'/>" : ''}
  </features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source pool='${e(spec.pool)}' volume='${e(spec.diskVolume)}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='scsi' model='virtio-scsi'/>
    <disk type='volume' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source pool='${e(spec.pool)}' volume='${e(spec.seedVolume)}'/>
      <target dev='sda' bus='scsi'/>
      <readonly/>
    </disk>
    ${iface}
      <mac address='${e(spec.mac)}'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='${e(spec.serialLogPath)}' append='off'/>
      <target port='0'/>
    </serial>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
${videoXml(spec.video ?? 'vga')}    <rng model='virtio'>
      <backend model='random'>/dev/urandom</backend>
    </rng>
  </devices>
</domain>
`;
}

function videoXml(video: GuestVideo): string {
  if (video === 'none') return '';
  return `    <video>
      <model type='${video}'/>
    </video>
`;
}

/** A locally administered unicast MAC in QEMU's 52:54:00 range, from random bytes. */
export function macFromBytes(bytes: Uint8Array): string {
  const tail = Array.from(bytes.slice(0, 3), (b) => b.toString(16).padStart(2, '0'));
  return ['52', '54', '00', ...tail].join(':');
}

/**
 * `virsh start` for a test guest: `--reset-nvram` (libvirt >= 8.1) recreates the UEFI variable store
 * from the firmware's template before power-on, so no boot entry or key from an earlier guest of
 * the same name survives. libvirt ignores it for BIOS guests (verified on libvirt 9.0).
 */
export function startDomainArgs(name: string): string[] {
  return ['start', '--reset-nvram', name];
}
