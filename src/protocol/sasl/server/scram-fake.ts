import { createHmac, randomBytes } from 'node:crypto';
import type { ScramHash } from '../scram-core.js';
import type { ScramStored } from './types.js';

// A per-process secret, so that salts made up for users (unknown ones, or keys derived on the fly
// from getPassword) are stable within a run yet unpredictable: an attacker cannot tell an unknown
// user from a known one by the salt alone.
const processSecret = randomBytes(32);

export function stableSalt(hash: ScramHash, user: string): Buffer {
  return createHmac('sha256', processSecret).update(`salt\0${hash}\0${user}`).digest().subarray(0, 16);
}

/** Credentials no proof can match, shaped like real ones. */
export function fakeScramCredentials(hash: ScramHash, user: string, iterations: number): ScramStored {
  const octets = hash === 'sha1' ? 20 : 32;
  return {
    salt: stableSalt(hash, user),
    iterations,
    storedKey: randomBytes(octets),
    serverKey: randomBytes(octets),
  };
}
