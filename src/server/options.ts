import { hostname as osHostname } from 'node:os';
import type { SecureContextOptions } from 'node:tls';
import type { MailStore } from '../mailstore/types.js';
import type { SaslServerBackend } from '../protocol/sasl/server/index.js';
import type { Logger } from './logger.js';
import type { UsersFile } from './users-file.js';

export interface ServerLimits {
  /** Open connections in total; more are answered `-ERR [SYS/TEMP]` and closed. Default 1000. */
  maxConnections: number;
  /** Open connections from one remote address. Default 50. */
  maxConnectionsPerAddress: number;
  /**
   * A session must be logged in this long after it connected, TLS handshakes included, or it is
   * closed (CVE-2014-3430: half-open sessions must not hold slots). Not reset by commands. Default 60 s.
   */
  preLoginTimeoutMs: number;
  /**
   * Autologout after login: closed without UPDATE after this long with no command and no output
   * progress. RFC 1939 §3 requires at least 10 minutes; shorter values are for tests. Default 10 min.
   */
  idleTimeoutMs: number;
  /** A TLS handshake (implicit or after STLS) must finish within this. Default 30 s. */
  handshakeTimeoutMs: number;
  /**
   * Longest command line, CRLF included. RFC 2449 §4 requires at least 255; the default 2048 leaves
   * room for `AUTH PLAIN <initial response>` with 255-octet fields. SASL continuation lines are
   * bounded separately, by the mechanism's own cap. Default 2048.
   */
  maxLineLength: number;
  /** Unknown, malformed or wrong-state commands tolerated; the next one closes the session. Default 10. */
  maxBadCommands: number;
  /** After this many failed logins in one session, the last `-ERR [AUTH]` is followed by a close. Default 3. */
  maxFailedLogins: number;
  /**
   * Every failed login is answered no sooner than this long after the attempt started, whether the
   * user exists or not, so neither the reply nor its timing reveals which users exist. Default 2000.
   */
  failedLoginDelayMs: number;
  /** Input read but not yet processed (pipelined commands); more closes the session. Default 64 KiB. */
  maxPipelinedBytes: number;
}

export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxConnections: 1000,
  maxConnectionsPerAddress: 50,
  preLoginTimeoutMs: 60_000,
  idleTimeoutMs: 10 * 60_000,
  handshakeTimeoutMs: 30_000,
  maxLineLength: 2048,
  maxBadCommands: 10,
  maxFailedLogins: 3,
  failedLoginDelayMs: 2000,
  maxPipelinedBytes: 64 * 1024,
});

/** Optional RFC 2449 / RFC 6856 capabilities. Advertise LOGIN-DELAY and EXPIRE only if they are true. */
export interface CapabilityOptions {
  /** `EXPIRE days|NEVER` (RFC 2449 §6.7): how long the site keeps retrieved mail. Informational; nothing is expired by the server. */
  expire?: number | 'NEVER';
  /** `LOGIN-DELAY secs` (RFC 2449 §6.5): enforced; a user logging in again sooner gets `-ERR [LOGIN-DELAY]`. */
  loginDelay?: number;
  /** `IMPLEMENTATION text` (RFC 2449 §6.9). Off by default: it helps attackers more than users. */
  implementation?: string;
  /**
   * The UTF8 command and capability (RFC 6856). Off by default: messages are sent as stored, never
   * downgraded, so advertise UTF8 only if that is acceptable for your clients.
   */
  utf8?: boolean;
}

/** What the `authenticate` hook is told about one password login. */
export interface AuthRequest {
  user: string;
  pass: string;
  /** Authorization identity (PLAIN only), when the client sent one different from `user`. */
  authzid?: string;
  /** `USER` for USER/PASS, else the SASL mechanism (`PLAIN`, `LOGIN`). */
  mechanism: string;
  remoteAddress: string | undefined;
  secure: boolean;
}

/** Returns the canonical user name (or true for `user` as given); null or false refuses. Throwing means a temporary failure. */
export type AuthenticateHook = (
  req: AuthRequest,
) => Promise<string | boolean | null> | string | boolean | null;

