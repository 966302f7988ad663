import type { ParsedCommand } from '../command-line.js';
import type { Session } from '../session.js';
import { checkArgs } from './syntax.js';

/** QUIT: in AUTHORIZATION just closes; in TRANSACTION runs UPDATE first (RFC 1939 §6, S6). */
export async function quit(session: Session, cmd: ParsedCommand): Promise<void> {
  if (!checkArgs(session, cmd, 0, 0)) return;
  await session.quit();
}
