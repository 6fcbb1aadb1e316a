import { describe, expect, it } from 'vitest';
import { CleanupRegistry } from '../../src/runner/cleanup.js';

describe('CleanupRegistry', () => {
  it('undoes newest first, goes on past failures, and runs once', async () => {
    const registry = new CleanupRegistry();
    const order: string[] = [];
    registry.add('base', async () => void order.push('base'));
    registry.add('domain', async () => {
      order.push('domain');
      throw new Error('host gone');
    });
    registry.add('overlay', async () => void order.push('overlay'));
    const [first, second] = await Promise.all([registry.runAll(), registry.runAll()]);
    expect(order).toEqual(['overlay', 'domain', 'base']);
    expect(first).toEqual(['domain: host gone']);
    expect(second).toBe(first);
  });
});
