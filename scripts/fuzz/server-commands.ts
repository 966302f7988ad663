import { createHash } from 'node:crypto';
import {
  beginClientAuth,
  type ClientAuthExchange,
  createClientMechanism,
} from '../../src/protocol/sasl/client/index.js';
import { mutate } from './generators.js';
import type { Rng } from './rng.js';

/**
 * Command generation for the server fuzzer: structured POP3 commands for each session state
 * (AUTHORIZATION, mid-SASL, TRANSACTION), real and corrupted logins, SASL payloads shaped like each
 * mechanism's messages (so they get past base64 to the mechanism decoders), and mutations of all of
 * it. A line the generator knows the exact meaning of carries an `op`, which the oracle checks
 * semantically; every other line gets the framing checks only.
 */

export interface FuzzUser {
  name: string;
  pass: string;
  token: string;
}

/** What a canonical line means. `good` says whether the credentials in it are right. */
export type Op =
  | { k: 'USER'; user: string }
  | { k: 'PASS'; user: string; good: boolean }
  | { k: 'APOP'; good: boolean }
  | { k: 'AUTH'; good: boolean; exchange: ClientAuthExchange }
  | { k: 'CONT'; good: boolean; exchange: ClientAuthExchange }
  | { k: 'CAPA' | 'STLS' | 'UTF8' | 'QUIT' | 'NOOP' | 'RSET' | 'STAT' }
  | { k: 'LIST' | 'UIDL'; n?: string }
  | { k: 'RETR' | 'DELE'; n: string }
  | { k: 'TOP'; n: string; lines: string }
  /** A well-formed command of the other state (always -ERR here). */
  | { k: 'WRONG' };

/** One generated line: its bytes (no line end), the line end to send, and its meaning if canonical. */
export interface GenLine {
  bytes: Buffer;
  eol: Buffer;
  op?: Op;
}

export interface GenState {
  state: 'AUTHORIZATION' | 'TRANSACTION';
  /** Messages in the locked snapshot (TRANSACTION). */
  count: number;
  /** The greeting's APOP timestamp, while still valid (cleared by STLS). */
  apopTimestamp: string | undefined;
  users: readonly FuzzUser[];
}

const CRLF = Buffer.from('\r\n');
const EOLS = [Buffer.from('\n'), Buffer.from('\r\r\n')];
const b = (s: string) => Buffer.from(s, 'utf8');
const b64 = (data: Buffer | string) =>
  (typeof data === 'string' ? Buffer.from(data) : data).toString('base64');

const MECHANISMS = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'XOAUTH2', 'OAUTHBEARER'];
const ODD_MECHANISMS = ['FOO', 'plain', 'DIGEST-MD5', 'GSSAPI', 'SCRAM-SHA-256-PLUS', 'X'.repeat(30), ''];
const TRANSACTION_WORDS = ['STAT', 'LIST', 'UIDL', 'RETR 1', 'TOP 1 0', 'DELE 1', 'RSET', 'NOOP'];
const AUTHORIZATION_WORDS = ['USER alice', 'PASS x', 'APOP a b', 'AUTH PLAIN', 'STLS', 'UTF8'];
const JUNK_WORDS = ['XYZZY', 'LAST', 'RPOP x', 'LANG', 'LANG en', 'AB', 'ABCDE', '', ' ', 'US3R x', '1234'];
const ODD_TEXT = [
  '',
  ' ',
  '  ',
  'a b',
  '\t',
  '\0',
  '\r',
  '\x7f',
  '\x1b[31m',
  '[AUTH]',
  'ü',
  '\u2028',
  '=',
  '*',
];

/** A short random string, ASCII mostly, sometimes with control bytes, UTF-8 or invalid UTF-8. */
export function oddText(rng: Rng, max = 40): string {
  const r = rng.int(10);
  if (r < 4) return rng.pick(ODD_TEXT);
  if (r < 7) return 'x'.repeat(rng.int(max + 1));
  if (r < 9) return rng.bytes(rng.int(max + 1)).toString('latin1');
  return 'é'.repeat(rng.int(max / 2 + 1));
}

function messageNumber(rng: Rng, count: number): string {
  if (count > 0 && rng.bool(0.75)) return String(rng.range(1, count));
  return rng.pick(['0', '-1', '+1', '01', '1x', String(count + 1), '4294967296', '99999999999', 'x', '']);
}

function lineCount(rng: Rng): string {
  if (rng.bool(0.8)) return String(rng.pick([0, 0, 1, 2, 5, 50, 100000]));
  return rng.pick(['-1', '01', 'x', '', '18446744073709551616', '1e3']);
}

