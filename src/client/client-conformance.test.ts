import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  acceptUserPass,
  BASIC_CAPA,
  connectPlain,
  drainOrClose,
  FAST_TIMEOUTS as FAST,
  failure,
  PeerSet,
  readAll,
  sendOpening,
  sentBy,
  sleep,
} from '../../test/helpers/client-peer.js';
import type { ScriptedConn, ScriptedPeer } from '../../test/helpers/scripted-peer.js';
import type { ClientOptions, TraceEvent } from './options.js';

// CONFORMANCE.md client rules C1–C9, plus timeouts and AbortSignal. C10 is in
// client-pipelining.test.ts, C11 in client-tls.test.ts, C12–C14 and C16's secrets half in
// client-auth.test.ts. C15 (URLs) belongs to the CLI. C16's pooling half does not apply:
// pop3kit never pools or reuses connections, so there is no pool key to get wrong.

const KiB = 1024;
const MiB = 1024 * KiB;

const peers = new PeerSet();
afterEach(() => peers.closeAll());

const peerWith = (script: (c: ScriptedConn) => Promise<void>) => peers.start(script);
/** A peer that greets, answers CAPA with `capa` (-ERR when null), then runs `rest`. */
const serve = (rest: (c: ScriptedConn) => Promise<void>, capa: string[] | null = BASIC_CAPA) =>
  peers.serve(rest, { capa });
/** A session answering each expected command with its reply, in order. */
const answering = (pairs: [string | RegExp, string][], capa: string[] | null = BASIC_CAPA) =>
  peers.answering(pairs, { capa });
const connect = (peer: ScriptedPeer, extra: Partial<ClientOptions> = {}) => connectPlain(peer.port, extra);

