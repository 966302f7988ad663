// Text the server controls (greeting, CAPA lines, -ERR text, certificate subject) must not
// reach the terminal with raw control bytes (CONFORMANCE, client adversarial test 3).
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeSelfSigned } from '../../src/cli/self-signed.js';
import { type ScriptedPeer, scriptedPeer } from '../helpers/scripted-peer.js';
import { PASSWORD, runCli, startServer, tempDir, USER } from './cli-harness.js';

const EVIL = '\x1b]0;owned\x07\x1b[2J\u009b31m';
const raw = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
let peer: ScriptedPeer | undefined;
afterEach(async () => {
  await peer?.close();
  peer = undefined;
});

describe('server text shown by the CLI is escaped', () => {
  it('pop3 capa: the greeting and the CAPA lines', async () => {
    peer = await scriptedPeer(async (c) => {
      c.send(`+OK hello ${EVIL}\r\n`);
      await c.expect('CAPA');
      c.send(`+OK\r\nUSER\r\nX-EVIL ${EVIL}\r\n.\r\n`);
      await c.readLine().catch(() => undefined);
      c.send('+OK bye\r\n');
    });
    const r = await runCli(['capa', `pop3://127.0.0.1:${peer.port}`, '--tls', 'none']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('hello');
    expect(r.stdout).not.toMatch(raw);
  });

  it('pop3 fetch: the -ERR text of a failed login (text and --json)', async () => {
    for (const json of [false, true]) {
      peer = await scriptedPeer(async (c) => {
        c.send('+OK ready\r\n');
        await c.expect('CAPA');
        c.send('+OK\r\nUSER\r\n.\r\n');
        await c.expect('USER alice');
        c.send('+OK\r\n');
        await c.expect(/^PASS /);
        c.send(`-ERR denied ${EVIL}\r\n`);
        await c.readLine().catch(() => undefined);
      });
      const dir = tempDir();
      const r = await runCli(
        [
          'fetch',
          `pop3://alice@127.0.0.1:${peer.port}`,
          '--tls',
          'none',
          '--insecure-auth',
          '--no-progress',
          '--maildir',
          join(dir, 'Maildir'),
          '--state-dir',
          join(dir, 'state'),
          ...(json ? ['--json'] : []),
        ],
        { env: { POP3_PASSWORD: 'secret' } },
      );
      expect(r.code, r.stderr).toBe(77);
      expect(r.stderr + r.stdout).toContain('denied');
      expect(r.stderr).not.toMatch(raw);
      expect(r.stdout).not.toMatch(raw);
      await peer.close();
      peer = undefined;
    }
  });

  it('the certificate subject in pop3 capa and in --trace (with --insecure-tls)', async () => {
    const cert = makeSelfSigned({ commonName: `evil${EVIL}`, names: ['127.0.0.1'] });
    const srv = await startServer({ options: { tls: { key: cert.key, cert: cert.cert } } });
    try {
      const url = `pop3s://${USER}@127.0.0.1:${srv.tlsPort}`;
      const pin = ['--insecure-tls'];
      const capa = await runCli(['capa', url, ...pin]);
      expect(capa.code, capa.stderr).toBe(0);
      expect(capa.stdout).toContain('CN=evil');
      expect(capa.stdout).not.toMatch(raw);
      const traced = await runCli(['stat', url, ...pin, '--trace'], { env: { POP3_PASSWORD: PASSWORD } });
      expect(traced.code, traced.stderr).toBe(0);
      expect(traced.stderr).toContain('CN=evil');
      expect(traced.stderr).not.toMatch(raw);
    } finally {
      await srv.close();
    }
  });
});
