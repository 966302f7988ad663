/** One client side of one SASL exchange. Instances are single-use. */
export interface SaslClientMechanism {
  /** The registered mechanism name, upper-case, e.g. 'SCRAM-SHA-256'. */
  readonly name: string;
  /**
   * Bytes for `AUTH name <base64>`, or undefined when the mechanism starts with an empty challenge
   * (LOGIN, CRAM-MD5, two-step XOAUTH2). Call at most once.
   */
  initialResponse(): Buffer | undefined;
  /**
   * Answer one decoded server challenge. Throws Pop3Error ('EAUTH' or 'EPROTOCOL') for a challenge
   * that must be refused; the caller then sends `*`. A client-first mechanism whose initial response
   * was not yet produced answers an empty challenge with it.
   */
  respond(challenge: Buffer): Buffer;
  /** Called when the server answers +OK: throws Pop3Error('EAUTH') unless the exchange is verifiably complete. */
  finish(): void;
}

export interface SaslCredentials {
  user: string;
  pass?: string;
  accessToken?: string;
  /** Authorization identity (act as this user); only PLAIN, SCRAM and OAUTHBEARER can carry one. */
  authzid?: string;
}

export interface ClientMechanismOptions {
  /** SCRAM client nonce, for test vectors only. Default: 24 random bytes, base64. */
  nonce?: string;
  /** SCRAM: smallest iteration count accepted from the server. Default 1 (RFC 5802 only says SHOULD >= 4096). */
  minIterations?: number;
  /** SCRAM: largest iteration count accepted; a bound on the CPU a server can make us spend. Default 1,000,000. */
  maxIterations?: number;
  /** XOAUTH2: send the token after an empty first challenge instead of as the initial response. Default true. */
  twoStep?: boolean;
  /** OAUTHBEARER: the `host` and `port` key-value pairs (RFC 7628 §3.1), sent when given. */
  host?: string;
  port?: number;
}
