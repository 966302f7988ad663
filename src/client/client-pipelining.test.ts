import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { testCerts } from '../../test/helpers/certs.js';
import {
  acceptUserPass,
  capaReply,
  connectPlain,
  drainOrClose,
  FAST_TIMEOUTS as FAST,
  failure,
  PeerSet,
  readAll,
  sleep,
  until,
} from '../../test/helpers/client-peer.js';
import type { ScriptedConn, ScriptedPeer } from '../../test/helpers/scripted-peer.js';
import type { Pop3Error } from '../protocol/errors.js';
import type { ClientOptions } from './options.js';

// CONFORMANCE.md C10: pipeline only when PIPELINING is advertised; never before the greeting,
// past STLS, or into a login; match replies first in, first out, wherever the bytes split.

const PIPELINING = ['USER', 'UIDL', 'TOP', 'PIPELINING'];

const peers = new PeerSet();
afterEach(() => peers.closeAll());

/** A peer that greets, answers CAPA with `capa`, then runs `rest`. */
const serve = (capa: string[], rest: (c: ScriptedConn) => Promise<void>) =>
  peers.serve(rest, { greeting: '+OK ready', capa });
const connect = (peer: ScriptedPeer, extra: Partial<ClientOptions> = {}) => connectPlain(peer.port, extra);
const readText = async (body: Readable) => (await readAll(body)).toString('latin1');
/** A settled command: its value, or the code of the Pop3Error it failed with. */
const outcome = (r: PromiseSettledResult<unknown>) =>
  r.status === 'fulfilled' ? r.value : (r.reason as Pop3Error).code;

/** Read `n` command lines; each must arrive within `ms` (so a client waiting for replies fails this). */
async function commands(c: ScriptedConn, n: number, ms = 1000): Promise<string[]> {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push((await c.readLine(ms)) ?? '(closed)');
  return lines;
}

/** Assert the client sends nothing more for `ms`: it is waiting for a reply. */
async function quiet(c: ScriptedConn, ms = 120): Promise<void> {
  const before = c.received.length;
  await sleep(ms);
  expect(c.received.subarray(before).toString('latin1')).toBe('');
}

