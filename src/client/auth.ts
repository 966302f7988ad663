import { apopDigest, parseApopTimestamp } from '../protocol/apop.js';
import type { Capabilities } from '../protocol/capabilities.js';
import { encodeCommand } from '../protocol/command.js';
import { Pop3Error } from '../protocol/errors.js';
import { beginClientAuth, chooseMechanism, createClientMechanism } from '../protocol/sasl/client/index.js';
import type { Connection } from './connection.js';
import type { AuthOptions } from './options.js';

interface AuthContext {
  capabilities: Capabilities;
  greeting: string;
  secure: boolean;
  allowInsecureAuth: boolean;
  maxSaslRounds: number;
  /** The token of the queue hold the login runs under (Connection.hold). */
  hold?: symbol;
  /**
   * Called once the last command of a USER/PASS login sent together (PIPELINING) is queued, before
   * any reply: the caller may queue what should follow the login in the same round trip (CAPA).
   */
  afterPipelinedLogin?: () => void;
}

/** Turn a server's -ERR to a login command into EAUTH, keeping its response code ([AUTH], [IN-USE], ...). */
function authFailure(err: unknown, mechanism: string): never {
  if (err instanceof Pop3Error && err.code === 'ESERVER') {
    throw new Pop3Error(`login with ${mechanism} failed: ${err.response ?? ''}`.trim(), {
      code: 'EAUTH',
      responseCode: err.responseCode,
      command: err.command,
      response: err.response,
    });
  }
  throw err;
}

/** Which mechanism to use: the caller's, else the strongest the server offers for these credentials. */
function pick(auth: AuthOptions, ctx: AuthContext): string {
  if (auth.mechanism) return auth.mechanism.toUpperCase();
  const creds = { user: auth.user, pass: auth.pass, accessToken: auth.accessToken, authzid: auth.authzid };
  const sasl = chooseMechanism(ctx.capabilities.sasl, creds, {
    tls: ctx.secure,
    allowInsecure: ctx.allowInsecureAuth,
  });
  if (sasl) return sasl;
  if (auth.pass !== undefined && (ctx.capabilities.has('USER') || ctx.capabilities.names.length === 0))
    return 'USER';
  throw new Pop3Error('the server offers no login mechanism usable with these credentials', {
    code: 'EAUTH',
  });
}

/**
 * Log in once, with one mechanism. A failure is final: there is no fallback to a weaker
 * mechanism (CONFORMANCE C12). Returns the mechanism used.
 */
export async function authenticate(conn: Connection, auth: AuthOptions, ctx: AuthContext): Promise<string> {
  const mechanism = pick(auth, ctx);
  // Without TLS, PLAIN/LOGIN/USER/tokens give the secret away and challenge-response logins
  // can be attacked offline, so every login needs the caller's explicit opt-in.
  if (!ctx.secure && !ctx.allowInsecureAuth) {
    throw new Pop3Error(
      `refusing to log in with ${mechanism} without TLS (set allowInsecureAuth to allow it)`,
      {
        code: 'EINSECURE',
      },
    );
  }
  if (mechanism === 'USER') {
    if (auth.pass === undefined) throw new Pop3Error('USER/PASS needs a password', { code: 'EAUTH' });
    encodeCommand('PASS', [auth.pass]); // a password that cannot be sent fails before USER goes out
    try {
      if (ctx.capabilities.pipelining) {
        // RFC 2449 §6.6: USER and PASS in one write, one round trip instead of two. They stay
        // adjacent (the hold keeps everything else out); if USER is refused, PASS is refused too
        // (no user given), and USER's failure is the one reported.
        let user: Promise<unknown> | undefined;
        let pass: Promise<unknown> | undefined;
        conn.corked(() => {
          user = conn.command('USER', [auth.user], { kind: 'line' }, { hold: ctx.hold });
          pass = conn.command('PASS', [auth.pass!], { kind: 'line' }, { hold: ctx.hold });
          pass.catch(() => {}); // awaited below unless USER fails first
          ctx.afterPipelinedLogin?.();
        });
        await user;
        await pass;
      } else {
        await conn.command('USER', [auth.user], { kind: 'line' }, { exclusive: true, hold: ctx.hold });
        await conn.command('PASS', [auth.pass], { kind: 'line' }, { exclusive: true, hold: ctx.hold });
      }
    } catch (err) {
      authFailure(err, 'USER/PASS');
    }
    return mechanism;
  }
  if (mechanism === 'APOP') {
    const timestamp = parseApopTimestamp(ctx.greeting);
    if (!timestamp) {
      throw new Pop3Error('APOP requested but the greeting carries no valid timestamp', { code: 'EAUTH' });
    }
    if (auth.pass === undefined) throw new Pop3Error('APOP needs a password', { code: 'EAUTH' });
    // Only a digest goes on the wire, but a secret with CR/LF/NUL is refused as for every other login (C3).
    if (/[\r\n\0]/.test(auth.pass)) {
      throw new Pop3Error('APOP: password contains CR, LF or NUL', {
        code: 'EARGUMENT',
        command: 'APOP ***',
      });
    }
    try {
      await conn.command(
        'APOP',
        [auth.user, apopDigest(timestamp, auth.pass)],
        { kind: 'line' },
        { exclusive: true, hold: ctx.hold },
      );
    } catch (err) {
      authFailure(err, 'APOP');
    }
    return mechanism;
  }
  if (!ctx.capabilities.sasl.includes(mechanism) && ctx.capabilities.names.length > 0) {
    throw new Pop3Error(`the server does not offer SASL ${mechanism}`, { code: 'EAUTH' });
  }
  const mech = createClientMechanism(
    mechanism,
    { user: auth.user, pass: auth.pass, accessToken: auth.accessToken, authzid: auth.authzid },
    { twoStep: !auth.xoauth2InitialResponse },
  );
  const exchange = beginClientAuth(mech, { maxRounds: ctx.maxSaslRounds });
  const [keyword, ...args] = exchange.command.split(' ');
  try {
    await conn.command(
      keyword!,
      args,
      { kind: 'sasl', respond: (challenge) => exchange.answer(challenge) },
      { exclusive: true, hold: ctx.hold },
    );
  } catch (err) {
    // A challenge we refused explains the -ERR better than the server's text does.
    if (exchange.error && err instanceof Pop3Error && err.code === 'ESERVER') {
      throw new Pop3Error(exchange.error.message, { code: exchange.error.code, cause: err });
    }
    authFailure(err, mechanism);
  }
  try {
    exchange.finish();
  } catch (err) {
    // The server said +OK but could not prove it knows the password (SCRAM v=), or accepted a
    // cancelled exchange: whoever it is, this session must not be used (CONFORMANCE case 34).
    conn.fail(err instanceof Pop3Error ? err : new Pop3Error(String(err), { code: 'EAUTH' }));
    throw err;
  }
  return mechanism;
}
