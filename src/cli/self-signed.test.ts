import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { makeSelfSigned } from './self-signed.js';

describe('makeSelfSigned', () => {
  it('makes a certificate OpenSSL parses, verifies and accepts as a trust anchor for its names', async () => {
    const c = makeSelfSigned({ commonName: 'pop3kit demo', names: ['localhost', '127.0.0.1', '::1'] });
    const x = new X509Certificate(c.cert);
    expect(x.subject).toBe('CN=pop3kit demo');
    expect(x.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(x.ca).toBe(false);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.checkHost('localhost')).toBe('localhost');
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x.fingerprint256).toBe(c.fingerprint256);
    const server = tls.createServer({ key: c.key, cert: c.cert }, (s) => s.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const authorized = await new Promise<boolean>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, ca: [c.cert] }, () => {
          resolve(s.authorized);
          s.destroy();
        });
        s.on('error', reject);
      });
      expect(authorized).toBe(true);
      // Not trusted without it.
      await expect(
        new Promise((resolve, reject) => {
          const s = tls.connect({ host: '127.0.0.1', port }, () => resolve(s.destroy()));
          s.on('error', reject);
        }),
      ).rejects.toThrow(/self-signed/);
    } finally {
      server.close();
    }
  });
});
