import type { Command } from 'commander';
import { addConnectionOptions } from '../connection-options.js';
import { lazyAction } from '../lazy.js';

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
  cmd.action(lazyAction(() => import('../actions/dele.js')));
}