describe('C1–C2: status lines and size caps', () => {
  it('C1: only +OK and -ERR followed by a space or the line end are status words', async () => {
    for (const bad of ['+OKAY 1 2', '+ok 1 2', 'OK 1 2', '-ERRx', '-Err no', '+', '', ' +OK 1 2']) {
      const peer = await answering([['STAT', `${bad}\r\n`]]);
      const client = await connect(peer);
      const err = await failure(client.stat());
      expect(err.code, JSON.stringify(bad)).toBe('EPROTOCOL');
      expect(client.closed).toBe(true);
    }
    const peer = await answering([
      ['NOOP', '+OK\r\n'],
      ['DELE 1', '-ERR\r\n'],
      ['RSET', '+OK \r\n'],
    ]);
    const client = await connect(peer);
    await client.noop();
    const err = await failure(client.dele(1));
    expect(err.code).toBe('ESERVER');
    expect(err.response).toBe('');
    await client.rset();
    client.close();
  });

  it('C2: the first line of a reply is capped (maxLineLength counts the CRLF)', async () => {
    const line = (octets: number) => `+OK ${'x'.repeat(octets - 6)}\r\n`;
    expect(line(512)).toHaveLength(512);
    const peer = await answering([
      ['NOOP', line(512)],
      ['NOOP', line(513)],
    ]);
    const client = await connect(peer, { limits: { maxLineLength: 512 } });
    await client.noop();
    const err = await failure(client.noop());
    expect(err.code).toBe('ELIMIT');
    expect(err.message).toMatch(/longer than 512/);
  });

  it('C2: body lines are not held to the status-line cap; the body line and total caps are exact', async () => {
    const long = `${'b'.repeat(100 * KiB)}\r\n`;
    const peer = await answering([
      ['RETR 1', `+OK\r\n${long}.\r\n`],
      ['RETR 2', `+OK\r\n${'z'.repeat(1022)}\r\n.\r\n`],
      ['RETR 3', `+OK\r\n${'z'.repeat(1023)}\r\n.\r\n`],
    ]);
    const client = await connect(peer, { limits: { maxLineLength: 512, maxMessageSize: 1024 } });
    const err1 = await failure(client.retrBuffer(1));
    expect(err1.code).toBe('ELIMIT');
    expect(err1.message).toMatch(/larger than 1024/);

    const peer2 = await answering([
      ['RETR 1', `+OK\r\n${long}.\r\n`],
      ['RETR 2', `+OK\r\n${'z'.repeat(1022)}\r\n.\r\n`],
      ['RETR 3', `+OK\r\n${'z'.repeat(1023)}\r\n.\r\n`],
    ]);
    const client2 = await connect(peer2, { limits: { maxLineLength: 512, maxMessageSize: MiB } });
    expect((await client2.retrBuffer(1)).toString()).toBe(long); // 100 KiB line, 512-octet status cap
    client2.close();

    const peer3 = await answering([
      ['RETR 2', `+OK\r\n${'z'.repeat(1022)}\r\n.\r\n`],
      ['RETR 3', `+OK\r\n${'z'.repeat(1023)}\r\n.\r\n`],
    ]);
    const client3 = await connect(peer3, { limits: { maxMessageSize: 1024, maxBodyLineLength: 1024 } });
    expect(await client3.retrBuffer(2)).toHaveLength(1024); // exactly at both caps
    const err3 = await failure(client3.retrBuffer(3));
    expect(err3.code).toBe('ELIMIT');
  });

  it('C2: a body that fails at a cap before it is read does not crash the process; its reader gets the error', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const peer = await answering([['RETR 1', `+OK\r\n${'w'.repeat(4096)}\r\n.\r\n`]]);
      const client = await connect(peer, { limits: { maxMessageSize: 1024 } });
      const body = await client.retr(1); // status, body and the limit error all arrived in one read
      await sleep(50);
      const err = await failure(readAll(body));
      expect(err.code).toBe('ELIMIT');
      expect(client.closed).toBe(true);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
  });

  it('C2: sizes from LIST never drive allocation', async () => {
    const peer = await answering([
      ['LIST', '+OK\r\n1 999999999999999\r\n.\r\n'],
      ['RETR 1', '+OK 999999999999999 octets\r\nsmall\r\n.\r\n'],
    ]);
    const client = await connect(peer);
    const before = process.memoryUsage().arrayBuffers;
    expect(await client.list()).toEqual([{ n: 1, octets: 999999999999999 }]);
    expect((await client.retrBuffer(1)).toString()).toBe('small\r\n');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * MiB);
    client.close();
  });

  it('C2: a slow reader keeps what is buffered bounded, whatever the message size (backpressure)', async () => {
    const total = 32 * MiB;
    let sent = 0;
    const peer = await serve(async (c) => {
      await c.expect('RETR 1');
      c.send('+OK\r\n');
      const line = Buffer.from(`${'m'.repeat(1022)}\r\n`.repeat(64));
      while (sent < total && !c.closed) {
        sent += line.length;
        if (!c.socket.write(line)) await drainOrClose(c.socket);
      }
      c.send('.\r\n');
      await c.readLine(5000).catch(() => undefined);
    });
    const client = await connect(peer, { timeouts: { ...FAST, idle: 5000 } });
    const transport = (client as unknown as { conn: { transport: Socket } }).conn.transport;
    const body = await client.retr(1);
    let received = 0;
    let maxBody = 0;
    let maxSocket = 0;
    let maxAhead = 0;
    let chunks = 0;
    for await (const chunk of body) {
      received += (chunk as Buffer).length;
      maxBody = Math.max(maxBody, body.readableLength);
      maxSocket = Math.max(maxSocket, transport.readableLength);
      maxAhead = Math.max(maxAhead, sent - received);
      if (++chunks % 32 === 0) await sleep(1); // a reader slower than loopback
    }
    expect(received).toBe(total);
    expect(maxBody).toBeLessThanOrEqual(512 * KiB);
    expect(maxSocket).toBeLessThanOrEqual(256 * KiB);
    // The peer can only run ahead by what the kernel's socket buffers hold, not by the message.
    expect(maxAhead).toBeLessThan(16 * MiB);
    client.close();
  });
});

