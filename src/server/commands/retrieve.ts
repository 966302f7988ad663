import type { ParsedCommand } from '../command-line.js';
import { parseLineCount } from '../message-number.js';
import { okLine } from '../responses.js';
import type { Session } from '../session.js';
import { TopLimiter } from '../top-limiter.js';
import { checkArgs } from './syntax.js';

/** RETR n: the whole message, streamed (RFC 1939 §7). */
export async function retr(session: Session, cmd: ParsedCommand): Promise<void> {
  if (!checkArgs(session, cmd, 1, 1)) return;
  const msg = session.maildrop!.lookup(cmd.args[0]);
  if (!msg) return session.err('no such message');
  await session.sendMessage(msg, okLine(`${msg.octets} octets`));
}

/** TOP n lines: headers, the empty line, then that many body lines (S8). */
export async function top(session: Session, cmd: ParsedCommand): Promise<void> {
  if (!checkArgs(session, cmd, 2, 2)) return;
  const msg = session.maildrop!.lookup(cmd.args[0]);
  if (!msg) return session.err('no such message');
  const lines = parseLineCount(cmd.args[1]);
  if (lines === undefined) return session.err('invalid line count');
  await session.sendMessage(msg, okLine('top of message follows'), new TopLimiter(lines));
}
