// The options every connecting command shares, with their help text. Only commander is needed to
// define them, so `pop3 --help` and `pop3 <cmd> --help` load nothing else (see program.ts).

import { type Command, Option } from 'commander';

/** Option values common to every command that connects (commander's camelCase names). */
export interface ConnectFlags {
  host?: string;
  port?: string;
  user?: string;
  tls?: string;
  auth?: string;
  account?: string;
  config?: string;
  insecureAuth?: boolean;
  timeout?: string;
  passwordFile?: string;
  passwordCommand?: string;
  tokenFile?: string;
  tokenCommand?: string;
  netrc?: boolean;
  caFile?: string;
  fingerprint?: string;
  tlsMin?: string;
  insecureTls?: boolean;
  trace?: boolean;
  traceBody?: boolean;
  json?: boolean;
}

/** Add the connection, secret, TLS and trace options to a command, in help groups. */
export function addConnectionOptions(
  cmd: Command,
  opts: { json?: boolean; manyAccounts?: boolean } = {},
): Command {
  const group = (heading: string, options: Option[]) => {
    for (const o of options) cmd.addOption(o.helpGroup(heading));
  };
  group('Connection:', [
    new Option('--host <host>', 'server host name or address'),
    new Option('--port <port>', 'server port (default 995 with implicit TLS, 110 otherwise)'),
    new Option('--user <name>', 'user name'),
    new Option(
      '--tls <mode>',
      'implicit (TLS from the start, default), starttls (STLS, required) or none (cleartext)',
    ),
    new Option(
      '--auth <mech>',
      'login mechanism: USER, APOP, PLAIN, SCRAM-SHA-256, XOAUTH2, ... (default: best)',
    ),
    opts.manyAccounts
      ? new Option('--account <name>', 'use [accounts.NAME] from the config file (repeatable)').argParser(
          (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
        )
      : new Option('--account <name>', 'use [accounts.NAME] from the config file'),
    new Option('--config <file>', 'config file (default $XDG_CONFIG_HOME/pop3kit/config.toml)'),
    new Option('--insecure-auth', 'allow sending a password or token over a connection without TLS'),
    new Option('--timeout <seconds>', 'deadline for connecting and for each reply (default 60)'),
  ]);
  group('Secrets (never on the command line):', [
    new Option('--password-file <file>', 'read the password from the first line of FILE'),
    new Option('--password-command <cmd>', 'run CMD with the shell; the password is its first output line'),
    new Option('--token-file <file>', 'read an OAuth access token from FILE'),
    new Option('--token-command <cmd>', 'run CMD with the shell; the token is its first output line'),
    new Option('--no-netrc', 'do not look in ~/.netrc'),
  ]);
  group('TLS:', [
    new Option('--ca-file <file>', 'trust the CA certificate(s) in this PEM file too'),
    new Option(
      '--fingerprint <sha256:hex>',
      'trust exactly this certificate (its SHA-256), e.g. a self-signed one',
    ),
    new Option('--tls-min <version>', 'lowest TLS version: 1.2 (default) or 1.3'),
    new Option('--insecure-tls', 'DANGEROUS: do not verify the certificate (prints a warning)'),
  ]);
  const output = [
    new Option('--trace', 'show the dialogue on stderr (C:/S: lines, times, TLS; secrets as ***)'),
    new Option('--trace-body', 'with --trace, show message bodies instead of their size'),
  ];
  if (opts.json) output.unshift(new Option('--json', 'print JSON instead of text'));
  group('Output:', output);
  cmd.addHelpText(
    'after',
    '\nThe password comes from --password-file, --password-command, POP3_PASSWORD, the config,\n' +
      '~/.netrc, or a prompt on a terminal (tokens: --token-file, --token-command, POP3_TOKEN).\n' +
      'Exit codes: see pop3 --help.',
  );
  return cmd;
}
