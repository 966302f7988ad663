import type { ParsedCommand } from '../command-line.js';
import type { Session } from '../session.js';
import { checkArgs } from './syntax.js';

/**
 * STLS (RFC 2595 §4, S16): only in AUTHORIZATION (the state table) and without TLS. A client that
 * sent anything after `STLS` before our +OK is trying to get plaintext run under TLS
 * (CVE-2011-0411 class): the connection is dropped with no reply.
 */
export async function stls(session: Session, cmd: ParsedCommand): Promise<void> {
  if (session.secure) return session.err('TLS already active');
  if (!session.stlsAvailable) return session.badCommand('STLS not available');
  if (!checkArgs(session, cmd, 0, 0)) return;
  if (session.pendingInput > 0) {
    session.log('warn', { pending: session.pendingInput }, 'bytes after STLS; dropping the connection');
    return session.destroy('protocol');
  }
  await session.startTls();
}
