import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { run } from '../util/exec.js';

export interface SeedSpec {
  instanceId: string;
  hostname: string;
  user: string;
  authorizedKeys: string[];
}

/** NoCloud meta-data: instance-id (a new one means first boot) and hostname. */
export function renderMetaData(spec: SeedSpec): string {
  return stringify({ 'instance-id': spec.instanceId, 'local-hostname': spec.hostname });
}

/**
 * NoCloud user-data: one test user with the run's key and passwordless sudo. Deliberately silent on
 * ssh_pwauth and disable_root, so the image's own SSH policy is what gets tested.
 */
export function renderUserData(spec: SeedSpec): string {
  const config = {
    users: [
      {
        name: spec.user,
        gecos: 'imgtest test user',
        groups: ['sudo'],
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        shell: '/bin/bash',
        lock_passwd: true,
        ssh_authorized_keys: spec.authorizedKeys,
      },
    ],
  };
  return `#cloud-config\n${stringify(config)}`;
}

/** Writes user-data and meta-data and packs them into an ISO 9660 volume labelled `cidata`. */
export async function buildSeedIso(spec: SeedSpec, workDir: string): Promise<string> {
  const dir = join(workDir, `seed-${spec.instanceId}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'user-data'), renderUserData(spec));
  await writeFile(join(dir, 'meta-data'), renderMetaData(spec));
  const iso = join(workDir, `${spec.instanceId}-seed.iso`);
  await run('genisoimage', ['-quiet', '-output', iso, '-volid', 'cidata', '-joliet', '-rock', join(dir, 'user-data'), join(dir, 'meta-data')]);
  return iso;
}
