// Headers of many messages with TOP n 0, pipelined (the client sends them together when the
// server offers PIPELINING), each capped so a hostile header block cannot fill memory.

import type { Pop3Client } from '../client/client.js';
import { Pop3Error } from '../protocol/errors.js';
import { requestBody } from './body-output.js';
import { mapLimit } from './concurrency.js';
import { CliError, EXIT } from './exit-codes.js';
import { type HeaderSummary, summarizeHeaders } from './mime-headers.js';
import type { Tracer } from './trace.js';

const MAX_HEADER_BLOCK = 256 * 1024;

async function readHead(body: AsyncIterable<Buffer> & { destroy?: () => void }): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    parts.push(Buffer.from(chunk));
    size += chunk.length;
    if (size >= MAX_HEADER_BLOCK) {
      body.destroy?.(); // the client drains the rest to keep the wire in step
      break;
    }
  }
  return Buffer.concat(parts).subarray(0, MAX_HEADER_BLOCK);
}

/** TOP n 0 for each number; a message the server refuses gets `undefined`. */
export async function fetchHeaders(
  client: Pop3Client,
  numbers: readonly number[],
  tracer: Tracer | undefined,
  window: number,
): Promise<(HeaderSummary | undefined)[]> {
  const caps = client.capabilities;
  if (caps.names.length > 0 && !caps.has('TOP')) {
    throw new CliError('the server does not offer TOP, which this command needs', EXIT.SERVER);
  }
  return mapLimit(numbers, window, async (n) => {
    try {
      const body = await requestBody(tracer, () => client.top(n, 0));
      return summarizeHeaders(await readHead(body));
    } catch (err) {
      if (err instanceof Pop3Error && err.code === 'ESERVER') return undefined;
      throw err;
    }
  });
}
