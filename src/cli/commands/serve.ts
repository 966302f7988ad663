import type { Command } from 'commander';
import { lazyAction } from '../lazy.js';

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .summary('run a POP3 server over a Maildir root and a users file')
    .requiredOption(
      '--maildir <root>',
      "the mail: ROOT/<user>/ is each user's Maildir (created on first login)",
    )
    .requiredOption('--users <file>', 'users file: user:{SCHEME}secret lines (see pop3 users add)')
    .option('--tls-key <file>', 'TLS private key (PEM)')
    .option('--tls-cert <file>', 'TLS certificate chain (PEM)')
    .option('--host <address>', 'address to listen on (0.0.0.0 or :: for all)', '127.0.0.1')
    .option('--port <n|off>', 'plain port, with STLS when TLS is configured', '110')
    .option('--tls-port <n|off>', 'implicit-TLS port, e.g. 995 (needs --tls-key/--tls-cert)')
    .option('--no-stls', 'do not offer STLS on the plain port')
    .option('--allow-insecure-auth', 'accept passwords without TLS (tests and closed networks only)')
    .option('--hostname <name>', 'name in the greeting (default: this host name)')
    .option('--max-connections <n>', 'connections in total (default 1000)')
    .option('--max-per-address <n>', 'connections from one address (default 50)')
    .option('--idle-timeout <seconds>', 'autologout after this much silence (RFC 1939: at least 600)')
    .option('--login-delay <seconds>', 'advertise and enforce LOGIN-DELAY (RFC 2449)')
    .option('--expire <days|NEVER>', 'advertise EXPIRE (informational: nothing is expired)')
    .option('--log-format <format>', 'json or pretty (default: pretty on a terminal, else json)')
    .option('--log-level <level>', 'debug, info, warn or error', 'info');
  cmd.addHelpText(
    'after',
    `
Logs go to stderr. SIGINT or SIGTERM stops the server gracefully: listeners close, each
session ends after its current command (without UPDATE unless that command was QUIT), and
sessions still open after 10 s are dropped. Passwords never reach the log.

Examples:
  pop3 users add alice --users /etc/pop3kit/users            # asks for the password
  pop3 serve --maildir /srv/mail --users /etc/pop3kit/users \\
      --tls-key key.pem --tls-cert cert.pem --host 0.0.0.0 --port 110 --tls-port 995
  pop3 serve --maildir ./mail --users ./users --port 1110 --allow-insecure-auth   # local testing`,
  );
  cmd.action(lazyAction(() => import('../actions/serve.js')));
}
