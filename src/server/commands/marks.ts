import type { ParsedCommand } from '../command-line.js';
import type { Session } from '../session.js';
import { checkArgs } from './syntax.js';

/** DELE n: mark for deletion in UPDATE; a deleted or unknown number is "no such message" (S5). */
export function dele(session: Session, cmd: ParsedCommand): void {
  if (!checkArgs(session, cmd, 1, 1)) return;
  const maildrop = session.maildrop!;
  const n = maildrop.lookup(cmd.args[0]);
  if (n === undefined) {
    session.err('no such message');
    return;
  }
  maildrop.delete(n);
  session.ok(`message ${n} deleted`);
}

/** RSET: unmark every message (S6). */
export function rset(session: Session, cmd: ParsedCommand): void {
  if (!checkArgs(session, cmd, 0, 0)) return;
  const maildrop = session.maildrop!;
  maildrop.reset();
  session.ok(`maildrop has ${maildrop.count} messages (${maildrop.octets} octets)`);
}

export function noop(session: Session, cmd: ParsedCommand): void {
  if (!checkArgs(session, cmd, 0, 0)) return;
  session.ok();
}
