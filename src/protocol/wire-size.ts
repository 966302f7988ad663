// The wire form of a stored message (the rule DotEncoder sends and every store counts by):
// every LF not preceded by CR becomes CRLF, a bare CR stays as it is, and CRLF is appended
// when the stored bytes do not end with LF (an empty file therefore becomes one CRLF).
// Its length, before dot-stuffing, is the size LIST and STAT report (RFC 1939 §11).

const CR = 0x0d;
const LF = 0x0a;

/** Counts wire octets over a stream of chunks; a CR at the end of one chunk pairs with an LF that starts the next. */
export class WireSizeCounter {
  #raw = 0;
  #bareLf = 0;
  #last = -1;

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    let prev = this.#last;
    let bare = 0;
    // indexOf over the chunk keeps this fast for long lines.
    let i = chunk.indexOf(LF);
    while (i !== -1) {
      const before = i === 0 ? prev : chunk[i - 1]!;
      if (before !== CR) bare++;
      i = chunk.indexOf(LF, i + 1);
    }
    prev = chunk[n - 1]!;
    this.#bareLf += bare;
    this.#raw += n;
    this.#last = prev;
  }

  /** Stored bytes seen so far. */
  get bytes(): number {
    return this.#raw;
  }

  /** Wire octets of everything pushed so far, as if the input ended here. */
  get octets(): number {
    return this.#raw + this.#bareLf + (this.#last === LF ? 0 : 2);
  }
}

/**
 * The most wire octets `bytes` stored octets can make (each an LF that gains a CR, and a CRLF at the
 * end): a size claimed beyond it is not this message's.
 */
export function maxWireOctets(bytes: number): number {
  return 2 * bytes + 2;
}

/** Wire octets of a message given as one buffer or a sequence of chunks. */
export function wireOctets(chunks: Uint8Array | Iterable<Uint8Array>): number {
  const counter = new WireSizeCounter();
  if (chunks instanceof Uint8Array) counter.push(chunks);
  else for (const chunk of chunks) counter.push(chunk);
  return counter.octets;
}

/** Wire octets and stored size of a streamed message (a Readable or any async iterable of bytes). */
export async function wireOctetsOfStream(
  source: AsyncIterable<Uint8Array | string>,
): Promise<{ bytes: number; octets: number }> {
  const counter = new WireSizeCounter();
  for await (const chunk of source) counter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return { bytes: counter.bytes, octets: counter.octets };
}

/** The wire form itself, built in memory: the reference the counter is tested against. */
export function toWireForm(stored: Uint8Array): Buffer {
  const out: number[] = [];
  for (let i = 0; i < stored.length; i++) {
    const b = stored[i]!;
    if (b === LF && (i === 0 || stored[i - 1] !== CR)) out.push(CR);
    out.push(b);
  }
  if (stored.length === 0 || stored[stored.length - 1] !== LF) out.push(CR, LF);
  return Buffer.from(out);
}
