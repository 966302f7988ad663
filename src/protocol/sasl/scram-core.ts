import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { saslprep } from './saslprep.js';

// The SCRAM arithmetic of RFC 5802 §3, shared by the client and the server.

export type ScramHash = 'sha1' | 'sha256';

/** SCRAM mechanism names and their hash functions (RFC 5802, RFC 7677). -PLUS variants are not offered. */
export const SCRAM_HASHES: Readonly<Record<string, ScramHash>> = {
  'SCRAM-SHA-1': 'sha1',
  'SCRAM-SHA-256': 'sha256',
};

export function hashOctets(hash: ScramHash): number {
  return hash === 'sha1' ? 20 : 32;
}

export function hmac(hash: ScramHash, key: Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac(hash, key).update(data).digest();
}

export function digest(hash: ScramHash, data: Uint8Array): Buffer {
  return createHash(hash).update(data).digest();
}

export function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

/** SaltedPassword := Hi(Normalize(password), salt, i), where Hi is PBKDF2 with HMAC. */
export function saltedPassword(
  password: string,
  salt: Uint8Array,
  iterations: number,
  hash: ScramHash,
): Buffer {
  return pbkdf2Sync(Buffer.from(saslprep(password), 'utf8'), salt, iterations, hashOctets(hash), hash);
}

export interface ScramKeys {
  clientKey: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

export function keysFromSaltedPassword(salted: Uint8Array, hash: ScramHash): ScramKeys {
  const clientKey = hmac(hash, salted, 'Client Key');
  return { clientKey, storedKey: digest(hash, clientKey), serverKey: hmac(hash, salted, 'Server Key') };
}

/** saslname (RFC 5802 §5.1): `,` becomes `=2C` and `=` becomes `=3D`. */
export function escapeSaslName(name: string): string {
  return name.replace(/[=,]/g, (c) => (c === '=' ? '=3D' : '=2C'));
}

/** The inverse of escapeSaslName; undefined for a stray `=` or any other escape (RFC 5802 §5.1). */
export function unescapeSaslName(text: string): string | undefined {
  if (text.includes(',')) return undefined;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf('=', i);
    if (at < 0) return out + text.slice(i);
    const sequence = text.slice(at, at + 3);
    if (sequence !== '=2C' && sequence !== '=3D') return undefined;
    out += text.slice(i, at) + (sequence === '=2C' ? ',' : '=');
    i = at + 3;
  }
  return out;
}

/** One `a=value` attribute of a SCRAM message. */
export interface ScramAttribute {
  name: string;
  value: string;
}

/** Split a SCRAM message into its attributes; undefined unless every part is `letter=value`. */
export function parseAttributes(text: string): ScramAttribute[] | undefined {
  const out: ScramAttribute[] = [];
  for (const part of text.split(',')) {
    if (!/^[A-Za-z]=/.test(part)) return undefined;
    out.push({ name: part[0]!, value: part.slice(2) });
  }
  return out;
}

/** RFC 5802 nonce characters: printable ASCII except `,`. */
export function isValidNonce(nonce: string): boolean {
  return /^[\x21-\x2b\x2d-\x7e]+$/.test(nonce);
}
