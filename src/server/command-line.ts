/** One command line as the session dispatches it. */
export interface ParsedCommand {
  /** Upper-cased keyword. */
  keyword: string;
  /** Arguments split on single spaces (an empty string marks a doubled, leading or trailing space). */
  args: string[];
  /** Everything after `KEYWORD `, spaces included (PASS takes it whole, RFC 1939 §7); '' when absent. */
  rest: string;
}

export type CommandParseResult =
  | { ok: true; command: ParsedCommand }
  | { ok: false; reason: 'empty' | 'keyword' | 'nul' | 'control' | 'utf8' };

const utf8 = new TextDecoder('utf-8', { fatal: true });
// RFC 1939 §3: 3-4 character keywords; UTF8 (RFC 6856) shows they may hold digits.
const KEYWORD = /^[A-Za-z][A-Za-z0-9]{2,3}$/;
// Any C0 control or DEL inside a command line (the LineReader already removed the CRLF; a bare CR stays).
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * Parse a command line (without its line end). Keywords are case-insensitive (`uSeR`). NUL and other
 * control bytes anywhere reject the whole line rather than truncating it (adversarial server case 2).
 * Arguments must be UTF-8 (ASCII is): invalid bytes are refused, never passed on.
 */
export function parseCommandLine(line: Buffer): CommandParseResult {
  if (line.length === 0) return { ok: false, reason: 'empty' };
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    return { ok: false, reason: 'utf8' };
  }
  if (text.includes('\0')) return { ok: false, reason: 'nul' };
  const space = text.indexOf(' ');
  const keyword = space < 0 ? text : text.slice(0, space);
  if (!KEYWORD.test(keyword)) return { ok: false, reason: 'keyword' };
  if (CONTROL.test(text)) return { ok: false, reason: 'control' };
  const rest = space < 0 ? '' : text.slice(space + 1);
  // Both arms come from split, so args has one array shape whatever the command (a literal [] has
  // another, and the first argless QUIT would deoptimize every handler's argument check).
  const args = rest.split(' ', space < 0 ? 0 : undefined);
  return { ok: true, command: { keyword: keyword.toUpperCase(), args, rest } };
}
