import { authError, checkedPassword, checkedUser, refuseAuthzid, unexpectedChallenge } from './common.js';
import type { SaslClientMechanism, SaslCredentials } from './types.js';

/**
 * LOGIN (draft-murchison-sasl-login): the server prompts twice, nominally "Username:" then
 * "Password:". Servers word the prompts differently, so we answer by position, not by text.
 */
export class LoginClient implements SaslClientMechanism {
  readonly name = 'LOGIN';
  readonly #answers: Buffer[];
  #round = 0;

  constructor(creds: SaslCredentials) {
    refuseAuthzid(creds, this.name);
    this.#answers = [
      Buffer.from(checkedUser(creds), 'utf8'),
      Buffer.from(checkedPassword(creds, this.name), 'utf8'),
    ];
  }

  initialResponse(): undefined {
    return undefined;
  }

  respond(_challenge: Buffer): Buffer {
    const answer = this.#answers[this.#round];
    if (answer === undefined) throw unexpectedChallenge(this.name);
    this.#round++;
    return answer;
  }

  finish(): void {
    if (this.#round < this.#answers.length)
      throw authError('LOGIN: server accepted before the password was sent');
  }
}
