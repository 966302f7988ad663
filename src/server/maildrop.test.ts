import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Mailbox, MessageInfo } from '../mailstore/types.js';
import { checkSnapshot, Maildrop } from './maildrop.js';
import { parseLineCount, parseMessageNumber } from './message-number.js';

function mailbox(messages: readonly MessageInfo[]): Mailbox {
  return {
    messages,
    open: async () => Readable.from([]),
    commit: async () => ({ notRemoved: [] }),
    release: async () => {},
  };
}

describe('message numbers', () => {
  it('accepts only [1-9][0-9]* up to 10 digits (adversarial server case 25)', () => {
    expect(parseMessageNumber('1')).toBe(1);
    expect(parseMessageNumber('4294967295')).toBe(4294967295);
    for (const bad of ['0', '-1', '+1', '01', '1x', ' 1', '', '100000000000', '1.0', '0x1']) {
      expect(parseMessageNumber(bad)).toBeUndefined();
    }
    expect(parseMessageNumber(undefined)).toBeUndefined();
  });

  it('TOP line counts: non-negative decimals only', () => {
    expect(parseLineCount('0')).toBe(0);
    expect(parseLineCount('25')).toBe(25);
    expect(parseLineCount('99999999999')).toBe(99999999999);
    for (const bad of ['-1', '+1', '01', 'x', '', '1e3']) expect(parseLineCount(bad)).toBeUndefined();
  });
});

describe('Maildrop', () => {
  const messages = [
    { uid: 'a', octets: 10 },
    { uid: 'b', octets: 20 },
    { uid: 'c', octets: 30 },
  ];

  it('numbers messages from 1 and reports live totals', () => {
    const m = new Maildrop(mailbox(messages));
    expect(m.count).toBe(3);
    expect(m.octets).toBe(60);
    expect(m.lookup('2')).toBe(2);
    expect(m.message(2)).toEqual({ uid: 'b', octets: 20 });
    expect(m.lookup('4')).toBeUndefined();
    expect(m.lookup('0')).toBeUndefined();
  });

  it('hides deleted messages everywhere and RSET restores them (S5, S6)', () => {
    const m = new Maildrop(mailbox(messages));
    m.delete(2);
    m.delete(2); // idempotent
    expect(m.count).toBe(2);
    expect(m.octets).toBe(40);
    expect(m.lookup('2')).toBeUndefined();
    expect(m.size).toBe(3); // numbering is kept
    expect([1, 2, 3].map((n) => m.isDeleted(n))).toEqual([false, true, false]);
    expect(m.message(3)).toEqual({ uid: 'c', octets: 30 });
    expect(m.deletedUids()).toEqual(['b']);
    m.reset();
    expect(m.count).toBe(3);
    expect(m.deletedUids()).toEqual([]);
    expect(m.lookup('2')).toBe(2);
  });

  it("reads the store's list once and checks the very list it serves", () => {
    let reads = 0;
    const lists = [[{ uid: 'a b', octets: 1 }], [{ uid: 'a', octets: 1 }]];
    const changing: Mailbox = {
      ...mailbox([]),
      get messages() {
        return lists[Math.min(reads++, 1)]!;
      },
    };
    const m = new Maildrop(changing);
    expect(m.check()).toMatch(/UID/);
    expect(reads).toBe(1);
    expect(new Maildrop(mailbox(lists[1]!)).check()).toBeUndefined();
  });

  it('an empty maildrop', () => {
    const m = new Maildrop(mailbox([]));
    expect(m.count).toBe(0);
    expect(m.size).toBe(0);
    expect(m.lookup('1')).toBeUndefined();
  });
});

describe('checkSnapshot', () => {
  it('accepts valid UIDs and sizes', () => {
    expect(
      checkSnapshot([
        { uid: '!~', octets: 0 },
        { uid: 'x'.repeat(70), octets: 5 },
      ]),
    ).toBeUndefined();
  });
  it('refuses UIDs a client could not take (CR/LF, space, empty, >70) and bad sizes', () => {
    for (const uid of ['', 'a b', 'a\r\nb', 'x'.repeat(71), 'é']) {
      expect(checkSnapshot([{ uid, octets: 1 }])).toMatch(/UID/);
    }
    expect(checkSnapshot([{ uid: 'a', octets: -1 }])).toMatch(/size/);
    expect(checkSnapshot([{ uid: 'a', octets: 1.5 }])).toMatch(/size/);
  });
  it('refuses a UID listed twice (RFC 1939 §7: unique within the maildrop)', () => {
    expect(
      checkSnapshot([
        { uid: 'a', octets: 1 },
        { uid: 'b', octets: 1 },
        { uid: 'a', octets: 2 },
      ]),
    ).toMatch(/UID/);
  });
  it('checks a list again unless it and its messages are frozen (a good one is remembered)', () => {
    const open: { uid: string; octets: number }[] = [{ uid: 'a', octets: 1 }];
    expect(checkSnapshot(open)).toBeUndefined();
    open.push({ uid: 'a', octets: 2 });
    expect(checkSnapshot(open)).toMatch(/twice/);

    const loose = { uid: 'a', octets: 1 };
    const frozenList = Object.freeze([loose]);
    expect(checkSnapshot(frozenList)).toBeUndefined();
    loose.uid = 'a b';
    expect(checkSnapshot(frozenList)).toMatch(/UID/);

    const sealed = Object.freeze([Object.freeze({ uid: 'a', octets: 1 })]);
    expect(checkSnapshot(sealed)).toBeUndefined();
    expect(checkSnapshot(sealed)).toBeUndefined();
  });
  it('does not remember a frozen list that can still change: getters, or an iterator other than its entries', () => {
    // A frozen message whose uid is a getter (here on its class) still changes after the check.
    let uid = 'a';
    class Lazy {
      get uid(): string {
        return uid;
      }
      readonly octets = 1;
    }
    const lazy = Object.freeze([Object.freeze(new Lazy())]);
    expect(checkSnapshot(lazy)).toBeUndefined();
    uid = 'a\r\nb';
    expect(checkSnapshot(lazy)).toMatch(/UID/);

    // A frozen list whose entry is a getter: the numbering fixed at open must not follow it.
    let current: MessageInfo = Object.freeze({ uid: 'a', octets: 1 });
    const list: MessageInfo[] = [];
    Object.defineProperty(list, 0, { get: () => current, enumerable: true, configurable: true });
    Object.freeze(list);
    expect(checkSnapshot(list)).toBeUndefined();
    const drop = new Maildrop(mailbox(list));
    current = Object.freeze({ uid: 'b', octets: 2 });
    expect(drop.message(1)).toEqual({ uid: 'a', octets: 1 });

    // A frozen list whose iteration (what the check reads) is not its entries (what a session reads).
    class Two<T> extends Array<T> {
      override *[Symbol.iterator](): ArrayIterator<T> {
        yield Object.freeze({ uid: 'a', octets: 1 }) as T;
      }
    }
    const two = Object.freeze(Two.from([Object.freeze({ uid: 'a b', octets: 1 })]));
    expect(checkSnapshot(two)).toBeUndefined();
    expect(new Maildrop(mailbox(two)).message(1)).toEqual({ uid: 'a', octets: 1 });
  });
});
