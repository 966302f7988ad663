import { Pop3Error } from '../../errors.js';
import { CLEARTEXT_SECRET_MECHANISMS } from '../mechanisms.js';
import { CramMd5Client } from './cram-md5.js';
import { LoginClient } from './login.js';
import { OauthBearerClient } from './oauthbearer.js';
import { PlainClient } from './plain.js';
import { ScramClient } from './scram.js';
import type { ClientMechanismOptions, SaslClientMechanism, SaslCredentials } from './types.js';
import { Xoauth2Client } from './xoauth2.js';

export { CLEARTEXT_SECRET_MECHANISMS } from '../mechanisms.js';
export {
  beginClientAuth,
  type ClientAuthExchange,
  type ClientAuthOptions,
  MAX_AUTH_COMMAND_OCTETS,
} from './exchange.js';
export type { ClientMechanismOptions, SaslClientMechanism, SaslCredentials } from './types.js';

/**
 * Preference order used to pick from a server's list (CONFORMANCE C14), strongest first.
 * Channel-binding (-PLUS) variants are not implemented; DIGEST-MD5, NTLM and GSSAPI are not either.
 */
export const CLIENT_MECHANISMS_BY_STRENGTH: readonly string[] = [
  'SCRAM-SHA-256',
  'SCRAM-SHA-1',
  'OAUTHBEARER',
  'XOAUTH2',
  'CRAM-MD5',
  'PLAIN',
  'LOGIN',
];

const TOKEN_MECHANISMS: ReadonlySet<string> = new Set(['OAUTHBEARER', 'XOAUTH2']);
/** Mechanisms that can carry an authorization identity different from the user. */
const AUTHZID_MECHANISMS: ReadonlySet<string> = new Set([
  'PLAIN',
  'SCRAM-SHA-256',
  'SCRAM-SHA-1',
  'OAUTHBEARER',
]);

/**
 * A client mechanism for `name` (case-insensitive). Throws Pop3Error('EAUTH') for an unknown or
 * unsupported mechanism or a missing password/token, and Pop3Error('EARGUMENT') for credentials that
 * cannot be sent (CR, LF, NUL or control characters, over-long fields).
 */
export function createClientMechanism(
  name: string,
  creds: SaslCredentials,
  opts: ClientMechanismOptions = {},
): SaslClientMechanism {
  switch (name.toUpperCase()) {
    case 'PLAIN':
      return new PlainClient(creds);
    case 'LOGIN':
      return new LoginClient(creds);
    case 'CRAM-MD5':
      return new CramMd5Client(creds);
    case 'SCRAM-SHA-1':
      return new ScramClient('SCRAM-SHA-1', creds, opts);
    case 'SCRAM-SHA-256':
      return new ScramClient('SCRAM-SHA-256', creds, opts);
    case 'XOAUTH2':
      return new Xoauth2Client(creds, opts.twoStep ?? true);
    case 'OAUTHBEARER':
      return new OauthBearerClient(creds, opts);
    default:
      throw new Pop3Error('unsupported SASL mechanism', { code: 'EAUTH' });
  }
}

/**
 * The strongest mechanism in `offered` that `creds` can use: password mechanisms need `pass`,
 * token mechanisms need `accessToken`. Mechanisms that expose the secret (PLAIN, LOGIN, and the
 * bearer-token ones) are chosen only over TLS unless `allowInsecure` is set. Unknown names in
 * `offered` are ignored. Returns undefined when nothing fits.
 */
export function chooseMechanism(
  offered: readonly string[],
  creds: SaslCredentials,
  opts: { tls: boolean; allowInsecure?: boolean },
): string | undefined {
  const available = new Set(offered.map((m) => m.toUpperCase()));
  const hasPass = creds.pass !== undefined && creds.pass !== '';
  const hasToken = creds.accessToken !== undefined && creds.accessToken !== '';
  const needsAuthzid = creds.authzid !== undefined && creds.authzid !== '' && creds.authzid !== creds.user;
  for (const mech of CLIENT_MECHANISMS_BY_STRENGTH) {
    if (!available.has(mech)) continue;
    if (TOKEN_MECHANISMS.has(mech) ? !hasToken : !hasPass) continue;
    if (CLEARTEXT_SECRET_MECHANISMS.has(mech) && !opts.tls && opts.allowInsecure !== true) continue;
    if (needsAuthzid && !AUTHZID_MECHANISMS.has(mech)) continue;
    return mech;
  }
  return undefined;
}
