// stdout target: messages written to a stream, as mboxrd (separable) or raw. A stream has no
// durable "delivered", so no state is kept unless asked; with state it is at-least-once like an MDA.
import type { Writable } from 'node:stream';
import { chunksOf, crlfToLf, type MessageSource } from '../../mailstore/io.js';
import { mboxrdQuote, mboxSeparator } from '../../mailstore/mbox-deliver.js';
import type { DeliveryContext, PreparedDelivery, Target } from './target.js';

export interface StdoutTargetOptions {
  format?: 'mboxrd' | 'raw';
  recordState?: boolean;
  stream?: Writable;
}

const LF = 0x0a;

export function stdoutTarget(opts: StdoutTargetOptions = {}): Target {
  const out = opts.stream ?? process.stdout;
  const mboxrd = (opts.format ?? 'mboxrd') === 'mboxrd';
  return {
    keepsState: opts.recordState ?? false,
    maildirs: [],
    async prepare(input: MessageSource, ctx: DeliveryContext): Promise<PreparedDelivery> {
      const source = withHead(input, ctx);
      return {
        intent: { kind: 'pipe' },
        failureIsCertain: false,
        async commit() {
          if (!mboxrd) {
            for await (const chunk of source) await write(out, chunk);
            return;
          }
          await write(out, Buffer.from(mboxSeparator(undefined, new Date(ctx.at)), 'latin1'));
          let last = LF;
          for await (const chunk of mboxrdQuote(crlfToLf(source))) {
            if (chunk.length === 0) continue;
            last = chunk[chunk.length - 1]!;
            await write(out, chunk);
          }
          await write(out, Buffer.from(last === LF ? '\n' : '\n\n'));
        },
        async discard() {},
        async cleanup() {},
      };
    },
  };
}

/** ctx.head, then the body's chunks, each counted (a stream is written at commit, not prepare). */
async function* withHead(source: MessageSource, ctx: DeliveryContext): AsyncGenerator<Buffer> {
  if (ctx.head) yield ctx.head;
  for await (const chunk of chunksOf(source)) {
    ctx.onBytes?.(chunk.length);
    yield chunk;
  }
}

/** Write one chunk; rejects if the stream fails. */
function write(out: Writable, chunk: Buffer): Promise<void> {
  // The callback fires once the sink took the chunk: waiting for it is the backpressure.
  return new Promise((resolve, reject) => {
    out.write(chunk, (err) => (err ? reject(err) : resolve()));
  });
}
