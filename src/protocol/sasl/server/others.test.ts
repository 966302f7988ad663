import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_STEPS, ServerExchangeBase } from './base.js';
import { createServerExchange, type SaslServerBackend, type SaslStep, serverMechanisms } from './index.js';

const b = (s: string) => Buffer.from(s, 'utf8');
const getOnly: SaslServerBackend = { getPassword: async (u) => (u === 'tim' ? 'tanstaaftanstaaf' : null) };

describe('CRAM-MD5 server (RFC 2195)', () => {
  it('accepts the RFC 2195 example', async () => {
    const ex = createServerExchange('CRAM-MD5', getOnly, {
      serverName: 'h',
      cramChallenge: '<1896.697170952@postoffice.reston.mci.net>',
    })!;
    const ch = await ex.step(undefined);
    expect(ch).toEqual({ kind: 'challenge', data: b('<1896.697170952@postoffice.reston.mci.net>') });
    expect(await ex.step(b('tim b913a602c7eda7a495b4e6e7334d3890'))).toEqual({
      kind: 'success',
      user: 'tim',
    });
  });

  it('sends a fresh <random.time@serverName> challenge each time', async () => {
    const one = await createServerExchange('CRAM-MD5', getOnly, { serverName: 'pop.example' })!.step(
      undefined,
    );
    const two = await createServerExchange('CRAM-MD5', getOnly, { serverName: 'pop.example' })!.step(
      undefined,
    );
    expect(one.kind === 'challenge' && one.data.toString()).toMatch(/^<\d+\.\d+@pop\.example>$/);
    expect(one).not.toEqual(two);
    const odd = await createServerExchange('CRAM-MD5', getOnly, { serverName: 'a <b>@c\r\n' })!.step(
      undefined,
    );
    expect(odd.kind === 'challenge' && odd.data.toString()).toMatch(/^<\d+\.\d+@abc>$/);
  });

  it('fails a wrong digest, an uppercase digest, an unknown user, an initial response', async () => {
    const answer = async (text: string) => {
      const ex = createServerExchange('CRAM-MD5', getOnly, { serverName: 'h', cramChallenge: '<1.2@h>' })!;
      await ex.step(undefined);
      return ex.step(b(text));
    };
    const good = createHmac('md5', 'tanstaaftanstaaf').update('<1.2@h>').digest('hex');
    expect((await answer(`tim ${good}`)).kind).toBe('success');
    expect((await answer(`tim ${good.toUpperCase()}`)).kind).toBe('failure');
    expect((await answer(`tim ${'0'.repeat(32)}`)).kind).toBe('failure');
    expect((await answer(`bob ${good}`)).kind).toBe('failure');
    expect((await answer(good)).kind).toBe('failure');
    const withIr = createServerExchange('CRAM-MD5', getOnly, { serverName: 'h' })!;
    expect((await withIr.step(b('tim x'))).kind).toBe('failure');
  });
});

describe('LOGIN server', () => {
  it('prompts Username: then Password:', async () => {
    const ex = createServerExchange('LOGIN', getOnly, { serverName: 'h' })!;
    expect(await ex.step(undefined)).toEqual({ kind: 'challenge', data: b('Username:') });
    expect(await ex.step(b('tim'))).toEqual({ kind: 'challenge', data: b('Password:') });
    expect(await ex.step(b('tanstaaftanstaaf'))).toEqual({ kind: 'success', user: 'tim' });
  });

  it('takes the user name from an initial response', async () => {
    const ex = createServerExchange('LOGIN', getOnly, { serverName: 'h' })!;
    expect(await ex.step(b('tim'))).toEqual({ kind: 'challenge', data: b('Password:') });
    expect((await ex.step(b('wrong'))).kind).toBe('failure');
  });

  it('fails CR/LF in the user name or password', async () => {
    const user = createServerExchange('LOGIN', getOnly, { serverName: 'h' })!;
    expect((await user.step(b('tim\r\nDELE 1'))).kind).toBe('failure');
    const pass = createServerExchange('LOGIN', getOnly, { serverName: 'h' })!;
    await pass.step(b('tim'));
    expect((await pass.step(b('x\ny'))).kind).toBe('failure');
  });
});

