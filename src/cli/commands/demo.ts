import type { Command } from 'commander';
import { lazyAction } from '../lazy.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .summary('see POP3 on the wire: a server on loopback, a session, inbox and fetch')
    .description(
      'Needs no account and no network beyond loopback. Starts the embedded server on 127.0.0.1\n' +
        'with an in-memory demo mailbox and a throwaway self-signed certificate (made in-process),\n' +
        "then runs the notes' session (USER, PASS, STAT, LIST, UIDL 1, RETR 3, QUIT) over STLS with\n" +
        'the dialogue shown, prints the inbox table, and fetches everything into ./pop3-demo/Maildir.',
    )
    .option('--dir <dir>', 'where the fetched mail goes', 'pop3-demo')
    .addHelpText('after', '\nExample:\n  npx pop3 demo && ls pop3-demo/Maildir/new')
    .action(lazyAction(() => import('../actions/demo.js')));
}
