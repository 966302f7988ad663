import { describe, expect, it } from 'vitest';
import { Pop3Error } from '../../errors.js';
import { createClientMechanism } from './index.js';
import type { SaslClientMechanism } from './types.js';

const b = (s: string) => Buffer.from(s, 'utf8');

// RFC 5802 §5 and RFC 7677 §3: user "user", password "pencil", fixed nonces.
const VECTORS = [
  {
    name: 'SCRAM-SHA-1',
    clientNonce: 'fyko+d2lbbFgONRv9qkxdawL',
    clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
    serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
    clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
  },
  {
    name: 'SCRAM-SHA-256',
    clientNonce: 'rOprNGfwEbeRWgbNEkqO',
    clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
    serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    clientFinal:
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  },
] as const;

function client(name: string, nonce: string, opts: Record<string, unknown> = {}): SaslClientMechanism {
  return createClientMechanism(name, { user: 'user', pass: 'pencil' }, { nonce, ...opts });
}

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
    expect.unreachable('expected a Pop3Error');
  } catch (err) {
    expect(err).toBeInstanceOf(Pop3Error);
    expect((err as Pop3Error).code).toBe(code);
  }
}

describe.each(VECTORS)('$name client, RFC test vector', (v) => {
  it('produces the RFC messages and verifies the server signature', () => {
    const m = client(v.name, v.clientNonce);
    expect(m.initialResponse()?.toString()).toBe(v.clientFirst);
    expect(m.respond(b(v.serverFirst)).toString()).toBe(v.clientFinal);
    expect(m.respond(b(v.serverFinal)).length).toBe(0); // S19: empty answer to v=
    expect(() => m.finish()).not.toThrow();
  });

  it('client case 34: a server nonce that does not extend ours is refused', () => {
    const m = client(v.name, v.clientNonce);
    m.initialResponse();
    const other = v.serverFirst.replace(`r=${v.clientNonce}`, 'r=AAAA');
    expectCode(() => m.respond(b(other)), 'EAUTH');
    // The server echoing our nonce without adding its own is refused as well.
    const m2 = client(v.name, v.clientNonce);
    m2.initialResponse();
    expectCode(() => m2.respond(b(`r=${v.clientNonce},s=QSXCR+Q6sek8bf92,i=4096`)), 'EAUTH');
  });

  it('client case 34: i=0 and i=10^9 are refused before any key derivation', () => {
    for (const i of ['0', '1000000000', '-1', '4096x', '04096', '']) {
      const m = client(v.name, v.clientNonce);
      m.initialResponse();
      const started = performance.now();
      expect(() => m.respond(b(v.serverFirst.replace('i=4096', `i=${i}`)))).toThrow(Pop3Error);
      expect(performance.now() - started).toBeLessThan(500);
    }
  });

  it('client case 34: a wrong v= is refused', () => {
    const m = client(v.name, v.clientNonce);
    m.initialResponse();
    m.respond(b(v.serverFirst));
    const wrong = `v=${Buffer.alloc(v.name === 'SCRAM-SHA-1' ? 20 : 32, 7).toString('base64')}`;
    expectCode(() => m.respond(b(wrong)), 'EAUTH');
    expectCode(() => m.finish(), 'EAUTH');
  });

  it('client case 34: +OK without v= is refused by finish()', () => {
    const m = client(v.name, v.clientNonce);
    m.initialResponse();
    m.respond(b(v.serverFirst));
    expectCode(() => m.finish(), 'EAUTH');
  });

  it('client case 34: +OK straight after the client-first-message is refused', () => {
    const m = client(v.name, v.clientNonce);
    m.initialResponse();
    expectCode(() => m.finish(), 'EAUTH');
  });

  it('reports a server e= error as EAUTH without guessing', () => {
    const m = client(v.name, v.clientNonce);
    m.initialResponse();
    m.respond(b(v.serverFirst));
    expect(() => m.respond(b('e=invalid-proof'))).toThrow(/invalid-proof/);
  });

  it('refuses an unknown mandatory extension, a malformed message, an empty salt', () => {
    for (const bad of [`m=ext,${v.serverFirst}`, 'garbage', v.serverFirst.replace(/s=[^,]*/, 's='), 'r=x']) {
      const m = client(v.name, v.clientNonce);
      m.initialResponse();
      expect(() => m.respond(b(bad))).toThrow(Pop3Error);
    }
  });

  it('refuses a challenge after the exchange completed', () => {
    const m = client(v.name, v.clientNonce);
    m.initialResponse();
    m.respond(b(v.serverFirst));
    m.respond(b(v.serverFinal));
    expectCode(() => m.respond(b(v.serverFinal)), 'EPROTOCOL');
  });
});

describe('SCRAM client details', () => {
  it('escapes , and = in the user name and carries an authzid in the gs2 header', () => {
    const m = createClientMechanism(
      'SCRAM-SHA-256',
      { user: 'a,b=c', pass: 'p', authzid: 'x=y' },
      { nonce: 'N' },
    );
    expect(m.initialResponse()?.toString()).toBe('n,a=x=3Dy,n=a=2Cb=3Dc,r=N');
  });

  it('uses a fresh random nonce of 24 bytes per exchange', () => {
    const first = (name: string) =>
      createClientMechanism(name, { user: 'u', pass: 'p' }).initialResponse()!.toString();
    const a = first('SCRAM-SHA-1');
    const c = first('SCRAM-SHA-1');
    expect(a).toMatch(/^n,,n=u,r=[A-Za-z0-9+/]{32}$/);
    expect(a).not.toBe(c);
  });

  it('honours a lower maxIterations bound', () => {
    const v = VECTORS[0];
    const m = client(v.name, v.clientNonce, { maxIterations: 1000 });
    m.initialResponse();
    expectCode(() => m.respond(b(v.serverFirst)), 'EAUTH');
  });
});