describe('createServerExchange and serverMechanisms', () => {
  it('server case 12: AUTH FOO (unknown mechanism) gets no exchange', () => {
    for (const name of ['FOO', 'DIGEST-MD5', 'NTLM', 'SCRAM-SHA-256-PLUS', '']) {
      expect(createServerExchange(name, getOnly, { serverName: 'h' })).toBeUndefined();
    }
  });

  it('offers only what the backend supports, strongest first', () => {
    expect(serverMechanisms({ verifyPassword: async () => null })).toEqual(['PLAIN', 'LOGIN']);
    expect(serverMechanisms(getOnly)).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'CRAM-MD5', 'PLAIN', 'LOGIN']);
    expect(serverMechanisms({ getScramCredentials: async () => null })).toEqual([
      'SCRAM-SHA-256',
      'SCRAM-SHA-1',
    ]);
    expect(serverMechanisms({ verifyToken: async () => null })).toEqual(['OAUTHBEARER', 'XOAUTH2']);
    expect(
      createServerExchange('CRAM-MD5', { verifyPassword: async () => null }, { serverName: 'h' }),
    ).toBeUndefined();
  });

  it('matches mechanism names case-insensitively', () => {
    expect(createServerExchange('cram-md5', getOnly, { serverName: 'h' })?.mechanism).toBe('CRAM-MD5');
  });

  it('server case 15: an exchange abandoned mid-way (client "*") leaves a fresh AUTH free to succeed', async () => {
    const abandoned = createServerExchange('LOGIN', getOnly, { serverName: 'h' })!;
    await abandoned.step(undefined);
    await abandoned.step(b('tim'));
    // The session drops `abandoned` on "*" and answers -ERR; the next AUTH starts from scratch.
    const retry = createServerExchange('LOGIN', getOnly, { serverName: 'h' })!;
    await retry.step(undefined);
    await retry.step(b('tim'));
    expect(await retry.step(b('tanstaaftanstaaf'))).toEqual({ kind: 'success', user: 'tim' });
  });

  it('server case 20: a finished exchange refuses further steps', async () => {
    const ex = createServerExchange('PLAIN', getOnly, { serverName: 'h' })!;
    expect((await ex.step(b('\0tim\0tanstaaftanstaaf'))).kind).toBe('success');
    expect(await ex.step(b('\0tim\0tanstaaftanstaaf'))).toMatchObject({ kind: 'failure' });
  });

  it('caps the number of steps, even for a mechanism that would challenge forever', async () => {
    class Endless extends ServerExchangeBase {
      readonly mechanism = 'ENDLESS';
      protected async onStep(): Promise<SaslStep> {
        return { kind: 'challenge', data: Buffer.alloc(0) };
      }
    }
    const ex = new Endless();
    let challenges = 0;
    for (let i = 0; i < 1000; i++) {
      const step = await ex.step(Buffer.alloc(0));
      if (step.kind !== 'challenge') {
        expect(step).toEqual({ kind: 'failure', reason: 'too many steps' });
        break;
      }
      challenges++;
    }
    expect(challenges).toBe(MAX_STEPS);
  });

  it('step(undefined) after the first step fails', async () => {
    const ex = createServerExchange('PLAIN', getOnly, { serverName: 'h' })!;
    await ex.step(undefined);
    expect(await ex.step(undefined)).toEqual({ kind: 'failure', reason: 'missing response' });
  });

  it('a backend error rejects step() and ends the exchange', async () => {
    const broken: SaslServerBackend = {
      verifyPassword: async () => {
        throw new Error('database down');
      },
    };
    const ex = createServerExchange('PLAIN', broken, { serverName: 'h' })!;
    await expect(ex.step(b('\0tim\0x'))).rejects.toThrow('database down');
    expect((await ex.step(b('\0tim\0x'))).kind).toBe('failure');
  });
});
