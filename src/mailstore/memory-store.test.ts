import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { Pop3Error } from '../protocol/errors.js';
import { MemoryStore } from './memory-store.js';
import { readWhole } from './read-whole.js';
import { MailboxBusyError } from './types.js';

describe('MemoryStore', () => {
  it('snapshots messages with wire octets and serves the stored bytes', async () => {
    const store = new MemoryStore();
    const a = store.add('ann', 'Subject: a\n\nhello\n');
    const b = store.add('ann', Buffer.from('x\r\ny'));
    const mb = await store.openMailbox('ann');
    expect(mb.messages).toEqual([
      { uid: a, octets: 21 },
      { uid: b, octets: 6 },
    ]);
    expect(await text(await mb.open(a))).toBe('Subject: a\n\nhello\n');
    await mb.release();
  });

  it('keeps new mail invisible to an open mailbox', async () => {
    const store = new MemoryStore();
    store.add('ann', 'one\n');
    const mb = await store.openMailbox('ann');
    const late = store.add('ann', 'two\n');
    expect(mb.messages.map((m) => m.uid)).not.toContain(late);
    expect(mb.messages).toHaveLength(1);
    await mb.commit([]);
    await mb.release();
    expect(store.list('ann').map((m) => m.uid)).toContain(late);
  });

  it('locks per user and unlocks on release (idempotent)', async () => {
    const store = new MemoryStore();
    const mb = await store.openMailbox('ann');
    await expect(store.openMailbox('ann')).rejects.toBeInstanceOf(MailboxBusyError);
    const other = await store.openMailbox('bob');
    await other.release();
    await mb.release();
    await mb.release();
    const again = await store.openMailbox('ann');
    await again.release();
  });

  it('commit removes exactly the listed uids; unknown ones come back as not removed', async () => {
    const store = new MemoryStore();
    const uids = ['1\n', '2\n', '3\n', '4\n'].map((m) => store.add('ann', m));
    const mb = await store.openMailbox('ann');
    const late = store.add('ann', 'late\n');
    const res = await mb.commit([uids[1]!, uids[3]!, late, 'nope']);
    await mb.release();
    expect(res.notRemoved.sort()).toEqual([late, 'nope'].sort());
    expect(store.list('ann').map((m) => m.uid)).toEqual([uids[0], uids[2], late]);
  });

  it('never reuses a uid, even after deletion', async () => {
    const store = new MemoryStore();
    const first = store.add('ann', 'a');
    const mb = await store.openMailbox('ann');
    await mb.commit([first]);
    await mb.release();
    const second = store.add('ann', 'a');
    expect(second).not.toBe(first);
    expect(second).toMatch(/^[\x21-\x7e]{1,70}$/);
  });

  it('refuses use after release and a second commit', async () => {
    const store = new MemoryStore();
    const uid = store.add('ann', 'a');
    const mb = await store.openMailbox('ann');
    await mb.commit([]);
    await expect(mb.commit([])).rejects.toMatchObject({ code: 'ESTATE' });
    await mb.release();
    await expect(mb.open(uid)).rejects.toBeInstanceOf(Pop3Error);
    expect(() => readWhole(mb, uid, 10)).toThrow(Pop3Error);
  });

  it('readSmall: a copy of the stored bytes up to the limit, undefined above it', async () => {
    const store = new MemoryStore();
    const uid = store.add('ann', 'abc\n');
    const mb = await store.openMailbox('ann');
    const got = readWhole(mb, uid, 4)!;
    expect(got.toString()).toBe('abc\n');
    got[0] = 0x78; // the caller owns it: the store's copy is untouched
    expect(readWhole(mb, uid, 4)!.toString()).toBe('abc\n');
    expect(readWhole(mb, uid, 3)).toBeUndefined();
    expect(() => readWhole(mb, 'nope', 4)).toThrow(Pop3Error);
    await mb.release();
  });
});
