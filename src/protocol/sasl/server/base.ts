import type { SaslServerExchange, SaslStep } from './types.js';

/** Fixed caps for every exchange: no mechanism here needs more than four steps. */
export const MAX_STEPS = 6;
export const MAX_RESPONSE_OCTETS = 4096;
/** Bearer tokens (JWTs with group claims) can run to several KiB. */
export const MAX_TOKEN_RESPONSE_OCTETS = 16384;

export function challenge(data: Buffer | string): SaslStep {
  return { kind: 'challenge', data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data };
}

export function failure(reason: string, user?: string): SaslStep {
  return user === undefined ? { kind: 'failure', reason } : { kind: 'failure', reason, user };
}

/**
 * Shared bookkeeping: bounds the number of steps and the size of each response, and makes the
 * exchange single-use (after success or failure every step fails).
 */
export abstract class ServerExchangeBase implements SaslServerExchange {
  abstract readonly mechanism: string;
  readonly maxResponseOctets: number = MAX_RESPONSE_OCTETS;
  #steps = 0;
  #done = false;

  async step(response: Buffer | undefined): Promise<SaslStep> {
    if (this.#done) return failure('exchange already finished');
    this.#steps++;
    const first = this.#steps === 1;
    if (this.#steps > MAX_STEPS) return this.#end(failure('too many steps'));
    if (response === undefined && !first) return this.#end(failure('missing response'));
    if (response !== undefined && response.length > this.maxResponseOctets) {
      return this.#end(failure('response too long'));
    }
    let result: SaslStep;
    try {
      result = await this.onStep(response);
    } catch (err) {
      this.#done = true;
      throw err;
    }
    return result.kind === 'challenge' ? result : this.#end(result);
  }

  /** One step of the mechanism; `undefined` only on the first step (no initial response). */
  protected abstract onStep(response: Buffer | undefined): Promise<SaslStep>;

  #end(result: SaslStep): SaslStep {
    this.#done = true;
    return result;
  }
}
