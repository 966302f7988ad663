import type { Rng } from './rng.js';

/**
 * Input generators: random bytes, structured inputs built from the tokens the codec cares
 * about (dots, CR, LF, status words, response codes), and mutations of structured inputs.
 */

const b = (s: string) => Buffer.from(s, 'latin1');

/** Tokens that sit on the codec's edges: line ends, dots at line start, terminators, odd bytes. */
const BODY_TOKENS: readonly Buffer[] = [
  '.',
  '..',
  '...',
  '\r',
  '\n',
  '\r\n',
  '\r\r\n',
  '\n\r',
  '.\r\n',
  '..\r\n',
  '\r\n.\r\n',
  '\n.\n',
  '\r\n.',
  '.\r',
  '.\n',
  'a',
  'From: x\r\n',
  'Subject: hi\r\n',
  ' ',
  '\0',
  '\xff\xfe',
  '\xc3\x28',
  '+OK\r\n',
  '-ERR x\r\n',
].map(b);

const STATUS_WORDS = [
  '+OK',
  '-ERR',
  '+ok',
  '-err',
  'OK',
  '+OKAY',
  '-ERRx',
  '+',
  '-',
  '+O',
  '',
  '+OK+OK',
  '*',
];
const SEPARATORS = [' ', '', '  ', '\t', '\0', '\r', ' \r'];
const CODES = [
  '[IN-USE]',
  '[LOGIN-DELAY]',
  '[SYS/TEMP]',
  '[SYS/PERM]',
  '[AUTH]',
  '[sys/temp]',
  '[]',
  '[',
  ']',
  '[[IN-USE]]',
  '[A/B/C/D/E]',
  '[A/B/C/D/E/F]',
  '[A//B]',
  '[/]',
  '[IN USE]',
  '[\x1b[31m]',
  `[${'A'.repeat(40)}]`,
  `[${'A'.repeat(41)}]`,
  `[${'X'.repeat(10_000)}`,
  `[${'X/'.repeat(5000)}]`,
];
const TEXTS = ['', 'ready', 'message follows', 'mailbox locked', '\x1b[2J', 'caf\xc3\xa9', ' x ', '\xff'];

const CAPA_NAMES = [
  'USER',
  'TOP',
  'UIDL',
  'SASL',
  'RESP-CODES',
  'AUTH-RESP-CODE',
  'PIPELINING',
  'STLS',
  'LOGIN-DELAY',
  'EXPIRE',
  'IMPLEMENTATION',
  'UTF8',
  'LANG',
  'X-EXT',
  'sasl',
  'Expire',
  '-BAD',
  '.',
  '',
  '__proto__',
  'constructor',
];
const CAPA_ARGS = [
  'PLAIN',
  'SCRAM-SHA-256',
  'XOAUTH2',
  'plain',
  'BOGUS!',
  `${'M'.repeat(21)}`,
  '900',
  '0',
  '-1',
  'x',
  '99999999999',
  'NEVER',
  'never',
  'USER',
  '',
  '\t',
  '\xff',
];

export function randomBytes(rng: Rng, max = 65536): Buffer {
  return rng.bytes(rng.length(max));
}

/** A message or multi-line body made of edge tokens, runs of text and random bytes. */
export function bodyBytes(rng: Rng, maxTokens = 64): Buffer {
  const parts: Buffer[] = [];
  const count = rng.int(maxTokens + 1);
  for (let i = 0; i < count; i++) {
    const r = rng.int(20);
    if (r < 14) parts.push(rng.pick(BODY_TOKENS));
    else if (r < 18) parts.push(b('x'.repeat(rng.length(300))));
    else parts.push(rng.bytes(rng.length(64)));
  }
  return Buffer.concat(parts);
}

