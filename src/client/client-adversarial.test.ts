import { afterEach, describe, expect, it } from 'vitest';
import {
  BASIC_CAPA,
  connectPlain,
  drainOrClose,
  FAST_TIMEOUTS as FAST,
  failure,
  PeerSet,
  readAll,
  sleep,
} from '../../test/helpers/client-peer.js';
import type { ScriptedConn, ScriptedPeer } from '../../test/helpers/scripted-peer.js';
import type { Pop3Error } from '../protocol/errors.js';
import type { Pop3Client } from './client.js';
import type { ClientOptions, TraceEvent } from './options.js';

// CONFORMANCE.md §3, "Client (the server sends → expected behaviour)": one test per case.
// Cases 22–29 (STLS, certificates) are in client-tls.test.ts; 30–36 (APOP, SASL, login
// response codes) in client-auth.test.ts.

const MiB = 1024 * 1024;

const peers = new PeerSet();
afterEach(() => peers.closeAll());

const peerWith = (script: (c: ScriptedConn) => Promise<void>) => peers.start(script);
/** A peer that greets, answers CAPA with `capa`, then runs `rest`. */
const serve = (rest: (c: ScriptedConn) => Promise<void>, capa = BASIC_CAPA) => peers.serve(rest, { capa });
const connect = (peer: ScriptedPeer, extra: Partial<ClientOptions> = {}) => connectPlain(peer.port, extra);

/**
 * Write up to `total` bytes of repeated `chunk`, honouring backpressure, until the client goes
 * away. Returns the bytes handed to the socket: a client that stops reading stops this too.
 */
async function stream(c: ScriptedConn, chunk: Buffer, total: number): Promise<number> {
  let sent = 0;
  while (sent < total && !c.closed && !c.socket.destroyed) {
    const part = chunk.subarray(0, Math.min(chunk.length, total - sent));
    sent += part.length;
    if (!c.socket.write(part)) await drainOrClose(c.socket);
  }
  return sent;
}

/** Peak growth of `process.memoryUsage()` fields while `run` runs, sampled every 5 ms. */
async function peakMemory<T>(
  run: () => Promise<T>,
): Promise<{ result: T; arrayBuffers: number; rss: number }> {
  const base = process.memoryUsage();
  let arrayBuffers = 0;
  let rss = 0;
  const sample = () => {
    const m = process.memoryUsage();
    arrayBuffers = Math.max(arrayBuffers, m.arrayBuffers - base.arrayBuffers);
    rss = Math.max(rss, m.rss - base.rss);
  };
  const timer = setInterval(sample, 5);
  try {
    const result = await run();
    sample();
    return { result, arrayBuffers, rss };
  } finally {
    clearInterval(timer);
  }
}

/** RETR 1 read to its end while peakMemory samples; the read must fail. */
async function failingRetr(
  client: Pop3Client,
): Promise<{ err: Pop3Error; delivered: number; arrayBuffers: number }> {
  let delivered = 0;
  const { result: err, arrayBuffers } = await peakMemory(async () => {
    const body = await client.retr(1);
    return failure(
      (async () => {
        for await (const chunk of body) delivered += (chunk as Buffer).length;
      })(),
    );
  });
  return { err, delivered, arrayBuffers };
}

