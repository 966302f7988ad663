import type { MessageSize, MessageUid } from '../../client/client.js';
import { parseMessageNumber } from '../arguments.js';
import type { ListingKind } from '../commands/listing.js';
import { splitUrl } from '../connection-args.js';
import type { ConnectFlags } from '../connection-options.js';
import { usageError } from '../exit-codes.js';
import { type Column, formatTable, print, printJson } from '../output.js';
import { withSession } from '../session.js';

type Entry = MessageSize | MessageUid;

/** The second column: the size (LIST) or the unique id (UIDL). */
const value = (e: Entry): string => ('octets' in e ? String(e.octets) : e.uid);

export async function run(
  kind: ListingKind,
  a: string | undefined,
  b: string | undefined,
  flags: ConnectFlags,
): Promise<void> {
  const { url, rest } = splitUrl([a, b]);
  if (rest.length > 1) throw usageError(`${kind} takes at most one message number`);
  const n = rest[0] === undefined ? undefined : parseMessageNumber(rest[0]);
  await withSession(flags, url, async ({ client }) => {
    if (n !== undefined) {
      const entry: Entry = kind === 'list' ? await client.list(n) : await client.uidl(n);
      if (flags.json) printJson(entry);
      else print(`${entry.n} ${value(entry)}`);
      return;
    }
    const entries: Entry[] = kind === 'list' ? await client.list() : await client.uidl();
    const second: Column<Entry> =
      kind === 'list' ? { header: 'octets', value, align: 'right' } : { header: 'uid', value };
    if (flags.json) printJson(entries);
    else if (entries.length === 0) print('no messages');
    else
      process.stdout.write(
        formatTable(entries, [{ header: '#', value: (e) => String(e.n), align: 'right' }, second]),
      );
  });
}
