import type { ParsedCommand } from '../command-line.js';
import type { Session } from '../session.js';

/**
 * True when the command has between `min` and `max` non-empty arguments; otherwise answers -ERR
 * (a bad command) and returns false. A doubled or trailing space makes an empty argument, so
 * `LIST  1` is refused the same way every time (adversarial server case 4).
 */
export function checkArgs(session: Session, cmd: ParsedCommand, min: number, max: number): boolean {
  const { args } = cmd;
  if (args.length < min || args.length > max || args.includes('')) {
    session.badCommand('syntax error');
    return false;
  }
  return true;
}
