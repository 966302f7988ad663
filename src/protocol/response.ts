import { Pop3Error, printable } from './errors.js';

/** A parsed status line: the first line of every POP3 reply. */
export interface StatusLine {
  ok: boolean;
  /** RFC 2449 §8 / RFC 3206 response code (e.g. `IN-USE`, `SYS/TEMP`), upper-cased. */
  code: string | undefined;
  /** The human-readable text after the status word and code. */
  text: string;
}

const PLUS_OK = Buffer.from('+OK');
const MINUS_ERR = Buffer.from('-ERR');
const SP = 0x20;
/** A response code is `atom *("/" atom)`; bounded so a hostile reply cannot make it large. */
const RESP_CODE = /^[A-Za-z0-9-]{1,40}(?:\/[A-Za-z0-9-]{1,40}){0,4}$/;

function startsWithWord(line: Buffer, word: Buffer): boolean {
  if (line.length < word.length || !line.subarray(0, word.length).equals(word)) return false;
  return line.length === word.length || line[word.length] === SP;
}

/**
 * Parse a status line (without its CRLF). Only `+OK` and `-ERR`, exactly so and followed
 * by a space or the end of the line, are status words (RFC 1939 §3, CONFORMANCE C1).
 * Response codes are read only when the server advertised RESP-CODES or AUTH-RESP-CODE:
 * otherwise a `[` in the text is just text (RFC 2449 §8).
 */
export function parseStatusLine(line: Buffer, opts: { responseCodes: boolean }): StatusLine {
  let ok: boolean;
  let rest: Buffer;
  if (startsWithWord(line, PLUS_OK)) {
    ok = true;
    rest = line.subarray(PLUS_OK.length + 1);
  } else if (startsWithWord(line, MINUS_ERR)) {
    ok = false;
    rest = line.subarray(MINUS_ERR.length + 1);
  } else {
    throw new Pop3Error(`malformed status line: "${printable(line.toString('latin1'), 80)}"`, {
      code: 'EPROTOCOL',
    });
  }
  let text = rest.toString('utf8');
  let code: string | undefined;
  if (opts.responseCodes && text.startsWith('[')) {
    const close = text.indexOf(']');
    const candidate = close > 0 ? text.slice(1, close) : '';
    if (RESP_CODE.test(candidate)) {
      code = candidate.toUpperCase();
      text = text.slice(close + 1).trimStart();
    }
  }
  return { ok, code, text };
}

/** Is this line a SASL continuation (`+` then a space or the end, RFC 5034 §4)? */
export function isContinuation(line: Buffer): boolean {
  return line[0] === 0x2b && (line.length === 1 || line[1] === SP);
}

/** The base64 text of a continuation line (may be empty). */
export function continuationPayload(line: Buffer): string {
  return line.subarray(2).toString('latin1').trim();
}