export interface Pop3ServerOptions {
  /** Where maildrops come from: MemoryStore, MaildirStore, or your own MailStore. */
  store: MailStore;
  /** Password check for USER/PASS, PLAIN and LOGIN. */
  authenticate?: AuthenticateHook;
  /** Bearer-token check for OAUTHBEARER and XOAUTH2: returns the canonical user, or null. */
  verifyToken?: (user: string, token: string) => Promise<string | null>;
  /** A users file (`user:{SCHEME}secret` lines); see UsersFile for which schemes serve which mechanisms. */
  users?: UsersFile;
  /** A full SASL backend, for mechanisms that need stored secrets (SCRAM keys, plaintext for CRAM-MD5/APOP). */
  backend?: SaslServerBackend;
  /** Certificate and key (node:tls SecureContext options). TLS 1.2 is the minimum whatever is set here. */
  tls?: SecureContextOptions;
  /** Offer STLS on plaintext connections. Default: true when `tls` is set. */
  stls?: boolean;
  /** Listeners speak TLS from the first byte (port 995, RFC 8314). Default false; `listen()` can override per listener. */
  implicitTls?: boolean;
  /**
   * Accept USER/PASS, PLAIN, LOGIN, OAUTHBEARER and XOAUTH2 without TLS. Default false: they are then
   * neither accepted nor advertised on plaintext connections (CONFORMANCE S12, S17).
   */
  allowInsecureAuth?: boolean;
  /** Offer APOP (RFC 1939 §7; MD5 over a stored plaintext secret). Default false (CVE-2007-1558). */
  apop?: boolean;
  limits?: Partial<ServerLimits>;
  capabilities?: CapabilityOptions;
  /** Name used in the greeting, the APOP timestamp and the CRAM-MD5 challenge. Default: os.hostname(). */
  hostname?: string;
  logger?: Logger;
  /** SCRAM iteration count for keys derived on the fly from plaintext secrets. Default 4096. */
  scramIterations?: number;
}

/** Options after defaults, as a session sees them. */
export interface ResolvedOptions {
  store: MailStore;
  limits: ServerLimits;
  capabilities: CapabilityOptions;
  hostname: string;
  allowInsecureAuth: boolean;
  apop: boolean;
  stls: boolean;
  implicitTls: boolean;
  logger: Logger | undefined;
  scramIterations: number | undefined;
}

function checkLimits(limits: ServerLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new TypeError(`limits.${name} must be a non-negative integer`);
    }
  }
  if (limits.maxLineLength < 255)
    throw new TypeError('limits.maxLineLength must be at least 255 (RFC 2449 §4)');
  if (limits.maxPipelinedBytes < limits.maxLineLength) {
    throw new TypeError('limits.maxPipelinedBytes must be at least limits.maxLineLength');
  }
}

export function resolveOptions(opts: Pop3ServerOptions): ResolvedOptions {
  if (!opts || typeof opts.store?.openMailbox !== 'function')
    throw new TypeError('Pop3Server: `store` is required');
  const limits = { ...DEFAULT_SERVER_LIMITS, ...opts.limits };
  checkLimits(limits);
  const caps = { ...opts.capabilities };
  if (caps.loginDelay !== undefined && (!Number.isSafeInteger(caps.loginDelay) || caps.loginDelay < 0)) {
    throw new TypeError('capabilities.loginDelay must be a non-negative integer (seconds)');
  }
  if (
    caps.expire !== undefined &&
    caps.expire !== 'NEVER' &&
    (!Number.isSafeInteger(caps.expire) || caps.expire < 0)
  ) {
    throw new TypeError("capabilities.expire must be a non-negative integer (days) or 'NEVER'");
  }
  if (opts.implicitTls && !opts.tls) throw new TypeError('Pop3Server: implicitTls needs `tls`');
  if (opts.stls && !opts.tls) throw new TypeError('Pop3Server: stls needs `tls`');
  return {
    store: opts.store,
    limits,
    capabilities: caps,
    hostname: opts.hostname ?? osHostname(),
    allowInsecureAuth: opts.allowInsecureAuth ?? false,
    apop: opts.apop ?? false,
    stls: opts.tls !== undefined && (opts.stls ?? true),
    implicitTls: opts.implicitTls ?? false,
    logger: opts.logger,
    scramIterations: opts.scramIterations,
  };
}
