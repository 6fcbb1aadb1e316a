/** Pure parsers of `virsh` and `qemu-img` output. */

export interface VirshVersion {
  libvirt?: string;
  qemu?: string;
}

/** `virsh version`: "Running hypervisor: QEMU 7.2.0" and "Using library: libvirt 9.0.0" (or "Running against daemon: 9.0.0"). */
export function parseVirshVersion(output: string): VirshVersion {
  const daemon = /Running against daemon:\s*([\d.]+)/.exec(output)?.[1];
  const library = /Using library:\s*libvirt\s*([\d.]+)/.exec(output)?.[1];
  const qemu = /Running hypervisor:\s*QEMU\s*([\d.]+)/i.exec(output)?.[1];
  return { libvirt: daemon ?? library, qemu };
}

/** `virsh domstate --reason`: "running (booted)" -> { state: 'running', reason: 'booted' }. */
export function parseDomState(output: string): { state: string; reason?: string } {
  const match = /^\s*([a-z ]+?)\s*(?:\(([^)]*)\))?\s*$/m.exec(output.trim());
  return { state: match?.[1]?.trim() ?? output.trim(), reason: match?.[2] };
}

/** The <target><path> of a pool from `virsh pool-dumpxml`. */
export function parsePoolTargetPath(xml: string): string | undefined {
  return /<target>[\s\S]*?<path>([^<]+)<\/path>/.exec(xml)?.[1]?.trim();
}

export interface QemuImgInfo {
  format: string;
  virtualSize: number;
  actualSize: number;
  backingFile?: string;
  encrypted: boolean;
}

/** `qemu-img info --output json`. */
export function parseQemuImgInfo(json: string): QemuImgInfo {
  const data = JSON.parse(json) as Record<string, unknown>;
  return {
    format: String(data['format'] ?? ''),
    virtualSize: Number(data['virtual-size'] ?? 0),
    actualSize: Number(data['actual-size'] ?? 0),
    backingFile: typeof data['backing-filename'] === 'string' ? data['backing-filename'] : undefined,
    encrypted: data['encrypted'] === true,
  };
}

/** `virsh domifaddr` table rows -> IPv4 addresses per MAC. */
export function parseDomIfAddr(output: string): { mac: string; address: string }[] {
  const rows: { mac: string; address: string }[] = [];
  for (const line of output.split('\n')) {
    const match = /([0-9a-f]{2}(?::[0-9a-f]{2}){5})\s+ipv4\s+(\d+\.\d+\.\d+\.\d+)/i.exec(line);
    if (match) rows.push({ mac: match[1]!.toLowerCase(), address: match[2]! });
  }
  return rows;
}

/** `virsh nodeinfo`'s "CPU(s):  8" line: the host's logical CPUs. */
export function parseNodeInfoCpus(output: string): number | undefined {
  const match = /^CPU\(s\):\s*(\d+)\s*$/m.exec(output);
  return match ? Number(match[1]) : undefined;
}
