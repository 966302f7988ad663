import type { Command } from 'commander';
import type { UsersFlags } from '../actions/users.js';

export function registerUsers(program: Command): void {
  const users = program
    .command('users')
    .summary('manage the users file of pop3 serve (passwords hashed, never echoed)');
  users
    .command('add')
    .description(
      'Add a user to a users file (created 0600 if missing). The password is asked twice on a\n' +
        'terminal, or read from the first line of stdin; it is never an argument.',
    )
    .argument('<name>', 'user name (also the Maildir folder name under serve --maildir)')
    .requiredOption('--users <file>', 'the users file')
    .option('--scheme <scheme>', `SCRYPT (default), SCRAM-SHA-256, SCRAM-SHA-1 or PLAIN`, 'SCRYPT')
    .option('--replace', 'replace the password of an existing user')
    .addHelpText(
      'after',
      `
Schemes: SCRYPT is the safest at rest (USER/PASS, PLAIN, LOGIN over TLS); SCRAM-SHA-256 also
allows SCRAM logins; PLAIN stores the password itself and is only needed for CRAM-MD5/APOP.

Examples:
  pop3 users add alice --users ./users
  printf '%s\\n' "$NEW_PASSWORD" | pop3 users add bob --users ./users --scheme SCRAM-SHA-256`,
    )
    .action(async (name: string, flags: UsersFlags) =>
      (await import('../actions/users.js')).add(name, flags),
    );
  users
    .command('hash')
    .description(
      'Print the {SCHEME}... field for a password (asked, or read from stdin), for a users file line.',
    )
    .option('--scheme <scheme>', 'SCRYPT (default), SCRAM-SHA-256, SCRAM-SHA-1 or PLAIN', 'SCRYPT')
    .addHelpText('after', `\nExample:\n  echo "alice:$(pop3 users hash)" >> users`)
    .action(async (flags: { scheme: string }) => (await import('../actions/users.js')).hash(flags));
}
