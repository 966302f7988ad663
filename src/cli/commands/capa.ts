import type { Command } from 'commander';
import { addConnectionOptions, type ConnectFlags, splitUrl } from '../connection-args.js';
import { print, printJson } from '../output.js';
import { withSession } from '../session.js';

interface CapaFlags extends ConnectFlags {
  login?: boolean;
}

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
  cmd.action(async (url: string | undefined, flags: CapaFlags) => {
    const { url: u } = splitUrl([url]);
    await withSession(
      flags,
      u,
      async ({ client, target }) => {
        const caps = client.capabilities;
        const tls = client.tls;
        if (flags.json) {
          printJson({
            host: target.host,
            port: target.port,
            tls: tls ?? null,
            greeting: client.greeting,
            loggedIn: client.mechanism !== undefined,
            mechanism: client.mechanism ?? null,
            capabilities: caps.toJSON(),
          });
          return;
        }
        const lines = [`Server:   ${target.host}:${target.port}`];
        lines.push(
          tls
            ? `TLS:      ${tls.version} ${tls.cipher}, certificate CN=${tls.subject}\n          sha256:${tls.fingerprint256}`
            : 'TLS:      none (cleartext)',
        );
        if (client.greeting) lines.push(`Greeting: ${client.greeting}`);
        if (client.mechanism) lines.push(`Login:    ${client.mechanism}`);
        lines.push('Capabilities:');
        const names = caps.names;
        if (names.length === 0) lines.push('  (none: the server answered CAPA with -ERR)');
        for (const name of names) lines.push(`  ${[name, ...(caps.args(name) ?? [])].join(' ')}`);
        print(lines.join('\n'));
      },
      { login: flags.login ?? false },
    );
  });
}
