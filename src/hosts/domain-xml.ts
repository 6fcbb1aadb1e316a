import type { Firmware } from '../suite-api/index.js';
import { el, serializeXml } from './libvirt-xml/index.js';

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
 * Built as a tree and written by the libvirt XML serializer, which escapes every name and path.
 */
export function renderDomainXml(spec: DomainSpec): string {
  const efi = spec.firmware !== 'bios';
  const secure = spec.firmware === 'uefi-secureboot';
  const video = spec.video ?? 'vga';
  const onOff = secure ? 'yes' : 'no';
  const source = 'bridge' in spec.network ? { bridge: spec.network.bridge } : { network: spec.network.network };
  const domain = el(
    'domain',
    { type: spec.virtType },
    el('name', {}, spec.name),
    el('metadata', {}, el('imgtest:run', { 'xmlns:imgtest': IMGTEST_XMLNS, id: spec.runId })),
    el('memory', { unit: 'MiB' }, spec.memoryMiB),
    el('vcpu', {}, spec.vcpus),
    el(
      'os',
      { firmware: efi ? 'efi' : undefined },
      el('type', { arch: 'x86_64', machine: 'q35' }, 'hvm'),
      efi && el('firmware', {}, el('feature', { enabled: onOff, name: 'secure-boot' }), el('feature', { enabled: onOff, name: 'enrolled-keys' })),
      el('boot', { dev: 'hd' }),
      !efi && el('bios', { useserial: 'yes' }),
    ),
    el('features', {}, el('acpi'), el('apic'), secure && el('smm', { state: 'on' })),
    el('clock', { offset: 'utc' }),
    el('on_poweroff', {}, 'destroy'),
    el('on_reboot', {}, 'restart'),
    el('on_crash', {}, 'destroy'),
    el(
      'devices',
      {},
      el(
        'disk',
        { type: 'volume', device: 'disk' },
        el('driver', { name: 'qemu', type: 'qcow2', cache: 'none' }),
        el('source', { pool: spec.pool, volume: spec.diskVolume }),
        el('target', { dev: 'vda', bus: 'virtio' }),
      ),
      el('controller', { type: 'scsi', model: 'virtio-scsi' }),
      el(
        'disk',
        { type: 'volume', device: 'cdrom' },
        el('driver', { name: 'qemu', type: 'raw' }),
        el('source', { pool: spec.pool, volume: spec.seedVolume }),
        el('target', { dev: 'sda', bus: 'scsi' }),
        el('readonly'),
      ),
      el('interface', { type: 'bridge' in spec.network ? 'bridge' : 'network' }, el('source', source), el('mac', { address: spec.mac }), el('model', { type: 'virtio' })),
      el('serial', { type: 'file' }, el('source', { path: spec.serialLogPath, append: 'off' }), el('target', { port: 0 })),
      el('channel', { type: 'unix' }, el('target', { type: 'virtio', name: 'org.qemu.guest_agent.0' })),
      video !== 'none' && el('video', {}, el('model', { type: video })),
      el('rng', { model: 'virtio' }, el('backend', { model: 'random' }, '/dev/urandom')),
    ),
  );
  return `${serializeXml(domain, { indent: '  ' })}\n`;
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
