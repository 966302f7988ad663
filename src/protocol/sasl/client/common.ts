import { Pop3Error } from '../../errors.js';
import { hasControl, hasLineBreakOrNul, isValidIdentity } from '../fields.js';
import type { SaslCredentials } from './types.js';

/** Bounds on caller-supplied secrets: far above real passwords and OAuth tokens, far below trouble. */
export const MAX_PASSWORD_OCTETS = 1024;
export const MAX_TOKEN_OCTETS = 16384;

export function authError(message: string): Pop3Error {
  return new Pop3Error(message, { code: 'EAUTH' });
}

export function protocolError(message: string): Pop3Error {
  return new Pop3Error(message, { code: 'EPROTOCOL' });
}

export function unexpectedChallenge(mechanism: string): Pop3Error {
  return protocolError(`${mechanism}: unexpected server challenge`);
}

/** The user name, checked: non-empty, at most 255 octets, no control characters (CONFORMANCE C3). */
export function checkedUser(creds: SaslCredentials): string {
  if (!isValidIdentity(creds.user)) {
    throw new Pop3Error('SASL user name is empty, longer than 255 octets or contains control characters', {
      code: 'EARGUMENT',
    });
  }
  return creds.user;
}

/** The authzid when one is set and differs from the user; checked like the user name. */
export function checkedAuthzid(creds: SaslCredentials): string | undefined {
  const { authzid } = creds;
  if (authzid === undefined || authzid === '' || authzid === creds.user) return undefined;
  if (!isValidIdentity(authzid)) {
    throw new Pop3Error('SASL authzid is longer than 255 octets or contains control characters', {
      code: 'EARGUMENT',
    });
  }
  return authzid;
}

/** For mechanisms that cannot carry an authorization identity. */
export function refuseAuthzid(creds: SaslCredentials, mechanism: string): void {
  if (checkedAuthzid(creds) !== undefined) {
    throw new Pop3Error(`${mechanism} cannot carry an authorization identity`, { code: 'EARGUMENT' });
  }
}

export function checkedPassword(creds: SaslCredentials, mechanism: string): string {
  const { pass } = creds;
  if (pass === undefined || pass === '') throw authError(`${mechanism} needs a password`);
  if (hasLineBreakOrNul(pass) || Buffer.byteLength(pass, 'utf8') > MAX_PASSWORD_OCTETS) {
    throw new Pop3Error('password contains CR, LF or NUL, or is too long', { code: 'EARGUMENT' });
  }
  return pass;
}

export function checkedToken(creds: SaslCredentials, mechanism: string): string {
  const { accessToken } = creds;
  if (accessToken === undefined || accessToken === '') throw authError(`${mechanism} needs an access token`);
  // RFC 6750 b64token is a subset of visible ASCII; anything else would break the \x01-separated framing.
  if (!/^[\x21-\x7e]+$/.test(accessToken) || accessToken.length > MAX_TOKEN_OCTETS) {
    throw new Pop3Error('access token contains characters outside visible ASCII, or is too long', {
      code: 'EARGUMENT',
    });
  }
  return accessToken;
}

/** A host name for OAUTHBEARER's `host=` pair: visible ASCII only, bounded. */
export function checkedHost(host: string): string {
  if (host.length === 0 || host.length > 255 || hasControl(host) || !/^[\x21-\x7e]+$/.test(host)) {
    throw new Pop3Error('OAUTHBEARER host is empty, too long or not visible ASCII', { code: 'EARGUMENT' });
  }
  return host;
}
