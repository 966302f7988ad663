/**
 * pop3kit/server: an embeddable POP3 server over a pluggable mail store, with the users-file
 * backend and the stores it ships with.
 */

export {
  type Mailbox,
  MailboxBusyError,
  MaildirStore,
  type MaildirStoreOptions,
  type MailStore,
  MemoryStore,
  MessageGoneError,
  type MessageInfo,
  type ReadTarget,
} from '../mailstore/index.js';
export type { SaslServerBackend, ScramStored } from '../protocol/sasl/server/index.js';
export { deriveScramCredentials } from '../protocol/sasl/server/index.js';
export type { Logger } from './logger.js';
export {
  type AuthenticateHook,
  type AuthRequest,
  type CapabilityOptions,
  DEFAULT_SERVER_LIMITS,
  type Pop3ServerOptions,
  type ServerLimits,
} from './options.js';
export { type CloseOptions, type ListenOptions, Pop3Server, type ServerEvents } from './server.js';
export type { CloseReason, SessionInfo } from './session-types.js';
export {
  formatUsersLine,
  type HashOptions,
  hashPassword,
  PASSWORD_SCHEMES,
  type PasswordScheme,
  UsersFile,
} from './users-file.js';
