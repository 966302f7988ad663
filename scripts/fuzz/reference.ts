/**
 * Reference models of the wire codec: written for obviousness, not speed, and working on
 * whole inputs only. The fuzzer and the unit tests compare the streaming codecs to them.
 */
const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** The message as sent (RFC 1939 §11): bare LF becomes CRLF; a final CRLF is added if missing (also to an empty message). */
export function wireForm(message: Uint8Array): Buffer {
  const out: number[] = [];
  for (let i = 0; i < message.length; i++) {
    const b = message[i]!;
    if (b === LF && (i === 0 || message[i - 1] !== CR)) out.push(CR);
    out.push(b);
  }
  if (message.length === 0 || message[message.length - 1] !== LF) out.push(CR, LF);
  return Buffer.from(out);
}

/** Dot-stuff a wire-form body (W4): a '.' starting a line gets another '.' in front of it. */
export function stuff(wire: Uint8Array): Buffer {
  const out: number[] = [];
  for (let i = 0; i < wire.length; i++) {
    if (wire[i] === DOT && (i === 0 || wire[i - 1] === LF)) out.push(DOT);
    out.push(wire[i]!);
  }
  return Buffer.from(out);
}

/** What DotEncoder must send for a stored message: stuffed wire form, then ".CRLF". */
export function encodeReference(message: Uint8Array): Buffer {
  return Buffer.concat([stuff(wireForm(message)), Buffer.from('.\r\n')]);
}

export interface RefDecode {
  body: Buffer;
  done: boolean;
  rest: Buffer;
  /** A limit was crossed: the decoder must throw ELIMIT. */
  limit: boolean;
}

/**
 * Unstuff a received multi-line body (W4, C4). Lines end at CRLF only; at a line start
 * ".CRLF" ends the body, and any other '.' is dropped. Line length counts wire octets
 * (the stuffed dot and the CRLF included); the total counts unstuffed octets.
 */
export function decodeReference(
  input: Uint8Array,
  limits: { maxLineLength?: number; maxBytes?: number } = {},
): RefDecode {
  const maxLine = limits.maxLineLength ?? Number.POSITIVE_INFINITY;
  const maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
  const body: number[] = [];
  let limit = false;
  let i = 0;
  while (i < input.length) {
    // i is at a line start
    if (input[i] === DOT && input[i + 1] === CR && input[i + 2] === LF) {
      return { body: Buffer.from(body), done: true, rest: Buffer.from(input.subarray(i + 3)), limit };
    }
    // ".CR" at the very end may yet be the terminator: the CR is held back, not emitted.
    if (input[i] === DOT && input[i + 1] === CR && i + 2 === input.length) break;
    let end = i; // index one past this line's LF (or the input's end)
    while (end < input.length && !(input[end] === LF && end > 0 && input[end - 1] === CR)) end++;
    if (end < input.length) end++;
    if (end - i > maxLine) limit = true;
    const from = input[i] === DOT ? i + 1 : i;
    for (let k = from; k < end; k++) body.push(input[k]!);
    if (body.length > maxBytes) limit = true;
    i = end;
  }
  return { body: Buffer.from(body), done: false, rest: Buffer.alloc(0), limit };
}

export interface RefLines {
  lines: Buffer[];
  /** The line after `lines` is too long: the reader must throw ELIMIT once it gets there. */
  limit: boolean;
  /** Bytes left after the last complete line (when no limit was hit). */
  rest: Buffer;
}

/** Split into lines at LF, dropping one CR before it; a line's length counts its line end. */
export function linesReference(input: Uint8Array, maxLineLength: number): RefLines {
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < input.length; i++) {
    if (input[i] !== LF) continue;
    if (i + 1 - start > maxLineLength) return { lines, limit: true, rest: Buffer.alloc(0) };
    const end = i > start && input[i - 1] === CR ? i - 1 : i;
    lines.push(Buffer.from(input.subarray(start, end)));
    start = i + 1;
  }
  // An unfinished line already as long as the cap cannot end in time: even a bare LF would cross it.
  const limit = input.length - start >= maxLineLength;
  return { lines, limit, rest: limit ? Buffer.alloc(0) : Buffer.from(input.subarray(start)) };
}

/** Is this a status line by C1: "+OK" or "-ERR", then a space or the end? */
export function isStatusLineReference(line: Uint8Array): boolean {
  return /^(\+OK|-ERR)( |$)/.test(Buffer.from(line).toString('latin1'));
}
