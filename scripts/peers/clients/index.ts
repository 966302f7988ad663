// Runners for the real POP3 clients the interop tests and benchmarks drive: each downloads a whole
// mailbox once over STLS or implicit TLS, keeping or deleting the mail, with a hard deadline.
export { type ClientRunOptions, inWorkDir } from './client-options.js';
export { type FetchmailOptions, fetchmailConfig, runFetchmail, stripFetchmailReceived } from './fetchmail.js';
export { type MpopOptions, mpopConfig, runMpop, stripMpopReceived } from './mpop.js';
export { type PoplibMessage, type PoplibOptions, type PoplibResult, runPoplib } from './poplib.js';
export { type ChildResult, isolatedEnv, type RunChildOptions, rcQuote, runChild } from './run-child.js';
