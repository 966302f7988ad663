// Open a logged-in client from the command line's options: target, TLS, secrets, trace.
// Secrets are found before connecting, so a prompt never races the server's deadlines, and
// a pinned certificate is checked before any credential is sent.

import { Pop3Client } from '../client/client.js';
import { withExtraCa } from '../client/extra-ca.js';
import type { AuthOptions, ClientOptions, Timeouts, TraceEvent } from '../client/options.js';
import { type Config, loadConfig } from './config.js';
import { resolveTarget, type Target } from './connection-args.js';
import type { ConnectFlags } from './connection-options.js';
import { CliError, EXIT, usageError } from './exit-codes.js';
import { trackClient, untrackClient } from './open-clients.js';
import { type FoundSecret, findSecret, missingSecret, netrcUser } from './secrets.js';
import { applyPin, buildTls, checkPin } from './tls-args.js';
import { Tracer } from './trace.js';

export interface Session {
  client: Pop3Client;
  target: Target;
  tracer: Tracer | undefined;
}

export interface SessionOptions {
  /** Log in (default true); `pop3 capa` looks without logging in. */
  login?: boolean;
  /** A tracer to use instead of the one --trace makes. */
  tracer?: Tracer;
  /** Another listener for the dialogue (the shell shows the server's replies with it). */
  onTrace?: (event: TraceEvent) => void;
  config?: Config;
}

export function makeTracer(flags: ConnectFlags): Tracer | undefined {
  if (!flags.trace && !flags.traceBody) return undefined;
  return new Tracer({ write: (s) => process.stderr.write(s), showBody: flags.traceBody ?? false });
}

const OAUTH = new Set(['XOAUTH2', 'OAUTHBEARER']);

/** Credentials for the target, from the secret sources in order; throws when there are none. */
export async function resolveAuth(target: Target): Promise<{ auth: AuthOptions; source: string }> {
  const user = target.user ?? (target.secrets.netrc ? netrcUser(target.host) : undefined);
  if (!user) throw usageError('no user name: put it in the URL (pop3s://USER@host), or use --user');
  const s = target.secrets;
  const oauth = target.mechanism !== undefined && OAUTH.has(target.mechanism);
  const passwordNamed = s.passwordFile || s.passwordCommand;
  const tokenNamed =
    s.tokenFile ||
    s.tokenCommand ||
    (!passwordNamed &&
      !process.env.POP3_PASSWORD &&
      (process.env.POP3_TOKEN || s.configTokenFile || s.configTokenCommand));
  const base: AuthOptions = { user, ...(target.mechanism ? { mechanism: target.mechanism } : {}) };
  if (oauth || tokenNamed) {
    const found = await findSecret({
      kind: 'token',
      host: target.host,
      user,
      ...pick({ flagFile: s.tokenFile, flagCommand: s.tokenCommand }),
      ...pick({ configFile: s.configTokenFile, configCommand: s.configTokenCommand }),
      netrc: false,
      prompt: true,
    });
    if (!found) throw missingSecret('token');
    return { auth: { ...base, accessToken: found.value }, source: found.source };
  }
  const found: FoundSecret | undefined = await findSecret({
    kind: 'password',
    host: target.host,
    user,
    ...pick({ flagFile: s.passwordFile, flagCommand: s.passwordCommand }),
    ...pick({ configFile: s.configPasswordFile, configCommand: s.configPasswordCommand }),
    netrc: s.netrc,
    prompt: true,
  });
  if (!found) throw missingSecret('password');
  return { auth: { ...base, pass: found.value }, source: found.source };
}

function pick<T extends Record<string, string | undefined>>(o: T): Partial<Record<keyof T, string>> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v)) as Partial<Record<keyof T, string>>;
}

/**
 * Client options for a target (TLS, timeouts, trace), without credentials. With a pinned
 * fingerprint the server's certificate is probed first (no credentials sent) so the real
 * connection is verified against exactly that certificate.
 */