describe('C3–C5: commands, unstuffing, UIDs', () => {
  it('C3: a command line over 255 octets is refused locally; nothing is sent', async () => {
    const peer = await serve(async (c) => void (await c.closedByClient(2000)), ['USER']);
    const err = await failure(connect(peer, { auth: { user: 'u'.repeat(250), pass: 'pw' } }));
    expect(err.code).toBe('EARGUMENT');
    expect(err.message).toMatch(/255 octets/);
    expect(await sentBy(peer)).toBe('CAPA\r\n');
  });

  it('C3: CR, LF and NUL in USER, PASS, APOP and AUTH fields are refused locally; nothing is sent', async () => {
    const variants: [string, string, string][] = [
      ['USER', 'a\rb', 'pw'],
      ['USER', 'alice', 'p\nq'],
      ['USER', 'alice', 'p\0q'],
      ['APOP', 'a\0b', 'pw'],
      ['APOP', 'alice', 'p\r\nq'],
      ['PLAIN', 'a\r\nb', 'pw'],
      ['PLAIN', 'alice', 'p\0q'],
      ['SCRAM-SHA-256', 'alice', 'p\nq'],
      ['CRAM-MD5', 'alice', 'p\rq'],
      ['LOGIN', 'a\nb', 'pw'],
    ];
    for (const [mechanism, user, pass] of variants) {
      const peer = await peerWith(async (c) => {
        await sendOpening(c, {
          greeting: '+OK ready <1.2@host>',
          capa: ['USER', 'SASL PLAIN SCRAM-SHA-256 CRAM-MD5 LOGIN'],
        });
        await c.closedByClient(2000);
      });
      const err = await failure(connect(peer, { auth: { user, pass, mechanism } }));
      const what = `${mechanism} ${JSON.stringify([user, pass])}`;
      expect(err.code, what).toBe('EARGUMENT');
      expect(`${err.message}|${err.command ?? ''}`, what).not.toMatch(/p.q|a.b/s);
      expect(await sentBy(peer), what).toBe('CAPA\r\n');
    }
  });

  it('C4: only ".CRLF" ends a body; other dot lines are unstuffed once (RETR and TOP)', async () => {
    const wire = '..\r\n. x\r\n.\rnot end\r\n...\r\n.. \r\nlast\r\n.\r\n';
    const expected = '.\r\n x\r\n\rnot end\r\n..\r\n. \r\nlast\r\n';
    const peer = await answering([
      ['RETR 1', `+OK\r\n${wire}`],
      ['TOP 1 0', `+OK\r\n${wire}`],
    ]);
    const client = await connect(peer);
    expect((await client.retrBuffer(1)).toString('latin1')).toBe(expected);
    expect((await client.topBuffer(1, 0)).toString('latin1')).toBe(expected);
    client.close();
  });

  it('C5: UIDs are validated (1–70 of 0x21–0x7E), duplicates tolerated, and retrieveMany reports each UID', async () => {
    const uid70 = '!'.repeat(35) + '~'.repeat(35);
    const peer = await answering([
      ['UIDL', `+OK\r\n1 ${uid70}\r\n2 dup\r\n3 dup\r\n.\r\n`],
      ['RETR 1', '+OK\r\none\r\n.\r\n'],
      ['RETR 3', '+OK\r\nthree\r\n.\r\n'],
      ['UIDL 2', '+OK 2 dup\r\n'],
    ]);
    const client = await connect(peer);
    expect((await client.uidl()).map((e) => e.uid)).toEqual([uid70, 'dup', 'dup']);
    const got: [number, string | undefined][] = [];
    for await (const m of client.retrieveMany([1, 3])) {
      await readAll(m.body);
      got.push([m.n, m.uid]);
    }
    expect(got).toEqual([
      [1, uid70],
      [3, 'dup'],
    ]);
    expect(await client.uidl(2)).toEqual({ n: 2, uid: 'dup' });
    client.close();
  });
});

