import { afterEach, expect, vi } from 'vitest';
import { MemoryStore, Pop3Server, type Pop3ServerOptions } from '../../src/server/index.js';
import { type ConnectOptions, LineClient } from './pop3-wire.js';

/**
 * Our server on a free loopback port for the scripted-client tests (server-basic, server-conformance):
 * alice and bob log in with PASSWORD, no pause after a failed login, and every server and client a
 * test opened is closed after it, with real timers back first (a test may have faked them).
 */

export const PASSWORD = 'correct horse';

/** Alice's seeded messages as stored: CRLF lines with a dot line, bare LF lines, no final newline. */
const SEED_MESSAGES = [
  'Subject: one\r\nFrom: a@example.org\r\n\r\nfirst body\r\n.hidden dot\r\n',
  'Subject: two\n\nbare LF\nlines\n',
  'Subject: three\r\n\r\nno final newline',
];

/** Their wire sizes, written out by hand (RFC 1939 §11: CRLF line ends, a final CRLF added if missing). */
export const SEED_WIRE_SIZES: readonly number[] = [
  'Subject: one\r\nFrom: a@example.org\r\n\r\nfirst body\r\n.hidden dot\r\n',
  'Subject: two\r\n\r\nbare LF\r\nlines\r\n',
  'Subject: three\r\n\r\nno final newline\r\n',
].map((s) => s.length);
export const SEED_WIRE_TOTAL = SEED_WIRE_SIZES.reduce((a, b) => a + b, 0);

export function seed(store = new MemoryStore()): MemoryStore {
  for (const m of SEED_MESSAGES) store.add('alice', m);
  return store;
}

/** Call once at a test file's top level; registers the cleanup. */
export function useServerFixture() {
  const servers: Pop3Server[] = [];
  const clients: LineClient[] = [];

  afterEach(async () => {
    vi.useRealTimers();
    for (const c of clients.splice(0)) c.close();
    await Promise.all(servers.splice(0).map((s) => s.close({ graceful: false, timeoutMs: 2000 })));
  });

  /** Start a server over `opts` (a seeded MemoryStore unless given); `connect` opens a client to it. */
  async function start(opts: Partial<Pop3ServerOptions> = {}, listen: { implicitTls?: boolean } = {}) {
    const store = (opts.store as MemoryStore | undefined) ?? seed();
    const server = new Pop3Server({
      store,
      authenticate: ({ user, pass }) => (user === 'alice' || user === 'bob') && pass === PASSWORD,
      hostname: 'pop.test',
      ...opts,
      limits: { failedLoginDelayMs: 0, ...opts.limits },
    });
    servers.push(server);
    const { port } = await server.listen({ port: 0, ...listen });
    const connect = async (o: ConnectOptions = {}) => {
      const c = await LineClient.connect(port, o);
      clients.push(c);
      return c;
    };
    return { server, store, port, connect };
  }

  return { servers, clients, start };
}

/** USER and PASS; resolves with the reply to PASS. */
export async function login(c: LineClient, user = 'alice', pass = PASSWORD): Promise<string> {
  expect(await c.cmd(`USER ${user}`)).toBe('+OK send PASS');
  return c.cmd(`PASS ${pass}`);
}
