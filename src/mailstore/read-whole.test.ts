import { describe, expect, it } from 'vitest';
import { MemoryStore } from './memory-store.js';
import { readWhole } from './read-whole.js';
import type { Mailbox } from './types.js';

describe('readWhole', () => {
  it('refuses a store that asks for more room than maxBytes allows, or reads without asking', async () => {
    const store = new MemoryStore();
    const uid = store.add('u', 'x\n');
    const mailbox = await store.openMailbox('u');
    const broken = (readSmall: Mailbox['readSmall']): Mailbox => ({ ...mailbox, readSmall });
    const cases: Mailbox['readSmall'][] = [
      (_uid, _max, target) => target.room(1 << 30), // the server must not allocate that for it
      (_uid, max, target) => target.room(max + 2),
      (_uid, _max, target) => target.room(1.5),
      () => 0, // claims to have read (nothing) without asking for room
    ];
    for (const readSmall of cases) expect(() => readWhole(broken(readSmall), uid, 1024)).toThrow(RangeError);
    // The store's own limit check: maxBytes + 1 (to see a grown file) is fine.
    const plusOne = broken((_uid, max, target) => target.room(max + 1) + 2);
    expect(readWhole(plusOne, uid, 2)?.length).toBe(2);
    await mailbox.release();
  });
});
