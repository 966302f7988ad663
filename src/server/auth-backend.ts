import {
  CLEARTEXT_SECRET_MECHANISMS,
  type SaslServerBackend,
  serverMechanisms,
} from '../protocol/sasl/server/index.js';
import type { AuthenticateHook, Pop3ServerOptions } from './options.js';

/** What a login attempt is known by when the `authenticate` hook is asked. */
export interface AuthContext {
  mechanism: string;
  remoteAddress: string | undefined;
  secure: boolean;
}

/**
 * Everything the server can check credentials with, merged into one SASL backend. Precedence for
 * each method: the explicit hook (`authenticate`, `verifyToken`), then `backend`, then `users`.
 */
export class AuthBackend {
  readonly #base: SaslServerBackend;
  readonly #authenticate: AuthenticateHook | undefined;
  /** Mechanisms the backend supports, strongest first, before the transport filter. */
  readonly mechanisms: readonly string[];

  constructor(opts: Pick<Pop3ServerOptions, 'authenticate' | 'verifyToken' | 'users' | 'backend'>) {
    const users: SaslServerBackend | undefined = opts.users;
    const backend = opts.backend;
    const base: SaslServerBackend = {};
    const pick = <K extends keyof SaslServerBackend>(key: K) => {
      const fn = backend?.[key] ?? users?.[key];
      const owner = backend?.[key] ? backend : users;
      if (fn) base[key] = (fn as (...a: unknown[]) => unknown).bind(owner) as SaslServerBackend[K];
    };
    pick('verifyPassword');
    pick('getPassword');
    pick('getScramCredentials');
    pick('scramDecoyIterations');
    pick('verifyToken');
    if (opts.verifyToken) base.verifyToken = opts.verifyToken;
    this.#base = base;
    this.#authenticate = opts.authenticate;
    const probe: SaslServerBackend = { ...base };
    if (opts.authenticate) probe.verifyPassword = async () => null;
    this.mechanisms = serverMechanisms(probe);
  }

  /** True when some password check exists (USER/PASS, PLAIN, LOGIN can work). */
  get hasPasswords(): boolean {
    return (
      this.#authenticate !== undefined ||
      this.#base.verifyPassword !== undefined ||
      this.#base.getPassword !== undefined
    );
  }

  get hasPlaintextSecrets(): boolean {
    return this.#base.getPassword !== undefined;
  }

  /** SASL mechanisms usable on this transport: those that reveal a reusable secret only with TLS or when allowed. */
  mechanismsFor(secure: boolean, allowInsecure: boolean): string[] {
    return this.mechanisms.filter((m) => secure || allowInsecure || !CLEARTEXT_SECRET_MECHANISMS.has(m));
  }

  /** The backend one login attempt uses: the hook sees the mechanism, address and transport. */
  forAttempt(ctx: AuthContext): SaslServerBackend {
    const hook = this.#authenticate;
    if (!hook) return this.#base;
    return {
      ...this.#base,
      verifyPassword: async (user, pass, authzid) => {
        const result = await hook({
          user,
          pass,
          ...(authzid !== undefined && authzid !== user ? { authzid } : {}),
          mechanism: ctx.mechanism,
          remoteAddress: ctx.remoteAddress,
          secure: ctx.secure,
        });
        if (result === true) return user;
        return typeof result === 'string' && result !== '' ? result : null;
      },
    };
  }
}