describe('adversarial server: greeting and status lines', () => {
  it('client case 1: a 1 MiB+ greeting with no CRLF fails at the line cap; memory stays bounded', async () => {
    let sent = 0;
    const peer = await peerWith(async (c) => {
      sent = await stream(c, Buffer.alloc(64 * 1024, 'A'), 256 * MiB);
    });
    const { result: err, arrayBuffers } = await peakMemory(() => failure(connect(peer)));
    expect(err.code).toBe('ELIMIT');
    expect(err.message).toMatch(/line longer than 2048/);
    await sleep(50);
    // The client stopped reading at the cap: the peer could not push the 256 MiB it had.
    expect(sent).toBeLessThan(32 * MiB);
    expect(arrayBuffers).toBeLessThan(64 * MiB);
  });

  it('client case 2: a -ERR [SYS/PERM] greeting fails once: no retry, nothing sent', async () => {
    let connections = 0;
    let received = '';
    const peer = await peerWith(async (c) => {
      connections++;
      c.send('-ERR [SYS/PERM] mailbox disabled\r\n');
      await c.closedByClient(2000);
      received = c.received.toString('latin1');
    });
    const err = await failure(connect(peer, { auth: { user: 'alice', pass: 'pw' } }));
    expect(err.code).toBe('ESERVER');
    expect(err.response).toContain('mailbox disabled');
    expect(err.temporary).toBe(false);
    await peer.done;
    expect(connections).toBe(1);
    expect(received).toBe('');
  });

  it('client case 3: ANSI and control bytes in greeting and -ERR text are escaped in messages and traces', async () => {
    const evil = '\x1b[2J\x1b[31mPWNED\x07\r';
    const peer = await peerWith(async (c) => {
      c.send(`+OK hello ${evil}\r\n`);
      await c.expect('CAPA');
      c.send('+OK\r\nUSER\r\n.\r\n');
      await c.expect('STAT');
      c.send(`-ERR bad ${evil}\r\n`);
      await c.closedByClient(2000);
    });
    const trace: TraceEvent[] = [];
    const client = await connect(peer, { onTrace: (e) => trace.push(e) });
    const err = await failure(client.stat());
    expect(err.code).toBe('ESERVER');
    expect(err.message).toContain('\\x1b[31mPWNED\\x07');
    expect(err.message).not.toMatch(/[\x00-\x1f\x7f]/);
    const lines = trace.map((e) => e.line);
    expect(lines.some((l) => l.includes('\\x1b[2J'))).toBe(true);
    for (const l of lines) expect(l).not.toMatch(/[\x00-\x1f\x7f]/);
    client.close();
  });

  it('client case 4: bytes after the greeting in the same write are a protocol error, never the CAPA reply', async () => {
    const peer = await peerWith(async (c) => {
      c.send('+OK ready\r\n+OK\r\nSASL PLAIN\r\n.\r\n');
      await c.closedByClient(2000);
    });
    const err = await failure(connect(peer));
    expect(err.code).toBe('EPROTOCOL');
    expect(err.message).toMatch(/answers no command/);

    // The same holds later: without PIPELINING, NOOP waits for STAT's reply, so a "+OK" that
    // arrived with that reply predates NOOP and cannot be its answer.
    const ahead = await serve(async (c) => {
      await c.expect('STAT');
      c.send('+OK 1 10\r\n+OK forged NOOP reply\r\n');
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(ahead);
    const [stat, noop] = await Promise.allSettled([client.stat(), client.noop()]);
    expect(stat).toEqual({ status: 'fulfilled', value: { count: 1, octets: 10 } });
    expect(noop.status === 'rejected' && (noop.reason as Pop3Error).code).toBe('EPROTOCOL');
  });

  it('client case 5: +ok, OK, +OKAY and an empty status line are protocol errors', async () => {
    for (const greeting of ['+ok ready', 'OK ready', '+OKAY ready', '', '-err no']) {
      const peer = await peerWith(async (c) => {
        c.send(`${greeting}\r\n`);
        await c.closedByClient(2000);
      });
      const err = await failure(connect(peer));
      expect(err.code, JSON.stringify(greeting)).toBe('EPROTOCOL');
      expect(err.message).toMatch(/malformed status line/);
    }
  });
});

describe('adversarial server: message bodies', () => {
  /** A session whose RETR 1 is answered with `reply` (status line, body and terminator as raw bytes). */
  function retrWith(reply: Buffer | string | ((c: ScriptedConn) => Promise<void>)) {
    return serve(async (c) => {
      await c.expect('RETR 1');
      if (typeof reply === 'function') await reply(c);
      else c.send(reply);
      await c.readLine(2000).catch(() => undefined);
    });
  }

  it('client case 6: \\n.\\n (bare LFs) inside a body is data, not the end', async () => {
    const peer = await retrWith('+OK\r\nline a\n.\nline b\r\n.\r\n');
    const client = await connect(peer);
    expect((await client.retrBuffer(1)).toString('latin1')).toBe('line a\n.\nline b\r\n');
    client.close();
  });

  it('client case 7: "..a" becomes ".a", ".a" becomes "a", ".CRLF" ends the body', async () => {
    const peer = await retrWith('+OK\r\n..a\r\n.a\r\n...\r\nz\r\n.\r\nNOT BODY\r\n');
    const client = await connect(peer);
    const body = client.retrBuffer(1);
    const err = failure(client.noop());
    expect((await body).toString('latin1')).toBe('.a\r\na\r\n..\r\nz\r\n');
    // What followed ".CRLF" is not body: it answers no command (NOOP was not sent yet).
    expect((await err).code).toBe('EPROTOCOL');
  });

  it('client case 8: the terminator split across TCP segments is still found', async () => {
    for (const pieces of [
      ['+OK\r\nbody\r', '\n.', '\r', '\n+OK 1 2\r\n'],
      ['+OK\r\nbody\r\n.\r', '\n+OK 1 2\r\n'],
    ]) {
      const peer = await serve(
        async (c) => {
          await c.expect('RETR 1');
          await c.expect('STAT');
          c.socket.setNoDelay(true);
          for (const p of pieces) {
            c.send(p);
            await sleep(25);
          }
          await c.readLine(2000).catch(() => undefined);
        },
        [...BASIC_CAPA, 'PIPELINING'],
      );
      const client = await connect(peer);
      const [body, stat] = await Promise.all([client.retrBuffer(1), client.stat()]);
      expect(body.toString('latin1')).toBe('body\r\n');
      expect(stat).toEqual({ count: 1, octets: 2 });
      client.close();
    }
  });

  it('client case 9: FIN before .CRLF is reported as truncated; the message is neither complete nor deleted', async () => {
    let received = '';
    const peer = await retrWith(async (c) => {
      c.send('+OK\r\nSubject: cut\r\n\r\nhalf a bo');
      await sleep(20);
      received = c.received.toString('latin1');
      c.end();
    });
    const trace: TraceEvent[] = [];
    const client = await connect(peer, { onTrace: (e) => trace.push(e) });
    const body = await client.retr(1);
    const err = await failure(readAll(body));
    expect(err.code).toBe('ECLOSED');
    expect(err.message).toMatch(/truncated/);
    expect((await failure(client.dele(1))).code).toBe('ECLOSED');
    expect(received).not.toMatch(/DELE|QUIT/);
    expect(trace.filter((e) => e.dir === 'C').map((e) => e.line)).toEqual(['CAPA', 'RETR 1']);
  });

  it('client case 10: RST mid-RETR fails the body; no DELE or QUIT goes out afterwards', async () => {
    const peer = await retrWith(async (c) => {
      c.send('+OK\r\nSubject: reset\r\n\r\npartial');
      await sleep(20);
      c.socket.resetAndDestroy();
    });
    const trace: TraceEvent[] = [];
    const client = await connect(peer, { onTrace: (e) => trace.push(e) });
    const seen: string[] = [];
    const err = await failure(
      (async () => {
        for await (const m of client.retrieveMany([1])) seen.push((await readAll(m.body)).toString());
      })(),
    );
    expect(err.code).toBe('ECLOSED');
    expect(seen).toEqual([]);
    expect((await failure(client.dele(1))).code).toBe('ECLOSED');
    expect((await failure(client.quit())).code).toBe('ECLOSED');
    expect(client.closed).toBe(true);
    expect(trace.filter((e) => e.dir === 'C').map((e) => e.line)).toEqual(['CAPA', 'RETR 1']);
  });

  it('client case 11: NUL bytes in a body are preserved', async () => {
    const body = Buffer.from('A\0B\r\n\0\0\r\n.\0\r\n', 'latin1');
    const peer = await retrWith(
      Buffer.concat([Buffer.from('+OK\r\n'), Buffer.from('A\0B\r\n\0\0\r\n..\0\r\n.\r\n')]),
    );
    const client = await connect(peer);
    expect(await client.retrBuffer(1)).toEqual(body);
    client.close();
  });

  it('client case 12: invalid UTF-8 in headers is kept as bytes; nothing throws', async () => {
    const headers = Buffer.from([
      ...Buffer.from('Subject: '),
      0xff,
      0xfe,
      0xc3,
      0x28,
      0xe2,
      0x82,
      ...Buffer.from('\r\nFrom: \x80\x81@example\r\n\r\nbody \xe9t\xe9\r\n', 'latin1'),
    ]);
    const peer = await retrWith(
      Buffer.concat([Buffer.from('+OK \xff\xfe octets\r\n', 'latin1'), headers, Buffer.from('.\r\n')]),
    );
    const trace: TraceEvent[] = [];
    const client = await connect(peer, { onTrace: (e) => trace.push(e) });
    expect(await client.retrBuffer(1)).toEqual(headers);
    client.close();
  });

  it('client case 13: a 10 MiB body line stops at the body line cap; memory stays bounded', async () => {
    let sent = 0;
    const peer = await retrWith(async (c) => {
      c.send('+OK\r\nSubject: long\r\n\r\n');
      sent = await stream(c, Buffer.alloc(64 * 1024, 'x'), 10 * MiB);
      if (!c.closed) c.send('\r\n.\r\n');
    });
    const client = await connect(peer, { limits: { maxBodyLineLength: MiB } });
    const { err, delivered, arrayBuffers } = await failingRetr(client);
    expect(err.code).toBe('ELIMIT');
    expect(err.message).toMatch(/body line longer than 1048576/);
    expect(delivered).toBeLessThanOrEqual(MiB + 64 * 1024);
    expect(arrayBuffers).toBeLessThan(48 * MiB);
    await peer.done;
    expect(sent).toBeLessThan(10 * MiB); // cut off before the end of the line
    expect(client.closed).toBe(true);
  });

  it('client case 14: LIST says 100 octets, RETR streams 50 MiB: stopped at the total cap, memory bounded', async () => {
    let sent = 0;
    const peer = await serve(async (c) => {
      await c.expect('LIST 1');
      c.send('+OK 1 100\r\n');
      await c.expect('RETR 1');
      c.send('+OK 100 octets\r\n');
      sent = await stream(c, Buffer.from(`${'y'.repeat(1022)}\r\n`.repeat(64)), 50 * MiB);
      if (!c.closed) c.send('.\r\n');
    });
    const client = await connect(peer, { limits: { maxMessageSize: 2 * MiB } });
    expect(await client.list(1)).toEqual({ n: 1, octets: 100 });
    const { err, delivered, arrayBuffers } = await failingRetr(client);
    expect(err.code).toBe('ELIMIT');
    expect(err.message).toMatch(/larger than 2097152/);
    expect(delivered).toBeLessThanOrEqual(2 * MiB);
    expect(arrayBuffers).toBeLessThan(48 * MiB);
    await peer.done;
    expect(sent).toBeLessThan(32 * MiB);
  });
});

describe('adversarial server: listings', () => {
  /** The peer answers each expected command with its reply. */
  const answering = (pairs: [string, string][]) => peers.answering(pairs);

  it('client case 15: LIST sizes -1, x and 2^64 are parse errors', async () => {
    for (const size of ['-1', 'x', '18446744073709551616', '1e3', '']) {
      const peer = await answering([
        ['LIST', `+OK\r\n1 ${size}\r\n.\r\n`],
        ['LIST 1', `+OK 1 ${size}\r\n`],
      ]);
      const client = await connect(peer);
      expect((await failure(client.list())).code, size).toBe('EPROTOCOL');
      expect((await failure(client.list(1))).code, size).toBe('EPROTOCOL');
      client.close();
    }
  });

  it('client case 16: STAT reporting 4294967296 messages is rejected', async () => {
    const peer = await answering([['STAT', '+OK 4294967296 100\r\n']]);
    const client = await connect(peer);
    const err = await failure(client.stat());
    expect(err.code).toBe('ELIMIT');
    expect(err.message).toMatch(/4294967296 messages/);
    client.close();
  });

  it('client case 17: LIST with duplicate numbers, 0, numbers above the STAT count, or the wrong number is rejected', async () => {
    const bad: [string, string][][] = [
      [['LIST', '+OK\r\n1 10\r\n1 10\r\n.\r\n']],
      [['LIST', '+OK\r\n0 10\r\n.\r\n']],
      [
        ['STAT', '+OK 2 20\r\n'],
        ['LIST', '+OK\r\n1 10\r\n3 10\r\n.\r\n'],
      ],
      [['LIST 2', '+OK 3 10\r\n']],
      [['UIDL 2', '+OK 3 uid-3\r\n']],
    ];
    for (const pairs of bad) {
      const peer = await answering(pairs);
      const client = await connect(peer);
      let err: Pop3Error | undefined;
      for (const [command] of pairs) {
        if (command === 'STAT') await client.stat();
        else if (command === 'LIST') err = await failure(client.list());
        else if (command === 'LIST 2') err = await failure(client.list(2));
        else err = await failure(client.uidl(2));
      }
      expect(err?.code, JSON.stringify(pairs)).toBe('EPROTOCOL');
      client.close();
    }
  });

  it('client case 18: an empty UID is rejected', async () => {
    for (const pairs of [
      [['UIDL', '+OK\r\n1 \r\n.\r\n']],
      [['UIDL', '+OK\r\n1\r\n.\r\n']],
      [['UIDL 1', '+OK 1\r\n']],
      [['UIDL 1', '+OK 1 \r\n']],
    ] as [string, string][][]) {
      const peer = await answering(pairs);
      const client = await connect(peer);
      const err = await failure(pairs[0]![0] === 'UIDL' ? client.uidl() : client.uidl(1));
      expect(err.code).toBe('EPROTOCOL');
      expect(err.message).toMatch(/unique-id/);
      client.close();
    }
  });

  it('client case 19: UIDs with control bytes or over 70 characters are rejected; "/" and ".." come back verbatim, never as paths', async () => {
    for (const uid of ['ab\x01cd', 'tab\there', 'x'.repeat(71), 'caf\u00e9']) {
      const peer = await answering([['UIDL', `+OK\r\n1 ${uid}\r\n.\r\n`]]);
      const client = await connect(peer);
      expect((await failure(client.uidl())).code, JSON.stringify(uid)).toBe('EPROTOCOL');
      client.close();
    }
    const odd = ['../../etc/passwd', '/abs', '..', 'x'.repeat(70)];
    const peer = await answering([
      ['UIDL', `+OK\r\n${odd.map((u, i) => `${i + 1} ${u}\r\n`).join('')}.\r\n`],
    ]);
    const client = await connect(peer);
    expect((await client.uidl()).map((e) => e.uid)).toEqual(odd);
    client.close();
  });

  it('client case 20: duplicate UIDs are returned as sent and mapped per message number', async () => {
    const peer = await answering([
      ['UIDL', '+OK\r\n1 same\r\n2 same\r\n3 other\r\n.\r\n'],
      ['RETR 2', '+OK\r\ntwo\r\n.\r\n'],
    ]);
    const client = await connect(peer);
    expect(await client.uidl()).toEqual([
      { n: 1, uid: 'same' },
      { n: 2, uid: 'same' },
      { n: 3, uid: 'other' },
    ]);
    const got: [number, string | undefined, string][] = [];
    for await (const m of client.retrieveMany([2]))
      got.push([m.n, m.uid, (await readAll(m.body)).toString()]);
    expect(got).toEqual([[2, 'same', 'two\r\n']]);
    client.close();
  });

  it('client case 21: thousands of CAPA lines are capped as they arrive; bogus SASL names are ignored', async () => {
    let sent = 0;
    const total = 2_000_000 * 16;
    const flood = await peerWith(async (c) => {
      c.send('+OK ready\r\n');
      await c.expect('CAPA');
      c.send('+OK\r\n');
      sent = await stream(c, Buffer.from('X-CAPA-ABCDEFGH\r\n'.repeat(4096)), total);
    });
    const err = await failure(connect(flood));
    expect(err.code).toBe('ELIMIT');
    await flood.done;
    expect(sent).toBeLessThan(total / 2); // failed at the cap, not after buffering the whole reply

    const bogus = await serve(
      async (c) => {
        await c.readLine(2000).catch(() => undefined);
      },
      [
        'USER',
        `SASL PLAIN ../../x X-${'Z'.repeat(40)} \x01\x02 SCRAM-SHA-256 x-unknown-mech`,
        'BOGUS\x7f',
        '',
      ],
    );
    const client = await connect(bogus);
    expect(client.capabilities.sasl).toEqual(['PLAIN', 'SCRAM-SHA-256', 'X-UNKNOWN-MECH']);
    expect(client.capabilities.has('USER')).toBe(true);
    client.close();
  });
});

describe('adversarial server: codes, deadlines, closing, injection', () => {
  it('client case 37: "[" text without RESP-CODES is not a response code', async () => {
    const login = (capa: string[]) =>
      serve(async (c) => {
        await c.expect('USER alice');
        c.send('-ERR [AUTH] no such user or password\r\n');
        await c.readLine(2000).catch(() => undefined);
      }, capa);
    const noCodes = await failure(connect(await login(['USER']), { auth: { user: 'alice', pass: 'pw' } }));
    expect(noCodes.code).toBe('EAUTH');
    expect(noCodes.responseCode).toBeUndefined();
    expect(noCodes.response).toBe('[AUTH] no such user or password');

    const withCodes = await failure(
      connect(await login(['USER', 'AUTH-RESP-CODE']), { auth: { user: 'alice', pass: 'pw' } }),
    );
    expect(withCodes.responseCode).toBe('AUTH');
    expect(withCodes.response).toBe('no such user or password');

    const inUse = await serve(async (c) => {
      await c.expect('STAT');
      c.send('-ERR [IN-USE] busy\r\n');
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(inUse);
    const err = await failure(client.stat());
    expect(err.responseCode).toBeUndefined();
    expect(err.temporary).toBe(false);
    client.close();
  });

  it('client case 38: a status line dripped one byte at a time hits the per-command deadline', async () => {
    const peer = await serve(async (c) => {
      await c.expect('STAT');
      for (const byte of '+OK 1 100\r\n') {
        if (c.closed) break;
        c.send(byte);
        await sleep(60);
      }
    });
    const client = await connect(peer, { timeouts: { ...FAST, command: 250 } });
    const started = Date.now();
    const err = await failure(client.stat());
    const took = Date.now() - started;
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.command).toBe('STAT');
    // The whole line would take ~660 ms; the deadline counts from the command, not the last byte.
    expect(took).toBeGreaterThanOrEqual(240);
    expect(took).toBeLessThan(500);
    expect(client.closed).toBe(true);
  });

  it('client case 38: a body dripped just inside the idle timeout ends at the rate floor (minRate)', async () => {
    const peer = await serve(async (c) => {
      await c.expect('RETR 1');
      c.send('+OK\r\n');
      // A byte every 100 ms never leaves the 300 ms idle timeout silent: 10 octets/s.
      for (let i = 0; i < 60 && !c.closed; i++) {
        c.send('x');
        await sleep(100);
      }
    });
    const client = await connect(peer, { timeouts: { ...FAST, idle: 300, minRate: 50 } });
    const started = Date.now();
    const err = await failure(client.retrBuffer(1));
    const took = Date.now() - started;
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.command).toBe('RETR 1');
    expect(err.message).toMatch(/under 50 octets\/s/);
    // The first window that brings too little ends it: ~300–400 ms, not the 6 s of the drip.
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1500);
    expect(client.closed).toBe(true);
  });

  it('client case 38: a body arriving at the rate floor or above is not cut, however long it takes', async () => {
    const peer = await serve(async (c) => {
      await c.expect('RETR 1');
      c.send('+OK\r\n');
      // 20 octets every 100 ms (200 octets/s) for 1.2 s: four idle windows, each well above the floor.
      for (let i = 0; i < 12; i++) {
        c.send('0123456789abcdefgh\r\n');
        await sleep(100);
      }
      c.send('.\r\n');
      await c.expect('QUIT');
      c.send('+OK\r\n');
    });
    const client = await connect(peer, { timeouts: { ...FAST, idle: 300, minRate: 50 } });
    const body = await client.retrBuffer(1);
    expect(body.toString()).toBe('0123456789abcdefgh\r\n'.repeat(12));
    await client.quit();
  });

  it('client case 39: connection closed after QUIT without +OK: deletions unknown', async () => {
    const peer = await serve(async (c) => {
      await c.expect('DELE 1');
      c.send('+OK marked\r\n');
      await c.expect('QUIT');
      c.end();
    });
    const client = await connect(peer);
    await client.dele(1);
    const err = await failure(client.quit());
    expect(err.code).toBe('ECLOSED');
    expect(err.command).toBe('QUIT');
    expect(err.message).toMatch(/deletions unknown/);
  });

  it('client case 40: user name "bob\\r\\nDELE 1" is refused locally; nothing is sent', async () => {
    for (const mechanism of ['USER', 'PLAIN', 'APOP']) {
      let received = '';
      const peer = await peerWith(async (c) => {
        c.send('+OK ready <1.2@host>\r\n');
        await c.expect('CAPA');
        c.send('+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n');
        await c.closedByClient(2000);
        received = c.received.toString('latin1');
      });
      const err = await failure(connect(peer, { auth: { user: 'bob\r\nDELE 1', pass: 'pw', mechanism } }));
      expect(err.code, mechanism).toBe('EARGUMENT');
      expect(`${err.message} ${err.command ?? ''}`).not.toMatch(/DELE|bob/);
      await peer.done;
      expect(received, mechanism).toBe('CAPA\r\n');
    }
  });
});
