import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { testCerts } from '../../test/helpers/certs.js';
import { CliError } from './exit-codes.js';
import { applyPin, buildTls, checkPin, normalizeFingerprint, tlsMinVersion } from './tls-args.js';

const FP = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0').toUpperCase()).join(':');

describe('TLS arguments', () => {
  it('fingerprints: sha256: prefix optional, colons optional, case-insensitive', () => {
    expect(normalizeFingerprint(`sha256:${FP.toLowerCase()}`)).toBe(FP);
    expect(normalizeFingerprint(FP.replace(/:/g, ''))).toBe(FP);
    expect(() => normalizeFingerprint('sha1:AB:CD')).toThrow(CliError);
    expect(() => normalizeFingerprint(`${FP}:00`)).toThrow(CliError);
  });

  it('--tls-min accepts 1.2 and 1.3 only', () => {
    expect(tlsMinVersion('1.3')).toBe('TLSv1.3');
    expect(() => tlsMinVersion('1.1')).toThrow(CliError);
  });

  it('--ca-file adds its certificate to the built-in roots (extraCa), it does not replace them', () => {
    expect(buildTls({}).extraCa).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'pop3kit-tls-args-'));
    try {
      const pem = testCerts().ca;
      writeFileSync(join(dir, 'ca.pem'), pem);
      const setup = buildTls({ caFile: join(dir, 'ca.pem') });
      expect(setup.extraCa).toEqual([pem]);
      expect(setup.options.ca).toBeUndefined();
      writeFileSync(join(dir, 'junk.pem'), 'not a certificate');
      expect(() => buildTls({ caFile: join(dir, 'junk.pem') })).toThrow(/no PEM certificate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('verification stays on unless --insecure-tls, which warns', () => {
    expect(buildTls({}).options.rejectUnauthorized).toBeUndefined();
    const insecure = buildTls({ insecureTls: true });
    expect(insecure.options.rejectUnauthorized).toBe(false);
    expect(insecure.warnings[0]).toContain('NOT verified');
    expect(() => buildTls({ insecureTls: true, fingerprint: FP })).toThrow(CliError);
  });

  it('a pin keeps OpenSSL verification on: self-signed becomes the anchor, a mismatch fails', () => {
    const setup = buildTls({ fingerprint: FP });
    expect(setup.options.rejectUnauthorized).toBeUndefined();
    const probed = { pem: 'PEM', fingerprint256: FP, chainVerified: false, selfSigned: true };
    applyPin(setup, probed);
    // Added to the built-in roots (the client's extraCa), not in place of them (`ca`).
    expect(setup.extraCa).toEqual(['PEM']);
    expect(setup.options.ca).toBeUndefined();
    const check = setup.options.checkServerIdentity!;
    expect(check('h', { fingerprint256: FP } as tls.PeerCertificate)).toBeUndefined();
    expect(check('h', { fingerprint256: 'AA' } as tls.PeerCertificate)).toBeInstanceOf(Error);
    expect(() => applyPin(buildTls({ fingerprint: FP }), { ...probed, fingerprint256: 'AA:BB' })).toThrow(
      /does not match/,
    );
    expect(() => applyPin(buildTls({ fingerprint: FP }), { ...probed, selfSigned: false })).toThrow(
      /--ca-file/,
    );
    expect(() => checkPin(undefined, FP)).toThrow(CliError);
    expect(() => checkPin({ version: '', cipher: '', subject: '', fingerprint256: FP }, FP)).not.toThrow();
  });
});
