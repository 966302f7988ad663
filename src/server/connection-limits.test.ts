import { describe, expect, it } from 'vitest';
import { ConnectionLimiter } from './connection-limits.js';

describe('ConnectionLimiter', () => {
  it('limits per address and in total, and gives slots back', () => {
    const l = new ConnectionLimiter({ maxConnections: 3, maxConnectionsPerAddress: 2 });
    expect(l.acquire('a')).toBe(true);
    expect(l.acquire('a')).toBe(true);
    expect(l.acquire('a')).toBe(false);
    expect(l.acquire('b')).toBe(true);
    expect(l.acquire('c')).toBe(false); // total reached
    expect(l.total).toBe(3);
    l.release('a');
    expect(l.acquire('c')).toBe(true);
    l.release('unknown'); // never acquired: no effect
    expect(l.total).toBe(3);
  });
});
