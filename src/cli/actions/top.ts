import { parseCount, parseMessageNumber } from '../arguments.js';
import { type BodyFlags, checkBodyFlags, requestBody, writeBody } from '../body-output.js';
import { splitUrl } from '../connection-args.js';
import type { ConnectFlags } from '../connection-options.js';
import { usageError } from '../exit-codes.js';
import { withSession } from '../session.js';

const MAX_JSON_TOP = 16 * 1024 * 1024;

export async function run(
  a: string,
  b: string | undefined,
  c: string | undefined,
  flags: ConnectFlags & BodyFlags,
): Promise<void> {
  const { url, rest } = splitUrl([a, b, c]);
  if (rest.length < 1 || rest.length > 2) throw usageError('top takes a message number and a line count');
  const n = parseMessageNumber(rest[0]!);
  const lines = rest[1] === undefined ? 0 : parseCount(rest[1], 'the line count');
  checkBodyFlags(flags);
  await withSession(flags, url, async ({ client, tracer }) => {
    const body = await requestBody(tracer, () => client.top(n, lines));
    await writeBody(body, flags, MAX_JSON_TOP, async (bytes) => {
      const { decodeHeaderValue, parseHeaderBlock, summarizeHeaders } = await import('../mime-headers.js');
      const fields = parseHeaderBlock(bytes);
      const h = summarizeHeaders(bytes);
      return {
        n,
        lines,
        octets: bytes.length,
        subject: h.subject,
        from: h.from,
        fromAddress: h.fromAddress ?? null,
        date: h.date?.toISOString() ?? null,
        headers: fields.map((f) => ({ name: f.name, value: decodeHeaderValue(f.raw) })),
      };
    });
  });
}
