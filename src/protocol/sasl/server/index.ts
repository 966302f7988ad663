import { encodeBase64 } from '../base64.js';
import { CramMd5Server } from './cram-md5.js';
import { LoginServer } from './login.js';
import { OauthServer } from './oauth.js';
import { PlainServer } from './plain.js';
import { DEFAULT_SCRAM_ITERATIONS, ScramServer } from './scram.js';
import type { SaslServerBackend, SaslServerExchange, ServerExchangeOptions } from './types.js';

export { CLEARTEXT_SECRET_MECHANISMS } from '../mechanisms.js';
export { deriveScramCredentials } from './scram.js';
export type {
  SaslServerBackend,
  SaslServerExchange,
  SaslStep,
  ScramStored,
  ServerExchangeOptions,
} from './types.js';

/** Which mechanisms the backend can support, strongest first. The session filters by transport. */
export function serverMechanisms(backend: SaslServerBackend): string[] {
  const out: string[] = [];
  const passwords = backend.verifyPassword !== undefined || backend.getPassword !== undefined;
  if (backend.getScramCredentials || backend.getPassword) out.push('SCRAM-SHA-256', 'SCRAM-SHA-1');
  if (backend.verifyToken) out.push('OAUTHBEARER', 'XOAUTH2');
  if (backend.getPassword) out.push('CRAM-MD5');
  if (passwords) out.push('PLAIN', 'LOGIN');
  return out;
}

/**
 * A server exchange for `mechanism` (case-insensitive), or undefined when the mechanism is unknown
 * or the backend cannot support it (the session answers -ERR, adversarial server case 12).
 */
export function createServerExchange(
  mechanism: string,
  backend: SaslServerBackend,
  opts: ServerExchangeOptions,
): SaslServerExchange | undefined {
  const name = mechanism.toUpperCase();
  if (!serverMechanisms(backend).includes(name)) return undefined;
  switch (name) {
    case 'PLAIN':
      return new PlainServer(backend);
    case 'LOGIN':
      return new LoginServer(backend);
    case 'CRAM-MD5':
      return new CramMd5Server(backend, opts.serverName, opts.cramChallenge);
    case 'SCRAM-SHA-1':
    case 'SCRAM-SHA-256': {
      const scramOpts = {
        minIterations: opts.minScramIterations ?? DEFAULT_SCRAM_ITERATIONS,
        derivedIterations: opts.scramIterations ?? DEFAULT_SCRAM_ITERATIONS,
        ...(opts.scramServerNonce === undefined ? {} : { serverNonce: opts.scramServerNonce }),
      };
      return new ScramServer(name, backend, scramOpts);
    }
    case 'OAUTHBEARER':
    case 'XOAUTH2':
      return new OauthServer(name, backend);
    default:
      return undefined;
  }
}

/** The continuation line for a challenge: `+ base64`, or exactly `+ ` when empty (RFC 5034 §4). */
export function challengeLine(data: Buffer): string {
  return `+ ${encodeBase64(data)}`;
}
