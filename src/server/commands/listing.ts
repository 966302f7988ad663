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
export async function list(session: Session, cmd: ParsedCommand): Promise<void> {
  if (!checkArgs(session, cmd, 0, 1)) return;
  const maildrop = session.maildrop!;
  if (cmd.args.length === 1) {
    const msg = maildrop.lookup(cmd.args[0]);
    return msg ? session.ok(`${msg.n} ${msg.octets}`) : session.err('no such message');
  }
  const lines = (function* () {
    for (const m of maildrop.live()) yield `${m.n} ${m.octets}`;
  })();
  await session.sendLines(okLine(`${maildrop.count} messages (${maildrop.octets} octets)`), lines);
}

/** UIDL [n]: `n uid` per live message (RFC 1939 §7). */
export async function uidl(session: Session, cmd: ParsedCommand): Promise<void> {
  if (!checkArgs(session, cmd, 0, 1)) return;
  const maildrop = session.maildrop!;
  if (cmd.args.length === 1) {
    const msg = maildrop.lookup(cmd.args[0]);
    return msg ? session.ok(`${msg.n} ${msg.uid}`) : session.err('no such message');
  }
  const lines = (function* () {
    for (const m of maildrop.live()) yield `${m.n} ${m.uid}`;
  })();
  await session.sendLines(okLine(), lines);
}
