import type { Command } from 'commander';
import { addConnectionOptions } from '../connection-options.js';
import { lazyAction } from '../lazy.js';

export function registerCapa(program: Command): void {
  const cmd = program
    .command('capa')
    .summary('show what the server offers (CAPA), its TLS and greeting')
    .description(
      'Connect, secure the connection as asked, and print the server capabilities (RFC 2449 CAPA),\n' +
        'the TLS version, cipher and certificate, and the greeting. Needs no password unless\n' +
        '--login is given: some servers (Dovecot among them) list more after login.',
    )
    .argument('[url]', 'pop3s://[user@]host[:port] or pop3://... (STLS)')
    .option('--login', 'log in first and show the capabilities offered after login');
  addConnectionOptions(cmd, { json: true });
  cmd.addHelpText(
    'after',
    `
Examples:
  pop3 capa pop3s://mail.example.com
  pop3 capa pop3://mail.example.com --trace         # STLS, with the dialogue on stderr
  pop3 capa pop3s://alice@mail.example.com --login --json`,
  );
  cmd.action(lazyAction(() => import('../actions/capa.js')));
}
