import type { ConnectionOptions as TlsOptions } from 'node:tls';

/** How the connection is secured. */
export type TlsMode = 'implicit' | 'starttls' | 'none';

/** Credentials: a password, an OAuth access token, and optionally the mechanism to use. */
export interface AuthOptions {
  user: string;
  pass?: string;
  accessToken?: string;
  /** Authorization identity for PLAIN/SCRAM (rarely needed). */
  authzid?: string;
  /**
   * `USER` (USER/PASS), `APOP`, or a SASL mechanism name. Without it the strongest
   * mechanism the server offers for these credentials is used; there is never a
   * fallback to a weaker one after a failure.
   */
  mechanism?: string;
  /** XOAUTH2: send the token with the AUTH command instead of on the next line. */
  xoauth2InitialResponse?: boolean;
}

export interface Timeouts {
  /** TCP connect and TLS handshake, ms. */
  connect: number;
  /** From connected to the server's greeting, ms. */
  greeting: number;
  /** From sending a command to its complete status line (and, for listings, the whole reply), ms. */
  command: number;
  /** Longest silence while a message body is arriving, ms (time spent waiting on the reader does not count). */
  idle: number;
  /**
   * Slowest a message body may arrive, octets/s averaged over each `idle` window, so that a server
   * dripping a byte just before every silence would end still cannot hold a RETR forever. 0: no floor.
   */
  minRate: number;
}

export interface Limits {
  /** Status lines, CAPA lines, listing lines: octets including CRLF (RFC 1939 says 512; slack for real servers). */
  maxLineLength: number;
  /** One line of a message body. Bodies are streamed, so this bounds hostile input, not memory. */
  maxBodyLineLength: number;
  /** Whole message (RETR/TOP), unstuffed octets. */
  maxMessageSize: number;
  /** Lines in a LIST/UIDL/CAPA reply, and messages in STAT. */
  maxListLength: number;
  /** Challenges in one SASL exchange. */
  maxSaslRounds: number;
}

export interface TraceEvent {
  /** C: client to server; S: server to client; '*': what happened on the connection (TLS, close). */
  dir: 'C' | 'S' | '*';
  /** The line as sent or received; secrets already replaced by `***`. */
  line: string;
  at: Date;
  /** For a message body: its size, instead of its content. */
  body?: { octets: number; lines: number };
}

/** Anything with pino-style level methods; only `debug` and `warn` are used. */
export interface Logger {
  debug?(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
}

export interface ClientOptions {
  host: string;
  /** Defaults to 995 with implicit TLS, 110 otherwise. */
  port?: number;
  /** Default 'implicit' (RFC 8314). */
  tls?: TlsMode;
  /** Extra node:tls options (ca, cert pinning via checkServerIdentity, minVersion, ...). Verification stays on. */
  tlsOptions?: TlsOptions;
  /**
   * CA certificates (PEM) to trust in addition to Node's built-in roots (`tlsOptions.ca` replaces
   * them; with `ca` set, these join it). Cheaper than `ca: [...tls.rootCertificates, pem]`, which
   * re-parses every built-in root per connection. Not combinable with `tlsOptions.secureContext`.
   */
  extraCa?: readonly (string | Buffer)[];
  /** Log in during connect(). */
  auth?: AuthOptions;
  /** Allow a password or token to be sent over a connection without TLS. Off by default. */
  allowInsecureAuth?: boolean;
  timeouts?: Partial<Timeouts>;
  limits?: Partial<Limits>;
  signal?: AbortSignal;
  /** Called for every line on the wire, with secrets redacted at the source. */
  onTrace?: (event: TraceEvent) => void;
  logger?: Logger;
  /**
   * Max RETRs in flight in retrieveMany() when the server offers PIPELINING (default 32).
   * Hundreds are fine: memory is bounded by `readAheadBytes`, not by the window.
   */
  pipelineWindow?: number;
  /**
   * Octets of message bodies the client may hold ahead of their readers (default 256 KiB):
   * past it, reading from the socket waits until the reader catches up. Larger values smooth
   * out a bursty reader at the cost of memory.
   */
  readAheadBytes?: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = {
  connect: 15_000,
  greeting: 30_000,
  command: 60_000,
  idle: 60_000,
  minRate: 1024,
};

export const DEFAULT_LIMITS: Limits = {
  maxLineLength: 2048,
  maxBodyLineLength: 16 * 1024 * 1024,
  maxMessageSize: 4 * 1024 * 1024 * 1024,
  maxListLength: 1_000_000,
  maxSaslRounds: 10,
};
