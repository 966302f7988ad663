import type { Pop3Client } from '../../client/client.js';
import { Pop3Error } from '../../protocol/errors.js';
import { parseCount } from '../arguments.js';
import { splitUrl } from '../connection-args.js';
import type { ConnectFlags } from '../connection-options.js';
import { usageError } from '../exit-codes.js';
import { fetchHeaders } from '../headers-fetch.js';
import type { HeaderSummary } from '../mime-headers.js';
import { shortDate } from '../mime-headers.js';
import { formatTable, humanSize, print, printJson } from '../output.js';
import { withSession } from '../session.js';
import type { Tracer } from '../trace.js';

interface InboxFlags extends ConnectFlags {
  last?: string;
}

export interface InboxRow {
  n: number;
  octets: number;
  uid: string | null;
  date: string | null;
  from: string;
  fromAddress: string | null;
  subject: string;
  messageId: string | null;
}

async function uidsIfOffered(client: Pop3Client): Promise<Map<number, string>> {
  const caps = client.capabilities;
  if (caps.names.length > 0 && !caps.has('UIDL')) return new Map();
  try {
    return new Map((await client.uidl()).map((e) => [e.n, e.uid]));
  } catch (err) {
    if (err instanceof Pop3Error && err.code === 'ESERVER') return new Map();
    throw err;
  }
}

/** LIST, UIDL and pipelined TOP n 0: the rows of the inbox table. */
export async function inboxRows(
  client: Pop3Client,
  tracer: Tracer | undefined,
  opts: { last?: number; window?: number } = {},
): Promise<InboxRow[]> {
  const sizes = await client.list();
  const chosen = opts.last === undefined ? sizes : sizes.slice(Math.max(0, sizes.length - opts.last));
  const uids = await uidsIfOffered(client);
  const headers: (HeaderSummary | undefined)[] = await fetchHeaders(
    client,
    chosen.map((e) => e.n),
    tracer,
    opts.window ?? 32,
  );
  return chosen.map((e, i) => {
    const h = headers[i];
    return {
      n: e.n,
      octets: e.octets,
      uid: uids.get(e.n) ?? null,
      date: h?.date?.toISOString() ?? null,
      from: h?.from ?? '',
      fromAddress: h?.fromAddress ?? null,
      subject: h?.subject ?? '',
      messageId: h?.messageId ?? null,
    };
  });
}

export function formatInbox(rows: readonly InboxRow[], width = process.stdout.columns || 120): string {
  if (rows.length === 0) return 'no messages\n';
  const subjectWidth = Math.max(20, width - 4 - 9 - 16 - 24 - 8);
  return formatTable(rows, [
    { header: '#', value: (r) => String(r.n), align: 'right' },
    { header: 'size', value: (r) => humanSize(r.octets), align: 'right' },
    { header: 'date', value: (r) => shortDate(r.date ? new Date(r.date) : undefined) },
    { header: 'from', value: (r) => r.from, max: 24 },
    { header: 'subject', value: (r) => r.subject, max: subjectWidth },
  ]);
}

export async function run(url: string | undefined, flags: InboxFlags): Promise<void> {
  const { url: u, rest } = splitUrl([url]);
  if (rest.length) throw usageError('inbox takes no message numbers (see --last)');
  const last = flags.last === undefined ? undefined : parseCount(flags.last, '--last');
  await withSession(flags, u, async ({ client, tracer }) => {
    const rows = await inboxRows(client, tracer, {
      ...(last !== undefined ? { last } : {}),
      window: flags.traceBody ? 1 : 32,
    });
    if (flags.json) printJson(rows);
    else print(formatInbox(rows));
  });
}
