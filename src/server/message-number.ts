/** A message number: `[1-9][0-9]*`, no sign, no leading zero, at most 10 digits (RFC 1939 §3 "msg"). */
const MSG = /^[1-9][0-9]{0,9}$/;
/** A TOP line count: a non-negative decimal without sign or leading zero. */
const LINES = /^(?:0|[1-9][0-9]{0,15})$/;

/** The number, or undefined for anything else (`0`, `-1`, `+1`, `01`, `1x`, 10^11: case 25). */
export function parseMessageNumber(arg: string | undefined): number | undefined {
  return arg !== undefined && MSG.test(arg) ? Number(arg) : undefined;
}

/** The TOP line count, or undefined when malformed or negative. Huge counts mean "the whole body". */
export function parseLineCount(arg: string | undefined): number | undefined {
  return arg !== undefined && LINES.test(arg) ? Number(arg) : undefined;
}
