import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { testCerts } from '../../test/helpers/certs.js';
import { connectPlain, connectTo, PeerSet, sleep, until } from '../../test/helpers/client-peer.js';
import { bindReads, readsOf, SocketReads } from './socket-reads.js';

const servers: net.Server[] = [];
const peers = new PeerSet();
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
  await peers.closeAll();
});

/** A loopback server that runs `script` for its one connection; and a client reading through SocketReads. */
async function pair(script: (peer: net.Socket) => Promise<void>) {
  const server = net.createServer((peer) => {
    peer.setNoDelay(true);
    void script(peer).finally(() => peer.end());
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const reads = new SocketReads();
  const port = (server.address() as net.AddressInfo).port;
  const socket = bindReads(net.connect({ host: '127.0.0.1', port, onread: reads.onread }), reads);
  return { socket, reads };
}

/** Bytes 0..n-1 of a pattern that shows any overwrite. */
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

describe('SocketReads', () => {
  it('delivers every read in order; views of earlier reads stay intact while later reads land', async () => {
    const parts = [pattern(10, 1), pattern(3000, 2), pattern(1, 3), pattern(200_000, 4), pattern(70_000, 5)];
    const { socket, reads } = await pair(async (peer) => {
      for (const p of parts) {
        peer.write(p);
        await sleep(20); // separate reads
      }
    });
    expect(readsOf(socket)).toBe(reads);
    const kept: Buffer[] = [];
    reads.listen(socket, (chunk) => kept.push(chunk));
    await once(socket, 'close');
    expect(Buffer.concat(kept).equals(Buffer.concat(parts))).toBe(true);
    expect(Math.max(...kept.map((c) => c.length))).toBeLessThanOrEqual(64 * 1024);
    // Small reads share a slab: the first three arrived apart, into one buffer.
    expect(kept[1]!.buffer).toBe(kept[0]!.buffer);
    expect(kept[2]!.buffer).toBe(kept[0]!.buffer);
  });

  it('holds what comes before anyone listens, stops reading past 64 KiB of it, and hands it all over in order', async () => {
    const greeting = pattern(500_000, 9);
    const { socket, reads } = await pair(async (peer) => {
      peer.write(greeting);
    });
    await sleep(200);
    // Not read on: one read past the limit at most, the rest waits in the kernel.
    expect(reads.pending).toBeGreaterThan(0);
    expect(reads.pending).toBeLessThanOrEqual(128 * 1024);
    const kept: Buffer[] = [];
    reads.listen(socket, (chunk) => kept.push(chunk));
    await once(socket, 'close');
    expect(reads.pending).toBe(0);
    expect(Buffer.concat(kept).equals(greeting)).toBe(true);
  });

  it('after unlisten, reads are held for the next listener, not lost', async () => {
    let next: () => void = () => {};
    const go = new Promise<void>((resolve) => {
      next = resolve;
    });
    const { socket, reads } = await pair(async (peer) => {
      peer.write('first\r\n');
      await go;
      peer.write('second\r\n');
    });
    const closed = once(socket, 'close'); // the peer may be gone before the second listener comes
    const a: string[] = [];
    reads.listen(socket, (chunk) => a.push(chunk.toString()));
    await until(() => a.join('') === 'first\r\n', 5000);
    reads.unlisten();
    next();
    await until(() => reads.pending >= 8, 5000);
    const b: string[] = [];
    reads.listen(socket, (chunk) => b.push(chunk.toString()));
    await closed;
    expect(a.join('')).toBe('first\r\n');
    expect(b.join('')).toBe('second\r\n');
  });

  it('is how the client reads the cleartext sockets it opens; implicit TLS sockets keep data events', async () => {
    const opening = { greeting: '+OK ready', capa: ['USER', 'UIDL'] };
    const plainPeer = await peers.answering([['NOOP', '+OK\r\n']], opening);
    const plain = await connectPlain(plainPeer.port);
    const plainSocket = (plain as unknown as { conn: { transport: net.Socket } }).conn.transport;
    expect(readsOf(plainSocket)).toBeInstanceOf(SocketReads);
    await plain.noop(); // the greeting, CAPA and this reply all came through it
    plain.close();
    const certs = testCerts();
    const tlsPeer = await peers.serve(
      async (c) => void (await c.readLine(2000).catch(() => undefined)),
      opening,
      certs.server,
    );
    const secure = await connectTo(tlsPeer.port, {
      tls: 'implicit',
      tlsOptions: { ca: [certs.ca], servername: 'localhost' },
    });
    const secureSocket = (secure as unknown as { conn: { transport: net.Socket } }).conn.transport;
    expect(readsOf(secureSocket)).toBeUndefined();
    secure.close();
  });
});