function pickUser(rng: Rng, users: readonly FuzzUser[]): { name: string; user?: FuzzUser } {
  if (rng.bool(0.85)) {
    const user = rng.pick(users);
    return { name: user.name, user };
  }
  return {
    name: rng.pick(['nobody', 'root', 'ALICE', 'a'.repeat(255), 'a'.repeat(256), 'jürgen', 'u\u0301']),
  };
}

function canonical(text: string, op?: Op): GenLine {
  return { bytes: b(text), eol: CRLF, ...(op ? { op } : {}) };
}

function raw(bytes: Buffer): GenLine {
  return { bytes, eol: CRLF };
}

/** A SASL payload shaped like `mech`'s client messages, mostly wrong in some way. */
export function saslPayload(rng: Rng, mech: string, users: readonly FuzzUser[]): Buffer {
  const name = () => (rng.bool(0.7) ? pickUser(rng, users).name : oddText(rng, 300));
  switch (mech) {
    case 'PLAIN': {
      const fields = [
        rng.bool(0.7) ? '' : name(),
        name(),
        rng.bool(0.5) ? rng.pick(users).pass : oddText(rng, 300),
      ];
      const nuls = rng.pick([0, 1, 2, 2, 2, 3]);
      let out = fields.slice(0, nuls + 1).join('\0');
      if (nuls === 0) out = fields.join('');
      return b(out);
    }
    case 'SCRAM-SHA-1':
    case 'SCRAM-SHA-256': {
      if (rng.bool(0.5)) {
        const gs2 = rng.pick(['n,,', 'y,,', 'p=tls-unique,,', 'n,a=alice,', 'n,a=,', 'x,,', '', 'n,']);
        const attrs = [
          rng.pick(['n=alice', 'n=al=2Cice', 'n=al=ice', 'n=', `n=${name()}`, 'm=ext,n=bob']),
          rng.pick(['r=abc', 'r=', `r=${oddText(rng, 300)}`, 'r=a,b', '']),
          rng.bool(0.2) ? 'x=ext' : '',
        ];
        return b(gs2 + attrs.filter((a) => a !== '').join(','));
      }
      const final = [
        rng.pick(['c=biws', 'c=eSws', 'c=', `c=${oddText(rng)}`]),
        rng.pick(['r=abc', 'r=', `r=${oddText(rng, 100)}`]),
        rng.pick(['p=AAAA', 'p=', `p=${b64(rng.bytes(rng.pick([20, 32, 0, 5])))}`, '']),
      ];
      return b(final.filter((a) => a !== '').join(','));
    }
    case 'OAUTHBEARER': {
      const gs2 = rng.pick(['n,a=alice,', 'n,,', 'y,,', 'p=x,,', 'n,a=', '']);
      const pairs = [
        rng.pick([
          'auth=Bearer tok-alice',
          'auth=Bearer ',
          'auth=Basic x',
          `auth=Bearer ${oddText(rng, 200)}`,
          '',
        ]),
        rng.bool(0.3) ? `host=${oddText(rng)}` : '',
        rng.bool(0.1) ? 'auth=Bearer dup' : '',
      ].filter((p) => p !== '');
      const sep = rng.pick(['\x01', '\x01', '', '\x01\x01']);
      return b(`${gs2}${sep}${pairs.join('\x01')}${sep}${rng.pick(['\x01', '', '\x01\x01'])}`);
    }
    case 'XOAUTH2': {
      const pairs = [
        rng.pick([`user=${name()}`, 'user=', '']),
        rng.pick(['auth=Bearer tok-alice', 'auth=Bearer', `auth=${oddText(rng, 100)}`, '']),
      ].filter((p) => p !== '');
      return b(`${pairs.join('\x01')}${rng.pick(['\x01\x01', '\x01', ''])}`);
    }
    case 'CRAM-MD5':
      return b(
        `${name()}${rng.pick([' ', '', '  '])}${rng.bool() ? rng.bytes(16).toString('hex') : oddText(rng)}`,
      );
    default:
      return rng.bool() ? b(name()) : rng.bytes(rng.length(600));
  }
}

/** A continuation line that is not a correct answer: garbage, `*`, empty, bad base64, a command. */
function wrongContinuation(rng: Rng, mech: string, users: readonly FuzzUser[]): GenLine {
  const r = rng.int(12);
  if (r < 5) return raw(b(b64(saslPayload(rng, mech, users))));
  if (r === 5) return raw(b('*'));
  if (r === 6) return raw(Buffer.alloc(0));
  if (r === 7) return raw(b('AQ=='));
  if (r === 8) return raw(b(rng.pick(['QUIT', 'STAT', 'LIST 1', 'CAPA', 'AUTH PLAIN'])));
  if (r === 9) return raw(b(rng.pick(['AAA', 'AA=A', '====', 'AB==', ' AAAA', 'AAAA ', 'QQ'])));
  if (r === 10) return raw(b('A'.repeat(rng.pick([4096, 8192, 21844, 30000]))));
  return raw(rng.bytes(rng.length(300)));
}

