import { PassThrough, pipeline, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { type BodyHost, BodyStream } from './body.js';

/** A connection stand-in: records what the body holds and how often a reader asked for more. */
class Host implements BodyHost {
  heldBytes = 0;
  most = 0;
  wants = 0;
  held(delta: number): void {
    this.heldBytes += delta;
    this.most = Math.max(this.most, this.heldBytes);
  }
  wantMore(): void {
    this.wants++;
  }
}

const b = (s: string) => Buffer.from(s, 'latin1');
const tick = () => new Promise((r) => setImmediate(r));

describe('BodyStream', () => {
  it('for await yields the very buffers fed (no copies), queued or fed while waiting, then ends', async () => {
    const host = new Host();
    const body = new BodyStream(host);
    const parts = [b('one\r\n'), b('two\r\n'), b('three\r\n')];
    body.feed(parts[0]!); // before anyone reads: queued and counted
    expect(host.heldBytes).toBe(5);
    expect(body.readableLength).toBe(5);
    const got: Buffer[] = [];
    const reading = (async () => {
      for await (const chunk of body) got.push(chunk as Buffer);
    })();
    await tick();
    expect(host.heldBytes).toBe(0); // taken by the reader
    body.feed(parts[1]!); // the reader is waiting: handed over directly
    body.feed(parts[2]!);
    body.end();
    await reading;
    expect(got).toHaveLength(3);
    for (let i = 0; i < 3; i++) expect(got[i]).toBe(parts[i]);
    expect(host.heldBytes).toBe(0);
    expect(body.settled).toBe(true);
    await finished(body); // 'end' (and 'close') come as for any Readable
    expect(body.readableEnded).toBe(true);
  });

  it('pipe, data events and read() see the same bytes as for await', async () => {
    const host = new Host();
    const body = new BodyStream(host);
    const sink = new PassThrough();
    const out: Buffer[] = [];
    sink.on('data', (d: Buffer) => out.push(d));
    const done = new Promise<void>((resolve, reject) =>
      pipeline(body, sink, (e) => (e ? reject(e) : resolve())),
    );
    body.feed(b('a'));
    await tick();
    body.feed(b('b'));
    body.feed(b('c'));
    body.end();
    await done;
    expect(Buffer.concat(out).toString()).toBe('abc');
    expect(host.heldBytes).toBe(0);
  });

  it('bytes already pulled into the Readable buffer come first when for await starts', async () => {
    const body = new BodyStream(new Host());
    body.feed(b('first '));
    body.feed(b('second '));
    expect((body.read(3) as Buffer).toString()).toBe('fir');
    body.feed(b('third'));
    body.end();
    const chunks: string[] = [];
    for await (const chunk of body) chunks.push((chunk as Buffer).toString());
    expect(chunks.join('')).toBe('st second third');
  });

  it('an error reaches a waiting reader, and one that comes later', async () => {
    const body = new BodyStream(new Host());
    const iterator = body[Symbol.asyncIterator]();
    const pending = iterator.next();
    body.destroy(Object.assign(new Error('truncated'), { code: 'ECLOSED' }));
    await expect(pending).rejects.toThrow('truncated');
    const later = new BodyStream(new Host());
    later.feed(b('x'));
    later.destroy(new Error('limit'));
    await expect(
      (async () => {
        for await (const _ of later);
      })(),
    ).rejects.toThrow('limit');
  });

  it('destroyed without an error, a reader gets a premature close, not a clean end', async () => {
    const body = new BodyStream(new Host());
    const reading = (async () => {
      for await (const _ of body);
    })();
    await tick();
    body.destroy();
    await expect(reading).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });

  it('leaving for await early discards the rest and releases what was held', async () => {
    const host = new Host();
    const body = new BodyStream(host);
    body.feed(b('1'));
    body.feed(b('2'));
    body.feed(b('3'));
    for await (const chunk of body) {
      expect((chunk as Buffer).toString()).toBe('1');
      break;
    }
    expect(body.destroyed).toBe(true);
    expect(body.discard).toBe(true);
    expect(host.heldBytes).toBe(0);
    body.feed(b('4')); // the connection keeps decoding: dropped
    expect(host.heldBytes).toBe(0);
  });

  it('a reader waiting on an empty body asks for more (the socket may be paused)', async () => {
    const host = new Host();
    const body = new BodyStream(host);
    const reading = (async () => {
      for await (const _ of body);
    })();
    await tick();
    expect(host.wants).toBeGreaterThan(0);
    body.end();
    await reading;
  });

  it('an empty body ends at once, in both modes', async () => {
    const a = new BodyStream(new Host());
    a.end();
    const chunks: unknown[] = [];
    for await (const c of a) chunks.push(c);
    expect(chunks).toEqual([]);
    const c = new BodyStream(new Host());
    c.end();
    const data: unknown[] = [];
    await finished(c.on('data', (d) => data.push(d)));
    expect(data).toEqual([]);
  });

  it('is a Readable', () => {
    expect(new BodyStream(new Host())).toBeInstanceOf(Readable);
  });
});
