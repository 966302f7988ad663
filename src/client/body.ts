import { Readable } from 'node:stream';

/** What a body needs from the connection that feeds it. */
export interface BodyHost {
  /** `delta` octets were queued in a body (> 0) or left its queue (< 0). */
  held(delta: number): void;
  /** A reader is waiting on an empty body: read from the socket again. */
  wantMore(): void;
}

interface Waiter {
  resolve(result: IteratorResult<Buffer>): void;
  reject(err: unknown): void;
}

const DONE: IteratorResult<Buffer> = Object.freeze({ done: true, value: undefined });
const OPTIONS = { highWaterMark: 64 * 1024 };
const ignore = () => {};
const baseReadableLength = Object.getOwnPropertyDescriptor(Readable.prototype, 'readableLength')!.get!;

function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

/**
 * A message body: a Readable fed by the connection with views of the socket's chunks
 * (no copies). Parts wait in the body's own queue, counted against the connection's
 * read-ahead budget, until a reader takes them:
 * - `for await` (the common case) takes them straight from the queue, one resolved promise
 *   per part, without the Readable machinery (Node's stream iterator adds an async generator,
 *   end-of-stream listeners and, for several buffered chunks, a concatenating copy);
 * - every other use (pipe, 'data', read()) goes through `_read`, as for any Readable.
 * At the end the Readable ends as usual ('end', readableEnded, 'close').
 */
export class BodyStream extends Readable {
  /** The reader went away: the connection keeps decoding (the wire must stay in sync), drops the bytes. */
  discard = false;
  private readonly parts: Buffer[] = [];
  private first = 0; // index of the next part in `parts`
  private queued = 0; // octets in `parts` from `first` on
  private complete = false; // the terminator arrived: no more parts
  private pulling = false; // _read found nothing: push the next part as it comes
  private waiter: Waiter | undefined; // a for-await step waiting for a part
  private iterated = false; // the async iterator returned done

  constructor(private readonly host: BodyHost) {
    super(OPTIONS);
    // The body can fail (limit, truncation, abort) in the same tick its RETR resolves, before the
    // caller has attached anything. An 'error' without a listener would crash the process; the
    // caller still gets the error from read(), for-await or pipeline(), which see `errored`.
    this.on('error', ignore);
  }

  /** Every octet was handed to the reader (or the body was destroyed): nothing to drain. */
  get settled(): boolean {
    return this.iterated || this.readableEnded || this.destroyed;
  }

  /** From the connection: the next unstuffed part (a view of a socket chunk). */
  feed(part: Buffer): void {
    if (this.discard) return;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w.resolve({ done: false, value: part });
      return;
    }
    if (this.pulling) {
      this.pulling = false;
      this.push(part);
      return;
    }
    this.parts.push(part);
    this.queued += part.length;
    this.host.held(part.length);
  }

  /** From the connection: the terminator arrived. */
  end(): void {
    this.complete = true;
    if (this.discard) return;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      this.finishIteration();
      w.resolve(DONE);
    } else if (this.pulling) {
      this.pulling = false;
      this.push(null);
    }
  }

  override _read(): void {
    while (this.first < this.parts.length) {
      if (!this.push(this.shift())) return;
    }
    if (this.complete) {
      this.push(null);
      return;
    }
    this.pulling = true;
    this.host.wantMore();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.discard = true;
    this.pulling = false;
    if (this.queued > 0) this.host.held(-this.queued);
    this.parts.length = 0;
    this.first = 0;
    this.queued = 0;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err ?? prematureClose());
    this.host.wantMore();
    cb(err);
  }

  override [Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    return {
      next: () => this.nextPart(),
      return: () => {
        // Leaving a for-await early discards the rest, as Node's stream iterator does.
        if (!this.iterated) this.destroy();
        this.iterated = true;
        return Promise.resolve(DONE);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  private nextPart(): Promise<IteratorResult<Buffer>> {
    if (this.iterated) return Promise.resolve(DONE);
    if (this.destroyed) {
      this.iterated = true;
      return Promise.reject(this.errored ?? prematureClose());
    }
    // Bytes a reader already pulled into the Readable's buffer come first.
    if (baseReadableLength.call(this) > 0)
      return Promise.resolve({ done: false, value: this.read() as Buffer });
    if (this.first < this.parts.length) return Promise.resolve({ done: false, value: this.shift() });
    if (this.complete) {
      this.finishIteration();
      return Promise.resolve(DONE);
    }
    if (this.waiter) return Promise.reject(new Error('concurrent next() on a message body'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.host.wantMore();
    });
  }

  /** The iterator took the last part: end the Readable the usual way ('end', then 'close'). */
  private finishIteration(): void {
    this.iterated = true;
    this.push(null);
    this.read();
  }

  private shift(): Buffer {
    const part = this.parts[this.first]!;
    this.parts[this.first++] = undefined as unknown as Buffer; // let the chunk go
    if (this.first === this.parts.length) {
      this.parts.length = 0;
      this.first = 0;
    }
    this.queued -= part.length;
    this.host.held(-part.length);
    return part;
  }
}

// readableLength counts the queued parts too: they are buffered like the Readable's own.
Object.defineProperty(BodyStream.prototype, 'readableLength', {
  configurable: true,
  get(this: BodyStream) {
    return baseReadableLength.call(this) + (this as unknown as { queued: number }).queued;
  },
});
