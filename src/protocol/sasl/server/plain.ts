import { decodeUtf8, hasControl, hasLineBreakOrNul, MAX_FIELD_OCTETS } from '../fields.js';
import { challenge, failure, ServerExchangeBase } from './base.js';
import { checkPassword } from './passwords.js';
import type { SaslServerBackend, SaslStep } from './types.js';

/** Parsed `[authzid] NUL authcid NUL passwd`, or the reason it was refused. */
export function parsePlainMessage(
  message: Buffer,
): { authzid: string; authcid: string; passwd: string } | { error: string } {
  if (message.length === 0) return { error: 'empty PLAIN message' };
  const first = message.indexOf(0);
  const second = first < 0 ? -1 : message.indexOf(0, first + 1);
  if (second < 0 || message.indexOf(0, second + 1) >= 0)
    return { error: 'PLAIN message needs exactly two NULs' };
  const parts = [
    message.subarray(0, first),
    message.subarray(first + 1, second),
    message.subarray(second + 1),
  ];
  if (parts.some((p) => p.length > MAX_FIELD_OCTETS)) return { error: 'PLAIN field longer than 255 octets' };
  const [authzid, authcid, passwd] = parts.map((p) => decodeUtf8(p));
  if (authzid === undefined || authcid === undefined || passwd === undefined) {
    return { error: 'PLAIN field is not UTF-8' };
  }
  if (authcid === '' || passwd === '') return { error: 'empty PLAIN user or password' };
  if (hasControl(authzid) || hasControl(authcid) || hasLineBreakOrNul(passwd)) {
    return { error: 'control characters in PLAIN fields' };
  }
  return { authzid, authcid, passwd };
}

/** PLAIN server (RFC 4616, CONFORMANCE S20). An authzid other than the user is refused. */
export class PlainServer extends ServerExchangeBase {
  readonly mechanism = 'PLAIN';

  constructor(private readonly backend: SaslServerBackend) {
    super();
  }

  protected async onStep(response: Buffer | undefined): Promise<SaslStep> {
    if (response === undefined) return challenge(Buffer.alloc(0)); // `+ `: send the initial response
    const parsed = parsePlainMessage(response);
    if ('error' in parsed) return failure(parsed.error);
    const { authzid, authcid, passwd } = parsed;
    if (authzid !== '' && authzid !== authcid)
      return failure('authorization identity not permitted', authcid);
    const user = await checkPassword(this.backend, authcid, passwd, authzid === '' ? undefined : authzid);
    return user === null ? failure('invalid credentials', authcid) : { kind: 'success', user };
  }
}
