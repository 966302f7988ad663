import { printable } from '../../errors.js';
import { decodeUtf8 } from '../fields.js';
import { escapeSaslName } from '../scram-core.js';
import {
  authError,
  checkedAuthzid,
  checkedHost,
  checkedToken,
  checkedUser,
  unexpectedChallenge,
} from './common.js';
import type { SaslClientMechanism, SaslCredentials } from './types.js';

/**
 * OAUTHBEARER (RFC 7628): gs2 header `n,a=user,` then `^A host=H ^A port=P ^A auth=Bearer T ^A ^A`.
 * On failure the server sends a JSON error challenge; the client must answer `^A` (base64 `AQ==`),
 * RFC 7628 §3.2.3, and the server then answers -ERR.
 */
export class OauthBearerClient implements SaslClientMechanism {
  readonly name = 'OAUTHBEARER';
  readonly #message: Buffer;
  #sent = false;
  #serverError: string | undefined;

  constructor(creds: SaslCredentials, opts: { host?: string; port?: number } = {}) {
    const identity = checkedAuthzid(creds) ?? checkedUser(creds);
    let pairs = '';
    if (opts.host !== undefined) pairs += `host=${checkedHost(opts.host)}\x01`;
    if (opts.port !== undefined) {
      if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535)
        throw authError('OAUTHBEARER: bad port');
      pairs += `port=${opts.port}\x01`;
    }
    const token = checkedToken(creds, this.name);
    this.#message = Buffer.from(
      `n,a=${escapeSaslName(identity)},\x01${pairs}auth=Bearer ${token}\x01\x01`,
      'utf8',
    );
  }

  initialResponse(): Buffer {
    if (this.#sent) throw unexpectedChallenge(this.name);
    this.#sent = true;
    return this.#message;
  }

  respond(challenge: Buffer): Buffer {
    if (!this.#sent && challenge.length === 0) return this.initialResponse();
    if (!this.#sent || this.#serverError !== undefined) throw unexpectedChallenge(this.name);
    this.#serverError = printable(decodeUtf8(challenge) ?? '(not UTF-8)', 200);
    return Buffer.from([0x01]);
  }

  finish(): void {
    if (!this.#sent) throw authError('OAUTHBEARER: server accepted before the token was sent');
    if (this.#serverError !== undefined)
      throw authError('OAUTHBEARER: server accepted after reporting an error');
  }

  /** The server's JSON error challenge (printable, capped), when one arrived. */
  get serverError(): string | undefined {
    return this.#serverError;
  }
}
