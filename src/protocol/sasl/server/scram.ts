import { randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeBase64Strict } from '../base64.js';
import { decodeUtf8, isValidIdentity } from '../fields.js';
import {
  digest,
  hashOctets,
  hmac,
  isValidNonce,
  keysFromSaltedPassword,
  parseAttributes,
  type ScramHash,
  saltedPassword,
  unescapeSaslName,
  xor,
} from '../scram-core.js';
import { challenge, failure, ServerExchangeBase } from './base.js';
import { fakeScramCredentials, stableSalt } from './scram-fake.js';
import type { SaslServerBackend, SaslStep, ScramStored } from './types.js';

export const DEFAULT_SCRAM_ITERATIONS = 4096;
const MAX_CLIENT_NONCE_LENGTH = 256;

/** Salted keys for a password (RFC 5802 §3): store these instead of the password. */
export function deriveScramCredentials(
  pass: string,
  hash: ScramHash,
  salt: Buffer = randomBytes(16),
  iterations: number = DEFAULT_SCRAM_ITERATIONS,
): ScramStored {
  const { storedKey, serverKey } = keysFromSaltedPassword(saltedPassword(pass, salt, iterations, hash), hash);
  return { salt, iterations, storedKey, serverKey };
}

interface Gs2 {
  header: string; // as sent, including the trailing comma
  authzid: string | undefined;
}

/** Parse the gs2 header at the start of `text`: `n,` / `y,` then `[a=saslname]` and `,`. */
export function parseGs2Header(text: string): { gs2: Gs2; rest: string } | { error: string } {
  const flag = text[0];
  if (flag === 'p') return { error: 'channel binding is not supported' };
  // `y`: the client could have used channel binding but thinks we cannot. We advertise no -PLUS
  // mechanism, so that is true, and RFC 5802 §6 says to accept it.
  if ((flag !== 'n' && flag !== 'y') || text[1] !== ',') return { error: 'malformed gs2 header' };
  const end = text.indexOf(',', 2);
  if (end < 0) return { error: 'malformed gs2 header' };
  const authzField = text.slice(2, end);
  let authzid: string | undefined;
  if (authzField !== '') {
    if (!authzField.startsWith('a=')) return { error: 'malformed gs2 header' };
    authzid = unescapeSaslName(authzField.slice(2));
    if (authzid === undefined || !isValidIdentity(authzid)) return { error: 'malformed authzid' };
  }
  return { gs2: { header: text.slice(0, end + 1), authzid }, rest: text.slice(end + 1) };
}

type State =
  | { at: 'start' }
  | { at: 'client-first-wanted' }
  | {
      at: 'client-final-wanted';
      gs2Header: string;
      clientFirstBare: string;
      serverFirst: string;
      nonce: string;
      user: string;
      stored: ScramStored;
      known: boolean;
    }
  | { at: 'empty-wanted'; user: string };

/**
 * SCRAM-SHA-1 / SCRAM-SHA-256 server (RFC 5802, RFC 7677, CONFORMANCE S19, S21).
 * Unknown users get a fake but stable salt and fail at the proof, like a wrong password.
 * The server signature `v=` goes out as a challenge; an empty response then completes.
 */
export class ScramServer extends ServerExchangeBase {
  readonly mechanism: string;
  readonly #hash: ScramHash;
  #state: State = { at: 'start' };

  constructor(
    name: 'SCRAM-SHA-1' | 'SCRAM-SHA-256',
    private readonly backend: SaslServerBackend,
    private readonly opts: { minIterations: number; derivedIterations: number; serverNonce?: string },
  ) {
    super();
    this.mechanism = name;
    this.#hash = name === 'SCRAM-SHA-1' ? 'sha1' : 'sha256';
  }

  protected async onStep(response: Buffer | undefined): Promise<SaslStep> {
    const state = this.#state;
    switch (state.at) {
      case 'start':
        if (response === undefined) {
          this.#state = { at: 'client-first-wanted' };
          return challenge(Buffer.alloc(0));
        }
        return this.#clientFirst(response);
      case 'client-first-wanted':
        return this.#clientFirst(response!);
      case 'client-final-wanted':
        return this.#clientFinal(response!, state);
      case 'empty-wanted':
        return response!.length === 0
          ? { kind: 'success', user: state.user }
          : failure('expected an empty response after the server signature', state.user);
    }
  }

