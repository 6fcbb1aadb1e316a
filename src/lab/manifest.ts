import { readText, writeIfChanged } from './files.js';

/**
 * What `lab up` made outside its state folder, recorded in `<state>/manifest.json` so that
 * `lab down` removes exactly that: namespaces, root-namespace links, daemons, and folders it had
 * to create in the machine's tree as mountpoints.
 */
export interface LabManifest {
  version: 1;
  updatedAt: string;
  /** Whether /run/netns existed (and was a mountpoint) before the lab's first `ip netns add`. */
  runNetns: { existed: boolean; wasMountpoint: boolean };
  /** Folders created in the machine's tree as mountpoints, parents first; removed by down when empty. */
  createdDirs: string[];
  namespaces: string[];
  rootLinks: string[];
  /** Daemon label -> pid at the last `lab up`. */
  processes: Record<string, number>;
}

export function emptyManifest(runNetns: LabManifest['runNetns']): LabManifest {
  return { version: 1, updatedAt: new Date().toISOString(), runNetns, createdDirs: [], namespaces: [], rootLinks: [], processes: {} };
}

export async function readManifest(file: string): Promise<LabManifest | undefined> {
  const text = await readText(file);
  if (!text) return undefined;
  try {
    const data = JSON.parse(text) as LabManifest;
    return data.version === 1 ? data : undefined;
  } catch {
    return undefined;
  }
}

export async function writeManifest(file: string, manifest: LabManifest): Promise<void> {
  await writeIfChanged(file, `${JSON.stringify({ ...manifest, updatedAt: new Date().toISOString() }, null, 2)}\n`, 0o600);
}