describe('C6–C9: deletion, optional commands, CAPA, response codes', () => {
  it('C6: close() drops the connection without QUIT, so marked messages are not deleted', async () => {
    const peer = await answering([['DELE 1', '+OK marked\r\n']]);
    const client = await connect(peer);
    await client.dele(1);
    client.close();
    expect(client.closed).toBe(true);
    expect(await sentBy(peer)).toBe('CAPA\r\nDELE 1\r\n');
    expect((await failure(client.quit())).code).toBe('ECLOSED');
  });

  it("C6: deletion is final only with QUIT's +OK; a QUIT -ERR is reported and ends the session", async () => {
    let answered = 0;
    const peer = await serve(async (c) => {
      await c.expect('DELE 1');
      c.send('+OK\r\n');
      await c.expect('QUIT');
      await sleep(150);
      answered = Date.now();
      c.send('+OK deleted\r\n');
      c.end();
    });
    const client = await connect(peer);
    await client.dele(1);
    await client.quit();
    expect(Date.now()).toBeGreaterThanOrEqual(answered);
    expect(answered).toBeGreaterThan(0);
    expect(client.closed).toBe(true);

    const partial = await answering([
      ['DELE 1', '+OK\r\n'],
      ['QUIT', '-ERR some deleted messages not removed\r\n'],
    ]);
    const client2 = await connect(partial);
    await client2.dele(1);
    const err = await failure(client2.quit());
    expect(err.code).toBe('ESERVER');
    expect(err.response).toBe('some deleted messages not removed');
    expect(client2.closed).toBe(true);
  });

  it('C7: TOP and UIDL are used only when CAPA lists them (or CAPA said nothing)', async () => {
    const peer = await serve(async (c) => void (await c.closedByClient(2000)), ['USER']);
    const client = await connect(peer);
    const top = await failure(client.top(1, 0));
    expect(top.code).toBe('ESTATE');
    expect(top.message).toMatch(/does not advertise TOP/);
    expect((await failure(client.uidl())).code).toBe('ESTATE');
    expect((await failure(client.uidl(1))).code).toBe('ESTATE');
    client.close();
    expect(await sentBy(peer)).toBe('CAPA\r\n');

    // CAPA -ERR: an RFC 1939 server; the commands go out and the server decides.
    const old = await answering(
      [
        ['TOP 1 2', '+OK\r\nSubject: a\r\n\r\nl1\r\nl2\r\n.\r\n'],
        ['UIDL 1', '+OK 1 u1\r\n'],
      ],
      null,
    );
    const client2 = await connect(old);
    expect((await client2.topBuffer(1, 2)).toString()).toBe('Subject: a\r\n\r\nl1\r\nl2\r\n');
    expect(await client2.uidl(1)).toEqual({ n: 1, uid: 'u1' });
    client2.close();
  });

  it('C7: LOGIN-DELAY and EXPIRE are read from the CAPA after login', async () => {
    const peer = await serve(
      async (c) => {
        await acceptUserPass(c, {
          user: 'alice',
          pass: 'pw',
          capa: ['USER', 'LOGIN-DELAY 900', 'EXPIRE 30', 'IMPLEMENTATION test server'],
        });
        await c.readLine(2000).catch(() => undefined);
      },
      ['USER', 'LOGIN-DELAY 900 USER', 'EXPIRE 60 USER'],
    );
    const client = await connect(peer, { auth: { user: 'alice', pass: 'pw' } });
    expect(client.capabilities.loginDelay).toBe(900);
    expect(client.capabilities.expire).toBe(30);
    expect(client.capabilities.implementation).toBe('test server');
    client.close();
  });

  it('C8: CAPA goes out right after the greeting; -ERR means no extensions', async () => {
    const order: string[] = [];
    const peer = await serve(async (c) => {
      for (let i = 0; i < 2; i++) {
        order.push((await c.readLine(1000)) ?? '(closed)');
        await sleep(80);
        order.push(`more: ${JSON.stringify(c.received.toString('latin1').split('\r\n').length - 1)}`);
        c.send('+OK 0 0\r\n');
      }
      await c.readLine(2000).catch(() => undefined);
    }, null);
    const trace: TraceEvent[] = [];
    const client = await connect(peer, { onTrace: (e) => trace.push(e) });
    expect(
      trace
        .filter((e) => e.dir !== '*')
        .map((e) => `${e.dir} ${e.line}`)
        .slice(0, 3),
    ).toEqual(['S +OK POP3 ready', 'C CAPA', 'S -ERR unknown command']);
    expect(client.capabilities.names).toEqual([]);
    expect(client.capabilities.pipelining).toBe(false);
    await Promise.all([client.stat(), client.stat()]);
    // No PIPELINING known: the second STAT waited for the first reply.
    expect(order).toEqual(['STAT', 'more: 2', 'STAT', 'more: 3']);
    client.close();
  });

  it('C8: CAPA is issued again after login, and what it adds (PIPELINING) is used', async () => {
    let batch: string[] = [];
    const peer = await serve(
      async (c) => {
        await acceptUserPass(c, { user: 'alice', pass: 'pw', capa: ['USER', 'PIPELINING'] });
        for (let i = 0; i < 3; i++) batch.push((await c.readLine(1000)) ?? '(none)');
        c.send('+OK\r\na\r\n.\r\n+OK\r\nb\r\n.\r\n+OK\r\nc\r\n.\r\n');
        await c.readLine(2000).catch(() => undefined);
      },
      ['USER'],
    );
    const client = await connect(peer, { auth: { user: 'alice', pass: 'pw' } });
    expect(client.capabilities.pipelining).toBe(true);
    const bodies: string[] = [];
    for await (const m of client.retrieveMany([1, 2, 3])) bodies.push((await readAll(m.body)).toString());
    expect(batch).toEqual(['RETR 1', 'RETR 2', 'RETR 3']);
    expect(bodies).toEqual(['a\r\n', 'b\r\n', 'c\r\n']);
    batch = [];
    client.close();
  });

  it('C9: SYS/TEMP is temporary, SYS/PERM is not, unknown codes are kept and ignored', async () => {
    const peer = await answering(
      [
        ['RETR 1', '-ERR [SYS/TEMP] try later\r\n'],
        ['RETR 2', '-ERR [SYS/PERM] gone\r\n'],
        ['RETR 3', '-ERR [X-VENDOR/THING] odd\r\n'],
        ['RETR 4', '-ERR [not a code] plain text\r\n'],
        ['NOOP', '+OK [IN-USE] still fine\r\n'],
      ],
      ['USER', 'RESP-CODES'],
    );
    const client = await connect(peer);
    const temp = await failure(client.retr(1));
    expect([temp.code, temp.responseCode, temp.temporary, temp.response]).toEqual([
      'ESERVER',
      'SYS/TEMP',
      true,
      'try later',
    ]);
    const perm = await failure(client.retr(2));
    expect([perm.responseCode, perm.temporary]).toEqual(['SYS/PERM', false]);
    const odd = await failure(client.retr(3));
    expect([odd.responseCode, odd.temporary, odd.response]).toEqual(['X-VENDOR/THING', false, 'odd']);
    const text = await failure(client.retr(4));
    expect([text.responseCode, text.response]).toEqual([undefined, '[not a code] plain text']);
    await client.noop(); // still in sync, still usable
    expect(client.closed).toBe(false);
    client.close();
  });
});

