import { createHmac } from 'node:crypto';
import { authError, checkedPassword, checkedUser, refuseAuthzid, unexpectedChallenge } from './common.js';
import type { SaslClientMechanism, SaslCredentials } from './types.js';

/** CRAM-MD5 (RFC 2195): answer the server's challenge with `user SP lowercase-hex(HMAC-MD5(pass, challenge))`. */
export class CramMd5Client implements SaslClientMechanism {
  readonly name = 'CRAM-MD5';
  readonly #user: string;
  readonly #pass: string;
  #answered = false;

  constructor(creds: SaslCredentials) {
    refuseAuthzid(creds, this.name);
    this.#user = checkedUser(creds);
    this.#pass = checkedPassword(creds, this.name);
  }

  initialResponse(): undefined {
    return undefined;
  }

  respond(challenge: Buffer): Buffer {
    if (this.#answered) throw unexpectedChallenge(this.name);
    if (challenge.length === 0) throw authError('CRAM-MD5: the server sent an empty challenge');
    this.#answered = true;
    const hex = createHmac('md5', this.#pass).update(challenge).digest('hex');
    return Buffer.from(`${this.#user} ${hex}`, 'utf8');
  }

  finish(): void {
    if (!this.#answered) throw authError('CRAM-MD5: server accepted before the challenge was answered');
  }
}
