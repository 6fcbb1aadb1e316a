import { randomBytes } from 'node:crypto';

/** Sortable and unique: 20261125T193000-a1b2. Every domain, volume and file a run makes carries it. */
export function newRunId(now = new Date(), random = randomBytes(2)): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
  return `${stamp}-${random.toString('hex')}`;
}
