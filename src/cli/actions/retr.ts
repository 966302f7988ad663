import { createHash } from 'node:crypto';
import { parseMessageNumber } from '../arguments.js';
import { type BodyFlags, checkBodyFlags, requestBody, writeBody } from '../body-output.js';
import { splitUrl } from '../connection-args.js';
import type { ConnectFlags } from '../connection-options.js';
import { usageError } from '../exit-codes.js';
import { withSession } from '../session.js';

/** --json holds the message in memory (base64): bounded. */
const MAX_JSON_MESSAGE = 64 * 1024 * 1024;

export async function run(a: string, b: string | undefined, flags: ConnectFlags & BodyFlags): Promise<void> {
  const { url, rest } = splitUrl([a, b]);
  if (rest.length !== 1) throw usageError('retr takes exactly one message number');
  const n = parseMessageNumber(rest[0]!);
  checkBodyFlags(flags);
  await withSession(flags, url, async ({ client, tracer }) => {
    const body = await requestBody(tracer, () => client.retr(n));
    await writeBody(body, flags, MAX_JSON_MESSAGE, async (bytes) => {
      const { summarizeHeaders } = await import('../mime-headers.js'); // libmime: only --json decodes
      const h = summarizeHeaders(bytes);
      return {
        n,
        octets: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        subject: h.subject,
        from: h.from,
        fromAddress: h.fromAddress ?? null,
        date: h.date?.toISOString() ?? null,
        messageId: h.messageId ?? null,
        base64: bytes.toString('base64'),
      };
    });
  });
}
