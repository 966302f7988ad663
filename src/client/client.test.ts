import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { acceptUserPass, connectPlain, sendOpening } from '../../test/helpers/client-peer.js';
import { type ScriptedPeer, scriptedPeer } from '../../test/helpers/scripted-peer.js';
import { Pop3Error } from '../protocol/errors.js';
import { Pop3Client } from './client.js';
import type { TraceEvent } from './options.js';

let peer: ScriptedPeer | undefined;
afterEach(async () => {
  await peer?.close();
  peer = undefined;
});

describe('Pop3Client basics', () => {
  it("runs the notes' session: USER/PASS, STAT, LIST, UIDL 1, RETR 3, QUIT", async () => {
    peer = await scriptedPeer(async (c) => {
      await sendOpening(c);
      await acceptUserPass(c, {
        user: 'alice',
        pass: 's3cret word',
        capa: ['USER', 'UIDL'],
        passReply: '+OK logged in',
      });
      await c.expect('STAT');
      c.send('+OK 3 320\r\n');
      await c.expect('LIST');
      c.send('+OK 3 messages\r\n1 120\r\n2 100\r\n3 100\r\n.\r\n');
      await c.expect('UIDL 1');
      c.send('+OK 1 uid-one\r\n');
      await c.expect('RETR 3');
      c.send('+OK 100 octets\r\nSubject: x\r\n\r\n..dot line\r\nbody\r\n.\r\n');
      await c.expect('QUIT');
      c.send('+OK bye\r\n');
      c.end();
    });
    const trace: TraceEvent[] = [];
    const client = await connectPlain(peer.port, {
      auth: { user: 'alice', pass: 's3cret word' },
      onTrace: (e: TraceEvent) => trace.push(e),
    });
    expect(client.mechanism).toBe('USER');
    expect(await client.stat()).toEqual({ count: 3, octets: 320 });
    expect(await client.list()).toEqual([
      { n: 1, octets: 120 },
      { n: 2, octets: 100 },
      { n: 3, octets: 100 },
    ]);
    expect(await client.uidl(1)).toEqual({ n: 1, uid: 'uid-one' });
    expect((await client.retrBuffer(3)).toString()).toBe('Subject: x\r\n\r\n.dot line\r\nbody\r\n');
    await client.quit();
    await peer.done;
    expect(trace.some((e) => e.dir === 'C' && e.line === 'PASS ***')).toBe(true);
    expect(JSON.stringify(trace)).not.toContain('s3cret');
  });

  it('refuses to send a password without TLS unless allowInsecureAuth is set', async () => {
    peer = await scriptedPeer(async (c) => {
      await sendOpening(c);
      await c.readLine(2000).catch(() => undefined);
    });
    const err = await Pop3Client.connect({
      host: '127.0.0.1',
      port: peer.port,
      tls: 'none',
      auth: { user: 'alice', pass: 'x' },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Pop3Error);
    expect((err as Pop3Error).code).toBe('EINSECURE');
    const c = await peer.conn;
    expect(c.received.toString()).not.toMatch(/USER|PASS/);
  });

  it('removes its abort listener when the connection ends, so a long-lived signal does not collect them', async () => {
    const signal = new AbortController().signal;
    for (let i = 0; i < 3; i++) {
      peer = await scriptedPeer(async (c) => {
        await sendOpening(c);
        await c.expect('QUIT');
        c.send('+OK bye\r\n');
        c.end();
      });
      const client = await connectPlain(peer.port, { signal });
      expect(getEventListeners(signal, 'abort')).toHaveLength(1);
      await client.quit();
      await peer.close();
      peer = undefined;
    }
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('a refused connection is ECONNECT under implicit TLS too, not a TLS failure', async () => {
    const net = await import('node:net');
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as import('node:net').AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    for (const tls of ['implicit', 'none'] as const) {
      const err = await Pop3Client.connect({ host: '127.0.0.1', port, tls }).catch((e: unknown) => e);
      expect((err as Pop3Error).code).toBe('ECONNECT');
    }
  });
});