describe('timeouts and AbortSignal', () => {
  it('the greeting, each command, and a stalled body each have a deadline', async () => {
    const silent = await peerWith(async (c) => void (await c.closedByClient(3000)));
    const err = await failure(connect(silent, { timeouts: { ...FAST, greeting: 200 } }));
    expect([err.code, err.message]).toEqual(['ETIMEDOUT', 'timed out waiting for the reply to the greeting']);

    const stall = await serve(async (c) => {
      await c.expect('NOOP');
      await c.expect('RETR 1');
      c.send('+OK\r\nfirst part\r\n');
      await c.closedByClient(3000);
    });
    const client = await connect(stall, { timeouts: { ...FAST, command: 200, idle: 200 } });
    const started = Date.now();
    expect((await failure(client.noop())).code).toBe('ETIMEDOUT');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(client.closed).toBe(true);

    const stall2 = await serve(async (c) => {
      await c.expect('RETR 1');
      c.send('+OK\r\nfirst part\r\n');
      await c.closedByClient(3000);
    });
    const client2 = await connect(stall2, { timeouts: { ...FAST, command: 5000, idle: 200 } });
    const body = await client2.retr(1);
    const stalled = Date.now();
    const bodyErr = await failure(readAll(body));
    expect(bodyErr.code).toBe('ETIMEDOUT');
    expect(Date.now() - stalled).toBeLessThan(1000); // the idle timeout, not the command's 5 s
  });

  it('a body slower than the command timeout survives (idle applies); the next status line gets the command timeout again', async () => {
    const peer = await serve(async (c) => {
      await c.expect('RETR 1');
      c.send('+OK\r\n');
      for (let i = 0; i < 6; i++) {
        await sleep(100); // 600 ms in all, each gap well under the idle timeout
        c.send(`part ${i}\r\n`);
      }
      c.send('.\r\n');
      await c.expect('NOOP'); // never answered
      await c.closedByClient(3000);
    });
    const client = await connect(peer, { timeouts: { ...FAST, command: 250, idle: 2000 } });
    const body = await client.retr(1);
    expect((await readAll(body)).toString()).toBe(
      'part 0\r\npart 1\r\npart 2\r\npart 3\r\npart 4\r\npart 5\r\n',
    );
    const started = Date.now();
    const err = await failure(client.noop());
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.command).toBe('NOOP');
    expect(Date.now() - started).toBeLessThan(1500); // the 250 ms command timeout, not the 2 s idle one
  });

  it('time spent waiting on a slow reader does not count as server idleness', async () => {
    const body = `${'r'.repeat(1022)}\r\n${'q'.repeat(2 * MiB)}\r\n`; // far more than the stream buffers
    const peer = await answering([['RETR 1', `+OK\r\n${body}.\r\n`]]);
    const client = await connect(peer, { timeouts: { ...FAST, idle: 150 } });
    const stream = await client.retr(1);
    await sleep(500); // the client has stopped reading; the socket is paused
    expect((await readAll(stream)).toString('latin1')).toBe(body);
    client.close();
  });

  it('aborting mid-RETR destroys the body with EABORT and closes the socket', async () => {
    const ac = new AbortController();
    const peer = await serve(async (c) => {
      await c.expect('RETR 1');
      c.send('+OK\r\nSubject: partial\r\n\r\nsome');
      await c.closedByClient(3000);
    });
    const client = await connect(peer, { signal: ac.signal });
    const body = await client.retr(1);
    const reading = failure(readAll(body));
    await sleep(50);
    ac.abort(new Error('user pressed stop'));
    const err = await reading;
    expect(err.code).toBe('EABORT');
    expect(client.closed).toBe(true);
    const c = await peer.conn;
    expect(await c.closedByClient(1000)).toBe(true);
  });

  it('an abort during connect, or before it, rejects with EABORT and leaves no socket open', async () => {
    const ac = new AbortController();
    const peer = await peerWith(async (c) => void (await c.closedByClient(3000)));
    const pending = failure(connect(peer, { signal: ac.signal }));
    await sleep(50);
    ac.abort();
    expect((await pending).code).toBe('EABORT');
    const c = await peer.conn;
    expect(await c.closedByClient(1000)).toBe(true);

    let connections = 0;
    const never = await peerWith(async () => {
      connections++;
    });
    const err = await failure(connect(never, { signal: AbortSignal.abort() }));
    expect(err.code).toBe('EABORT');
    await sleep(50);
    expect(connections).toBe(0);
  });
});
