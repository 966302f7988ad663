import { Pop3Error, printable } from '../protocol/errors.js';

/**
 * The exit codes of `pop3`, stable and documented (README, `pop3 --help`). Numbers follow
 * sysexits(3), as mpop's do, where one fits; 79 (TLS) is ours.
 */
export const EXIT = {
  OK: 0,
  /** Not everything asked was done: some accounts or messages failed, or a confirmation was declined. */
  INCOMPLETE: 1,
  /** Bad command line, URL, option combination or argument (EX_USAGE). */
  USAGE: 64,
  /** The server answered -ERR to a command (no such message, ...) (EX_DATAERR). */
  SERVER: 65,
  /** Could not connect, the connection was lost, or a deadline passed (EX_UNAVAILABLE). */
  NETWORK: 69,
  /** A bug in pop3kit (EX_SOFTWARE). */
  INTERNAL: 70,
  /** The output could not be written: file, Maildir, mbox, delivery command (EX_CANTCREAT). */
  OUTPUT: 73,
  /** The server said to try later: [IN-USE], [LOGIN-DELAY], [SYS/TEMP] (EX_TEMPFAIL). */
  TEMPFAIL: 75,
  /** The server broke the protocol or exceeded a limit (EX_PROTOCOL). */
  PROTOCOL: 76,
  /** Authentication failed, or no usable login mechanism (EX_NOPERM). */
  AUTH: 77,
  /** The config file, a secret source (password file/command, netrc) or the users file is unusable (EX_CONFIG). */
  CONFIG: 78,
  /** TLS failed: handshake, certificate verification, pin mismatch, STLS missing, or a login refused without TLS. */
  TLS: 79,
  /** Interrupted by SIGINT (128 + 2, the shell's convention). */
  INTERRUPTED: 130,
  /** Terminated by SIGTERM (128 + 15). */
  TERMINATED: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The table printed by `pop3 --help` and kept in the README. */
export const EXIT_TABLE: ReadonlyArray<readonly [number, string]> = [
  [EXIT.OK, 'success'],
  [EXIT.INCOMPLETE, 'partly done: some messages or accounts failed, or a confirmation was declined'],
  [EXIT.USAGE, 'usage: bad command line, URL, option or argument'],
  [EXIT.SERVER, 'the server answered -ERR (e.g. no such message)'],
  [EXIT.NETWORK, 'network: cannot connect, connection lost, timed out'],
  [EXIT.INTERNAL, 'internal error (a bug: please report it)'],
  [EXIT.OUTPUT, 'cannot write the output (file, Maildir, mbox, MDA command)'],
  [EXIT.TEMPFAIL, 'the server said try later: [IN-USE], [LOGIN-DELAY], [SYS/TEMP]'],
  [EXIT.PROTOCOL, 'the server broke the protocol or a limit'],
  [EXIT.AUTH, 'authentication failed'],
  [EXIT.CONFIG, 'config file, secret source or users file unusable'],
  [EXIT.TLS, 'TLS failed (handshake, certificate, pin), or a login was refused without TLS'],
  [EXIT.INTERRUPTED, 'interrupted (Ctrl-C)'],
  [EXIT.TERMINATED, 'terminated (SIGTERM)'],
];

/** An error the CLI itself raises, carrying the exit code it ends with. Its message is shown as is. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const usageError = (message: string): CliError => new CliError(message, EXIT.USAGE);
export const configError = (message: string): CliError => new CliError(message, EXIT.CONFIG);

const TEMPORARY_CODES = new Set(['IN-USE', 'LOGIN-DELAY', 'SYS/TEMP']);
const NETWORK_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ETIMEDOUT',
]);

/** The exit code for a Pop3Error: the server's response code first (RFC 2449/3206), then ours. */
export function exitCodeForPop3Error(err: Pop3Error): ExitCode {
  const rc = err.responseCode?.toUpperCase();
  if (rc && TEMPORARY_CODES.has(rc)) return EXIT.TEMPFAIL;
  // A refused or unreachable TCP connection is a network failure even when it happened under
  // an implicit-TLS socket (which reports it as a TLS error).
  const errno = (err.cause as NodeJS.ErrnoException | undefined)?.code;
  if (errno && NETWORK_ERRNOS.has(errno)) return EXIT.NETWORK;
  switch (err.code) {
    case 'EARGUMENT':
      return EXIT.USAGE;
    case 'ESERVER':
    case 'ESTATE':
      return EXIT.SERVER;
    case 'ECONNECT':
    case 'ECLOSED':
    case 'ETIMEDOUT':
    case 'EABORT':
      return EXIT.NETWORK;
    case 'EPROTOCOL':
    case 'ELIMIT':
      return EXIT.PROTOCOL;
    case 'EAUTH':
      return EXIT.AUTH;
    case 'ETLS':
    case 'EINSECURE':
      return EXIT.TLS;
  }
  return EXIT.INTERNAL;
}

/** Local file system errors while writing output. */
const OUTPUT_ERRNOS = new Set([
  'EACCES',
  'EPERM',
  'ENOSPC',
  'EROFS',
  'EISDIR',
  'ENOTDIR',
  'EEXIST',
  'EDQUOT',
]);

/** The exit code and the one-line message for anything thrown out of a command. */
export function describeFailure(err: unknown): { exitCode: ExitCode; message: string; code?: string } {
  if (err instanceof CliError) return { exitCode: err.exitCode, message: err.message };
  if (err instanceof Pop3Error) {
    // The message may carry the server's text (a -ERR reply): escaped here, for every caller
    // (run's stderr line, fetch's per-account lines, the --json error objects).
    const rc = err.responseCode ? ` [${err.responseCode}]` : '';
    return {
      exitCode: exitCodeForPop3Error(err),
      message: printable(`${err.message}${rc}`, 600),
      code: err.code,
    };
  }
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof errno === 'string' && OUTPUT_ERRNOS.has(errno)) {
    return { exitCode: EXIT.OUTPUT, message: printable(String((err as Error).message), 400), code: errno };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { exitCode: EXIT.INTERNAL, message: `internal error: ${printable(message, 400)}` };
}
