import { z } from 'zod';

export const firmwareSetting = z.enum(['auto', 'bios', 'uefi', 'uefi-secureboot']);
export const accelSetting = z.enum(['auto', 'kvm', 'tcg']);

const hostSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'letters, digits, - and _ only'),
    /** How imgtest reaches the host's libvirtd, e.g. qemu+ssh://root@hv1/system. */
    uri: z.string().min(1),
    /** How the other host's libvirtd reaches this one for peer-to-peer migration (default: uri). */
    migrationUri: z.string().min(1).optional(),
    /** libvirt storage pool (type dir) where imgtest puts the base image, overlays and seeds. */
    pool: z.string().min(1).default('default'),
    /** What guests' NICs attach to: a host bridge, or a libvirt network. */
    network: z
      .union([z.object({ bridge: z.string().min(1) }).strict(), z.object({ network: z.string().min(1) }).strict()])
      .default({ network: 'default' }),
    accel: accelSetting.optional(),
  })
  .strict();

export const configSchema = z
  .object({
    hosts: z.array(hostSchema).min(1).optional(),
    firmware: firmwareSetting.default('auto'),
    accel: accelSetting.default('auto'),
    reportDir: z.string().min(1).default('reports'),
    guest: z
      .object({
        memoryMiB: z.number().int().min(256).default(1024),
        vcpus: z.number().int().min(1).default(1),
        user: z.string().regex(/^[a-z_][a-z0-9_-]*$/).default('imgtest'),
        /** From power-on until SSH answers and cloud-init is done. */
        bootTimeoutSeconds: z.number().int().min(10).default(600),
      })
      .strict()
      .prefault({}),
    /**
     * Where guests' volumes go. `sharedPool`: a libvirt dir pool of that name that every host has, at the
     * same path, over the same folder (NFS, a cluster filesystem, or the local lab's `imgtest-shared`).
     * When set, the base image is uploaded once into it and every guest's overlay and seed live there,
     * so a live migration copies no disk. Unset: each host's own `pool` (a migration copies the overlay).
     */
    storage: z
      .object({ sharedPool: z.string().min(1).optional() })
      .strict()
      .prefault({}),
    /** Per-suite options, keyed by suite id; each suite validates its own section. */
    suites: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  })
  .strict();

export type ImgtestConfig = z.infer<typeof configSchema>;
export type HostConfig = z.infer<typeof hostSchema>;
export type FirmwareSetting = z.infer<typeof firmwareSetting>;
export type AccelSetting = z.infer<typeof accelSetting>;
