import { pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { decodeBase64Strict } from '../protocol/sasl/base64.js';
import { secretsEqual } from '../protocol/sasl/fields.js';
import { saslprep } from '../protocol/sasl/saslprep.js';
import { hashOctets, keysFromSaltedPassword, type ScramHash } from '../protocol/sasl/scram-core.js';
import { deriveScramCredentials, type ScramStored } from '../protocol/sasl/server/index.js';

// The stored-secret schemes of a users file, and how each one checks a password. Formats:
//   {SCRYPT}ln=14,r=8,p=1$<salt base64>$<key base64>     scrypt (RFC 7914), N = 2^ln
//   {SCRAM-SHA-256}<iterations>,<salt>,<StoredKey>,<ServerKey>   (Dovecot's layout, base64 fields)
//   {SCRAM-SHA-1}  the same with SHA-1
//   {PLAIN}<password>                                       the rest of the line, as is

const scryptAsync = promisify(scrypt) as (
  pass: string | Buffer,
  salt: Buffer,
  keylen: number,
  opts: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;
const pbkdf2Async = promisify(pbkdf2);

export type PasswordScheme = 'SCRYPT' | 'SCRAM-SHA-256' | 'SCRAM-SHA-1' | 'PLAIN';
export const PASSWORD_SCHEMES: readonly PasswordScheme[] = [
  'SCRYPT',
  'SCRAM-SHA-256',
  'SCRAM-SHA-1',
  'PLAIN',
];

export interface ScryptParams {
  /** log2 of the cost N. Default 14 (16 MiB and tens of ms per check: a login server checks many). */
  ln: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ ln: 14, r: 8, p: 1 });
export const DEFAULT_SCRAM_ITERATIONS = 4096;
/** Bounds on stored parameters, so a hostile or corrupt file cannot make one check cost minutes or GiB. */
const MAX_SCRYPT_LN = 20;
const MAX_SCRYPT_R = 32;
const MAX_SCRYPT_P = 16;
const MAX_SCRAM_ITERATIONS = 1_000_000;
/**
 * scrypt uses 128·N·r octets of memory and p times that much work: each bound alone still allowed
 * N = 2^20, r = 32, p = 16 (4 GiB per check, sixteen times over). These cap the product instead.
 */
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;
const MAX_SCRYPT_WORK = 1024 * 1024 * 1024;

export type StoredSecret =
  | { scheme: 'SCRYPT'; params: ScryptParams; salt: Buffer; key: Buffer }
  | { scheme: 'SCRAM-SHA-256' | 'SCRAM-SHA-1'; hash: ScramHash; stored: ScramStored }
  | { scheme: 'PLAIN'; password: string };

const B64 = '([A-Za-z0-9+/]+={0,2})';
const SCRYPT_FORMAT = new RegExp(`^ln=(\\d{1,2}),r=(\\d{1,2}),p=(\\d{1,2})\\$${B64}\\$${B64}$`);
const SCRAM_FORMAT = new RegExp(`^(\\d{1,7}),${B64},${B64},${B64}$`);

function b64(text: string): Buffer | undefined {
  try {
    return decodeBase64Strict(text);
  } catch {
    return undefined;
  }
}

/** Parse `{SCHEME}data`; returns an error text that never contains the data (it may be a password). */
export function parseStoredSecret(field: string): StoredSecret | { error: string } {
  const close = field.indexOf('}');
  if (!field.startsWith('{') || close < 0) return { error: 'password field must start with {SCHEME}' };
  const scheme = field.slice(1, close).toUpperCase();
  const data = field.slice(close + 1);
  switch (scheme) {
    case 'SCRYPT': {
      const m = SCRYPT_FORMAT.exec(data);
      const salt = m && b64(m[4]!);
      const key = m && b64(m[5]!);
      if (!m || !salt || !key) return { error: 'malformed {SCRYPT} value' };
      const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
      if (params.ln < 1 || params.ln > MAX_SCRYPT_LN || params.r < 1 || params.r > MAX_SCRYPT_R) {
        return { error: '{SCRYPT} parameters out of range' };
      }
      if (params.p < 1 || params.p > MAX_SCRYPT_P || salt.length < 8 || key.length < 16 || key.length > 64) {
        return { error: '{SCRYPT} parameters out of range' };
      }
      const memory = 128 * 2 ** params.ln * params.r;
      if (memory > MAX_SCRYPT_MEMORY || memory * params.p > MAX_SCRYPT_WORK) {
        return { error: '{SCRYPT} parameters out of range' };
      }
      return { scheme: 'SCRYPT', params, salt, key };
    }
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-1': {
      const hash: ScramHash = scheme === 'SCRAM-SHA-1' ? 'sha1' : 'sha256';
      const m = SCRAM_FORMAT.exec(data);
      const salt = m && b64(m[2]!);
      const storedKey = m && b64(m[3]!);
      const serverKey = m && b64(m[4]!);
      if (!m || !salt || !storedKey || !serverKey) return { error: `malformed {${scheme}} value` };
      const iterations = Number(m[1]);
      const octets = hashOctets(hash);
      if (iterations < 1 || iterations > MAX_SCRAM_ITERATIONS || salt.length === 0) {
        return { error: `{${scheme}} parameters out of range` };
      }
      if (storedKey.length !== octets || serverKey.length !== octets)
        return { error: `{${scheme}} key lengths wrong` };
      return { scheme, hash, stored: { salt, iterations, storedKey, serverKey } };
    }
    case 'PLAIN':
      if (data === '' || /[\r\n\0]/.test(data))
        return { error: '{PLAIN} password empty or with CR, LF or NUL' };
      return { scheme: 'PLAIN', password: data };
    default:
      return { error: 'unknown password scheme' };
  }
}

