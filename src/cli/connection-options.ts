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

/** An option as [flags, description], or one commander Option when it needs more (a parser). */
export type OptionSpec = readonly [string, string] | Option;

/** Add options under one heading of the help. */
export function addOptionGroup(cmd: Command, heading: string, options: readonly OptionSpec[]): void {
  for (const o of options)
    cmd.addOption((o instanceof Option ? o : new Option(o[0], o[1])).helpGroup(heading));
}

/** Add the connection, secret, TLS and trace options to a command, in help groups. */
export function addConnectionOptions(
  cmd: Command,
  opts: { json?: boolean; manyAccounts?: boolean } = {},
): Command {
  addOptionGroup(cmd, 'Connection:', [
    ['--host <host>', 'server host name or address'],
    ['--port <port>', 'server port (default 995 with implicit TLS, 110 otherwise)'],
    ['--user <name>', 'user name'],
    ['--tls <mode>', 'implicit (TLS from the start, default), starttls (STLS, required) or none (cleartext)'],
    ['--auth <mech>', 'login mechanism: USER, APOP, PLAIN, SCRAM-SHA-256, XOAUTH2, ... (default: best)'],
    opts.manyAccounts
      ? new Option('--account <name>', 'use [accounts.NAME] from the config file (repeatable)').argParser(
          (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
        )
      : ['--account <name>', 'use [accounts.NAME] from the config file'],
    ['--config <file>', 'config file (default $XDG_CONFIG_HOME/pop3kit/config.toml)'],
    ['--insecure-auth', 'allow sending a password or token over a connection without TLS'],
    ['--timeout <seconds>', 'deadline for connecting and for each reply (default 60)'],
  ]);
  addOptionGroup(cmd, 'Secrets (never on the command line):', [
    ['--password-file <file>', 'read the password from the first line of FILE'],
    ['--password-command <cmd>', 'run CMD with the shell; the password is its first output line'],
    ['--token-file <file>', 'read an OAuth access token from FILE'],
    ['--token-command <cmd>', 'run CMD with the shell; the token is its first output line'],
    ['--no-netrc', 'do not look in ~/.netrc'],
  ]);
  addOptionGroup(cmd, 'TLS:', [
    ['--ca-file <file>', 'trust the CA certificate(s) in this PEM file too'],
    ['--fingerprint <sha256:hex>', 'trust exactly this certificate (its SHA-256), e.g. a self-signed one'],
    ['--tls-min <version>', 'lowest TLS version: 1.2 (default) or 1.3'],
    ['--insecure-tls', 'DANGEROUS: do not verify the certificate (prints a warning)'],
  ]);
  const output: OptionSpec[] = [
    ['--trace', 'show the dialogue on stderr (C:/S: lines, times, TLS; secrets as ***)'],
    ['--trace-body', 'with --trace, show message bodies instead of their size'],
  ];
  if (opts.json) output.unshift(['--json', 'print JSON instead of text']);
  addOptionGroup(cmd, 'Output:', output);
  cmd.addHelpText(
    'after',
    '\nThe password comes from --password-file, --password-command, POP3_PASSWORD, the config,\n' +
      '~/.netrc, or a prompt on a terminal (tokens: --token-file, --token-command, POP3_TOKEN).\n' +
      'Exit codes: see pop3 --help.',
  );
  return cmd;
}
