import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeUtf8, isValidIdentity, safeHostPart } from '../fields.js';
import { challenge, failure, ServerExchangeBase } from './base.js';
import type { SaslServerBackend, SaslStep } from './types.js';

/**
 * CRAM-MD5 server (RFC 2195): challenge `<random.time@serverName>`, response
 * `user SP 32-lowercase-hex`. Needs the plaintext password (getPassword).
 */
export class CramMd5Server extends ServerExchangeBase {
  readonly mechanism = 'CRAM-MD5';
  readonly #challenge: string;
  #sent = false;

  constructor(
    private readonly backend: SaslServerBackend,
    serverName: string,
    fixedChallenge?: string,
  ) {
    super();
    this.#challenge =
      fixedChallenge ?? `<${randomBytes(8).readBigUInt64BE()}.${Date.now()}@${safeHostPart(serverName)}>`;
  }

  protected async onStep(response: Buffer | undefined): Promise<SaslStep> {
    if (!this.#sent) {
      if (response !== undefined) return failure('CRAM-MD5 takes no initial response');
      this.#sent = true;
      return challenge(this.#challenge);
    }
    const text = response === undefined ? undefined : decodeUtf8(response);
    const space = text?.lastIndexOf(' ') ?? -1;
    if (text === undefined || space < 0) return failure('malformed CRAM-MD5 response');
    const user = text.slice(0, space);
    const digest = text.slice(space + 1);
    if (!isValidIdentity(user) || !/^[0-9a-f]{32}$/.test(digest))
      return failure('malformed CRAM-MD5 response');
    if (!this.backend.getPassword) return failure('CRAM-MD5 unavailable', user);
    const secret = await this.backend.getPassword(user);
    // An unknown user costs the same HMAC as a known one.
    const expected = createHmac('md5', secret ?? randomBytes(16))
      .update(this.#challenge)
      .digest('hex');
    const match = timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(digest, 'latin1'));
    return secret !== null && match ? { kind: 'success', user } : failure('invalid credentials', user);
  }
}
