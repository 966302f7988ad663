import type { Command } from 'commander';
import { addConnectionOptions } from '../connection-options.js';
import { lazyAction } from '../lazy.js';

export function registerRetr(program: Command): void {
  const cmd = program
    .command('retr')
    .summary('write one message, byte for byte, to stdout or a file (RETR)')
    .argument('<n>', 'message number')
    .argument('[url]', 'pop3s://user@host[:port]')
    .option('-o, --output <file>', 'write to FILE (via a temporary file, renamed when complete)');
  addConnectionOptions(cmd, { json: true });
  cmd.addHelpText(
    'after',
    `
The message is written exactly as stored (dot-unstuffed, CRLF line ends as sent). Nothing is
deleted. With --json: number, size, sha256, decoded Subject/From/Date, and the bytes in base64
(up to 64 MiB).

Examples:
  pop3 retr 3 pop3s://alice@mail.example.com > message.eml
  pop3 retr 3 --account work -o message.eml --trace`,
  );
  cmd.action(lazyAction(() => import('../actions/retr.js')));
}
