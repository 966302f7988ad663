import { printable } from '../protocol/errors.js';
import { usageError } from './exit-codes.js';

/** A message number as typed: 1..2^31-1, decimal, no sign (RFC 1939 §5). */
export function parseMessageNumber(text: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text) || Number(text) > 0x7fffffff) {
    throw usageError(`"${printable(text, 30)}" is not a message number (1, 2, 3, ...)`);
  }
  return Number(text);
}

/** A whole number >= 0 for an option such as --last or TOP's line count. */
export function parseCount(text: string, what: string, max = 0x7fffffff): number {
  if (!/^(0|[1-9][0-9]{0,9})$/.test(text) || Number(text) > max) {
    throw usageError(`${what} must be a whole number from 0 to ${max}, not "${printable(text, 30)}"`);
  }
  return Number(text);
}
