import { describe, expect, it } from 'vitest';
import { Pop3Error } from '../../errors.js';
import { beginClientAuth, createClientMechanism } from './index.js';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

describe('beginClientAuth', () => {
  it('puts a short initial response on the AUTH line', () => {
    const ex = beginClientAuth(createClientMechanism('PLAIN', { user: 'tim', pass: 'x' }));
    expect(ex.command).toBe(`AUTH PLAIN ${b64('\0tim\0x')}`);
    ex.finish();
  });

  it('omits the argument for server-first mechanisms', () => {
    expect(beginClientAuth(createClientMechanism('LOGIN', { user: 'u', pass: 'p' })).command).toBe(
      'AUTH LOGIN',
    );
    expect(beginClientAuth(createClientMechanism('XOAUTH2', { user: 'u', accessToken: 't' })).command).toBe(
      'AUTH XOAUTH2',
    );
  });

  it('sends "=" for an empty initial response', () => {
    const empty = {
      name: 'EXTERNAL',
      initialResponse: () => Buffer.alloc(0),
      respond: () => Buffer.alloc(0),
      finish: () => {},
    };
    expect(beginClientAuth(empty).command).toBe('AUTH EXTERNAL =');
  });

  it('holds back an initial response that would exceed 255 octets and sends it on the empty challenge', () => {
    const token = 'a'.repeat(300);
    const mech = createClientMechanism('OAUTHBEARER', { user: 'u', accessToken: token });
    const ex = beginClientAuth(mech);
    expect(ex.command).toBe('AUTH OAUTHBEARER');
    const line = ex.answer('');
    expect(Buffer.from(line, 'base64').toString()).toContain(`auth=Bearer ${token}`);
    ex.finish();
  });

  it('keeps the initial response up to the 255-octet line limit, CRLF included, and not one block beyond', () => {
    // 'AUTH PLAIN ' is 11 octets and CRLF 2, leaving 242 for base64: 240 characters, 180 raw octets.
    // The message is NUL 'u' NUL pass: a 177-octet password fills it exactly.
    const fits = beginClientAuth(createClientMechanism('PLAIN', { user: 'u', pass: 'p'.repeat(177) }));
    expect(fits.command.startsWith('AUTH PLAIN ')).toBe(true);
    expect(fits.command.length + 2).toBe(253);
    const over = beginClientAuth(createClientMechanism('PLAIN', { user: 'u', pass: 'p'.repeat(178) }));
    expect(over.command).toBe('AUTH PLAIN');
  });

  it('client case 31: bad base64 in a challenge is answered "*", with EPROTOCOL kept for the caller', () => {
    const ex = beginClientAuth(createClientMechanism('CRAM-MD5', { user: 'u', pass: 'p' }));
    expect(ex.answer('PDEuMkBoPg= =')).toBe('*');
    expect(ex.error).toBeInstanceOf(Pop3Error);
    expect(ex.error?.code).toBe('EPROTOCOL');
    expect(ex.answer(b64('<1.2@h>'))).toBe('*');
    expect(() => ex.finish()).toThrow(Pop3Error);
  });

  it('client case 32: 1,000 challenge rounds stop at the round cap', () => {
    const ex = beginClientAuth(createClientMechanism('LOGIN', { user: 'u', pass: 'p' }), { maxRounds: 5 });
    let answers = 0;
    let cancelledAt = -1;
    for (let i = 0; i < 1000; i++) {
      const line = ex.answer(b64('Username:'));
      if (line === '*') {
        cancelledAt = i;
        break;
      }
      answers++;
    }
    // LOGIN itself refuses a third prompt, well inside the cap.
    expect(answers).toBe(2);
    expect(cancelledAt).toBe(2);

    // A mechanism that would answer forever is still stopped by the cap.
    const endless = {
      name: 'X',
      initialResponse: () => undefined,
      respond: () => Buffer.alloc(0),
      finish() {},
    };
    const ex2 = beginClientAuth(endless, { maxRounds: 10 });
    let n = 0;
    while (n < 1000 && ex2.answer('') !== '*') n++;
    expect(n).toBe(10);
    expect(ex2.error?.code).toBe('ELIMIT');
  });

  it('client case 35: an oversized challenge is refused with "*" before decoding', () => {
    const mech = createClientMechanism('OAUTHBEARER', { user: 'u', accessToken: 't' });
    const ex = beginClientAuth(mech, { maxChallengeOctets: 1024 });
    expect(ex.answer(b64(`{"status":"invalid_token","pad":"${'x'.repeat(2000)}"}`))).toBe('*');
    expect(ex.error?.code).toBe('ELIMIT');
  });

  it('client case 35: an OAUTHBEARER error challenge is answered AQ==', () => {
    const ex = beginClientAuth(createClientMechanism('OAUTHBEARER', { user: 'u', accessToken: 't' }));
    expect(ex.answer(b64('{"status":"invalid_token"}'))).toBe('AQ==');
    expect(ex.error).toBeUndefined();
    expect(() => ex.finish()).toThrow(Pop3Error);
  });

  it('answers an empty response as an empty line (XOAUTH2 error, SCRAM v=)', () => {
    const ex = beginClientAuth(createClientMechanism('XOAUTH2', { user: 'u', accessToken: 't' }));
    expect(ex.answer('')).not.toBe('');
    expect(ex.answer(b64('{"status":"400"}'))).toBe('');
  });

  it('refuses a non-empty first challenge when the initial response was held back', () => {
    const mech = createClientMechanism('OAUTHBEARER', { user: 'u', accessToken: 'a'.repeat(300) });
    const ex = beginClientAuth(mech);
    expect(ex.answer(b64('hello'))).toBe('*');
    expect(ex.error?.code).toBe('EPROTOCOL');
  });
});
