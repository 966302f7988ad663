import type { SecureContext } from 'node:tls';
import type { AuthBackend } from './auth-backend.js';
import type { ResolvedOptions } from './options.js';

export type SessionState = 'AUTHORIZATION' | 'TRANSACTION' | 'UPDATE';

/** Why a session ended. */
export type CloseReason =
  | 'quit' // QUIT, answered
  | 'closed' // the client closed or reset the connection
  | 'timeout' // pre-login deadline or autologout (RFC 1939 §3)
  | 'limit' // too many bad commands or failed logins, line too long, too much pipelined input
  | 'protocol' // bytes after STLS (CVE-2011-0411 class)
  | 'tls' // TLS handshake failed or timed out
  | 'shutdown' // Pop3Server.close()
  | 'error'; // a store or backend failure left the session unable to continue

/** The address fields of a net.Socket; other duplex streams (tests, fuzzers) may lack them. */
export interface PeerAddress {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
}

/** What events and logs say about a session; never a secret. */
export interface SessionInfo {
  id: string;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  secure: boolean;
  user?: string;
  mechanism?: string;
}

/** What a session needs from the server that owns it. */
export interface SessionHost {
  readonly options: ResolvedOptions;
  readonly auth: AuthBackend;
  readonly secureContext: SecureContext | undefined;
  /** Seconds the user must still wait under LOGIN-DELAY, or 0. */
  loginDelayRemaining(user: string): number;
  loggedIn(info: SessionInfo): void;
  closed(info: SessionInfo, reason: CloseReason, wasLoggedIn: boolean): void;
  failed(err: unknown, info: SessionInfo, what: string): void;
}