function scryptOptions(params: ScryptParams) {
  const N = 2 ** params.ln;
  return { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 };
}

/** Does `pass` match `secret`? Constant-time comparison of equal-length values; PLAIN via hashes. */
export async function verifyStoredSecret(secret: StoredSecret, pass: string): Promise<boolean> {
  switch (secret.scheme) {
    case 'SCRYPT': {
      const key = await scryptAsync(
        pass.normalize('NFC'),
        secret.salt,
        secret.key.length,
        scryptOptions(secret.params),
      );
      return timingSafeEqual(key, secret.key);
    }
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-1': {
      let prepared: string;
      try {
        prepared = saslprep(pass);
      } catch {
        return false;
      }
      const { salt, iterations, storedKey } = secret.stored;
      const salted = await pbkdf2Async(
        Buffer.from(prepared, 'utf8'),
        salt,
        iterations,
        hashOctets(secret.hash),
        secret.hash,
      );
      return timingSafeEqual(keysFromSaltedPassword(salted, secret.hash).storedKey, storedKey);
    }
    case 'PLAIN':
      return secretsEqual(secret.password, pass);
  }
}

export interface HashOptions {
  scrypt?: Partial<ScryptParams>;
  scramIterations?: number;
}

/**
 * The `{SCHEME}...` field for a users file line. SCRYPT (the default) serves USER/PASS, PLAIN and
 * LOGIN; SCRAM-SHA-256/SCRAM-SHA-1 serve those and SCRAM; PLAIN stores the password itself and is
 * the only scheme that serves CRAM-MD5 and APOP (see UsersFile for the trade-off).
 */
export async function hashPassword(
  pass: string,
  scheme: PasswordScheme = 'SCRYPT',
  opts: HashOptions = {},
): Promise<string> {
  if (pass === '' || /[\r\n\0]/.test(pass))
    throw new TypeError('password must be non-empty, without CR, LF or NUL');
  switch (scheme) {
    case 'SCRYPT': {
      const params = { ...DEFAULT_SCRYPT, ...opts.scrypt };
      const salt = randomBytes(16);
      const key = await scryptAsync(pass.normalize('NFC'), salt, 32, scryptOptions(params));
      return `{SCRYPT}ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
    }
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-1': {
      const hash: ScramHash = scheme === 'SCRAM-SHA-1' ? 'sha1' : 'sha256';
      const iterations = opts.scramIterations ?? DEFAULT_SCRAM_ITERATIONS;
      const c = deriveScramCredentials(pass, hash, randomBytes(16), iterations);
      const fields = [c.salt, c.storedKey, c.serverKey].map((b) => b.toString('base64'));
      return `{${scheme}}${iterations},${fields.join(',')}`;
    }
    case 'PLAIN':
      return `{PLAIN}${pass}`;
    default:
      throw new TypeError('unknown password scheme');
  }
}
