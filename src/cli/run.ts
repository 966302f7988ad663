import { CommanderError } from 'commander';
import { printable } from '../protocol/errors.js';
import { describeFailure, EXIT } from './exit-codes.js';
import { closeAllSessions } from './open-clients.js';
import { buildProgram } from './program.js';
import { installSignalHandlers } from './signals.js';

/** The option that must not exist, and why: said instead of "unknown option". */
function refuseSecretOnArgv(args: readonly string[]): string | undefined {
  for (const a of args) {
    if (a === '--') return undefined;
    if (/^--(password|token|pass)(=|$)/.test(a)) {
      const name = a.split('=')[0];
      return (
        `${name} does not exist: a secret on the command line can be read by other users (ps, /proc) ` +
        'and stays in shell history. Use POP3_PASSWORD / POP3_TOKEN, --password-file, --password-command, ' +
        '~/.netrc, or type it at the prompt.'
      );
    }
  }
  return undefined;
}

const HINTS: Record<string, string> = {
  EINSECURE: 'use TLS (pop3s:// or --tls starttls), or allow cleartext with --insecure-auth',
  ETLS: 'for a private CA use --ca-file FILE; for a self-signed certificate, --fingerprint sha256:...',
};

/** Run the CLI with these arguments (without node and the script); resolves to the exit code. */
export async function run(args: readonly string[]): Promise<number> {
  installSignalHandlers();
  // A closed pipe (pop3 ... | head) ends the program quietly, as for other Unix tools.
  // Any other write error (a full disk, EIO) is "cannot write the output": one line and 73, not an
  // uncaught exception. Sessions are dropped without QUIT, so nothing marked deleted is deleted.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    closeAllSessions();
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    process.stderr.write(
      `pop3: cannot write the output (stdout): ${err.code ?? printable(err.message, 200)}\n`,
    );
    process.exit(EXIT.OUTPUT);
  });
  const json = args.includes('--json');
  const refused = refuseSecretOnArgv(args);
  if (refused) {
    process.stderr.write(`pop3: ${refused}\n`);
    return EXIT.USAGE;
  }
  const program = buildProgram();
  try {
    await program.parseAsync([...args], { from: 'user' });
    return EXIT.OK;
  } catch (err) {
    closeAllSessions();
    if (err instanceof CommanderError) {
      // Help and --version end with code 0; any other commander error was a usage error, already printed.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const failure = describeFailure(err);
    const hint = failure.code ? HINTS[failure.code] : undefined;
    if (json) {
      process.stderr.write(
        `${JSON.stringify({ error: { message: failure.message, code: failure.code ?? null, exitCode: failure.exitCode } })}\n`,
      );
    } else {
      process.stderr.write(`pop3: ${printable(failure.message, 600)}\n`);
      if (hint) process.stderr.write(`pop3: hint: ${hint}\n`);
    }
    return failure.exitCode;
  }
}
