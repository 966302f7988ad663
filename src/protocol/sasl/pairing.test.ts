import { describe, expect, it } from 'vitest';
import type { Pop3Error } from '../errors.js';
import { decodeBase64Strict, encodeBase64 } from './base64.js';
import { beginClientAuth, createClientMechanism, type SaslCredentials } from './client/index.js';
import { createServerExchange, deriveScramCredentials, type SaslServerBackend } from './server/index.js';

// Our client mechanisms against our server mechanisms, through the RFC 5034 text layer
// (AUTH line, "+ base64" challenges, base64 answers), as the client and server sessions use them.

const PASSWORDS: Record<string, string> = { alice: 'correct horse', 'b,o=b': 'p\u00e4ss w\u00f6rd' };
const TOKENS: Record<string, string> = { alice: 'ya29.a0AfH6SMBx-token_value~+/==' };

const byPassword: SaslServerBackend = {
  getPassword: async (user) => PASSWORDS[user] ?? null,
  verifyToken: async (user, token) => (TOKENS[user] === token ? user : null),
};
const scramStored = new Map(
  Object.entries(PASSWORDS).flatMap(([user, pass]) => [
    [`${user}/sha1`, deriveScramCredentials(pass, 'sha1')],
    [`${user}/sha256`, deriveScramCredentials(pass, 'sha256', undefined, 8192)],
  ]),
);
const byStoredKeys: SaslServerBackend = {
  verifyPassword: async (user, pass) => (PASSWORDS[user] === pass ? user : null),
  getScramCredentials: async (user, hash) => scramStored.get(`${user}/${hash}`) ?? null,
};

type Outcome = { ok: true; user: string } | { ok: false; server?: string; client?: Pop3Error };

async function run(mechanism: string, creds: SaslCredentials, backend: SaslServerBackend): Promise<Outcome> {
  const client = beginClientAuth(createClientMechanism(mechanism, creds));
  const [, name, ir] = client.command.split(' ');
  const server = createServerExchange(name!, backend, { serverName: 'pop.example' });
  if (server === undefined) throw new Error(`server lacks ${name}`);
  let response = ir === undefined ? undefined : decodeBase64Strict(ir);
  for (let round = 0; round < 10; round++) {
    const step = await server.step(response);
    if (step.kind === 'success') {
      try {
        client.finish();
      } catch (err) {
        return { ok: false, client: err as Pop3Error };
      }
      return { ok: true, user: step.user };
    }
    if (step.kind === 'failure') return { ok: false, server: step.reason, client: client.error };
    const line = client.answer(encodeBase64(step.data));
    if (line === '*') return { ok: false, client: client.error };
    response = decodeBase64Strict(line);
  }
  throw new Error('no outcome after 10 rounds');
}

const PASSWORD_MECHANISMS = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256'];

describe.each(PASSWORD_MECHANISMS)('%s: our client against our server', (mechanism) => {
  const backends = mechanism === 'CRAM-MD5' ? { byPassword } : { byPassword, byStoredKeys };

  it.each(Object.entries(backends))(
    'logs in with the right password (%s backend)',
    async (_label, backend) => {
      expect(await run(mechanism, { user: 'alice', pass: 'correct horse' }, backend)).toEqual({
        ok: true,
        user: 'alice',
      });
    },
  );

  it.each(Object.entries(backends))('fails with a wrong password (%s backend)', async (_label, backend) => {
    const outcome = await run(mechanism, { user: 'alice', pass: 'correct horsE' }, backend);
    expect(outcome).toMatchObject({ ok: false, server: expect.any(String) });
  });

  it('fails for an unknown user', async () => {
    expect((await run(mechanism, { user: 'mallory', pass: 'x' }, byPassword)).ok).toBe(false);
  });

  if (mechanism !== 'CRAM-MD5') {
    it('handles a user name with , and = and a non-ASCII password', async () => {
      const creds = { user: 'b,o=b', pass: 'p\u00e4ss w\u00f6rd' };
      expect(await run(mechanism, creds, byStoredKeys)).toEqual({ ok: true, user: 'b,o=b' });
    });
  }
});

describe.each(['OAUTHBEARER', 'XOAUTH2'])('%s: our client against our server', (mechanism) => {
  it('logs in with a valid token', async () => {
    expect(await run(mechanism, { user: 'alice', accessToken: TOKENS.alice! }, byPassword)).toEqual({
      ok: true,
      user: 'alice',
    });
  });

  it('fails with a bad token after the error challenge is acknowledged', async () => {
    const outcome = await run(mechanism, { user: 'alice', accessToken: 'expired' }, byPassword);
    expect(outcome).toEqual({ ok: false, server: 'invalid token', client: undefined });
  });
});

describe('SCRAM against a server that lies', () => {
  it('a server that skips v= and says +OK is caught by finish()', async () => {
    const client = beginClientAuth(
      createClientMechanism('SCRAM-SHA-256', { user: 'alice', pass: 'correct horse' }),
    );
    const server = createServerExchange('SCRAM-SHA-256', byStoredKeys, { serverName: 'h' })!;
    const [, , ir] = client.command.split(' ');
    const first = await server.step(decodeBase64Strict(ir!));
    if (first.kind !== 'challenge') throw new Error('expected server-first');
    client.answer(encodeBase64(first.data));
    // A man in the middle now answers +OK without the server signature.
    expect(() => client.finish()).toThrow(/server signature/);
  });
});
