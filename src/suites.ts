/** The built-in suites. Each lives in `suites/<id>/` and uses only the plugin contract. */
import cloudInitAuth from '../suites/cloud-init-auth/index.js';
import imageHygiene from '../suites/image-hygiene/index.js';
import liveMigration from '../suites/live-migration/index.js';
import packageAudit from '../suites/package-audit/index.js';
import sshHardening from '../suites/ssh-hardening/index.js';
import uefiBoot from '../suites/uefi-boot/index.js';
import type { Suite } from './suite-api/index.js';

export const builtInSuites: readonly Suite[] = [imageHygiene, cloudInitAuth, sshHardening, packageAudit, uefiBoot, liveMigration];

export function findSuite(id: string): Suite | undefined {
  return builtInSuites.find((suite) => suite.id === id);
}