/** A real client exchange (good or wrong credentials) for `mech`; undefined if the mechanism refuses them. */
function realExchange(
  rng: Rng,
  mech: string,
  users: readonly FuzzUser[],
): { exchange: ClientAuthExchange; good: boolean } | undefined {
  const user = rng.pick(users);
  const good = rng.bool(0.7);
  const token = mech === 'XOAUTH2' || mech === 'OAUTHBEARER';
  const secret = good ? (token ? user.token : user.pass) : `wrong-${rng.int(1000)}`;
  try {
    const mechanism = createClientMechanism(
      mech,
      token ? { user: user.name, accessToken: secret } : { user: user.name, pass: secret },
      { nonce: rng.bytes(18).toString('base64'), twoStep: rng.bool() },
    );
    return { exchange: beginClientAuth(mechanism), good };
  } catch {
    return undefined;
  }
}

/** Lines for AUTHORIZATION (not mid-SASL): logins right and wrong, CAPA, STLS, UTF8, junk. */
export function authorizationBatch(rng: Rng, st: GenState): GenLine[] {
  const out: GenLine[] = [];
  const count = rng.pick([1, 1, 1, 2, 2, 3, 5, 8]);
  for (let i = 0; i < count; i++) {
    const r = rng.int(100);
    if (r < 22) {
      const { name, user } = pickUser(rng, st.users);
      const good = user !== undefined && rng.bool(0.7);
      out.push(canonical(`USER ${name}`, { k: 'USER', user: name }));
      if (rng.bool(0.9)) {
        const pass = good ? user!.pass : rng.pick(['wrong', 'a b', oddText(rng, 60)]);
        out.push({ bytes: b(`PASS ${pass}`), eol: CRLF, op: { k: 'PASS', user: name, good } });
      }
    } else if (r < 30) {
      const { name, user } = pickUser(rng, st.users);
      const good = user !== undefined && st.apopTimestamp !== undefined && rng.bool(0.7);
      const digest = good
        ? createHash('md5').update(`${st.apopTimestamp}${user!.pass}`).digest('hex')
        : rng.pick(['0'.repeat(32), 'A'.repeat(32), 'abc', '', rng.bytes(16).toString('hex')]);
      out.push(canonical(`APOP ${name} ${digest}`, { k: 'APOP', good }));
    } else if (r < 55) {
      const mech = rng.pick(MECHANISMS);
      if (rng.bool(0.5)) {
        const real = realExchange(rng, mech, st.users);
        if (real) {
          out.push(canonical(real.exchange.command, { k: 'AUTH', ...real }));
          break; // the exchange continues in the next batch, answering the server's challenges
        }
      }
      const ir = rng.int(4);
      const name = rng.bool(0.9) ? mech : rng.pick(ODD_MECHANISMS);
      if (ir === 0) out.push(raw(b(`AUTH ${name}`)));
      else if (ir === 1) out.push(raw(b(`AUTH ${name} =`)));
      else out.push(raw(b(`AUTH ${name} ${b64(saslPayload(rng, mech, st.users))}`)));
      if (rng.bool(0.3)) out.push(wrongContinuation(rng, mech, st.users));
    } else if (r < 62) {
      out.push(canonical('CAPA', { k: 'CAPA' }));
    } else if (r < 66) {
      out.push(canonical('STLS', { k: 'STLS' }));
      if (rng.bool(0.5)) break; // alone: the session may then run TLS
    } else if (r < 69) {
      out.push(canonical('UTF8', { k: 'UTF8' }));
    } else if (r < 70) {
      out.push(canonical('QUIT', { k: 'QUIT' }));
    } else if (r < 80) {
      out.push(canonical(rng.pick(TRANSACTION_WORDS), { k: 'WRONG' }));
    } else {
      out.push(junk(rng));
    }
  }
  return out.map((l) => finish(rng, l));
}

/** Lines answering a challenge: the real exchange's answer, or something else. */
export function saslBatch(
  rng: Rng,
  st: GenState,
  exchange: ClientAuthExchange | undefined,
  good: boolean,
  challenge: string,
): GenLine[] {
  const mech = exchange?.mechanism ?? rng.pick(MECHANISMS);
  if (exchange && rng.bool(0.85)) {
    const answer = exchange.answer(challenge);
    return [canonical(answer, { k: 'CONT', exchange, good })];
  }
  const out = [wrongContinuation(rng, mech, st.users)];
  if (rng.bool(0.2)) out.push(...authorizationBatch(rng, st)); // pipelined past the exchange
  return out.map((l) => finish(rng, l));
}

