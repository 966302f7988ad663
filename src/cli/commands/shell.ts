import type { Command } from 'commander';
import { addConnectionOptions } from '../connection-options.js';
import { lazyAction } from '../lazy.js';

export function registerShell(program: Command): void {
  const cmd = program
    .command('shell')
    .summary('an interactive POP3 session: type commands, see the replies')
    .argument('[url]', 'pop3s://user@host[:port]');
  addConnectionOptions(cmd);
  cmd.addHelpText(
    'after',
    `
pop3 connects, secures the connection and logs in for you, then reads POP3 commands (with
readline history, kept in $XDG_STATE_HOME/pop3kit/shell_history) and shows the server's
replies as they come, message bodies included. For learning the protocol and debugging servers.
Lines can also be piped in: printf 'STAT\\nLIST\\nQUIT\\n' | pop3 shell URL

Examples:
  pop3 shell pop3s://alice@mail.example.com
  pop3 shell --account work --trace      # also the full dialogue, with times, on stderr`,
  );
  cmd.action(lazyAction(() => import('../actions/shell.js')));
}
