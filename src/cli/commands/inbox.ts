import type { Command } from 'commander';
import { addConnectionOptions } from '../connection-options.js';
import { lazyAction } from '../lazy.js';

export function registerInbox(program: Command): void {
  const cmd = program
    .command('inbox')
    .summary('a table of the messages: number, size, date, from, subject')
    .argument('[url]', 'pop3s://user@host[:port]')
    .option('--last <n>', 'only the last N messages (the newest, usually)');
  addConnectionOptions(cmd, { json: true });
  cmd.addHelpText(
    'after',
    `
Headers are read with TOP n 0, sent together when the server offers PIPELINING. Subjects and
names are decoded (RFC 2047 words; UTF-8, GB2312/GBK, Big5, ISO-2022-JP, ...). Nothing is
downloaded in full and nothing is deleted.

Examples:
  pop3 inbox pop3s://alice@mail.example.com
  pop3 inbox --account work --last 20
  pop3 inbox --account work --json | jq '.[] | .subject'`,
  );
  cmd.action(lazyAction(() => import('../actions/inbox.js')));
}
