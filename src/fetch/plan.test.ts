import { describe, expect, it } from 'vitest';
import { joinListing, planRun, type ServerMessage } from './plan.js';
import { SeenState } from './state.js';

const DAY = 86_400_000;
const msgs = (...specs: [string, number][]): ServerMessage[] =>
  specs.map(([uid, octets], i) => ({ n: i + 1, uid, octets }));
const seen = (entries: Record<string, number>) => {
  const s = new SeenState();
  for (const [u, t] of Object.entries(entries)) s.add(u, t);
  return s;
};
const ns = (list: ServerMessage[]) => list.map((m) => m.n);

describe('planRun', () => {
  it('keeps by default: fetches only unseen UIDs and deletes nothing', () => {
    const p = planRun(msgs(['a', 10], ['b', 20], ['c', 30]), seen({ b: 0 }), {}, 5 * DAY);
    expect(ns(p.fetch)).toEqual([1, 3]);
    expect(p.newCount).toBe(2);
    expect(p.deleteSeen).toEqual([]);
    expect([...p.present]).toEqual(['a', 'b', 'c']);
  });

  it('with delete, also deletes messages seen before (finishing a killed run)', () => {
    const p = planRun(msgs(['a', 10], ['b', 20]), seen({ b: 0 }), { delete: true }, 1);
    expect(ns(p.fetch)).toEqual([1]);
    expect(ns(p.deleteSeen)).toEqual([2]);
  });

  it('deleteAfterDays counts from first delivery', () => {
    const now = 10 * DAY;
    const state = seen({ old: now - 3 * DAY, edge: now - 2 * DAY, young: now - 2 * DAY + 1 });
    const p = planRun(msgs(['old', 1], ['edge', 1], ['young', 1]), state, { deleteAfterDays: 2 }, now);
    expect(p.deleteSeen.map((m) => m.uid)).toEqual(['old', 'edge']);
    expect(p.fetch).toEqual([]);
  });

  it('maxSize skips (default) or deletes oversized new messages unread, never seen ones', () => {
    const list = msgs(['small', 100], ['big', 101], ['bigseen', 500]);
    const skip = planRun(list, seen({ bigseen: 0 }), { maxSize: 100 }, 0);
    expect(ns(skip.fetch)).toEqual([1]);
    expect(skip.skipped).toBe(1);
    expect(skip.deleteOversized).toEqual([]);
    const del = planRun(list, seen({ bigseen: 0 }), { maxSize: 100, oversized: 'delete' }, 0);
    expect(ns(del.deleteOversized)).toEqual([2]);
    expect(del.skipped).toBe(0);
    expect(del.deleteSeen).toEqual([]);
  });

  it('limit takes the first N new messages and defers the rest', () => {
    const p = planRun(msgs(['a', 1], ['b', 1], ['c', 1], ['d', 1]), seen({ a: 0 }), { limit: 2 }, 0);
    expect(ns(p.fetch)).toEqual([2, 3]);
    expect(p.deferred).toBe(1);
    expect(planRun(msgs(['a', 1]), new SeenState(), { limit: 0 }, 0).deferred).toBe(1);
  });

  it('fetches a duplicated UID once and never deletes any of its copies', () => {
    const list = msgs(['dup', 1], ['x', 1], ['dup', 2], ['sdup', 1], ['sdup', 1]);
    const p = planRun(list, seen({ sdup: 0 }), { delete: true, maxSize: 10, oversized: 'delete' }, 0);
    expect(ns(p.fetch)).toEqual([1, 2]);
    expect(p.duplicates).toEqual(['dup', 'sdup']);
    expect(p.deleteSeen).toEqual([]);
    expect(p.newCount).toBe(2);
    const big = planRun(msgs(['d', 99], ['d', 99]), new SeenState(), { maxSize: 10, oversized: 'delete' }, 0);
    expect(big.deleteOversized).toEqual([]);
    expect(big.skipped).toBe(1);
  });
});

describe('joinListing', () => {
  it('joins UIDL and LIST by number and drops numbers LIST does not size', () => {
    const got = joinListing(
      [
        { n: 2, uid: 'b' },
        { n: 1, uid: 'a' },
        { n: 3, uid: 'c' },
      ],
      [
        { n: 1, octets: 10 },
        { n: 2, octets: 20 },
      ],
    );
    expect(got).toEqual([
      { n: 1, uid: 'a', octets: 10 },
      { n: 2, uid: 'b', octets: 20 },
    ]);
  });
});
