import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { DATASOURCES, type Datasource } from '../suite-api/index.js';
import { libvirtUriProblem } from './libvirt-uri.js';

/** Longest boot deadline: Node's timers overflow past 2^31-1 ms (about 24.8 days) and fire at once. */
export const MAX_TIMEOUT_SECONDS = 86_400;
/** Default bounds of the image's virtual size: smaller is no OS disk, larger is a typo or a trap. */
export const DEFAULT_MIN_VIRTUAL_SIZE_GIB = 1;
export const DEFAULT_MAX_VIRTUAL_SIZE_GIB = 2048;
/** Most `retries` (and `--retries`): each retry of an error may wait out the same timeouts again. */
export const MAX_RETRIES = 10;
/** How long a host may take to answer a first connection before it is declared down (`hosts[].connectTimeoutSeconds`). */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;

/** A libvirt connection URI, checked here so a typo is a config error with its line (see libvirt-uri.ts). */
const libvirtUri = z.string().superRefine((uri, ctx) => {
  const problem = libvirtUriProblem(uri);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A DNS name: dot-separated labels of letters, digits and inner hyphens (RFC 1123), at most 253 characters. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** An NTP server as guests are told it: an IPv4 address or a host name (all digits and dots: must be an IPv4 address). */
const timeServer = z.string().refine((value) => isIPv4(value) || (!/^[\d.]+$/.test(value) && HOST_NAME.test(value)), { message: 'an IPv4 address or a host name' });

export const firmwareSetting = z.enum(['auto', 'bios', 'uefi', 'uefi-secureboot']);
export const accelSetting = z.enum(['auto', 'kvm', 'tcg']);
const datasourceName = z.enum(DATASOURCES as [Datasource, ...Datasource[]]);

const hostSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'letters, digits, - and _ only'),
    /** How imgtest reaches the host's libvirtd, e.g. qemu+ssh://root@hv1/system. */
    uri: libvirtUri,
    /** How the other host's libvirtd reaches this one for peer-to-peer migration (default: uri). */
    migrationUri: libvirtUri.optional(),
    /** libvirt storage pool (type dir) where imgtest puts the base image, overlays and seeds. */
    pool: z.string().min(1).default('default'),
    /** What guests' NICs attach to: a host bridge, or a libvirt network. */
    network: z.union([z.object({ bridge: z.string().min(1) }).strict(), z.object({ network: z.string().min(1) }).strict()]).default({ network: 'default' }),
    accel: accelSetting.optional(),
    /** How long the host may take to answer the first connection (`virsh hostname`) before it counts as down (default 10). */
    connectTimeoutSeconds: z.number().int().min(1).max(600).optional(),
  })
  .strict();

export const configSchema = z
  .object({
    // Names key the image upload and every report line, so two hosts of one name would be mixed up.
    hosts: z
      .array(hostSchema)
      .min(1)
      .superRefine((hosts, ctx) => {
        hosts.forEach((host, index) => {
          const first = hosts.findIndex((other) => other.name === host.name);
          if (first < index) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate host name '${host.name}' (already hosts[${first}])` });
        });
      })
      .optional(),
    firmware: firmwareSetting.default('auto'),
    /**
     * How guests get their cloud-init data (src/config/datasources.ts): one datasource or a list, the
     * provisioning suite running once per entry (`--datasource` wins). Default: NoCloud's seed disk.
     */
    datasource: z
      .union([datasourceName, z.array(datasourceName).min(1)])
      .default('nocloud')
      .transform((value) => (Array.isArray(value) ? value : [value]))
      .refine((list) => new Set(list).size === list.length, { message: 'a datasource is listed twice' }),
    accel: accelSetting.default('auto'),
    reportDir: z.string().min(1).default('reports'),
    guest: z
      .object({
        memoryMiB: z.number().int().min(256).default(1024),
        vcpus: z.number().int().min(1).default(1),
        user: z
          .string()
          .regex(/^[a-z_][a-z0-9_-]*$/)
          .default('imgtest'),
        /** Display adapter: `vga` (default, QEMU's and a new VM's), `virtio`, or `none` (a headless VM). */
        video: z.enum(['none', 'vga', 'virtio']).default('vga'),
        /** Overall cap from power-on to cloud-init done; unset: scaled from the accelerator and load (boot-watch.ts). */
        bootTimeoutSeconds: z.number().int().min(10).max(MAX_TIMEOUT_SECONDS).optional(),
        /**
         * The guest's disk is the image's virtual size plus this much, so a root that does not grow to
         * its disk shows (cloud-init's growpart and resizefs run at first boot on every cloud).
         */
        diskGrowthGiB: z.number().min(0).max(1024).default(2),
      })
      .strict()
      .prefault({}),
    /** Bounds of the input image's virtual size, checked before anything is hashed, copied or booted. */
    image: z
      .object({
        minVirtualSizeGiB: z.number().positive().default(DEFAULT_MIN_VIRTUAL_SIZE_GIB),
        maxVirtualSizeGiB: z.number().positive().default(DEFAULT_MAX_VIRTUAL_SIZE_GIB),
      })
      .strict()
      .refine((image) => image.minVirtualSizeGiB <= image.maxVirtualSizeGiB, { message: 'must not be below minVirtualSizeGiB', path: ['maxVirtualSizeGiB'] })
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
    /**
     * The guests' network as suites should know it. `timeServers`: the NTP servers the guests' DHCP hands
     * out (what a time-sync check expects the guest to use); unset: the local lab's NTP server when the run
     * uses the lab's hosts, none otherwise; `[]`: none.
     */
    network: z
      .object({ timeServers: z.array(timeServer).optional() })
      .strict()
      .prefault({}),
    /** Per-suite options, keyed by suite id; each suite validates its own section. */
    suites: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    /** Third-party suite modules to load (paths, relative to the config file, or npm package names). */
    plugins: z.array(z.string().min(1)).default([]),
    /**
     * How many more times a check whose outcome is an infrastructure `error` runs, on the same guests
     * (`--retries` wins). A `failure` is never run again; a guest that did not boot is not booted again.
     */
    retries: z.number().int().min(0).max(MAX_RETRIES).default(0),
    /**
     * A waiver file (known failures accepted for a while: src/config/waivers.ts), relative to the config
     * file; `--waivers` wins.
     */
    waivers: z.string().min(1).optional(),
  })
  .strict();

export type ImgtestConfig = z.infer<typeof configSchema>;
export type HostConfig = z.infer<typeof hostSchema>;
export type FirmwareSetting = z.infer<typeof firmwareSetting>;
export type AccelSetting = z.infer<typeof accelSetting>;
