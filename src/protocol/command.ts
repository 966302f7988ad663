import { Pop3Error } from './errors.js';

/** RFC 2449 §4: a command line, CRLF included, is at most 255 octets. */
export const MAX_COMMAND_LINE = 255;

const KEYWORD = /^[A-Za-z]{3,4}$/;
const FORBIDDEN = /[\r\n\0]/;

/** Commands whose arguments are secrets, and how many leading arguments stay visible. */
const SECRET_ARGS: Record<string, number> = { PASS: 0, APOP: 1, AUTH: 1 };

/**
 * The form of a command that may be shown: secret arguments replaced by `***`.
 * Used for traces, logs and error messages, so a secret never reaches any of them.
 */
export function redactCommand(keyword: string, args: readonly string[]): string {
  const upper = keyword.toUpperCase();
  const visible = SECRET_ARGS[upper];
  const shown =
    visible === undefined ? args : [...args.slice(0, visible), ...(args.length > visible ? ['***'] : [])];
  return [upper, ...shown].join(' ');
}

/**
 * Encode one command line. Rejects CR, LF and NUL in any argument (they would let an
 * argument smuggle a second command, CONFORMANCE C3) and lines over 255 octets. Errors
 * name the command, never the argument, which may be a password.
 */
export function encodeCommand(keyword: string, args: readonly string[] = []): Buffer {
  if (!KEYWORD.test(keyword)) {
    throw new Pop3Error(`invalid command keyword`, { code: 'EARGUMENT', command: redactCommand('?', []) });
  }
  // Checked for every argument before any other error, whose `command` would show them:
  // a CR/LF (an injected second command) must not reach the logs either.
  if (args.some((arg) => FORBIDDEN.test(arg))) {
    throw new Pop3Error(`${keyword.toUpperCase()}: argument contains CR, LF or NUL`, {
      code: 'EARGUMENT',
      command: [keyword.toUpperCase(), ...args.map(() => '***')].join(' '),
    });
  }
  const shown = redactCommand(keyword, args);
  if (args.some((arg) => arg.length === 0)) {
    throw new Pop3Error(`${keyword.toUpperCase()}: empty argument`, { code: 'EARGUMENT', command: shown });
  }
  const line = Buffer.from(`${[keyword.toUpperCase(), ...args].join(' ')}\r\n`, 'utf8');
  if (line.length > MAX_COMMAND_LINE) {
    throw new Pop3Error(`${keyword.toUpperCase()}: command longer than ${MAX_COMMAND_LINE} octets`, {
      code: 'EARGUMENT',
      command: shown,
    });
  }
  return line;
}

/** Encode a SASL continuation line (base64 text, `*` to cancel, or empty). Never shown in traces. */
export function encodeContinuation(text: string): Buffer {
  if (FORBIDDEN.test(text)) {
    throw new Pop3Error('SASL response contains CR, LF or NUL', { code: 'EARGUMENT', command: '***' });
  }
  return Buffer.from(`${text}\r\n`, 'latin1');
}
