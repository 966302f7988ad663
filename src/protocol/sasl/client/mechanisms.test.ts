import { describe, expect, it } from 'vitest';
import { Pop3Error } from '../../errors.js';
import { createClientMechanism } from './index.js';
import type { SaslCredentials } from './types.js';

const b = (s: string) => Buffer.from(s, 'utf8');

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof Pop3Error) return err.code;
    throw err;
  }
  return undefined;
}

describe('PLAIN client (RFC 4616)', () => {
  it('sends authzid NUL authcid NUL passwd as the initial response', () => {
    expect(createClientMechanism('PLAIN', { user: 'tim', pass: 'tanstaaf' }).initialResponse()).toEqual(
      b('\0tim\0tanstaaf'),
    );
    expect(
      createClientMechanism('plain', { user: 'tim', pass: 'x', authzid: 'admin' }).initialResponse(),
    ).toEqual(b('admin\0tim\0x'));
  });

  it('answers an empty first challenge with the message when it was not sent with AUTH', () => {
    const m = createClientMechanism('PLAIN', { user: 'tim', pass: 'x' });
    expect(m.respond(Buffer.alloc(0))).toEqual(b('\0tim\0x'));
    expect(() => m.finish()).not.toThrow();
  });

  it('refuses NUL, CR and LF in any field (CONFORMANCE C3)', () => {
    for (const creds of [
      { user: 'a\0b', pass: 'x' },
      { user: 'a', pass: 'x\0y' },
      { user: 'a', pass: 'x', authzid: 'z\0' },
      { user: 'bob\r\nDELE 1', pass: 'x' },
      { user: 'a', pass: 'x\ny' },
    ]) {
      expect(code(() => createClientMechanism('PLAIN', creds))).toBe('EARGUMENT');
    }
  });

  it('refuses a second challenge and an early +OK', () => {
    const m = createClientMechanism('PLAIN', { user: 'a', pass: 'b' });
    expect(code(() => m.finish())).toBe('EAUTH');
    m.initialResponse();
    expect(code(() => m.respond(b('more?')))).toBe('EPROTOCOL');
  });
});

describe('LOGIN client', () => {
  it('answers by position, whatever the prompt text says', () => {
    const m = createClientMechanism('LOGIN', { user: 'tim', pass: 'secret' });
    expect(m.initialResponse()).toBeUndefined();
    expect(m.respond(b('Password:'))).toEqual(b('tim')); // prompt texts swapped on purpose
    expect(code(() => m.finish())).toBe('EAUTH');
    expect(m.respond(b('Username:'))).toEqual(b('secret'));
    expect(() => m.finish()).not.toThrow();
    expect(code(() => m.respond(b('Again:')))).toBe('EPROTOCOL');
  });
});

describe('CRAM-MD5 client (RFC 2195)', () => {
  it('matches the RFC 2195 example', () => {
    const m = createClientMechanism('CRAM-MD5', { user: 'tim', pass: 'tanstaaftanstaaf' });
    expect(m.initialResponse()).toBeUndefined();
    expect(m.respond(b('<1896.697170952@postoffice.reston.mci.net>')).toString()).toBe(
      'tim b913a602c7eda7a495b4e6e7334d3890',
    );
    expect(() => m.finish()).not.toThrow();
  });

  it('refuses an empty challenge, a second challenge, and an authzid it cannot carry', () => {
    const m = createClientMechanism('CRAM-MD5', { user: 'tim', pass: 'x' });
    expect(code(() => m.respond(Buffer.alloc(0)))).toBe('EAUTH');
    m.respond(b('<1.2@h>'));
    expect(code(() => m.respond(b('<1.2@h>')))).toBe('EPROTOCOL');
    expect(code(() => createClientMechanism('CRAM-MD5', { user: 'tim', pass: 'x', authzid: 'root' }))).toBe(
      'EARGUMENT',
    );
  });
});

describe('XOAUTH2 client', () => {
  const creds: SaslCredentials = {
    user: 'someuser@example.com',
    accessToken: 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg',
  };
  const message = b(`user=someuser@example.com\x01auth=Bearer ${creds.accessToken}\x01\x01`);

  it('two-step by default: no initial response, the token answers the empty first challenge', () => {
    const m = createClientMechanism('XOAUTH2', creds);
    expect(m.initialResponse()).toBeUndefined();
    expect(m.respond(Buffer.alloc(0))).toEqual(message);
    expect(() => m.finish()).not.toThrow();
  });

  it('sends the token as the initial response when twoStep is false', () => {
    const m = createClientMechanism('XOAUTH2', creds, { twoStep: false });
    expect(m.initialResponse()).toEqual(message);
  });

  it('answers a JSON error challenge with an empty response and refuses a later +OK', () => {
    const m = createClientMechanism('XOAUTH2', creds, { twoStep: false });
    m.initialResponse();
    expect(
      m.respond(b('{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}')).length,
    ).toBe(0);
    expect(code(() => m.finish())).toBe('EAUTH');
    expect(code(() => m.respond(b('{}')))).toBe('EPROTOCOL');
  });

  it('needs a token, and refuses one with control characters or spaces', () => {
    expect(code(() => createClientMechanism('XOAUTH2', { user: 'u', pass: 'p' }))).toBe('EAUTH');
    expect(code(() => createClientMechanism('XOAUTH2', { user: 'u', accessToken: 'a\x01b' }))).toBe(
      'EARGUMENT',
    );
    expect(code(() => createClientMechanism('XOAUTH2', { user: 'u', accessToken: 'a b' }))).toBe('EARGUMENT');
  });
});

describe('OAUTHBEARER client (RFC 7628)', () => {
  it('sends the gs2 header, host, port and bearer token', () => {
    const m = createClientMechanism(
      'OAUTHBEARER',
      { user: 'user@example.com', accessToken: 'vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==' },
      { host: 'server.example.com', port: 143 },
    );
    // RFC 7628 §4.1 example, with our user and without the optional extras.
    expect(m.initialResponse()?.toString()).toBe(
      'n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==\x01\x01',
    );
  });

  it('client case 35: answers an error challenge with ^A (AQ==) and refuses a later +OK', () => {
    const m = createClientMechanism('OAUTHBEARER', { user: 'u', accessToken: 't' });
    m.initialResponse();
    const reply = m.respond(b('{"status":"invalid_token","scope":"example_scope"}'));
    expect(reply.toString('base64')).toBe('AQ==');
    expect(code(() => m.finish())).toBe('EAUTH');
    expect(code(() => m.respond(b('{}')))).toBe('EPROTOCOL');
  });

  it('escapes the user name as a saslname', () => {
    const m = createClientMechanism('OAUTHBEARER', { user: 'a,b', accessToken: 't' });
    expect(m.initialResponse()?.toString().startsWith('n,a=a=2Cb,\x01')).toBe(true);
  });
});

describe('createClientMechanism', () => {
  it('client case 33: DIGEST-MD5, NTLM, GSSAPI and unknown names are not implemented (EAUTH)', () => {
    for (const name of ['DIGEST-MD5', 'NTLM', 'GSSAPI', 'SCRAM-SHA-256-PLUS', 'FOO', '']) {
      expect(code(() => createClientMechanism(name, { user: 'u', pass: 'p' }))).toBe('EAUTH');
    }
  });

  it('needs a password for password mechanisms', () => {
    for (const name of ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256']) {
      expect(code(() => createClientMechanism(name, { user: 'u', accessToken: 't' }))).toBe('EAUTH');
    }
  });

  it('never puts a secret in an error message', () => {
    try {
      createClientMechanism('PLAIN', { user: 'u', pass: 'hunter2\r\n' });
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });
});