/** A received multi-line response: body, maybe the terminator, maybe the next response's bytes. */
export function wireBody(rng: Rng): Buffer {
  const parts = [bodyBytes(rng)];
  if (rng.bool(0.7)) parts.push(b(rng.bool(0.8) ? '\r\n.\r\n' : '.\r\n'));
  if (rng.bool(0.4)) parts.push(rng.bool() ? bodyBytes(rng, 8) : b('+OK 2 200\r\n'));
  return Buffer.concat(parts);
}

export function statusLine(rng: Rng): Buffer {
  // Mostly a valid start, so the code and text parsing behind it get exercised too.
  let s: string;
  if (rng.bool(0.7)) s = rng.pick(['+OK', '-ERR']) + (rng.bool(0.9) ? ' ' : '');
  else s = rng.pick(STATUS_WORDS) + (rng.bool(0.9) ? rng.pick(SEPARATORS) : '');
  if (rng.bool(0.5)) s += rng.pick(CODES);
  if (rng.bool(0.7)) s += rng.pick(SEPARATORS) + rng.pick(TEXTS);
  return b(s);
}

/** A stream of several status lines (with any line ends), as a LineReader would see it. */
export function lineStream(rng: Rng): Buffer {
  const parts: Buffer[] = [];
  const count = rng.int(8);
  for (let i = 0; i < count; i++) {
    parts.push(rng.bool(0.8) ? statusLine(rng) : bodyBytes(rng, 6));
    parts.push(b(rng.pick(['\r\n', '\r\n', '\n', '\r', ''])));
  }
  if (rng.bool(0.05)) parts.push(b('x'.repeat(rng.range(400, 2000))));
  return Buffer.concat(parts);
}

export function capaLines(rng: Rng): string[] {
  const lines: string[] = [];
  const r = rng.int(100);
  const count = r < 97 ? rng.int(24) : rng.range(150, 10_500);
  for (let i = 0; i < count; i++) {
    let line = rng.pick(CAPA_NAMES);
    const nargs = rng.int(4);
    for (let k = 0; k < nargs; k++) line += rng.pick([' ', '  ', '\t']) + rng.pick(CAPA_ARGS);
    if (rng.bool(0.1)) line = rng.bytes(rng.length(80)).toString('latin1');
    if (rng.bool(0.05)) line = ` ${line} `;
    lines.push(line);
  }
  return lines;
}

/** Flip, replace, insert, delete, duplicate or truncate bytes; inserts favour edge tokens. */
export function mutate(rng: Rng, input: Buffer): Buffer {
  let buf = input;
  const rounds = rng.range(1, 4);
  for (let k = 0; k < rounds; k++) {
    const at = rng.int(buf.length + 1);
    switch (rng.int(6)) {
      case 0:
        if (buf.length > 0) {
          buf = Buffer.from(buf);
          const i = rng.int(buf.length);
          buf[i] = buf[i]! ^ (1 << rng.int(8));
        }
        break;
      case 1:
        if (buf.length > 0) {
          buf = Buffer.from(buf);
          buf[rng.int(buf.length)] = rng.pick([0x0d, 0x0a, 0x2e, 0x00, 0x20, 0x5b, 0x5d, 0xff, rng.int(256)]);
        }
        break;
      case 2:
        buf = Buffer.concat([buf.subarray(0, at), rng.pick(BODY_TOKENS), buf.subarray(at)]);
        break;
      case 3:
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(Math.min(buf.length, at + rng.range(1, 16)))]);
        break;
      case 4: {
        const len = rng.range(1, 32);
        buf = Buffer.concat([buf.subarray(0, at + len), buf.subarray(at)]);
        break;
      }
      default:
        buf = buf.subarray(0, at);
    }
  }
  return buf;
}

/** Mix of the three kinds of input: 30% random bytes, 40% structured, 30% mutated structured. */
export function mixed(rng: Rng, structured: (rng: Rng) => Buffer, randomMax = 65536): Buffer {
  const r = rng.int(10);
  if (r < 3) return randomBytes(rng, randomMax);
  if (r < 7) return structured(rng);
  return mutate(rng, structured(rng));
}
