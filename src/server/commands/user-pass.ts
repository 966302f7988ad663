import { isValidIdentity } from '../../protocol/sasl/fields.js';
import { checkPassword } from '../../protocol/sasl/server/passwords.js';
import type { ParsedCommand } from '../command-line.js';
import type { Session } from '../session.js';
import { checkArgs } from './syntax.js';

/**
 * USER name: always +OK for a well-formed name, known or not, and never a response code, so USER
 * reveals nothing about which users exist (RFC 3206 §5, S10). Refused outright where cleartext
 * passwords are not accepted (and then USER is not advertised either, S12).
 */
export function user(session: Session, cmd: ParsedCommand): void {
  if (!session.passwordLoginAllowed) {
    session.err(
      session.host.auth.hasPasswords ? 'USER/PASS needs TLS: use STLS first' : 'USER/PASS not available',
    );
    return;
  }
  if (!checkArgs(session, cmd, 1, 1)) return;
  const name = cmd.args[0]!;
  if (!isValidIdentity(name)) {
    session.err('invalid user name');
    return;
  }
  session.pendingUser = name;
  session.ok('send PASS');
}

/** PASS secret: only right after USER +OK; the secret is the rest of the line, spaces included (S10). */
export async function pass(session: Session, cmd: ParsedCommand): Promise<void> {
  const name = session.pendingUser;
  session.pendingUser = undefined;
  if (name === undefined) return session.badCommand('PASS must follow USER');
  const secret = cmd.rest;
  if (secret === '') return session.badCommand('syntax error');
  const startedAt = Date.now();
  const backend = session.host.auth.forAttempt({
    mechanism: 'USER',
    remoteAddress: session.remoteAddress,
    secure: session.secure,
  });
  let result: string | null;
  try {
    result = await checkPassword(backend, name, secret, undefined);
  } catch (err) {
    session.host.failed(err, session.info, 'password check failed');
    return session.err('authentication temporarily unavailable', 'SYS/TEMP');
  }
  if (result === null) return session.loginFailed(startedAt, 'USER', name);
  await session.login(result, 'USER');
}
