import type { ScramHash } from '../scram-core.js';

/**
 * What the server needs from its user database. Implement what you can; serverMechanisms()
 * offers exactly the mechanisms the implemented methods support. A method that throws (database
 * down) rejects step(); the session maps that to a temporary failure.
 */
export interface SaslServerBackend {
  /** Check a password (PLAIN, LOGIN). Returns the canonical user name, or null. */
  verifyPassword?(user: string, pass: string, authzid?: string): Promise<string | null>;
  /** The plaintext password, or null for an unknown user (CRAM-MD5, APOP; PLAIN/LOGIN/SCRAM as a fallback). */
  getPassword?(user: string): Promise<string | null>;
  /** Stored SCRAM keys (RFC 5802 §3), or null for an unknown user. */
  getScramCredentials?(user: string, hash: ScramHash): Promise<ScramStored | null>;
  /**
   * The iteration count an unknown user's made-up SCRAM credentials show (RFC 5802 §9: the server
   * should not reveal which users exist): the count most known users have. Default: the server's.
   */
  scramDecoyIterations?(hash: ScramHash): number;
  /** Check an OAuth 2.0 bearer token for `user` ('' when OAUTHBEARER names none). Returns the canonical user, or null. */
  verifyToken?(user: string, token: string): Promise<string | null>;
}

export interface ScramStored {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
  /** Canonical user name to report on success; default: the name the client sent. */
  user?: string;
}

export type SaslStep =
  | { kind: 'challenge'; data: Buffer }
  | { kind: 'success'; user: string }
  /** `reason` is a fixed text, safe to log: never a secret, never client input. `user` is the claimed name, when known. */
  | { kind: 'failure'; reason: string; user?: string };

export interface SaslServerExchange {
  readonly mechanism: string;
  /** Largest decoded client response accepted; lets the session size its line limit for AUTH continuations. */
  readonly maxResponseOctets: number;
  /**
   * Feed the next decoded client response: undefined on the first call when AUTH carried no initial
   * response (an empty initial response `=` is an empty Buffer). After a success or failure every
   * further call fails.
   */
  step(response: Buffer | undefined): Promise<SaslStep>;
}

export interface ServerExchangeOptions {
  /** Host name for the CRAM-MD5 challenge `<random.time@serverName>`. */
  serverName: string;
  /** SCRAM: least iteration count the server will use (RFC 5802 §5.1 SHOULD be >= 4096). Default 4096. */
  minScramIterations?: number;
  /** SCRAM keys derived on the fly from getPassword(): iteration count. Default 4096. */
  scramIterations?: number;
  /** Tests only: fixed SCRAM server nonce part and CRAM-MD5 challenge. */
  scramServerNonce?: string;
  cramChallenge?: string;
}
