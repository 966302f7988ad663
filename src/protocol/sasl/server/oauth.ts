import { decodeUtf8, hasControl, isValidIdentity } from '../fields.js';
import { challenge, failure, MAX_TOKEN_RESPONSE_OCTETS, ServerExchangeBase } from './base.js';
import { parseGs2Header } from './scram.js';
import type { SaslServerBackend, SaslStep } from './types.js';

// RFC 6750 §2.1 b64token.
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

/** Key-value pairs separated and terminated by ^A: `k=v^A...^A` (the final ^A already removed). */
function parsePairs(text: string): Map<string, string> | undefined {
  const pairs = new Map<string, string>();
  if (text === '') return pairs;
  if (!text.endsWith('\x01')) return undefined;
  for (const pair of text.slice(0, -1).split('\x01')) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    // RFC 7628 allows CR/LF in values; relaying them anywhere is the nginx #1620 bug class, so refuse.
    if (eq < 1 || !/^[A-Za-z]+$/.test(key) || hasControl(value) || pairs.has(key)) return undefined;
    pairs.set(key, value);
  }
  return pairs;
}

type Parsed = { user: string; token: string | undefined } | { error: string };

/** OAUTHBEARER client message (RFC 7628 §3.1): gs2 header, ^A, pairs, ^A. */
export function parseOauthBearerMessage(message: Buffer): Parsed {
  const text = decodeUtf8(message);
  if (text === undefined) return { error: 'OAUTHBEARER message is not UTF-8' };
  const head = parseGs2Header(text);
  if ('error' in head) return { error: head.error };
  const { rest } = head;
  if (!rest.startsWith('\x01') || !rest.endsWith('\x01')) return { error: 'malformed OAUTHBEARER message' };
  const pairs = parsePairs(rest.slice(1, -1));
  if (pairs === undefined) return { error: 'malformed OAUTHBEARER message' };
  const auth = pairs.get('auth');
  const token = auth === undefined ? undefined : BEARER.exec(auth)?.[1];
  return { user: head.gs2.authzid ?? '', token };
}

/** XOAUTH2 client message: `user=U ^A auth=Bearer T ^A ^A`. */
export function parseXoauth2Message(message: Buffer): Parsed {
  const text = decodeUtf8(message);
  if (text === undefined) return { error: 'XOAUTH2 message is not UTF-8' };
  if (!text.endsWith('\x01')) return { error: 'malformed XOAUTH2 message' };
  const pairs = parsePairs(text.slice(0, -1));
  const user = pairs?.get('user');
  if (pairs === undefined || user === undefined || !isValidIdentity(user)) {
    return { error: 'malformed XOAUTH2 message' };
  }
  const auth = pairs.get('auth');
  const token = auth === undefined ? undefined : BEARER.exec(auth)?.[1];
  return { user, token };
}

/**
 * OAUTHBEARER and XOAUTH2 servers (CONFORMANCE S22). A bad or missing token is answered with a
 * JSON error challenge (RFC 7628 §3.2.2); whatever the client answers (`^A`, empty, or a stray
 * command), the exchange then fails.
 */
export class OauthServer extends ServerExchangeBase {
  override readonly maxResponseOctets = MAX_TOKEN_RESPONSE_OCTETS;
  #errorSent: { user: string } | undefined;

  constructor(
    readonly mechanism: 'OAUTHBEARER' | 'XOAUTH2',
    private readonly backend: SaslServerBackend,
  ) {
    super();
  }

  protected async onStep(response: Buffer | undefined): Promise<SaslStep> {
    if (this.#errorSent !== undefined) {
      const ack =
        this.mechanism === 'OAUTHBEARER' ? response?.equals(Buffer.from([1])) : response?.length === 0;
      const reason = ack ? 'invalid token' : 'invalid token; unexpected answer to the error challenge';
      return failure(reason, this.#errorSent.user || undefined);
    }
    if (response === undefined) return challenge(Buffer.alloc(0)); // `+ `: send the initial response
    const parsed =
      this.mechanism === 'OAUTHBEARER' ? parseOauthBearerMessage(response) : parseXoauth2Message(response);
    if ('error' in parsed) return failure(parsed.error);
    const user =
      parsed.token === undefined || !this.backend.verifyToken
        ? null
        : await this.backend.verifyToken(parsed.user, parsed.token);
    if (user !== null) return { kind: 'success', user };
    this.#errorSent = { user: parsed.user };
    const json =
      this.mechanism === 'OAUTHBEARER'
        ? { status: 'invalid_token', schemes: 'bearer' }
        : { status: '401', schemes: 'bearer' };
    return challenge(JSON.stringify(json));
  }
}
