import { randomBytes } from 'node:crypto';
import { checkApopDigest } from '../../protocol/apop.js';
import { isValidIdentity } from '../../protocol/sasl/fields.js';
import type { ParsedCommand } from '../command-line.js';
import type { Session } from '../session.js';
import { checkArgs } from './syntax.js';

/**
 * APOP name digest (RFC 1939 §7), only when enabled and the greeting carried a timestamp. The digest
 * must be 32 lowercase hex digits; an unknown user costs the same MD5 as a known one.
 */
export async function apop(session: Session, cmd: ParsedCommand): Promise<void> {
  const timestamp = session.apopTimestamp;
  if (timestamp === undefined) return session.badCommand('APOP not available');
  if (!checkArgs(session, cmd, 2, 2)) return;
  const [name, digest] = cmd.args as [string, string];
  if (!isValidIdentity(name)) return session.err('invalid user name');
  const startedAt = Date.now();
  const backend = session.host.auth.forAttempt({
    mechanism: 'APOP',
    remoteAddress: session.remoteAddress,
    secure: session.secure,
  });
  let secret: string | null;
  try {
    secret = (await backend.getPassword?.(name)) ?? null;
  } catch (err) {
    session.host.failed(err, session.info, 'password lookup failed');
    return session.err('authentication temporarily unavailable', 'SYS/TEMP');
  }
  const match = checkApopDigest(timestamp, secret ?? randomBytes(16).toString('hex'), digest);
  if (secret === null || !match) return session.loginFailed(startedAt, 'APOP', name);
  await session.login(name, 'APOP');
}
