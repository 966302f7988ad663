import { authError, checkedAuthzid, checkedPassword, checkedUser, unexpectedChallenge } from './common.js';
import type { SaslClientMechanism, SaslCredentials } from './types.js';

/** PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd` in one message. Send only under TLS. */
export class PlainClient implements SaslClientMechanism {
  readonly name = 'PLAIN';
  readonly #message: Buffer;
  #sent = false;

  constructor(creds: SaslCredentials) {
    const user = checkedUser(creds);
    const pass = checkedPassword(creds, this.name);
    const authzid = checkedAuthzid(creds) ?? '';
    // checkedUser/checkedPassword already refuse NUL, so the three fields cannot run together.
    this.#message = Buffer.from(`${authzid}\0${user}\0${pass}`, 'utf8');
  }

  initialResponse(): Buffer {
    if (this.#sent) throw unexpectedChallenge(this.name);
    this.#sent = true;
    return this.#message;
  }

  respond(challenge: Buffer): Buffer {
    // The server asked for the initial response with an empty challenge (it was not sent with AUTH).
    if (!this.#sent && challenge.length === 0) return this.initialResponse();
    throw unexpectedChallenge(this.name);
  }

  finish(): void {
    if (!this.#sent) throw authError('PLAIN: server accepted before the credentials were sent');
  }
}
