import type { ParsedCommand } from '../command-line.js';
import { okLine } from '../responses.js';
import type { Session } from '../session.js';
import { checkArgs } from './syntax.js';

/** STAT: count and octets of the messages not marked deleted. */
export function stat(session: Session, cmd: ParsedCommand): void {
  if (!checkArgs(session, cmd, 0, 0)) return;
  const { count, octets } = session.maildrop!;
  session.ok(`${count} ${octets}`);
}

/** LIST [n]: `n octets` per live message, exactly that and nothing more (S5, W6). */
export function list(session: Session, cmd: ParsedCommand): Promise<void> | undefined {
  if (!checkArgs(session, cmd, 0, 1)) return undefined;
  const maildrop = session.maildrop!;
  if (cmd.args.length === 1) {
    const n = maildrop.lookup(cmd.args[0]);
    if (n !== undefined) session.ok(`${n} ${maildrop.message(n).octets}`);
    else session.err('no such message');
    return undefined;
  }
  return session.sendListing(okLine(`${maildrop.count} messages (${maildrop.octets} octets)`), 'octets');
}

/** UIDL [n]: `n uid` per live message (RFC 1939 §7). */
export function uidl(session: Session, cmd: ParsedCommand): Promise<void> | undefined {
  if (!checkArgs(session, cmd, 0, 1)) return undefined;
  const maildrop = session.maildrop!;
  if (cmd.args.length === 1) {
    const n = maildrop.lookup(cmd.args[0]);
    if (n !== undefined) session.ok(`${n} ${maildrop.message(n).uid}`);
    else session.err('no such message');
    return undefined;
  }
  return session.sendListing(okLine(), 'uid');
}
