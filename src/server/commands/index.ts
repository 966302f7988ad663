import type { ParsedCommand } from '../command-line.js';
import type { Session } from '../session.js';
import type { SessionState } from '../session-types.js';
import { apop } from './apop.js';
import { auth } from './auth.js';
import { capa } from './capa.js';
import { list, stat, uidl } from './listing.js';
import { dele, noop, rset } from './marks.js';
import { quit } from './quit.js';
import { retr, top } from './retrieve.js';
import { stls } from './stls.js';
import { pass, user } from './user-pass.js';
import { utf8 } from './utf8.js';

/** A command: the states it is valid in (others get -ERR as a bad command) and its handler. */
export interface CommandSpec {
  states: readonly SessionState[];
  run(session: Session, cmd: ParsedCommand): Promise<void> | void;
}

const AUTHORIZATION: readonly SessionState[] = ['AUTHORIZATION'];
const TRANSACTION: readonly SessionState[] = ['TRANSACTION'];
const BOTH: readonly SessionState[] = ['AUTHORIZATION', 'TRANSACTION'];

/** Every command the server knows, by upper-case keyword (RFC 1939, 2449, 2595, 5034, 6856). */
export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map<string, CommandSpec>([
  ['CAPA', { states: BOTH, run: capa }],
  ['QUIT', { states: BOTH, run: quit }],
  ['USER', { states: AUTHORIZATION, run: user }],
  ['PASS', { states: AUTHORIZATION, run: pass }],
  ['APOP', { states: AUTHORIZATION, run: apop }],
  ['AUTH', { states: AUTHORIZATION, run: auth }],
  ['STLS', { states: AUTHORIZATION, run: stls }],
  ['UTF8', { states: AUTHORIZATION, run: utf8 }],
  ['STAT', { states: TRANSACTION, run: stat }],
  ['LIST', { states: TRANSACTION, run: list }],
  ['UIDL', { states: TRANSACTION, run: uidl }],
  ['RETR', { states: TRANSACTION, run: retr }],
  ['TOP', { states: TRANSACTION, run: top }],
  ['DELE', { states: TRANSACTION, run: dele }],
  ['RSET', { states: TRANSACTION, run: rset }],
  ['NOOP', { states: TRANSACTION, run: noop }],
]);
