/**
 * What a correct server answers, for the fuzzer's checks: the status-line grammar, the session's
 * view of its locked maildrop (numbering fixed at login, deletion marks), and reference results for
 * STAT, LIST, UIDL, RETR and TOP. Written from RFC 1939 for obviousness, not from the server's code.
 */

export class OracleFailure extends Error {
  override name = 'OracleFailure';
}

export function check(cond: boolean, message: string): asserts cond {
  if (!cond) throw new OracleFailure(message);
}

export const show = (b: Buffer | string) =>
  JSON.stringify((typeof b === 'string' ? b : b.toString('latin1')).slice(0, 100));

const STATUS = /^(\+OK|-ERR)( [\x20-\x7e]*)?$/;
const CHALLENGE = /^\+ [A-Za-z0-9+/]*={0,2}$/;
const CODE = /^\[(IN-USE|LOGIN-DELAY|SYS\/TEMP|SYS\/PERM|AUTH)\]( |$)/;

/** A status line (CRLF removed): +OK/-ERR, printable ASCII, a response code only if a known one (S13). */
export function checkStatus(line: string): { ok: boolean; text: string } {
  check(STATUS.test(line), `malformed status line ${show(line)}`);
  const ok = line.startsWith('+OK');
  const text = line.slice(ok ? 4 : 5);
  if (text.startsWith('[')) check(CODE.test(text), `unknown or malformed response code in ${show(line)}`);
  check(!/internal error/.test(text), `a command failed inside the server: ${show(line)}`);
  return { ok, text };
}

export function isChallenge(line: string): boolean {
  return line.startsWith('+ ') || line === '+';
}

export function checkChallenge(line: string): string {
  check(CHALLENGE.test(line), `malformed SASL challenge ${show(line)}`);
  return line.slice(2);
}

/** RFC 1939 §3 "msg": decimal without sign or leading zero; the server may cap the digits. */
const MSG = /^[1-9][0-9]{0,9}$/;

export interface SnapshotMessage {
  uid: string;
  octets: number;
  wire: Buffer;
}

/** One session's maildrop as the oracle models it. */
export class MaildropModel {
  readonly deleted = new Set<number>();

  constructor(
    readonly user: string,
    readonly messages: readonly SnapshotMessage[],
  ) {}

  /** The live message a command argument names, or undefined (bad number, out of range, deleted). */
  lookup(arg: string): (SnapshotMessage & { n: number }) | undefined {
    if (!MSG.test(arg)) return undefined;
    const n = Number(arg);
    if (n > this.messages.length || this.deleted.has(n)) return undefined;
    return { n, ...this.messages[n - 1]! };
  }

  live(): (SnapshotMessage & { n: number })[] {
    const out: (SnapshotMessage & { n: number })[] = [];
    this.messages.forEach((m, i) => {
      if (!this.deleted.has(i + 1)) out.push({ n: i + 1, ...m });
    });
    return out;
  }

  get liveCount(): number {
    return this.messages.length - this.deleted.size;
  }

  get liveOctets(): number {
    return this.live().reduce((sum, m) => sum + m.octets, 0);
  }

  get totalOctets(): number {
    return this.messages.reduce((sum, m) => sum + m.octets, 0);
  }
}

/**
 * The wire form of a stored message (RFC 1939 §11): every LF not after a CR becomes CRLF, and CRLF is
 * added when the bytes do not end with LF (so an empty message is one CRLF). Same rule as
 * scripts/fuzz/reference.ts wireForm, in Buffer copies rather than byte by byte: messages here run to
 * hundreds of KiB.
 */
export function wireForm(stored: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  for (let lf = stored.indexOf(0x0a); lf >= 0; lf = stored.indexOf(0x0a, lf + 1)) {
    if (lf === 0 || stored[lf - 1] !== 0x0d) {
      parts.push(stored.subarray(from, lf), CRLF);
      from = lf + 1;
    }
  }
  parts.push(stored.subarray(from));
  if (stored.length === 0 || stored[stored.length - 1] !== 0x0a) parts.push(CRLF);
  return Buffer.concat(parts);
}

const CRLF = Buffer.from('\r\n');
const wireCache = new Map<string, Buffer>();

/** Forget the cached wire forms (so a heap reading shows what the server and store retain). */
export function clearWireCache(): void {
  wireCache.clear();
}

/** Wire form of a stored message, cached by UID (UIDs are never reused). */
export function wireOf(uid: string, bytes: Buffer): Buffer {
  let wire = wireCache.get(uid);
  if (!wire) {
    if (wireCache.size > 20_000) wireCache.clear();
    wire = wireForm(bytes);
    wireCache.set(uid, wire);
  }
  return wire;
}

/**
 * TOP msg n on the wire form (S8): the header lines, the empty line, then n body lines; all of it
 * when there is no empty line or the body is shorter. On the wire form every line ends CRLF, so the
 * empty line is exactly CRLF (a stored "\r\r\n" is a line holding one CR, not an empty one).
 */
export function topReference(wire: Buffer, n: number): Buffer {
  let at = 0;
  let inHeaders = true;
  let remaining = n;
  while (at < wire.length) {
    const lf = wire.indexOf(0x0a, at);
    const end = lf < 0 ? wire.length : lf + 1;
    const empty = end - at === 2;
    at = end;
    if (inHeaders) {
      if (empty) {
        inHeaders = false;
        if (remaining === 0) return wire.subarray(0, at);
      }
    } else if (--remaining === 0) return wire.subarray(0, at);
  }
  return wire;
}

/** The keyword of a command line as the server reads it (up to the first space, upper-cased ASCII). */
export function keywordOf(line: Buffer): string {
  const sp = line.indexOf(0x20);
  return line
    .subarray(0, sp < 0 ? line.length : sp)
    .toString('latin1')
    .toUpperCase();
}

/** Whether a +OK to this (non-continuation) line starts a multi-line reply (W6). */
export function isMultiLine(line: Buffer): boolean {
  const keyword = keywordOf(line);
  if (keyword === 'CAPA' || keyword === 'RETR' || keyword === 'TOP') return true;
  return (keyword === 'LIST' || keyword === 'UIDL') && line.indexOf(0x20) < 0;
}

/**
 * TOP's line count: 'valid' (a plain decimal the server must accept), 'invalid' (negative, not a
 * number, a leading zero: must be refused) or 'either' (so many digits that a cap is fair).
 */
export function topLineCount(arg: string): 'valid' | 'invalid' | 'either' {
  if (!/^[0-9]+$/.test(arg) || /^0[0-9]/.test(arg)) return 'invalid';
  return arg.length <= 15 ? 'valid' : 'either';
}
