import type { Command } from 'commander';
import { addConnectionOptions, type ConnectFlags, splitUrl } from '../connection-args.js';
import { humanSize, print, printJson } from '../output.js';
import { withSession } from '../session.js';

export function registerStat(program: Command): void {
  const cmd = program
    .command('stat')
    .summary('count the messages and their total size (STAT)')
    .argument('[url]', 'pop3s://user@host[:port]');
  addConnectionOptions(cmd, { json: true });
  cmd.addHelpText(
    'after',
    `
Examples:
  POP3_PASSWORD=... pop3 stat pop3s://alice@mail.example.com
  pop3 stat --account work --json          # {"count": 3, "octets": 12345}`,
  );
  cmd.action(async (url: string | undefined, flags: ConnectFlags) => {
    await withSession(flags, splitUrl([url]).url, async ({ client }) => {
      const stat = await client.stat();
      if (flags.json) printJson(stat);
      else
        print(
          `${stat.count} message${stat.count === 1 ? '' : 's'}, ${stat.octets} octets (${humanSize(stat.octets)})`,
        );
    });
  });
}
