import { EXIT_TABLE } from './exit-codes.js';

export const PROGRAM_DESCRIPTION =
  'POP3 from the command line: look at a mailbox, fetch new mail exactly once, run a server.';

const EXIT_LINES = EXIT_TABLE.map(([code, text]) => `  ${String(code).padStart(3)}  ${text}`).join('\n');

export const PROGRAM_AFTER = `
Connecting: a URL (RFC 2384) names the server and the user:
  pop3s://user@host[:port]          TLS from the start (port 995)
  pop3://user@host[:port]           STLS, required (port 110); --tls none for cleartext
  pop3://user;AUTH=SCRAM-SHA-256@host   a login mechanism (;AUTH=+APOP for APOP)
Or --host/--port/--user/--tls/--auth, or --account NAME from the config file.

Secrets are never taken from the command line (other users can read it with ps, and it ends
up in shell history), so there is no --password option. In order, pop3 uses:
  --password-file FILE, --password-command CMD (first line of its output, like mpop's
  passwordeval), POP3_PASSWORD, password_file / password_command in the config, ~/.netrc,
  and finally a prompt without echo when stdin is a terminal.
  OAuth access tokens the same way: --token-file, --token-command, POP3_TOKEN (--auth XOAUTH2
  or OAUTHBEARER).

TLS is verified against the system's CAs. --ca-file adds a CA; --fingerprint sha256:... trusts
exactly one certificate (see it with pop3 capa --trace). A password is never sent without TLS
unless --insecure-auth is given.

Config file ($XDG_CONFIG_HOME/pop3kit/config.toml, or --config FILE):
  default = "work"
  [accounts.work]
  url = "pop3s://alice@mail.example.com"
  password_command = "pass show mail/work"
  maildir = "~/Mail/work"          # pop3 fetch target (or mbox = "...", mda = "procmail")
  delete_after_days = 30

Exit codes:
${EXIT_LINES}

Examples:
  npx pop3 demo                                   # see it all on loopback, no account needed
  pop3 inbox pop3s://alice@mail.example.com
  pop3 retr 3 pop3s://alice@mail.example.com > 3.eml
  pop3 fetch --account work --delete
  pop3 serve --maildir /srv/mail --users users.txt --tls-key key.pem --tls-cert cert.pem`;
