import type { ParsedCommand } from '../command-line.js';
import { okLine, sanitizeText } from '../responses.js';
import type { Session } from '../session.js';
import { checkArgs } from './syntax.js';

/**
 * The CAPA list (RFC 2449 §5). It is the same in both states, as RFC 2449 requires for
 * AUTHORIZATION capabilities, and it names only what works on this connection now (S12): USER and
 * the cleartext SASL mechanisms only where they would be accepted, STLS only before TLS.
 */
export function capabilityLines(session: Session): string[] {
  const { options } = session.host;
  const caps = options.capabilities;
  const lines = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
  if (session.passwordLoginAllowed) lines.push('USER');
  const sasl = session.saslMechanisms;
  if (sasl.length > 0) lines.push(`SASL ${sasl.join(' ')}`);
  if (session.stlsAvailable) lines.push('STLS');
  if (caps.utf8) lines.push('UTF8');
  if (caps.loginDelay !== undefined) lines.push(`LOGIN-DELAY ${caps.loginDelay}`);
  if (caps.expire !== undefined) lines.push(`EXPIRE ${caps.expire}`);
  if (caps.implementation !== undefined) {
    const text = sanitizeText(caps.implementation, 100).trim();
    if (text !== '') lines.push(`IMPLEMENTATION ${text}`);
  }
  return lines;
}

export async function capa(session: Session, cmd: ParsedCommand): Promise<void> {
  if (!checkArgs(session, cmd, 0, 0)) return;
  await session.sendLines(okLine('capability list follows'), capabilityLines(session));
}
