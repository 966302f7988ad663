import { describe, expect, it } from 'vitest';
import { WeighedLru } from './weighed-lru.js';

describe('WeighedLru', () => {
  it('keeps the most recently used entries within the weight bound, and nothing heavier than it', () => {
    const lru = new WeighedLru<string, number>(10);
    lru.set('a', 1, 4);
    lru.set('b', 2, 4);
    expect(lru.get('a')).toBe(1); // now b is the least recently used
    lru.set('c', 3, 4);
    expect(lru.get('b')).toBeUndefined();
    expect([lru.get('a'), lru.get('c')]).toEqual([1, 3]);
    lru.set('huge', 4, 11);
    expect(lru.get('huge')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    lru.set('a', 5, 2); // replacing frees the old weight
    lru.set('d', 6, 4);
    expect([lru.get('a'), lru.get('c'), lru.get('d')]).toEqual([5, 3, 6]);
    lru.delete('c');
    expect(lru.get('c')).toBeUndefined();
  });
});