  async #clientFirst(response: Buffer): Promise<SaslStep> {
    const text = decodeUtf8(response);
    if (text === undefined) return failure('client-first-message is not UTF-8');
    const head = parseGs2Header(text);
    if ('error' in head) return failure(head.error);
    const clientFirstBare = head.rest;
    const attrs = parseAttributes(clientFirstBare);
    if (attrs === undefined) return failure('malformed client-first-message');
    if (attrs[0]?.name === 'm') return failure('unsupported mandatory extension');
    const [n, r] = attrs;
    if (n?.name !== 'n' || r?.name !== 'r') return failure('malformed client-first-message');
    const user = unescapeSaslName(n.value);
    if (user === undefined || !isValidIdentity(user)) return failure('malformed user name');
    if (head.gs2.authzid !== undefined && head.gs2.authzid !== user) {
      return failure('authorization identity not permitted', user);
    }
    const clientNonce = r.value;
    if (!isValidNonce(clientNonce) || clientNonce.length > MAX_CLIENT_NONCE_LENGTH) {
      return failure('malformed client nonce', user);
    }

    const looked = await this.#lookUp(user);
    if (looked.stored.iterations < this.opts.minIterations)
      return failure('stored iteration count too low', user);
    const nonce = clientNonce + (this.opts.serverNonce ?? randomBytes(18).toString('base64'));
    const serverFirst = `r=${nonce},s=${looked.stored.salt.toString('base64')},i=${looked.stored.iterations}`;
    this.#state = {
      at: 'client-final-wanted',
      gs2Header: head.gs2.header,
      clientFirstBare,
      serverFirst,
      nonce,
      user,
      stored: looked.stored,
      known: looked.known,
    };
    return challenge(serverFirst);
  }

  async #lookUp(user: string): Promise<{ stored: ScramStored; known: boolean }> {
    const { backend, opts } = this;
    if (backend.getScramCredentials) {
      const stored = await backend.getScramCredentials(user, this.#hash);
      if (stored !== null) return { stored, known: true };
    } else if (backend.getPassword) {
      const pass = await backend.getPassword(user);
      // Derive for unknown users too (from a random password), so both paths cost one PBKDF2.
      const stored = deriveScramCredentials(
        pass ?? randomBytes(16).toString('hex'),
        this.#hash,
        stableSalt(this.#hash, user),
        opts.derivedIterations,
      );
      return { stored, known: pass !== null };
    }
    // The made-up count is the one known users show, so i= does not tell them from unknown ones.
    const iterations = backend.scramDecoyIterations?.(this.#hash) ?? opts.derivedIterations;
    return { stored: fakeScramCredentials(this.#hash, user, iterations), known: false };
  }

  #clientFinal(response: Buffer, state: Extract<State, { at: 'client-final-wanted' }>): SaslStep {
    const { user } = state;
    const text = decodeUtf8(response);
    if (text === undefined) return failure('client-final-message is not UTF-8', user);
    const attrs = parseAttributes(text);
    const proofAt = text.lastIndexOf(',p=');
    const [c, r] = attrs ?? [];
    const p = attrs?.[attrs.length - 1];
    if (attrs === undefined || c?.name !== 'c' || r?.name !== 'r' || p?.name !== 'p' || proofAt < 0) {
      return failure('malformed client-final-message', user);
    }
    if (attrs.slice(2, -1).some((a) => a.name === 'm'))
      return failure('unsupported mandatory extension', user);
    // Without channel binding, c= is exactly the base64 of the gs2 header the client sent first.
    let binding: Buffer;
    let proof: Buffer;
    try {
      binding = decodeBase64Strict(c.value);
      proof = decodeBase64Strict(p.value);
    } catch {
      return failure('malformed base64 in client-final-message', user);
    }
    if (binding.toString('utf8') !== state.gs2Header) return failure('channel binding mismatch', user);
    if (r.value !== state.nonce) return failure('nonce mismatch', user);
    if (proof.length !== hashOctets(this.#hash)) return failure('invalid proof', user);

    const withoutProof = text.slice(0, proofAt);
    const authMessage = `${state.clientFirstBare},${state.serverFirst},${withoutProof}`;
    const { storedKey, serverKey } = state.stored;
    const clientKey = xor(proof, hmac(this.#hash, storedKey, authMessage));
    const proofOk = timingSafeEqual(digest(this.#hash, clientKey), storedKey);
    if (!proofOk || !state.known) return failure('invalid proof', user);
    const serverSignature = hmac(this.#hash, serverKey, authMessage);
    this.#state = { at: 'empty-wanted', user: state.stored.user ?? user };
    return challenge(`v=${serverSignature.toString('base64')}`);
  }
}
