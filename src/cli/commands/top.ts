import type { Command } from 'commander';
import { addConnectionOptions } from '../connection-options.js';
import { lazyAction } from '../lazy.js';

export function registerTop(program: Command): void {
  const cmd = program
    .command('top')
    .summary("a message's headers and first lines of body (TOP)")
    .argument('<n>', 'message number')
    .argument('[lines]', 'body lines after the headers (default 0: headers only)')
    .argument('[url]', 'pop3s://user@host[:port]')
    .option('-o, --output <file>', 'write to FILE instead of stdout');
  addConnectionOptions(cmd, { json: true });
  cmd.addHelpText(
    'after',
    `
With --json the header fields are printed decoded (RFC 2047 words, legacy charsets), with
the decoded Subject, From and Date.

Examples:
  pop3 top 1 pop3s://alice@mail.example.com          # headers of message 1
  pop3 top 1 10 --account work                        # headers and 10 body lines
  pop3 top 1 --account work --json`,
  );
  cmd.action(lazyAction(() => import('../actions/top.js')));
}
