import type { Command } from 'commander';
import { parseMessageNumber } from '../arguments.js';
import { addConnectionOptions, type ConnectFlags, splitUrl } from '../connection-args.js';
import { usageError } from '../exit-codes.js';
import { formatTable, print, printJson } from '../output.js';
import { withSession } from '../session.js';

export function registerList(program: Command): void {
  const cmd = program
    .command('list')
    .summary('message numbers and sizes (LIST)')
    .argument('[n]', 'only this message')
    .argument('[url]', 'pop3s://user@host[:port]');
  addConnectionOptions(cmd, { json: true });
  cmd.addHelpText(
    'after',
    `
Sizes are in octets as the server counts them (RFC 1939: line ends as CRLF).

Examples:
  pop3 list pop3s://alice@mail.example.com
  pop3 list 3 pop3s://alice@mail.example.com --json    # {"n": 3, "octets": 1204}`,
  );
  cmd.action(async (a: string | undefined, b: string | undefined, flags: ConnectFlags) => {
    const { url, rest } = splitUrl([a, b]);
    if (rest.length > 1) throw usageError('list takes at most one message number');
    const n = rest[0] === undefined ? undefined : parseMessageNumber(rest[0]);
    await withSession(flags, url, async ({ client }) => {
      if (n !== undefined) {
        const entry = await client.list(n);
        if (flags.json) printJson(entry);
        else print(`${entry.n} ${entry.octets}`);
        return;
      }
      const entries = await client.list();
      if (flags.json) printJson(entries);
      else if (entries.length === 0) print('no messages');
      else {
        process.stdout.write(
          formatTable(entries, [
            { header: '#', value: (e) => String(e.n), align: 'right' },
            { header: 'octets', value: (e) => String(e.octets), align: 'right' },
          ]),
        );
      }
    });
  });
}
