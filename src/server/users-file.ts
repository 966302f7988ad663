import { createHmac, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isValidIdentity } from '../protocol/sasl/fields.js';
import type { ScramHash } from '../protocol/sasl/scram-core.js';
import {
  deriveScramCredentials,
  type SaslServerBackend,
  type ScramStored,
} from '../protocol/sasl/server/index.js';
import {
  DEFAULT_SCRAM_ITERATIONS,
  hashPassword,
  parseStoredSecret,
  type StoredSecret,
  verifyStoredSecret,
} from './password-schemes.js';

export { type HashOptions, hashPassword, PASSWORD_SCHEMES, type PasswordScheme } from './password-schemes.js';

/** Largest users file read; a bigger one is a mistake, not a user list. */
export const MAX_USERS_FILE_BYTES = 64 * 1024 * 1024;

/**
 * A users file, like Dovecot's passwd-file: one `user:{SCHEME}secret` line per account, `#` comments
 * and blank lines ignored. The user name ends at the first `:`; the secret is the rest of the line.
 *
 * Which scheme serves which login (the trade-off to choose per account):
 * - `{SCRYPT}`: salted, deliberately slow hash. USER/PASS, PLAIN, LOGIN. The safest at rest, but
 *   the password must travel to the server, so only over TLS.
 * - `{SCRAM-SHA-256}` / `{SCRAM-SHA-1}`: stored SCRAM keys (RFC 5802 §3). SCRAM with that hash, and
 *   also USER/PASS, PLAIN, LOGIN (the password is checked by re-deriving the stored key). A stolen
 *   file allows impersonating the server to clients, not logging in; brute force costs one PBKDF2
 *   per guess, far cheaper than scrypt.
 * - `{PLAIN}`: the password itself. Everything, including CRAM-MD5 and APOP, which are
 *   challenge-response over a shared secret and so need the plaintext (SCRAM keys are derived from it
 *   on the fly). A stolen file discloses every such password: use only where those mechanisms are
 *   required, and keep the file readable by the server alone.
 *
 * The backend methods exist only when some entry can serve them, so the server offers exactly the
 * mechanisms this file supports (serverMechanisms() looks at which methods are present).
 */
export class UsersFile implements SaslServerBackend {
  readonly #entries: ReadonlyMap<string, StoredSecret>;
  readonly #derived = new Map<string, ScramStored>();
  readonly #common = new Map<ScramHash, number>();
  readonly #saltKey = randomBytes(32);
  readonly #scramIterations: number;
  /** Verified when the user is unknown, so an unknown user costs what a known one does. */
  readonly #decoy: Promise<StoredSecret>;

  readonly verifyPassword: (user: string, pass: string, authzid?: string) => Promise<string | null>;
  readonly getPassword?: (user: string) => Promise<string | null>;
  readonly getScramCredentials?: (user: string, hash: ScramHash) => Promise<ScramStored | null>;
  readonly scramDecoyIterations?: (hash: ScramHash) => number;

