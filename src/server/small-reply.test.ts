import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeReference } from '../../scripts/fuzz/reference.js';
import { MemoryStore } from '../mailstore/memory-store.js';
import { type Mailbox, MessageGoneError } from '../mailstore/types.js';
import { OutputBatch } from './output-batch.js';
import { ReplyPool } from './reply-pool.js';
import { SmallReplies } from './small-reply.js';

const status = Buffer.from('+OK message follows\r\n');

/** A one-message mailbox, and how often its readSmall read into the reply batch or into a buffer of its own. */
async function oneMessage(body: Uint8Array | string) {
  const store = new MemoryStore();
  store.add('u', body);
  const mailbox = await store.openMailbox('u');
  const calls = { inPlace: 0, own: 0 };
  const readSmall = mailbox.readSmall!.bind(mailbox);
  mailbox.readSmall = (uid, max, target) => {
    if (target instanceof SmallReplies) calls.inPlace++;
    else calls.own++;
    return readSmall(uid, max, target);
  };
  return { mailbox, msg: mailbox.messages[0]!, calls };
}

/** SmallReplies over a batch whose writes are collected; `reply()` flushes and returns what was written. */
function replies() {
  const written: Buffer[] = [];
  const out = new OutputBatch(
    (chunk, done) => {
      written.push(Buffer.from(chunk));
      done();
    },
    4096,
    new ReplyPool(),
  );
  const small = new SmallReplies(out);
  return {
    read: (...args: Parameters<SmallReplies['read']>) => small.read(...args),
    reply(): string {
      out.flush();
      return Buffer.concat(written.splice(0)).toString('latin1');
    },
  };
}

describe('SmallReplies', () => {
  it('answers status + the dot-stuffed message + terminator, read once into the reply buffer', async () => {
    const edgy = fc.constantFrom(0x0d, 0x0a, 0x2e, 0x41, 0x00, 0xff);
    await fc.assert(
      fc.asyncProperty(fc.array(edgy, { maxLength: 400 }), async (bytes) => {
        const body = Uint8Array.from(bytes);
        const { mailbox, msg, calls } = await oneMessage(body);
        const r = replies();
        const expected = Buffer.concat([status, encodeReference(body)]).toString('latin1');
        expect(r.read(mailbox, msg, status, 1024)).toBe(expected.length);
        expect(r.reply()).toBe(expected);
        expect(calls).toEqual({ inPlace: 1, own: 0 });
      }),
      { numRuns: 300 },
    );
  });

  it('reads a message with more line-start dots than the room allows a second time, and still answers it right', async () => {
    const body = '.\n'.repeat(200);
    const { mailbox, msg, calls } = await oneMessage(body);
    const r = replies();
    r.read(mailbox, msg, status, 1024);
    expect(r.reply()).toBe(Buffer.concat([status, encodeReference(Buffer.from(body))]).toString('latin1'));
    expect(calls).toEqual({ inPlace: 1, own: 1 });
    // A few dots fit the room: one read.
    const few = await oneMessage('.a\n'.repeat(10));
    replies().read(few.mailbox, few.msg, status, 1024);
    expect(few.calls).toEqual({ inPlace: 1, own: 0 });
  });

  it("writes RETR's status line itself, and leaves a larger message to open()", async () => {
    const { mailbox, msg } = await oneMessage('a\n.b\n');
    const r = replies();
    r.read(mailbox, msg, undefined, 1024);
    expect(r.reply()).toBe(`+OK ${msg.octets} octets\r\na\r\n..b\r\n.\r\n`);
    expect(r.read(mailbox, msg, status, 3)).toBeUndefined();
    const streamOnly: Mailbox = { ...mailbox, readSmall: undefined };
    expect(r.read(streamOnly, msg, status, 1024)).toBeUndefined();
    expect(r.reply()).toBe('');
  });

  it('refuses a store that asks for more room than the size limit allows, or reads past its room', async () => {
    const { mailbox, msg } = await oneMessage('x\n');
    const broken = (readSmall: Mailbox['readSmall']): Mailbox => ({ ...mailbox, readSmall });
    const cases: Mailbox['readSmall'][] = [
      (_uid, _max, target) => target.room(1 << 30),
      (_uid, _max, target) => target.room(2) + 3, // claims more than it asked room for
      () => 2, // claims to have read without asking for room
      (_uid, _max, target) => target.room(1) + target.room(1), // asks twice
    ];
    for (const readSmall of cases) {
      const r = replies();
      expect(() => r.read(broken(readSmall), msg, status, 1024)).toThrow(RangeError);
      expect(r.reply()).toBe(''); // nothing gathered
    }
  });

  it('passes on what the store throws (a vanished message), and is usable again afterwards', async () => {
    const { mailbox, msg } = await oneMessage('x\n');
    const r = replies();
    const gone: Mailbox = {
      ...mailbox,
      readSmall: () => {
        throw new MessageGoneError();
      },
    };
    expect(() => r.read(gone, msg, status, 1024)).toThrow(MessageGoneError);
    r.read(mailbox, msg, status, 1024);
    expect(r.reply()).toBe('+OK message follows\r\nx\r\n.\r\n');
  });
});