describe('C10: pipelining', () => {
  it('C10: with PIPELINING, retrieveMany sends several RETRs before the first reply', async () => {
    let before: string[] = [];
    const peer = await serve(PIPELINING, async (c) => {
      before = await commands(c, 4);
      c.send(before.map((cmd) => `+OK\r\nbody of ${cmd}\r\n.\r\n`).join(''));
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(peer);
    const bodies: string[] = [];
    for await (const m of client.retrieveMany([1, 2, 3, 4])) bodies.push(`${m.n}:${await readText(m.body)}`);
    expect(before).toEqual(['RETR 1', 'RETR 2', 'RETR 3', 'RETR 4']);
    expect(bodies).toEqual([
      '1:body of RETR 1\r\n',
      '2:body of RETR 2\r\n',
      '3:body of RETR 3\r\n',
      '4:body of RETR 4\r\n',
    ]);
    client.close();
  });

  it('C10: pipelined commands go out at once, not held back by Nagle and delayed ACKs', async () => {
    // Without TCP_NODELAY the 2nd..nth command waits for the 1st to be acknowledged: >= 40 ms on
    // Linux loopback, every time. The best of several rounds keeps a busy machine from failing this.
    const spreads: number[] = [];
    const peer = await serve(PIPELINING, async (c) => {
      for (let round = 0; round < 5; round++) {
        await c.readLine(2000);
        const first = Date.now();
        await commands(c, 5);
        spreads.push(Date.now() - first);
        c.send('+OK\r\n'.repeat(6));
      }
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(peer);
    for (let round = 0; round < 5; round++) await Promise.all(Array.from({ length: 6 }, () => client.noop()));
    expect(spreads).toHaveLength(5);
    expect(Math.min(...spreads)).toBeLessThan(25);
    client.close();
  });

  it('C10: the pipeline window bounds the RETRs in flight', async () => {
    const seen: string[][] = [];
    const peer = await serve(PIPELINING, async (c) => {
      // Window 2: two RETRs, then one more per reply; `quiet` checks no third one is in flight.
      seen.push(await commands(c, 2));
      for (let i = 0; i < 3; i++) {
        await quiet(c);
        c.send('+OK\r\nbody\r\n.\r\n');
        seen.push(await commands(c, 1));
      }
      await quiet(c);
      c.send('+OK\r\nbody\r\n.\r\n+OK\r\nbody\r\n.\r\n');
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(peer, { pipelineWindow: 2 });
    let count = 0;
    for await (const m of client.retrieveMany([1, 2, 3, 4, 5])) {
      expect(await readText(m.body)).toBe('body\r\n');
      count++;
    }
    expect(count).toBe(5);
    expect(seen).toEqual([['RETR 1', 'RETR 2'], ['RETR 3'], ['RETR 4'], ['RETR 5']]);
    client.close();
  });

  it('C10: without PIPELINING, strictly one command at a time', async () => {
    const log: string[] = [];
    const peer = await serve(['USER', 'UIDL'], async (c) => {
      for (const reply of [
        '+OK\r\none\r\n.\r\n',
        '+OK\r\ntwo\r\n.\r\n',
        '+OK\r\nthree\r\n.\r\n',
        '+OK 3 30\r\n',
        '+OK\r\n1 10\r\n2 10\r\n3 10\r\n.\r\n',
        '+OK\r\n',
      ]) {
        log.push(...(await commands(c, 1)));
        await quiet(c);
        c.send(reply);
      }
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(peer, { pipelineWindow: 8 });
    const bodies: string[] = [];
    for await (const m of client.retrieveMany([1, 2, 3])) bodies.push(await readText(m.body));
    expect(bodies).toEqual(['one\r\n', 'two\r\n', 'three\r\n']);
    const [stat, list] = await Promise.all([client.stat(), client.list(), client.noop()]);
    expect(stat).toEqual({ count: 3, octets: 30 });
    expect(list).toHaveLength(3);
    expect(log).toEqual(['RETR 1', 'RETR 2', 'RETR 3', 'STAT', 'LIST', 'NOOP']);
    client.close();
  });

  it('C10: nothing is sent before the greeting', async () => {
    let early = 'unset';
    const p = await peers.start(async (c) => {
      await sleep(150);
      early = c.received.toString('latin1');
      c.send('+OK late greeting\r\n');
      await c.expect('CAPA');
      c.send(capaReply(PIPELINING));
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(p, { auth: undefined });
    expect(early).toBe('');
    client.close();
  });

  it('C10: nothing is pipelined past STLS', async () => {
    const certs = testCerts();
    let afterStls = 'unset';
    const peer = await serve(['STLS', 'PIPELINING', 'USER'], async (c) => {
      await c.expect('STLS');
      await quiet(c, 150);
      afterStls = c.received.toString('latin1');
      c.send('+OK begin\r\n');
      await c.startTls({ ...certs.server });
      await c.expect('CAPA');
      c.send(capaReply(['USER', 'PIPELINING']));
      await acceptUserPass(c, { user: 'alice', pass: 'pw', capa: ['USER', 'PIPELINING'] });
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(peer, {
      tls: 'starttls',
      allowInsecureAuth: false,
      tlsOptions: { ca: certs.ca },
      auth: { user: 'alice', pass: 'pw' },
    });
    expect(afterStls).toBe('CAPA\r\nSTLS\r\n');
    expect(client.secure).toBe(true);
    client.close();
  });

  it('C10: commands issued during a login wait: nothing is pipelined into AUTH or between USER and PASS', async () => {
    // PLAIN: AUTH alone. USER with PIPELINING: USER, PASS and the post-login CAPA in one round
    // trip, nothing of the caller's among them. USER without PIPELINING: one command at a time.
    const cases = [
      { mechanism: 'PLAIN', capa: [...PIPELINING, 'SASL PLAIN'] },
      { mechanism: 'USER', capa: [...PIPELINING, 'SASL PLAIN'] },
      { mechanism: 'USER', capa: ['USER'] },
    ];
    for (const { mechanism, capa } of cases) {
      const name = `${mechanism} ${capa.join(' ')}`;
      const order: string[] = [];
      const peer = await serve(capa, async (c) => {
        if (mechanism === 'PLAIN') {
          order.push(...(await commands(c, 1)));
          await quiet(c);
          c.send('+OK logged in\r\n');
          order.push(...(await commands(c, 2)));
          c.send('+OK 0 0\r\n+OK\r\nUSER\r\nPIPELINING\r\n.\r\n');
        } else if (capa.includes('PIPELINING')) {
          order.push(...(await commands(c, 3)));
          await quiet(c);
          c.send('+OK\r\n+OK logged in\r\n+OK\r\nUSER\r\nPIPELINING\r\n.\r\n');
          order.push(...(await commands(c, 1)));
          c.send('+OK 0 0\r\n');
        } else {
          order.push(...(await commands(c, 1)));
          await quiet(c);
          c.send('+OK\r\n');
          order.push(...(await commands(c, 1)));
          await quiet(c);
          c.send('+OK logged in\r\n');
          order.push(...(await commands(c, 1)));
          await quiet(c);
          c.send('+OK 0 0\r\n');
          order.push(...(await commands(c, 1)));
          c.send('+OK\r\nUSER\r\n.\r\n');
        }
        await c.readLine(2000).catch(() => undefined);
      });
      const client = await connect(peer);
      const login = client.login({ user: 'alice', pass: 'pw', mechanism });
      const stat = client.stat();
      await login;
      expect(await stat, name).toEqual({ count: 0, octets: 0 });
      // The caller's STAT waits for the login; with PIPELINING the post-login CAPA went out with it.
      const expected =
        mechanism === 'PLAIN'
          ? [expect.stringMatching(/^AUTH PLAIN /), 'STAT', 'CAPA']
          : capa.includes('PIPELINING')
            ? ['USER alice', 'PASS pw', 'CAPA', 'STAT']
            : ['USER alice', 'PASS pw', 'STAT', 'CAPA'];
      expect(order, name).toEqual(expected);
      expect(client.mechanism, name).toBe(mechanism);
      client.close();
    }
  });

  it('USER/PASS with PIPELINING: sent in one write; a refused USER is the error reported, and nothing follows', async () => {
    const peer = await serve([...PIPELINING, 'AUTH-RESP-CODE'], async (c) => {
      await commands(c, 3, 1000); // USER, PASS, CAPA: all before any reply
      c.send('-ERR [AUTH] no such user\r\n-ERR no USER given\r\n+OK\r\nUSER\r\n.\r\n');
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(peer);
    const { sizes } = spyWrites(client);
    const err = await failure(client.login({ user: 'alice', pass: 'pw' }));
    expect(err.code).toBe('EAUTH');
    expect(err.responseCode).toBe('AUTH');
    expect(err.command).toBe('USER alice');
    expect(sizes).toEqual([Buffer.byteLength('USER alice\r\nPASS pw\r\nCAPA\r\n')]);
    client.close();
  });

  it('C10: pipelined replies are matched first in, first out; an -ERR fails only its own command', async () => {
    const peer = await serve(PIPELINING, async (c) => {
      const got = await commands(c, 5);
      expect(got).toEqual(['STAT', 'DELE 7', 'UIDL', 'RETR 1', 'NOOP']);
      c.send(
        '+OK 2 20\r\n-ERR no such message\r\n+OK\r\n1 a\r\n2 b\r\n.\r\n+OK\r\nmessage one\r\n.\r\n+OK\r\n',
      );
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(peer);
    const results = await Promise.allSettled([
      client.stat(),
      client.dele(7),
      client.uidl(),
      client.retrBuffer(1).then((b) => b.toString()),
      client.noop(),
    ]);
    expect(results.map(outcome)).toEqual([
      { count: 2, octets: 20 },
      'ESERVER',
      [
        { n: 1, uid: 'a' },
        { n: 2, uid: 'b' },
      ],
      'message one\r\n',
      undefined,
    ]);
    client.close();
    await peer.done;
  });

  it('C10: pipelined replies split at every byte boundary, and at random chunkings, decode the same', async () => {
    const replies = Buffer.from(
      [
        '+OK 2 30\r\n',
        '+OK 2 messages\r\n1 10\r\n2 20\r\n.\r\n',
        '+OK 16 octets\r\n..dot\r\n..\r\nline\r\n.\r\n',
        '+OK\r\n1 uid-a\r\n2 uid-b\r\n.\r\n',
        '-ERR no such message\r\n',
        '+OK\r\n',
      ].join(''),
    );
    const chunkings: number[][] = [];
    let plan: number[] = []; // split points for the round being served
    let transport: Socket | undefined;
    // What the client has read so far: the socket's own count (its reads need not be 'data' events).
    const clientBytes = () => transport?.bytesRead ?? 0;

    const peer = await serve(PIPELINING, async (c) => {
      c.socket.setNoDelay(true);
      for (;;) {
        const got = await commands(c, 6, 5000).catch(() => ['(gone)']);
        if (got[0] !== 'STAT') return;
        // Send each chunk only once the client has read the previous one: the chunking is exact.
        let from = 0;
        const target = clientBytes();
        for (const cut of [...plan, replies.length]) {
          const chunk = replies.subarray(from, cut);
          from = cut;
          c.send(chunk);
          await until(() => clientBytes() >= target + cut, 1000);
        }
      }
    });
    const client = await connect(peer);
    transport = (client as unknown as { conn: { transport: Socket } }).conn.transport;

    const round = async (cuts: number[]) => {
      plan = cuts;
      const settled = await Promise.allSettled([
        client.stat(),
        client.list(),
        client.retrBuffer(1).then((b) => b.toString('latin1')),
        client.uidl(),
        client.dele(9),
        client.noop(),
      ]);
      chunkings.push(cuts);
      return settled.map(outcome);
    };
    const expected = [
      { count: 2, octets: 30 },
      [
        { n: 1, octets: 10 },
        { n: 2, octets: 20 },
      ],
      '.dot\r\n.\r\nline\r\n',
      [
        { n: 1, uid: 'uid-a' },
        { n: 2, uid: 'uid-b' },
      ],
      'ESERVER',
      undefined,
    ];
    // Every single split point, then every byte on its own.
    for (let cut = 1; cut < replies.length; cut++)
      expect(await round([cut]), `split at ${cut}`).toEqual(expected);
    expect(await round(Array.from({ length: replies.length - 1 }, (_, i) => i + 1))).toEqual(expected);
    // Random chunkings.
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: replies.length - 1 }), { maxLength: 24 }),
        async (cuts) => {
          expect(await round([...cuts].sort((a, b) => a - b))).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
    expect(chunkings.length).toBeGreaterThan(replies.length + 50);
    expect(client.closed).toBe(false);
    client.close();
  });
});

/** The client's socket, and a count of the writes it makes (with their sizes). */
function spyWrites(client: unknown): { sizes: number[]; transport: Socket } {
  const transport = (client as { conn: { transport: Socket } }).conn.transport;
  const sizes: number[] = [];
  const write = transport.write.bind(transport) as (...args: unknown[]) => boolean;
  transport.write = ((data: string | Buffer, ...rest: unknown[]) => {
    sizes.push(typeof data === 'string' ? Buffer.byteLength(data, 'latin1') : data.length);
    return write(data, ...rest);
  }) as Socket['write'];
  return { sizes, transport };
}

const retrLines = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `RETR ${from + i}`);
const stuffedReply = (n: number) => `+OK\r\nmessage ${n}\r\n..dot ${n}\r\n\r\n.\r\n`;
const unstuffed = (n: number) => `message ${n}\r\n.dot ${n}\r\n\r\n`;

describe('retrieveMany: large windows, batching, bounded read-ahead', () => {
  it('a window of 500 against a peer that answers late: one write for the window, refills batched, never more than 500 in flight, replies in order', async () => {
    const N = 1000;
    const W = 500;
    let most = 0;
    const peer = await serve(PIPELINING, async (c) => {
      expect(await commands(c, W, 5000)).toEqual(retrLines(1, W));
      await quiet(c, 150); // the window is full: nothing more until replies come
      let answered = 0;
      let asked = W;
      while (answered < N) {
        const burst = Math.min(50, asked - answered);
        c.send(Array.from({ length: burst }, (_, k) => stuffedReply(answered + k + 1)).join(''));
        answered += burst;
        const freed = Math.min(N, answered + W) - asked;
        if (freed > 0) {
          expect(await commands(c, freed, 5000)).toEqual(retrLines(asked + 1, asked + freed));
          asked += freed;
        }
        most = Math.max(most, asked - answered);
      }
      await quiet(c);
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(peer, { timeouts: { ...FAST, command: 5000 } });
    const { sizes } = spyWrites(client);
    const ns = Array.from({ length: N }, (_, i) => i + 1);
    let count = 0;
    for await (const m of client.retrieveMany(ns, { window: W })) {
      expect(m.n).toBe(ns[count]);
      expect(await readText(m.body)).toBe(unstuffed(m.n));
      count++;
    }
    expect(count).toBe(N);
    await peer.done;
    expect(most).toBe(W);
    // The whole first window in one write; the 500 refills in a few dozen writes, not 500.
    expect(sizes[0]).toBe(retrLines(1, W).join('\r\n').length + 2);
    expect(sizes.length).toBeLessThan(60);
    client.close();
  });

  it('replies split at every byte boundary, and one byte at a time, decode the same through retrieveMany', async () => {
    const replies = Buffer.from(
      [
        '+OK 9 octets\r\n..a\r\n.b\r\nc\r\n.\r\n', // stuffed dots
        '+OK 0 octets\r\n.\r\n', // empty body
        '+OK\r\n\r\n.\r\r\n\n.\n.\r\nx\r\n.\r\n', // lone CR and bare LF next to dots
      ].join(''),
    );
    const want = ['.a\r\nb\r\nc\r\n', '', '\r\n\r\r\n\n.\n.\r\nx\r\n'];
    let plan: number[] = [];
    let transport: Socket | undefined;
    const clientBytes = () => transport?.bytesRead ?? 0;
    const peer = await serve(PIPELINING, async (c) => {
      c.socket.setNoDelay(true);
      for (;;) {
        const got = await commands(c, 3, 5000).catch(() => ['(gone)']);
        if (got[0] !== 'RETR 1') return;
        let from = 0;
        const base = clientBytes();
        for (const cut of [...plan, replies.length]) {
          c.send(replies.subarray(from, cut));
          from = cut;
          await until(() => clientBytes() >= base + cut, 1000);
        }
      }
    });
    const client = await connect(peer);
    transport = (client as unknown as { conn: { transport: Socket } }).conn.transport;
    const round = async (cuts: number[]) => {
      plan = cuts;
      const bodies: string[] = [];
      for await (const m of client.retrieveMany([1, 2, 3], { window: 3 }))
        bodies.push(await readText(m.body));
      return bodies;
    };
    for (let cut = 1; cut < replies.length; cut++)
      expect(await round([cut]), `split at ${cut}`).toEqual(want);
    expect(await round(Array.from({ length: replies.length - 1 }, (_, i) => i + 1))).toEqual(want);
    expect(client.closed).toBe(false);
    client.close();
  });

  it('what replies hold ahead of a slow reader stays within readAheadBytes, whatever the window', async () => {
    const KiB = 1024;
    const count = 100;
    const line = `${'z'.repeat(1022)}\r\n`;
    const message = line.repeat(256); // 256 KiB each: the window's replies total 25 MiB
    let sent = 0;
    const peer = await serve(PIPELINING, async (c) => {
      await commands(c, count, 5000);
      for (let n = 1; n <= count && !c.closed; n++) {
        const reply = Buffer.from(`+OK\r\n${message}.\r\n`);
        sent += reply.length;
        if (!c.socket.write(reply)) await drainOrClose(c.socket);
      }
      await c.readLine(5000).catch(() => undefined);
    });
    const readAheadBytes = 128 * KiB;
    const client = await connect(peer, { readAheadBytes, timeouts: { ...FAST, idle: 5000 } });
    const conn = (client as unknown as { conn: { heldBytes: number } }).conn;
    let received = 0;
    let mostHeld = 0;
    let mostAhead = 0;
    let chunks = 0;
    const ns = Array.from({ length: count }, (_, i) => i + 1);
    for await (const m of client.retrieveMany(ns, { window: count })) {
      for await (const chunk of m.body) {
        received += (chunk as Buffer).length;
        mostHeld = Math.max(mostHeld, conn.heldBytes);
        mostAhead = Math.max(mostAhead, sent - received);
        if (++chunks % 8 === 0) await sleep(1); // slower than loopback
      }
    }
    expect(received).toBe(count * message.length);
    // Past the budget the socket pauses; the chunk in hand is still decoded (<= 64 KiB more).
    expect(mostHeld).toBeGreaterThan(0);
    expect(mostHeld).toBeLessThanOrEqual(readAheadBytes + 64 * KiB);
    // The peer runs ahead only by what the kernel's socket buffers hold, not by the window.
    expect(mostAhead).toBeLessThan(16 * 1024 * KiB);
    client.close();
  });
});
