import { Pop3Error } from '../../errors.js';
import { decodeBase64Strict, encodeBase64 } from '../base64.js';
import { protocolError } from './common.js';
import type { SaslClientMechanism } from './types.js';

/** RFC 5034 §4: an AUTH command with its initial response may not exceed 255 octets, CRLF included. */
export const MAX_AUTH_COMMAND_OCTETS = 255;
/** More challenges than any implemented mechanism needs (SCRAM: 2), with room for a server's extra empty one. */
export const DEFAULT_MAX_ROUNDS = 8;
/** Decoded challenge cap: OAuth error JSON and SCRAM messages are far smaller. */
export const DEFAULT_MAX_CHALLENGE_OCTETS = 8192;

export interface ClientAuthOptions {
  maxRounds?: number;
  maxChallengeOctets?: number;
}

/**
 * The text side of one client AUTH exchange (RFC 5034), around a mechanism:
 * `command` is the line to send (without CRLF); `answer()` turns the text after `+ ` into the
 * next line to send, or `*` to cancel; `finish()` runs on +OK.
 */
export interface ClientAuthExchange {
  readonly mechanism: string;
  /** `AUTH NAME base64`, `AUTH NAME =` for an empty initial response, or `AUTH NAME`. */
  readonly command: string;
  /** The line answering one continuation (`+ text`): base64, empty, or `*` to cancel. */
  answer(challengeText: string): string;
  /** Why the exchange was cancelled with `*`; the caller reports this once the server's -ERR arrives. */
  readonly error: Pop3Error | undefined;
  /** Call on +OK. Throws Pop3Error('EAUTH'/'EPROTOCOL') when the exchange is not verifiably complete. */
  finish(): void;
}

/**
 * Start an exchange. An initial response that would make the AUTH line longer than 255 octets is
 * held back and sent in answer to the server's first, empty challenge (RFC 5034 §4, CONFORMANCE C14).
 * Bad base64 in a challenge, too many rounds, or an oversized challenge cancel with `*`
 * (CONFORMANCE C14, adversarial client cases 31, 32, 35).
 */
export function beginClientAuth(mech: SaslClientMechanism, opts: ClientAuthOptions = {}): ClientAuthExchange {
  const maxRounds = opts.maxRounds ?? DEFAULT_MAX_ROUNDS;
  const maxChallengeOctets = opts.maxChallengeOctets ?? DEFAULT_MAX_CHALLENGE_OCTETS;
  // Longest base64 text that can decode to at most maxChallengeOctets.
  const maxChallengeText = Math.ceil(maxChallengeOctets / 3) * 4;

  const ir = mech.initialResponse();
  let command = `AUTH ${mech.name}`;
  let deferred: Buffer | undefined;
  if (ir !== undefined) {
    const arg = ir.length === 0 ? '=' : encodeBase64(ir);
    const line = `${command} ${arg}`;
    if (Buffer.byteLength(line) + 2 <= MAX_AUTH_COMMAND_OCTETS) command = line;
    else deferred = ir;
  }

  let rounds = 0;
  let error: Pop3Error | undefined;
  let finished = false;

  const cancel = (err: Pop3Error): string => {
    error = err;
    return '*';
  };

  return {
    mechanism: mech.name,
    command,
    get error() {
      return error;
    },
    answer(challengeText: string): string {
      if (error !== undefined || finished)
        return cancel(error ?? protocolError('challenge after the exchange ended'));
      rounds++;
      if (rounds > maxRounds) {
        return cancel(
          new Pop3Error(`${mech.name}: more than ${maxRounds} SASL challenges`, { code: 'ELIMIT' }),
        );
      }
      if (challengeText.length > maxChallengeText) {
        return cancel(
          new Pop3Error(`${mech.name}: SASL challenge longer than ${maxChallengeOctets} octets`, {
            code: 'ELIMIT',
          }),
        );
      }
      try {
        const challenge = decodeBase64Strict(challengeText);
        let reply: Buffer;
        if (deferred !== undefined) {
          if (challenge.length !== 0) throw protocolError(`${mech.name}: expected an empty first challenge`);
          reply = deferred;
          deferred = undefined;
        } else {
          reply = mech.respond(challenge);
        }
        return encodeBase64(reply);
      } catch (err) {
        if (err instanceof Pop3Error) return cancel(err);
        return cancel(protocolError(`${mech.name}: could not answer the challenge`));
      }
    },
    finish(): void {
      if (finished) throw protocolError('SASL exchange finished twice');
      finished = true;
      if (error !== undefined) throw protocolError(`${mech.name}: server accepted a cancelled exchange`);
      if (deferred !== undefined)
        throw protocolError(`${mech.name}: server accepted before the initial response`);
      mech.finish();
    },
  };
}
