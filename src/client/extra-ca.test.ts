import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { type KeyPair, testCerts } from '../../test/helpers/certs.js';
import { withExtraCa } from './extra-ca.js';

const certs = testCerts();
const servers: tls.Server[] = [];
const dir = mkdtempSync(join(tmpdir(), 'pop3kit-extra-ca-'));
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

/** A TLS server on loopback that says one line and closes. */
async function tlsServer(key: KeyPair, opts: tls.TlsOptions = {}): Promise<number> {
  const server = tls.createServer({ ...key, ...opts }, (s) => {
    s.on('error', () => {});
    s.end('+OK\r\n');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** Connect with `opts` (host name checked for localhost): resolves with the verify result. */
function verify(port: number, opts: tls.ConnectionOptions): Promise<{ authorized: boolean; error?: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts });
    s.once('secureConnect', () => {
      resolve({ authorized: s.authorized });
      s.destroy();
    });
    s.once('error', (err) => resolve({ authorized: false, error: err.message }));
  });
}

describe('withExtraCa', () => {
  it('trusts the extra CA; what it does not name stays untrusted', async () => {
    const signed = await tlsServer(certs.server);
    const selfSigned = await tlsServer(certs.selfSigned);
    const opts = withExtraCa({}, [certs.ca]);
    expect(opts.ca).toBeUndefined();
    expect(opts.secureContext).toBeDefined();
    expect(await verify(signed, opts)).toEqual({ authorized: true });
    expect((await verify(selfSigned, opts)).error).toMatch(/self-signed/);
    // Without it, the CA's certificate is unknown.
    expect((await verify(signed, {})).error).toMatch(/local issuer|first certificate/);
    // The other way round: only the self-signed one is added.
    const other = withExtraCa({}, [certs.selfSigned.cert]);
    expect(await verify(selfSigned, other)).toEqual({ authorized: true });
    expect((await verify(signed, other)).error).toMatch(/local issuer|first certificate/);
  });

  it("keeps the caller's context options (minVersion) in the context it builds", async () => {
    const tls12 = await tlsServer(certs.server, { maxVersion: 'TLSv1.2' });
    expect(await verify(tls12, withExtraCa({ minVersion: 'TLSv1.2' }, [certs.ca]))).toEqual({
      authorized: true,
    });
    const refused = await verify(tls12, withExtraCa({ minVersion: 'TLSv1.3' }, [certs.ca]));
    expect(refused.authorized).toBe(false);
    expect(refused.error).toMatch(/version|protocol/i);
  });

  it('with ca given, the extra certificates join that list; nothing extra leaves the options alone', () => {
    expect(withExtraCa({ ca: 'A' }, ['B'])).toEqual({ ca: ['A', 'B'] });
    expect(withExtraCa({ ca: ['A', 'B'] }, ['C'])).toEqual({ ca: ['A', 'B', 'C'] });
    const opts = { minVersion: 'TLSv1.3' } as const;
    expect(withExtraCa(opts, [])).toBe(opts);
    expect(() => withExtraCa({ secureContext: tls.createSecureContext() }, ['A'])).toThrow(TypeError);
  });

  it('keeps the default roots: with --use-openssl-ca they are SSL_CERT_FILE, and that CA still verifies', async () => {
    const signed = await tlsServer(certs.server);
    const selfSigned = await tlsServer(certs.selfSigned);
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, certs.ca);
    // A fresh process whose default roots are OpenSSL's, read from SSL_CERT_FILE: the test CA.
    // (`ca: [...tls.rootCertificates, pem]` would lose it: rootCertificates are Node's bundled ones.)
    const script = `
      import tls from 'node:tls';
      import { withExtraCa } from ${JSON.stringify(new URL('./extra-ca.ts', import.meta.url).href)};
      const opts = withExtraCa({}, [process.env.SELF_SIGNED]);
      const check = (port) => new Promise((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts });
        s.once('secureConnect', () => { resolve(s.authorized); s.destroy(); });
        s.once('error', (e) => resolve(e.message));
      });
      console.log(JSON.stringify([await check(${signed}), await check(${selfSigned})]));
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--use-openssl-ca', '--import', 'tsx', '--input-type=module', '-e', script],
      {
        env: { ...process.env, SSL_CERT_FILE: caFile, SELF_SIGNED: certs.selfSigned.cert },
        timeout: 15_000,
      },
    );
    expect(JSON.parse(stdout)).toEqual([true, true]);
  });
});
