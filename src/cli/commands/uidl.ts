import type { Command } from 'commander';
import { parseMessageNumber } from '../arguments.js';
import { addConnectionOptions, type ConnectFlags, splitUrl } from '../connection-args.js';
import { usageError } from '../exit-codes.js';
import { formatTable, print, printJson } from '../output.js';
import { withSession } from '../session.js';

export function registerUidl(program: Command): void {
  const cmd = program
    .command('uidl')
    .summary('unique ids of the messages (UIDL)')
    .argument('[n]', 'only this message')
    .argument('[url]', 'pop3s://user@host[:port]');
  addConnectionOptions(cmd, { json: true });
  cmd.addHelpText(
    'after',
    `
A message's number changes between sessions; its unique id does not (RFC 1939 §7).

Examples:
  pop3 uidl pop3s://alice@mail.example.com
  pop3 uidl 1 --account work --json       # {"n": 1, "uid": "..."}`,
  );
  cmd.action(async (a: string | undefined, b: string | undefined, flags: ConnectFlags) => {
    const { url, rest } = splitUrl([a, b]);
    if (rest.length > 1) throw usageError('uidl takes at most one message number');
    const n = rest[0] === undefined ? undefined : parseMessageNumber(rest[0]);
    await withSession(flags, url, async ({ client }) => {
      if (n !== undefined) {
        const entry = await client.uidl(n);
        if (flags.json) printJson(entry);
        else print(`${entry.n} ${entry.uid}`);
        return;
      }
      const entries = await client.uidl();
      if (flags.json) printJson(entries);
      else if (entries.length === 0) print('no messages');
      else {
        process.stdout.write(
          formatTable(entries, [
            { header: '#', value: (e) => String(e.n), align: 'right' },
            { header: 'uid', value: (e) => e.uid },
          ]),
        );
      }
    });
  });
}
