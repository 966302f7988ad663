import type { ParsedCommand } from '../command-line.js';
import { parseLineCount } from '../message-number.js';
import { okLine } from '../responses.js';
import type { Session } from '../session.js';
import { TopLimiter } from '../top-limiter.js';
import { checkArgs } from './syntax.js';

/** Never written to (replies are copied into a new buffer), so one for every TOP. */
const TOP_STATUS = okLine('top of message follows');

/**
 * RETR n: the whole message (RFC 1939 §7), after `+OK <octets> octets`. Synchronous (undefined)
 * for a small message, a promise when it is streamed.
 */
export function retr(session: Session, cmd: ParsedCommand): Promise<void> | undefined {
  if (!checkArgs(session, cmd, 1, 1)) return undefined;
  const n = session.maildrop!.lookup(cmd.args[0]);
  if (n === undefined) {
    session.err('no such message');
    return undefined;
  }
  return session.sendMessage(n);
}

/** TOP n lines: headers, the empty line, then that many body lines (S8). */
export function top(session: Session, cmd: ParsedCommand): Promise<void> | undefined {
  if (!checkArgs(session, cmd, 2, 2)) return undefined;
  const n = session.maildrop!.lookup(cmd.args[0]);
  if (n === undefined) {
    session.err('no such message');
    return undefined;
  }
  const lines = parseLineCount(cmd.args[1]);
  if (lines === undefined) {
    session.err('invalid line count');
    return undefined;
  }
  return session.sendMessage(n, TOP_STATUS, new TopLimiter(lines));
}
