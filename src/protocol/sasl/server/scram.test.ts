import { describe, expect, it } from 'vitest';
import {
  createServerExchange,
  deriveScramCredentials,
  type SaslServerBackend,
  type SaslStep,
} from './index.js';

const b = (s: string) => Buffer.from(s, 'utf8');

// RFC 5802 §5 / RFC 7677 §3 exchanges, seen from the server.
const VECTORS = [
  {
    name: 'SCRAM-SHA-1',
    hash: 'sha1' as const,
    salt: 'QSXCR+Q6sek8bf92',
    serverNonce: '3rfcNHYJY1ZVvWVs7j',
    clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
    serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
    clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
  },
  {
    name: 'SCRAM-SHA-256',
    hash: 'sha256' as const,
    salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
    serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
    clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
    serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    clientFinal:
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  },
];

describe.each(VECTORS)('$name server', (v) => {
  const stored = deriveScramCredentials('pencil', v.hash, Buffer.from(v.salt, 'base64'), 4096);
  const backend: SaslServerBackend = {
    getScramCredentials: async (user, hash) => (user === 'user' && hash === v.hash ? stored : null),
  };
  /** With the RFC's server nonce, or (fixedNonce false) a random one as in production. */
  const exchange = (fixedNonce = true) =>
    createServerExchange(v.name, backend, {
      serverName: 'h',
      ...(fixedNonce ? { scramServerNonce: v.serverNonce } : {}),
    })!;
  const text = (step: SaslStep) => (step.kind === 'challenge' ? step.data.toString() : `<${step.kind}>`);

  it('reproduces the RFC exchange; S19: v= is a challenge, then an empty response succeeds', async () => {
    const ex = exchange();
    expect(text(await ex.step(b(v.clientFirst)))).toBe(v.serverFirst);
    expect(text(await ex.step(b(v.clientFinal)))).toBe(v.serverFinal);
    expect(await ex.step(Buffer.alloc(0))).toEqual({ kind: 'success', user: 'user' });
    expect((await ex.step(Buffer.alloc(0))).kind).toBe('failure'); // single-use
  });

  it('asks for the client-first-message with an empty challenge when AUTH had none', async () => {
    const ex = exchange();
    expect(await ex.step(undefined)).toEqual({ kind: 'challenge', data: Buffer.alloc(0) });
    expect(text(await ex.step(b(v.clientFirst)))).toBe(v.serverFirst);
  });

  it('refuses a non-empty answer to v=', async () => {
    const ex = exchange();
    await ex.step(b(v.clientFirst));
    await ex.step(b(v.clientFinal));
    expect((await ex.step(b('x'))).kind).toBe('failure');
  });

  it('server case 21: a bad proof fails', async () => {
    const ex = exchange();
    await ex.step(b(v.clientFirst));
    const bad = v.clientFinal.replace(/p=./, (m) => (m === 'p=A' ? 'p=B' : 'p=A'));
    expect(await ex.step(b(bad))).toMatchObject({ kind: 'failure', reason: 'invalid proof' });
  });

  it('server case 21: a replayed client-final-message fails against a fresh server nonce', async () => {
    const ex = exchange(false);
    const first = await ex.step(b(v.clientFirst));
    expect(text(first)).not.toBe(v.serverFirst);
    expect(await ex.step(b(v.clientFinal))).toMatchObject({ kind: 'failure', reason: 'nonce mismatch' });
  });

  it('server case 21: m= in the client-first-message fails', async () => {
    const ex = exchange();
    const step = await ex.step(b(v.clientFirst.replace('n,,', 'n,,m=ext,')));
    expect(step).toMatchObject({ kind: 'failure', reason: 'unsupported mandatory extension' });
  });

  it('server case 21: a stray "=" or an unknown escape in the user name fails', async () => {
    for (const name of ['us=er', 'us=2Der', 'user=', 'u=3']) {
      const step = await exchange().step(b(v.clientFirst.replace('n=user', `n=${name}`)));
      expect(step).toMatchObject({ kind: 'failure', reason: 'malformed user name' });
    }
    // The two legal escapes decode (and then name an unknown user, who fails only at the proof).
    const legal = await exchange().step(b(v.clientFirst.replace('n=user', 'n=a=2Cb=3Dc')));
    expect(legal.kind).toBe('challenge');
  });

  it('server case 21: flag "y" is accepted because no -PLUS mechanism is advertised; "p=" is refused', async () => {
    const ex = exchange();
    expect((await ex.step(b(v.clientFirst.replace('n,,', 'y,,')))).kind).toBe('challenge');
    // With y, c= must carry "y,," too, so the RFC proof (computed over "n,,") no longer matches the binding.
    expect(await ex.step(b(v.clientFinal))).toMatchObject({ reason: 'channel binding mismatch' });
    const plus = await exchange().step(b(v.clientFirst.replace('n,,', 'p=tls-unique,,')));
    expect(plus).toMatchObject({ kind: 'failure', reason: 'channel binding is not supported' });
  });

  it('refuses an authzid other than the user', async () => {
    const step = await exchange().step(b(v.clientFirst.replace('n,,', 'n,a=admin,')));
    expect(step).toMatchObject({ kind: 'failure', reason: 'authorization identity not permitted' });
  });

  it('refuses malformed messages', async () => {
    for (const bad of ['', 'n,,', 'x,,n=user,r=abc', 'n,,r=abc,n=user', 'n,,n=user,r=a,b', 'n,,n=user,r=']) {
      expect((await exchange().step(b(bad))).kind).toBe('failure');
    }
    for (const bad of ['r=x', 'c=biws', 'c=biws,p=AAAA', `${v.clientFinal.replace('c=biws', 'c=bi ws')}`]) {
      const ex = exchange();
      await ex.step(b(v.clientFirst));
      expect((await ex.step(b(bad))).kind).toBe('failure');
    }
  });

  it('an unknown user gets a stable salt and the default iteration count, then fails at the proof', async () => {
    const first = text(await exchange().step(b(v.clientFirst.replace('n=user', 'n=nobody'))));
    const again = text(await exchange().step(b(v.clientFirst.replace('n=user', 'n=nobody'))));
    expect(first).toMatch(/^r=[^,]+,s=[A-Za-z0-9+/]{22}==,i=4096$/);
    expect(first.split(',')[1]).toBe(again.split(',')[1]);
  });

  it('refuses to use stored credentials below 4096 iterations by default', async () => {
    const weak = deriveScramCredentials('pencil', v.hash, Buffer.from('salt'), 1000);
    const ex = createServerExchange(v.name, { getScramCredentials: async () => weak }, { serverName: 'h' })!;
    expect(await ex.step(b(v.clientFirst))).toMatchObject({ reason: 'stored iteration count too low' });
  });
});