/** Lines for TRANSACTION: mostly valid commands on valid and invalid numbers, pipelined. */
export function transactionBatch(rng: Rng, st: GenState): GenLine[] {
  const out: GenLine[] = [];
  const count = rng.pick([1, 1, 2, 3, 5, 8, 13, 24]);
  for (let i = 0; i < count; i++) {
    const r = rng.int(100);
    const n = messageNumber(rng, st.count);
    if (r < 12) out.push(canonical('STAT', { k: 'STAT' }));
    else if (r < 20) out.push(canonical('LIST', { k: 'LIST' }));
    else if (r < 28) out.push(canonical(`LIST ${n}`, { k: 'LIST', n }));
    else if (r < 34) out.push(canonical('UIDL', { k: 'UIDL' }));
    else if (r < 40) out.push(canonical(`UIDL ${n}`, { k: 'UIDL', n }));
    else if (r < 52) out.push(canonical(`RETR ${n}`, { k: 'RETR', n }));
    else if (r < 60) {
      const lines = lineCount(rng);
      out.push(canonical(`TOP ${n} ${lines}`, { k: 'TOP', n, lines }));
    } else if (r < 70) out.push(canonical(`DELE ${n}`, { k: 'DELE', n }));
    else if (r < 74) out.push(canonical('RSET', { k: 'RSET' }));
    else if (r < 78) out.push(canonical('NOOP', { k: 'NOOP' }));
    else if (r < 81) out.push(canonical('CAPA', { k: 'CAPA' }));
    else if (r < 82) out.push(canonical('QUIT', { k: 'QUIT' }));
    else if (r < 88) out.push(canonical(rng.pick(AUTHORIZATION_WORDS), { k: 'WRONG' }));
    else out.push(junk(rng));
  }
  return out.map((l) => finish(rng, l));
}

/** A malformed command: known keywords with odd arguments, unknown keywords, random bytes, long lines. */
function junk(rng: Rng): GenLine {
  const r = rng.int(10);
  const keyword = rng.pick([
    'USER',
    'PASS',
    'LIST',
    'RETR',
    'TOP',
    'DELE',
    'AUTH',
    'APOP',
    'uSeR',
    'noop',
    'Capa',
  ]);
  if (r < 3) return raw(b(`${keyword} ${oddText(rng)}${rng.bool() ? ` ${oddText(rng)}` : ''}`));
  if (r < 5) return raw(b(rng.pick(JUNK_WORDS)));
  if (r < 7) return raw(rng.bytes(rng.length(200)));
  if (r < 8) return raw(b(`${keyword} ${'x'.repeat(rng.pick([200, 254, 300, 1000, 2040, 2046, 2100]))}`));
  return raw(b(`${keyword}${rng.pick([' ', '  ', '\t'])}${rng.int(5)}${rng.pick(['', ' ', '  1'])}`));
}

/** Maybe mutate a line (then it is no longer canonical) and maybe give it an odd line end. */
function finish(rng: Rng, line: GenLine): GenLine {
  let out = line;
  if (rng.bool(0.06)) out = { bytes: mutate(rng, line.bytes), eol: CRLF };
  if (rng.bool(0.05)) out = { ...out, eol: rng.pick(EOLS) };
  return out;
}

/** One server-side line: bytes as the server sees them (line end removed), its offset, and its op. */
export interface WireLine {
  bytes: Buffer;
  /** Octets on the wire, line end included. */
  size: number;
  op?: Op;
}

/**
 * Serialize a batch and split it the way the server's LineReader does (at LF, one CR before it
 * dropped), so a mutation that added an LF makes two lines. An op stays only on a line that is
 * exactly its canonical bytes at its original place.
 */
export function serialize(batch: readonly GenLine[]): { stream: Buffer; lines: WireLine[] } {
  const parts: Buffer[] = [];
  const starts = new Map<number, GenLine>();
  let offset = 0;
  for (const l of batch) {
    if (l.op) starts.set(offset, l);
    parts.push(l.bytes, l.eol);
    offset += l.bytes.length + l.eol.length;
  }
  const stream = Buffer.concat(parts);
  const lines: WireLine[] = [];
  let from = 0;
  for (;;) {
    const lf = stream.indexOf(0x0a, from);
    if (lf < 0) break;
    const end = lf > from && stream[lf - 1] === 0x0d ? lf - 1 : lf;
    const bytes = stream.subarray(from, end);
    const gen = starts.get(from);
    const size = lf + 1 - from;
    lines.push(gen?.op && gen.bytes.equals(bytes) ? { bytes, size, op: gen.op } : { bytes, size });
    from = lf + 1;
  }
  if (from !== stream.length) throw new Error('a batch must end with a line end');
  return { stream, lines };
}
