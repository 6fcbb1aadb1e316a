import { InfraError } from '../errors.js';
import type { HypervisorHost } from '../hosts/host.js';
import type { CleanupRegistry } from './cleanup.js';

export interface BaseVolumesSpec {
  /** Volume name of the image's copy, e.g. `imgtest-<run>-base.qcow2`. */
  name: string;
  /** The user's image file (read only). */
  imagePath: string;
  imageName: string;
  /** Set when every host's guest volumes live in one shared pool (config `storage.sharedPool`). */
  sharedPool?: string;
  cleanup: CleanupRegistry;
  keep: boolean;
  emit(line: string): void;
  /** The run's interrupt: stops a copy under way. */
  signal?: AbortSignal;
}

/**
 * The image's copy on the hosts, made once per host (per-host pools) or once for all (a shared pool):
 * `ensure(host)` returns when `host` can create overlays on it. Used by the boots and, for the
 * destination of a live migration, by the migration.
 */
export class BaseVolumes {
  private readonly uploads = new Map<string, Promise<void>>();
  private readonly visible = new Map<string, Promise<void>>();

  constructor(private readonly spec: BaseVolumesSpec) {}

  get name(): string {
    return this.spec.name;
  }

  ensure(host: HypervisorHost): Promise<void> {
    if (!this.spec.sharedPool) return this.upload(host.name, host);
    let seen = this.visible.get(host.name);
    if (!seen) {
      const uploaded = this.upload('shared', host);
      // A host that did not upload it sees the file only after its pool is refreshed; if it still does
      // not, the pool is not shared (a folder of the same name on each host): say so instead of failing later.
      seen = uploaded.then(async () => {
        await host.refreshPool();
        if (!(await host.volumeExists(this.spec.name))) {
          throw new InfraError(
            `storage.sharedPool '${this.spec.sharedPool}': host ${host.name} does not see ${this.spec.name}, which was just written to that pool through another host: the pool is not shared between the hosts`,
            { code: 'E_POOL' },
          );
        }
      });
      this.visible.set(host.name, seen);
    }
    return seen;
  }

  private upload(key: string, host: HypervisorHost): Promise<void> {
    let upload = this.uploads.get(key);
    if (!upload) {
      if (!this.spec.keep) this.spec.cleanup.add(`${host.name}: base ${this.spec.name}`, () => host.deleteVolume(this.spec.name));
      this.spec.emit(`[${host.name}] copying ${this.spec.imageName} to pool ${host.pool}${this.spec.sharedPool ? ' (shared by all hosts)' : ''} as ${this.spec.name}`);
      upload = host.uploadVolume(this.spec.name, this.spec.imagePath, this.spec.signal);
      this.uploads.set(key, upload);
    }
    return upload;
  }
}
