import { describe, expect, it } from 'vitest';
import { CLIENT_MECHANISMS_BY_STRENGTH, chooseMechanism } from './index.js';

const pass = { user: 'u', pass: 'p' };
const token = { user: 'u', accessToken: 't' };
const ALL = [
  'PLAIN',
  'LOGIN',
  'CRAM-MD5',
  'XOAUTH2',
  'OAUTHBEARER',
  'SCRAM-SHA-1',
  'SCRAM-SHA-256',
  'DIGEST-MD5',
];

describe('chooseMechanism (CONFORMANCE C14)', () => {
  it('prefers SCRAM-SHA-256, then SCRAM-SHA-1, then CRAM-MD5, then PLAIN, for a password', () => {
    expect(chooseMechanism(ALL, pass, { tls: true })).toBe('SCRAM-SHA-256');
    expect(chooseMechanism(['plain', 'scram-sha-1'], pass, { tls: true })).toBe('SCRAM-SHA-1');
    expect(chooseMechanism(['PLAIN', 'LOGIN', 'CRAM-MD5'], pass, { tls: true })).toBe('CRAM-MD5');
    expect(chooseMechanism(['LOGIN', 'PLAIN'], pass, { tls: true })).toBe('PLAIN');
    expect(chooseMechanism(['LOGIN'], pass, { tls: true })).toBe('LOGIN');
  });

  it('offers PLAIN and LOGIN only over TLS, unless insecure is explicitly allowed', () => {
    expect(chooseMechanism(['PLAIN', 'LOGIN'], pass, { tls: false })).toBeUndefined();
    expect(chooseMechanism(['PLAIN', 'LOGIN', 'CRAM-MD5'], pass, { tls: false })).toBe('CRAM-MD5');
    expect(chooseMechanism(['PLAIN', 'LOGIN'], pass, { tls: false, allowInsecure: true })).toBe('PLAIN');
  });

  it('uses token mechanisms only for tokens, and password mechanisms only for passwords', () => {
    expect(chooseMechanism(ALL, token, { tls: true })).toBe('OAUTHBEARER');
    expect(chooseMechanism(['XOAUTH2', 'PLAIN'], token, { tls: true })).toBe('XOAUTH2');
    expect(chooseMechanism(['PLAIN', 'SCRAM-SHA-256'], token, { tls: true })).toBeUndefined();
    expect(chooseMechanism(['XOAUTH2', 'OAUTHBEARER'], pass, { tls: true })).toBeUndefined();
  });

  it('does not send a bearer token without TLS unless allowed', () => {
    expect(chooseMechanism(['XOAUTH2', 'OAUTHBEARER'], token, { tls: false })).toBeUndefined();
    expect(chooseMechanism(['XOAUTH2'], token, { tls: false, allowInsecure: true })).toBe('XOAUTH2');
  });

  it('client case 21/33: ignores unknown and bogus names', () => {
    const bogus = Array.from({ length: 10_000 }, (_, i) => `X-BOGUS-${i}`);
    expect(chooseMechanism([...bogus, 'DIGEST-MD5', 'NTLM', 'GSSAPI'], pass, { tls: true })).toBeUndefined();
    expect(chooseMechanism([...bogus, 'CRAM-MD5'], pass, { tls: true })).toBe('CRAM-MD5');
  });

  it('skips mechanisms that cannot carry a requested authzid', () => {
    const creds = { ...pass, authzid: 'shared' };
    expect(chooseMechanism(['CRAM-MD5', 'LOGIN', 'PLAIN'], creds, { tls: true })).toBe('PLAIN');
    expect(chooseMechanism(['CRAM-MD5', 'LOGIN'], creds, { tls: true })).toBeUndefined();
  });

  it('lists the preference order', () => {
    expect(CLIENT_MECHANISMS_BY_STRENGTH.slice(0, 2)).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-1']);
  });
});
