import { randomBytes, timingSafeEqual } from 'node:crypto';
import { printable } from '../../errors.js';
import { decodeBase64Strict } from '../base64.js';
import { decodeUtf8 } from '../fields.js';
import {
  escapeSaslName,
  hashOctets,
  hmac,
  isValidNonce,
  keysFromSaltedPassword,
  parseAttributes,
  type ScramHash,
  saltedPassword,
  xor,
} from '../scram-core.js';
import {
  authError,
  checkedAuthzid,
  checkedPassword,
  checkedUser,
  protocolError,
  unexpectedChallenge,
} from './common.js';
import type { SaslClientMechanism, SaslCredentials } from './types.js';

export const DEFAULT_MIN_ITERATIONS = 1;
/** PBKDF2 runs synchronously; this caps what a hostile server can make us compute (about a second). */
export const DEFAULT_MAX_ITERATIONS = 1_000_000;
/** Longest server nonce we accept, ours included. */
const MAX_NONCE_LENGTH = 1024;

type State = 'initial' | 'first-sent' | 'final-sent' | 'verified';

export interface ScramClientOptions {
  nonce?: string;
  minIterations?: number;
  maxIterations?: number;
}

/**
 * SCRAM-SHA-1 / SCRAM-SHA-256 client (RFC 5802, RFC 7677), without channel binding (gs2 flag `n`).
 * The server's signature `v=` is verified in constant time; finish() refuses a +OK without it.
 */
export class ScramClient implements SaslClientMechanism {
  readonly name: string;
  readonly #hash: ScramHash;
  readonly #gs2Header: string;
  readonly #clientFirstBare: string;
  readonly #nonce: string;
  readonly #minIterations: number;
  readonly #maxIterations: number;
  #pass: string | undefined;
  #state: State = 'initial';
  #expectedServerSignature: Buffer | undefined;

  constructor(name: 'SCRAM-SHA-1' | 'SCRAM-SHA-256', creds: SaslCredentials, opts: ScramClientOptions = {}) {
    this.name = name;
    this.#hash = name === 'SCRAM-SHA-1' ? 'sha1' : 'sha256';
    this.#pass = checkedPassword(creds, name);
    const user = checkedUser(creds);
    const authzid = checkedAuthzid(creds);
    this.#nonce = opts.nonce ?? randomBytes(24).toString('base64');
    if (!isValidNonce(this.#nonce)) throw protocolError('SCRAM: invalid client nonce');
    this.#minIterations = opts.minIterations ?? DEFAULT_MIN_ITERATIONS;
    this.#maxIterations = opts.maxIterations ?? DEFAULT_MAX_ITERATIONS;
    this.#gs2Header = authzid === undefined ? 'n,,' : `n,a=${escapeSaslName(authzid)},`;
    this.#clientFirstBare = `n=${escapeSaslName(user)},r=${this.#nonce}`;
  }

  initialResponse(): Buffer {
    if (this.#state !== 'initial') throw unexpectedChallenge(this.name);
    this.#state = 'first-sent';
    return Buffer.from(this.#gs2Header + this.#clientFirstBare, 'utf8');
  }

  respond(challenge: Buffer): Buffer {
    switch (this.#state) {
      case 'initial':
        if (challenge.length === 0) return this.initialResponse();
        throw unexpectedChallenge(this.name);
      case 'first-sent':
        return this.#answerServerFirst(challenge);
      case 'final-sent':
        return this.#checkServerFinal(challenge);
      default:
        throw unexpectedChallenge(this.name);
    }
  }

  finish(): void {
    if (this.#state !== 'verified') {
      throw authError(`${this.name}: server accepted without a verified server signature`);
    }
  }

  #answerServerFirst(challenge: Buffer): Buffer {
    const serverFirst = this.#text(challenge);
    const attrs = parseAttributes(serverFirst);
    if (attrs === undefined) throw protocolError(`${this.name}: malformed server-first-message`);
    if (attrs[0]?.name === 'm') throw protocolError(`${this.name}: server requires an unsupported extension`);
    const [r, s, i] = attrs;
    if (r?.name !== 'r' || s?.name !== 's' || i?.name !== 'i') {
      throw protocolError(`${this.name}: malformed server-first-message`);
    }
    const nonce = r.value;
    if (
      !nonce.startsWith(this.#nonce) ||
      nonce.length <= this.#nonce.length ||
      nonce.length > MAX_NONCE_LENGTH ||
      !isValidNonce(nonce)
    ) {
      throw authError(`${this.name}: server nonce does not extend the client nonce`);
    }
    const salt = decodeBase64Strict(s.value);
    if (salt.length === 0) throw protocolError(`${this.name}: empty salt`);
    if (!/^[1-9][0-9]{0,9}$/.test(i.value)) throw protocolError(`${this.name}: malformed iteration count`);
    const iterations = Number(i.value);
    if (iterations < this.#minIterations || iterations > this.#maxIterations) {
      throw authError(
        `${this.name}: iteration count ${iterations} outside the accepted range ${this.#minIterations}..${this.#maxIterations}`,
      );
    }

    const pass = this.#pass;
    if (pass === undefined) throw unexpectedChallenge(this.name);
    this.#pass = undefined; // no longer needed; drop the reference
    const { clientKey, storedKey, serverKey } = keysFromSaltedPassword(
      saltedPassword(pass, salt, iterations, this.#hash),
      this.#hash,
    );
    const withoutProof = `c=${Buffer.from(this.#gs2Header, 'utf8').toString('base64')},r=${nonce}`;
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    const proof = xor(clientKey, hmac(this.#hash, storedKey, authMessage));
    this.#expectedServerSignature = hmac(this.#hash, serverKey, authMessage);
    this.#state = 'final-sent';
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  #checkServerFinal(challenge: Buffer): Buffer {
    const serverFinal = this.#text(challenge);
    if (serverFinal.startsWith('e=')) {
      throw authError(`${this.name}: server reported ${printable(serverFinal.slice(2), 64)}`);
    }
    const attrs = parseAttributes(serverFinal);
    const v = attrs?.[0];
    if (v?.name !== 'v') throw protocolError(`${this.name}: malformed server-final-message`);
    const signature = decodeBase64Strict(v.value);
    const expected = this.#expectedServerSignature;
    if (
      expected === undefined ||
      signature.length !== hashOctets(this.#hash) ||
      !timingSafeEqual(signature, expected)
    ) {
      throw authError(`${this.name}: server signature does not verify`);
    }
    this.#state = 'verified';
    return Buffer.alloc(0); // RFC 4422 §3 / CONFORMANCE S19: an empty response, then +OK
  }

  #text(challenge: Buffer): string {
    const text = decodeUtf8(challenge);
    if (text === undefined) throw protocolError(`${this.name}: challenge is not UTF-8`);
    return text;
  }
}
