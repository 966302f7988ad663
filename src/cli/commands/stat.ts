import type { Command } from 'commander';
import { addConnectionOptions } from '../connection-options.js';
import { lazyAction } from '../lazy.js';

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
  cmd.action(lazyAction(() => import('../actions/stat.js')));
}
