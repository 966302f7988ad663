/**
 * pop3kit: the POP3 client (RFC 1939 with CAPA, PIPELINING, STLS, SASL, APOP) and the
 * wire codec it shares with `pop3kit/server`.
 */
export { type MessageSize, type MessageUid, Pop3Client, type RetrievedMessage } from './client/client.js';
export type {
  AuthOptions,
  ClientOptions,
  Limits,
  Logger,
  Timeouts,
  TlsMode,
  TraceEvent,
} from './client/options.js';
export { DEFAULT_LIMITS, DEFAULT_TIMEOUTS } from './client/options.js';
export type { TlsInfo } from './client/transport.js';
export { Capabilities } from './protocol/capabilities.js';
export { Pop3Error, type Pop3ErrorCode } from './protocol/errors.js';
