import { printable } from '../../errors.js';
import { decodeUtf8 } from '../fields.js';
import { authError, checkedToken, checkedUser, refuseAuthzid, unexpectedChallenge } from './common.js';
import type { SaslClientMechanism, SaslCredentials } from './types.js';

/**
 * XOAUTH2 (Google's protocol note): `user=U ^A auth=Bearer T ^A ^A`. A failure arrives as a
 * JSON challenge, which the client answers with an empty response before the server's -ERR.
 * Two-step by default: tokens are long, and AUTH with an initial response is capped at 255 octets.
 */
export class Xoauth2Client implements SaslClientMechanism {
  readonly name = 'XOAUTH2';
  readonly #message: Buffer;
  readonly #twoStep: boolean;
  #sent = false;
  #serverError: string | undefined;

  constructor(creds: SaslCredentials, twoStep = true) {
    refuseAuthzid(creds, this.name);
    this.#message = Buffer.from(
      `user=${checkedUser(creds)}\x01auth=Bearer ${checkedToken(creds, this.name)}\x01\x01`,
    );
    this.#twoStep = twoStep;
  }

  initialResponse(): Buffer | undefined {
    if (this.#twoStep || this.#sent) return undefined;
    this.#sent = true;
    return this.#message;
  }

  respond(challenge: Buffer): Buffer {
    if (!this.#sent) {
      if (challenge.length !== 0) throw unexpectedChallenge(this.name);
      this.#sent = true;
      return this.#message;
    }
    if (this.#serverError !== undefined) throw unexpectedChallenge(this.name);
    // The error challenge: remember a printable digest of it and acknowledge with an empty response.
    this.#serverError = printable(decodeUtf8(challenge) ?? '(not UTF-8)', 200);
    return Buffer.alloc(0);
  }

  finish(): void {
    if (!this.#sent) throw authError('XOAUTH2: server accepted before the token was sent');
    if (this.#serverError !== undefined) throw authError('XOAUTH2: server accepted after reporting an error');
  }

  /** The server's error challenge (printable, capped), when one arrived. */
  get serverError(): string | undefined {
    return this.#serverError;
  }
}
