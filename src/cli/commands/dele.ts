import type { Command } from 'commander';
import { parseMessageNumber } from '../arguments.js';
import { addConnectionOptions, type ConnectFlags, splitUrl } from '../connection-args.js';
import { CliError, EXIT, usageError } from '../exit-codes.js';
import { fetchHeaders } from '../headers-fetch.js';
import { shortDate } from '../mime-headers.js';
import { formatTable, print, printJson } from '../output.js';
import { confirm } from '../prompt.js';
import { withSession } from '../session.js';

interface DeleFlags extends ConnectFlags {
  yes?: boolean;
}

export function registerDele(program: Command): void {
  const cmd = program
    .command('dele')
    .summary('delete messages (DELE, committed at QUIT; asks first)')
    .usage('[options] <n...> [url]')
    .argument('<n...>', 'message numbers, then optionally the URL')
    .option('-y, --yes', 'do not ask; needed when stdin is not a terminal');
  addConnectionOptions(cmd, { json: true });
  cmd.addHelpText(
    'after',
    `
All or nothing: every number is checked first; the messages are marked with DELE and the
server removes them only when it answers QUIT with +OK. If anything fails before that, the
connection is dropped without QUIT and nothing is deleted. On a terminal the messages are
shown (From, Subject) and you are asked; elsewhere --yes is required.

Examples:
  pop3 dele 1 2 pop3s://alice@mail.example.com
  pop3 dele 4 --account work --yes --json     # {"deleted": [4]}`,
  );
  cmd.action(async (args: string[], flags: DeleFlags) => {
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
      if (ask) {
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
        if (!(await confirm(`Delete ${numbers.length} message${s} from the server?`))) {
          throw new CliError('nothing deleted', EXIT.INCOMPLETE);
        }
      }
      await Promise.all(numbers.map((n) => client.dele(n)));
      await client.quit(); // the deletion happens here; an error means nothing was deleted
      if (flags.json) printJson({ deleted: numbers });
      else print(`deleted ${numbers.length} message${numbers.length === 1 ? '' : 's'}: ${numbers.join(' ')}`);
    });
  });
}