export async function clientOptions(
  target: Target,
  tracer: Tracer | undefined,
): Promise<{ options: ClientOptions; pin?: string }> {
  const tls = buildTls(target.tlsArgs);
  for (const w of tls.warnings) process.stderr.write(`pop3: ${w}\n`);
  if (tls.pin) {
    const { probeCertificate } = await import('./cert-probe.js'); // only with --fingerprint
    const probed = await probeCertificate(
      target.host,
      target.port,
      target.tls,
      withExtraCa(tls.options, tls.extraCa),
      target.timeoutMs ?? 15_000,
    );
    applyPin(tls, probed);
    tracer?.note(
      `certificate matches the pinned sha256:${tls.pin}${probed.selfSigned ? ' (self-signed)' : ''}`,
    );
  }
  const timeouts: Partial<Timeouts> | undefined =
    target.timeoutMs === undefined
      ? undefined
      : {
          connect: target.timeoutMs,
          greeting: target.timeoutMs,
          command: target.timeoutMs,
          idle: target.timeoutMs,
        };
  const options: ClientOptions = {
    host: target.host,
    port: target.port,
    tls: target.tls,
    tlsOptions: tls.options,
    ...(tls.extraCa.length > 0 ? { extraCa: tls.extraCa } : {}),
    allowInsecureAuth: target.insecureAuth,
    ...(timeouts ? { timeouts } : {}),
    ...(tracer ? { onTrace: tracer.onTrace } : {}),
  };
  return { options, ...(tls.pin ? { pin: tls.pin } : {}) };
}

/** Connect (and log in) as the flags say. */
export async function openSession(
  flags: ConnectFlags,
  url: string | undefined,
  opts: SessionOptions = {},
): Promise<Session> {
  const target = resolveTarget(flags, url, opts.config ?? (await loadConfig(flags.config)));
  return openTarget(target, opts.tracer ?? makeTracer(flags), opts.login ?? true, opts.onTrace);
}

export async function openTarget(
  target: Target,
  tracer: Tracer | undefined,
  login: boolean,
  onTrace?: (event: TraceEvent) => void,
): Promise<Session> {
  if (login && target.tls === 'none' && !target.insecureAuth) {
    // Said before any prompt or connection, with the way out.
    throw new CliError(
      'refusing to send a password or token without TLS: use --tls implicit or starttls, or allow it with --insecure-auth',
      EXIT.TLS,
    );
  }
  const { options, pin } = await clientOptions(target, tracer);
  if (onTrace) {
    const first = options.onTrace;
    options.onTrace = (e) => {
      first?.(e);
      onTrace(e);
    };
  }
  const creds = login ? await resolveAuth(target) : undefined;
  if (creds)
    tracer?.note(`credentials for ${creds.auth.user}: ${credentialKind(creds.auth)} from ${creds.source}`);
  const client = await Pop3Client.connect(options);
  trackClient(client);
  try {
    const info = client.tls;
    if (info) tracer?.note(`certificate sha256:${info.fingerprint256}`);
    if (pin) checkPin(info, pin);
    if (creds) await client.login(creds.auth);
  } catch (err) {
    client.close();
    untrackClient(client);
    throw err;
  }
  return { client, target, tracer };
}

function credentialKind(auth: AuthOptions): string {
  return auth.accessToken !== undefined ? 'access token' : 'password';
}

/**
 * Run `fn` on a logged-in session, then QUIT (which commits DELEs). On any failure the
 * connection is dropped without QUIT, so nothing marked deleted is deleted.
 */
export async function withSession<T>(
  flags: ConnectFlags,
  url: string | undefined,
  fn: (s: Session) => Promise<T>,
  opts: SessionOptions = {},
): Promise<T> {
  const session = await openSession(flags, url, opts);
  try {
    const result = await fn(session);
    if (!session.client.closed) await session.client.quit();
    return result;
  } catch (err) {
    session.client.close();
    throw err;
  } finally {
    untrackClient(session.client);
    session.tracer?.flush();
  }
}
