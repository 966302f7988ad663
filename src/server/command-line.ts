/** One command line as the session dispatches it. */
export interface ParsedCommand {
  /** Upper-cased keyword. */
  keyword: string;
  /** Arguments split on single spaces (an empty string marks a doubled, leading or trailing space). */
  args: string[];
  /** Everything after `KEYWORD `, spaces included (PASS takes it whole, RFC 1939 §7); '' when absent. */
  rest: string;
}

/** Why a line is not a command. */
export type CommandRejection = 'empty' | 'keyword' | 'nul' | 'control' | 'utf8';
/** A command, or why the line is not one (a string, so that a command costs no wrapper object). */
export type CommandParseResult = ParsedCommand | CommandRejection;

const utf8 = new TextDecoder('utf-8', { fatal: true });
// RFC 1939 §3: 3-4 character keywords; UTF8 (RFC 6856) shows they may hold digits.
const KEYWORD = /^[A-Za-z][A-Za-z0-9]{2,3}$/;
// Any C0 control or DEL inside a command line (the LineReader already removed the CRLF; a bare CR stays).
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * Parse a command line, `buf[start, end)` without its line end. Keywords are case-insensitive
 * (`uSeR`). NUL and other control bytes anywhere reject the whole line rather than truncating it
 * (adversarial server case 2). Arguments must be UTF-8 (ASCII is): invalid bytes are refused,
 * never passed on.
 */
export function parseCommandLine(buf: Buffer, start = 0, end = buf.length): CommandParseResult {
  if (end <= start) return 'empty';
  return parsePrintable(buf, start, end) ?? parseAny(buf.subarray(start, end));
}

/**
 * The common case, a line of printable ASCII, parsed from its bytes where they lie: nothing to
 * refuse but the keyword, no decoder, and no string made for a keyword seen before (a pipelined
 * mailbox of RETRs makes only each command's argument). undefined for any other line.
 */
function parsePrintable(buf: Buffer, start: number, end: number): CommandParseResult | undefined {
  let space = -1;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b < 0x20 || b > 0x7e) return undefined;
    if (b === 0x20 && space < 0) space = i;
  }
  const keyword = internKeyword(buf, start, space < 0 ? end : space);
  if (keyword === undefined) return 'keyword';
  const rest = space < 0 ? '' : buf.toString('latin1', space + 1, end);
  // The arms all make arrays of strings, one shape (see parseAny); one argument needs no split.
  const args = space < 0 ? rest.split(' ', 0) : rest.includes(' ') ? rest.split(' ') : [rest];
  return { keyword, args, rest };
}

/** Keywords seen, by their upper-cased octets; bounded, as a client may send any number of made-up ones. */
const keywords = new Map<number, string>();
const KEYWORDS_KEPT = 64;

/** The upper-cased keyword `buf[start, end)`, or undefined when it is not 3-4 letters and digits, a letter first. */
function internKeyword(buf: Buffer, start: number, end: number): string | undefined {
  const length = end - start;
  if (length < 3 || length > 4) return undefined;
  let code = length;
  for (let i = start; i < end; i++) {
    let b = buf[i]!;
    if (b >= 0x61 && b <= 0x7a) b -= 0x20;
    const letter = b >= 0x41 && b <= 0x5a;
    if (!letter && (i === start || b < 0x30 || b > 0x39)) return undefined;
    code = code * 128 + b;
  }
  let keyword = keywords.get(code);
  if (keyword === undefined) {
    keyword = buf.toString('latin1', start, end).toUpperCase();
    if (keywords.size < KEYWORDS_KEPT) keywords.set(code, keyword);
  }
  return keyword;
}

/** Any line: decoded as UTF-8 (invalid bytes refused), then checked. */
function parseAny(line: Buffer): CommandParseResult {
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    return 'utf8';
  }
  if (text.includes('\0')) return 'nul';
  const space = text.indexOf(' ');
  const keyword = space < 0 ? text : text.slice(0, space);
  if (!KEYWORD.test(keyword)) return 'keyword';
  if (CONTROL.test(text)) return 'control';
  const rest = space < 0 ? '' : text.slice(space + 1);
  // Both arms come from split, so args has one array shape whatever the command (a literal [] has
  // another, and the first argless QUIT would deoptimize every handler's argument check).
  const args = rest.split(' ', space < 0 ? 0 : undefined);
  return { keyword: keyword.toUpperCase(), args, rest };
}
