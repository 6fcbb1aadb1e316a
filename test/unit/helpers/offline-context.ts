/**
 * A CheckContext for offline suites (no guests, no hosts) that records what the checks do:
 * which memo keys were computed, which artifacts were written and which properties were set.
 */
import type { CheckContext, ImageInfo } from '../../../src/suite-api/index.js';
import { imageInfo } from './results.js';

export interface OfflineContext extends CheckContext {
  /** Memo keys computed (not found in the memo), in order. */
  readonly computed: string[];
  /** Artifact file names written, in order; `write` returns the file name as its path. */
  readonly written: string[];
  readonly properties: Map<string, string | number>;
}

export interface OfflineContextSpec {
  /** Overrides of the image (default: a 2 GiB qcow2 with sha256 '0'). */
  image?: Partial<ImageInfo>;
  /** The memo the checks share; pre-fill it to hand them a value without computing it. */
  memo?: Map<string, Promise<unknown>>;
  options?: Record<string, unknown>;
}

export function offlineContext(spec: OfflineContextSpec = {}): OfflineContext {
  const memo = spec.memo ?? new Map<string, Promise<unknown>>();
  const computed: string[] = [];
  const written: string[] = [];
  const properties = new Map<string, string | number>();
  return {
    image: imageInfo({ sha256: '0', ...spec.image }),
    guests: [],
    bootFailures: [],
    hosts: [],
    options: spec.options ?? {},
    timeServers: [],
    signal: new AbortController().signal,
    log: () => undefined,
    memo<T>(key: string, compute: () => Promise<T>) {
      if (!memo.has(key)) {
        computed.push(key);
        memo.set(key, compute());
      }
      return memo.get(key) as Promise<T>;
    },
    artifacts: { write: async (name) => (written.push(name), name), attach: () => undefined },
    property: (name, value) => void properties.set(name, value),
    computed,
    written,
    properties,
  };
}
