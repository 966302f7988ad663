import type { Pop3Client } from '../../client/client.js';
import { parseMessageNumber } from '../arguments.js';
import { splitUrl } from '../connection-args.js';
import type { ConnectFlags } from '../connection-options.js';
import { CliError, EXIT, usageError } from '../exit-codes.js';
import { formatTable, print, printJson } from '../output.js';
import { confirm } from '../prompt.js';
import { withSession } from '../session.js';
import type { Tracer } from '../trace.js';

interface DeleFlags extends ConnectFlags {
  yes?: boolean;
}

/** Show the messages (date, From, Subject) on stderr and ask. Decoding headers needs libmime: loaded here. */
async function confirmDeletion(
  client: Pop3Client,
  numbers: number[],
  tracer: Tracer | undefined,
): Promise<boolean> {
  const [{ fetchHeaders }, { shortDate }] = await Promise.all([
    import('../headers-fetch.js'),
    import('../mime-headers.js'),
  ]);
  const headers = await fetchHeaders(client, numbers, tracer, 32);
  const rows = numbers.map((n, i) => ({ n, h: headers[i] }));
  process.stderr.write(
    formatTable(rows, [
      { header: '#', value: (r) => String(r.n), align: 'right' },
      { header: 'date', value: (r) => shortDate(r.h?.date) },
      { header: 'from', value: (r) => r.h?.from ?? '', max: 28 },
      { header: 'subject', value: (r) => r.h?.subject ?? '', max: 60 },
    ]),
  );
  const s = numbers.length === 1 ? '' : 's';
  return confirm(`Delete ${numbers.length} message${s} from the server?`);
}

export async function run(args: string[], flags: DeleFlags): Promise<void> {
  const { url, rest } = splitUrl(args);
  if (rest.length === 0) throw usageError('dele needs at least one message number');
  const numbers = [...new Set(rest.map(parseMessageNumber))];
  const ask = !flags.yes;
  if (ask && !process.stdin.isTTY) {
    throw usageError('not a terminal, so cannot ask: add --yes to delete without asking');
  }
  await withSession(flags, url, async ({ client, tracer }) => {
    const listed = new Map((await client.list()).map((e) => [e.n, e.octets]));
    const missing = numbers.filter((n) => !listed.has(n));
    if (missing.length) {
      throw new CliError(`no message ${missing.join(', ')} on the server; nothing deleted`, EXIT.SERVER);
    }
    if (ask && !(await confirmDeletion(client, numbers, tracer))) {
      throw new CliError('nothing deleted', EXIT.INCOMPLETE);
    }
    await Promise.all(numbers.map((n) => client.dele(n)));
    await client.quit(); // the deletion happens here; an error means nothing was deleted
    if (flags.json) printJson({ deleted: numbers });
    else print(`deleted ${numbers.length} message${numbers.length === 1 ? '' : 's'}: ${numbers.join(' ')}`);
  });
}
