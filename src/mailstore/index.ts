// Public API of the mail stores: what the server serves from and the fetcher delivers into.

export { toWireForm, WireSizeCounter, wireOctets, wireOctetsOfStream } from '../protocol/wire-size.js';
export type { MessageSource } from './io.js';
export type { MaildirDeliverOptions, TmpMessage } from './maildir-deliver.js';
export { deliverToMaildir, ensureMaildir, publish, uniqueMaildirName, writeTmp } from './maildir-deliver.js';
export { isValidUid, maildirBase } from './maildir-names.js';
export type { MaildirStoreOptions } from './maildir-store.js';
export { LOCK_FILE, MaildirStore, validateUserName } from './maildir-store.js';
export type { MboxAppendOptions } from './mbox-deliver.js';
export { appendToMbox, mboxSeparator } from './mbox-deliver.js';
export type { MemoryMessage } from './memory-store.js';
export { MemoryStore } from './memory-store.js';
export type { Mailbox, MailStore, MessageInfo, ReadTarget } from './types.js';
export { MailboxBusyError, MessageGoneError } from './types.js';
