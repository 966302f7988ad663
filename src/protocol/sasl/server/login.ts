import { decodeUtf8, hasLineBreakOrNul, isValidIdentity, MAX_FIELD_OCTETS } from '../fields.js';
import { challenge, failure, ServerExchangeBase } from './base.js';
import { checkPassword } from './passwords.js';
import type { SaslServerBackend, SaslStep } from './types.js';

/**
 * LOGIN server (draft-murchison-sasl-login): prompts "Username:" then "Password:". A user name
 * sent as the initial response (as some clients do) skips the first prompt.
 */
export class LoginServer extends ServerExchangeBase {
  readonly mechanism = 'LOGIN';
  #user: string | undefined;

  constructor(private readonly backend: SaslServerBackend) {
    super();
  }

  protected async onStep(response: Buffer | undefined): Promise<SaslStep> {
    if (response === undefined) return challenge('Username:');
    if (this.#user === undefined) {
      const user = decodeUtf8(response);
      if (user === undefined || !isValidIdentity(user)) return failure('invalid LOGIN user name');
      this.#user = user;
      return challenge('Password:');
    }
    const pass = decodeUtf8(response);
    if (pass === undefined || pass === '' || response.length > MAX_FIELD_OCTETS || hasLineBreakOrNul(pass)) {
      return failure('invalid LOGIN password', this.#user);
    }
    const user = await checkPassword(this.backend, this.#user, pass, undefined);
    return user === null ? failure('invalid credentials', this.#user) : { kind: 'success', user };
  }
}
