// Our POP3 server on loopback for the fetcher's integration tests, and how a client reaches it:
// plain POP3 on a free port of 127.0.0.1, password logins allowed without TLS, and no pause after
// a failed login (so tests that expect one do not wait).

import type { ClientOptions } from '../../src/client/options.js';
import type { Pop3ServerOptions } from '../../src/server/options.js';
import { Pop3Server } from '../../src/server/server.js';

/** Start a Pop3Server with `options` over the defaults above; resolves with it and its port. */
export async function startPlainServer(
  options: Pop3ServerOptions,
): Promise<{ server: Pop3Server; port: number }> {
  const server = new Pop3Server({
    allowInsecureAuth: true,
    ...options,
    limits: { failedLoginDelayMs: 0, ...options.limits },
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, port };
}

/** Client settings for such a server (or a scripted peer) as `user`: plain TCP, insecure login allowed. */
export function plainConnection(port: number, user: string, pass: string): ClientOptions {
  return { host: '127.0.0.1', port, tls: 'none', allowInsecureAuth: true, auth: { user, pass } };
}