  private constructor(entries: Map<string, StoredSecret>, opts: { scramIterations?: number }) {
    this.#entries = entries;
    this.#scramIterations = opts.scramIterations ?? DEFAULT_SCRAM_ITERATIONS;
    this.#decoy = hashPassword(randomBytes(16).toString('hex')).then(
      (field) => parseStoredSecret(field) as StoredSecret,
    );
    this.#decoy.catch(() => {});
    const schemes = new Set([...entries.values()].map((e) => e.scheme));
    this.verifyPassword = (user, pass, authzid) => this.#verify(user, pass, authzid);
    if (schemes.has('PLAIN')) this.getPassword = async (user) => this.#plain(user) ?? null;
    if (schemes.has('PLAIN') || schemes.has('SCRAM-SHA-256') || schemes.has('SCRAM-SHA-1')) {
      this.getScramCredentials = async (user, hash) => this.#scram(user, hash);
      this.scramDecoyIterations = (hash) => this.#commonIterations(hash);
    }
  }

  /** Parse the text of a users file. Errors name the line, never its content (it may hold a secret). */
  static parse(text: string, opts: { scramIterations?: number } = {}): UsersFile {
    const entries = new Map<string, StoredSecret>();
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      const colon = line.indexOf(':');
      const user = colon < 0 ? '' : line.slice(0, colon);
      if (!isValidIdentity(user)) throw new Error(`users file line ${i + 1}: expected user:{SCHEME}secret`);
      if (entries.has(user)) throw new Error(`users file line ${i + 1}: duplicate user`);
      const secret = parseStoredSecret(line.slice(colon + 1));
      if ('error' in secret) throw new Error(`users file line ${i + 1}: ${secret.error}`);
      entries.set(user, secret);
    }
    return new UsersFile(entries, opts);
  }

  /** Read and parse a users file. */
  static async load(path: string, opts: { scramIterations?: number } = {}): Promise<UsersFile> {
    const info = await stat(path);
    if (info.size > MAX_USERS_FILE_BYTES)
      throw new Error(`users file larger than ${MAX_USERS_FILE_BYTES} bytes`);
    return UsersFile.parse(await readFile(path, 'utf8'), opts);
  }

  get size(): number {
    return this.#entries.size;
  }

  has(user: string): boolean {
    return this.#entries.has(user);
  }

  async #verify(user: string, pass: string, authzid: string | undefined): Promise<string | null> {
    const entry = this.#entries.get(user);
    const ok = await verifyStoredSecret(entry ?? (await this.#decoy), pass);
    if (!ok || entry === undefined) return null;
    return authzid === undefined || authzid === user ? user : null;
  }

  /** The SCRAM iteration count most entries show for `hash` ({PLAIN} ones derive with #scramIterations). */
  #commonIterations(hash: ScramHash): number {
    const known = this.#common.get(hash);
    if (known !== undefined) return known;
    const counts = new Map<number, number>();
    for (const e of this.#entries.values()) {
      const i =
        e.scheme === 'PLAIN'
          ? this.#scramIterations
          : (e.scheme === 'SCRAM-SHA-256' || e.scheme === 'SCRAM-SHA-1') && e.hash === hash
            ? e.stored.iterations
            : undefined;
      if (i !== undefined) counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    let best = this.#scramIterations;
    let most = 0;
    for (const [i, n] of counts) if (n > most) [best, most] = [i, n];
    this.#common.set(hash, best);
    return best;
  }

  #plain(user: string): string | undefined {
    const entry = this.#entries.get(user);
    return entry?.scheme === 'PLAIN' ? entry.password : undefined;
  }

  async #scram(user: string, hash: ScramHash): Promise<ScramStored | null> {
    const entry = this.#entries.get(user);
    if (entry === undefined) return null;
    if (entry.scheme === 'SCRAM-SHA-256' || entry.scheme === 'SCRAM-SHA-1') {
      return entry.hash === hash ? entry.stored : null;
    }
    if (entry.scheme !== 'PLAIN') return null;
    // Keys derived from a plaintext entry: a salt stable for this process, so repeated logins
    // see the same salt and the PBKDF2 runs once per user and hash.
    const key = `${hash}\0${user}`;
    let stored = this.#derived.get(key);
    if (!stored) {
      const salt = createHmac('sha256', this.#saltKey).update(key).digest().subarray(0, 16);
      stored = deriveScramCredentials(entry.password, hash, salt, this.#scramIterations);
      this.#derived.set(key, stored);
    }
    return stored;
  }
}

/** One users file line, for tools that write the file. */
export function formatUsersLine(user: string, field: string): string {
  if (!isValidIdentity(user) || user.includes(':'))
    throw new TypeError('user name not usable in a users file');
  if (/[\r\n]/.test(field)) throw new TypeError('password field contains a line break');
  return `${user}:${field}`;
}
