import { Pop3Error, printable } from './errors.js';

/** A parsed status line: the first line of every POP3 reply. */
export interface StatusLine {
  ok: boolean;
  /** RFC 2449 §8 / RFC 3206 response code (e.g. `IN-USE`, `SYS/TEMP`), upper-cased. */
  code: string | undefined;
  /** The human-readable text after the status word and code. */
  text: string;
}

const SP = 0x20;
/** A response code is `atom *("/" atom)`; bounded so a hostile reply cannot make it large. */
const RESP_CODE = /^[A-Za-z0-9-]{1,40}(?:\/[A-Za-z0-9-]{1,40}){0,4}$/;

/** Length of the status word `line` starts with (`+OK` or `-ERR`, then a space or the end), or 0. */
function statusWord(line: Buffer): number {
  const len = line[0] === 0x2b ? 3 : line[0] === 0x2d ? 4 : 0;
  if (len === 0 || line.length < len || (line.length > len && line[len] !== SP)) return 0;
  if (len === 3) return line[1] === 0x4f && line[2] === 0x4b ? 3 : 0; // "OK"
  return line[1] === 0x45 && line[2] === 0x52 && line[3] === 0x52 ? 4 : 0; // "ERR"
}

/**
 * Parse a status line (without its CRLF). Only `+OK` and `-ERR`, exactly so and followed
 * by a space or the end of the line, are status words (RFC 1939 §3, CONFORMANCE C1).
 * Response codes are read only when the server advertised RESP-CODES or AUTH-RESP-CODE:
 * otherwise a `[` in the text is just text (RFC 2449 §8).
 */
export function parseStatusLine(line: Buffer, opts: { responseCodes: boolean }): StatusLine {
  const word = statusWord(line);
  if (word === 0) {
    throw new Pop3Error(`malformed status line: "${printable(line.toString('latin1'), 80)}"`, {
      code: 'EPROTOCOL',
    });
  }
  const ok = word === 3;
  let text = line.length > word + 1 ? line.toString('utf8', word + 1) : '';
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
