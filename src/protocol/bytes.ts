/** Byte constants and tiny helpers shared by the codecs. */
export const CR = 0x0d;
export const LF = 0x0a;
export const DOT = 0x2e;
export const SP = 0x20;
export const CRLF = Buffer.from('\r\n');
export const DOT_CRLF = Buffer.from('.\r\n');

/** Empty buffer, shared so that hot paths allocate nothing for "no bytes". */
export const EMPTY = Buffer.alloc(0);

/** Decimal digits of a non-negative safe integer. */
export function decimalLength(value: number): number {
  let digits = 1;
  for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
  return digits;
}

/**
 * Writes a non-negative safe integer in decimal at `at` and returns where it ends: numbers go
 * on the wire without a string made for each (a listing of the whole maildrop makes none).
 */
export function writeDecimal(buf: Uint8Array, at: number, value: number): number {
  const end = at + decimalLength(value);
  let w = end;
  let v = value;
  do {
    buf[--w] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  } while (v > 0);
  return end;
}
