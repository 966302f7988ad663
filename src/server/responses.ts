import { decimalLength, writeDecimal } from '../protocol/bytes.js';
import { printable } from '../protocol/errors.js';

/** Response codes this server sends (RFC 2449 §8, RFC 3206). Never built from client input. */
export type RespCode = 'IN-USE' | 'LOGIN-DELAY' | 'SYS/TEMP' | 'SYS/PERM' | 'AUTH';

/** RFC 1939 §3: a status line is at most 512 octets, CRLF included. */
export const MAX_STATUS_LINE = 512;

/**
 * Text safe to put in a status line: control bytes escaped, anything outside printable ASCII
 * replaced, length capped, and never starting with `[`, which a client that saw RESP-CODES would
 * read as a response code (RFC 2449 §6.4, CONFORMANCE S13, adversarial server case 38).
 */
export function sanitizeText(text: string, max: number): string {
  let out = printable(text, max).replace(/[^\x20-\x7e]/g, '?');
  if (out.startsWith('[')) out = `(${out.slice(1)}`;
  return out.length > max ? out.slice(0, max) : out;
}

function statusLine(word: '+OK' | '-ERR', code: RespCode | undefined, text: string): Buffer {
  const prefix = code === undefined ? `${word}` : `${word} [${code}]`;
  const room = MAX_STATUS_LINE - 2 - prefix.length - 1;
  const body = sanitizeText(text, room);
  return Buffer.from(body === '' ? `${prefix}\r\n` : `${prefix} ${body}\r\n`, 'latin1');
}

/** `+OK text` CRLF. */
export function okLine(text = ''): Buffer {
  return statusLine('+OK', undefined, text);
}

/** `-ERR [code] text` CRLF. */
export function errLine(text: string, code?: RespCode): Buffer {
  return statusLine('-ERR', code, text);
}

/** One line of a multi-line reply (CAPA, LIST, UIDL): the caller guarantees it holds no CR or LF. */
export function dataLine(text: string): string {
  return text.startsWith('.') ? `.${text}\r\n` : `${text}\r\n`;
}

const RETR_OK = Buffer.from('+OK ', 'latin1');
const RETR_OCTETS = Buffer.from(' octets\r\n', 'latin1');

/** Length of RETR's status line, `+OK <octets> octets` CRLF. */
export function retrStatusLength(octets: number): number {
  return RETR_OK.length + decimalLength(octets) + RETR_OCTETS.length;
}

/** Writes RETR's status line at `at` (room: retrStatusLength) and returns where it ends. */
export function writeRetrStatus(buf: Buffer, at: number, octets: number): number {
  buf.set(RETR_OK, at);
  const end = writeDecimal(buf, at + RETR_OK.length, octets);
  buf.set(RETR_OCTETS, end);
  return end + RETR_OCTETS.length;
}

/** RETR's status line as a buffer of its own (for a message that is streamed). */
export function retrStatus(octets: number): Buffer {
  const line = Buffer.allocUnsafe(retrStatusLength(octets));
  writeRetrStatus(line, 0, octets);
  return line;
}
