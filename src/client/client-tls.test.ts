import net, { type AddressInfo } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { type KeyPair, testCerts } from '../../test/helpers/certs.js';
import {
  acceptUserPass,
  capaReply,
  connectTo,
  FAST_TIMEOUTS as FAST,
  failure,
  PeerSet,
  sendOpening,
  sentBy,
  sleep,
} from '../../test/helpers/client-peer.js';
import type { ScriptedConn, ScriptedPeer } from '../../test/helpers/scripted-peer.js';
import { Pop3Client } from './client.js';
import type { ClientOptions, TraceEvent } from './options.js';

// CONFORMANCE.md C11 (TLS), client cases 22–29, and the STARTTLS attack classes of §2 that
// concern clients: stripping, response injection, tampering, certificate validation.

const certs = testCerts();
const trusted = { ca: certs.ca };

const peers = new PeerSet();
const servers: net.Server[] = [];
afterEach(async () => {
  await peers.closeAll();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A peer running `script` (implicit TLS with `key`). */
const peerWith = (script: (c: ScriptedConn) => Promise<void>, key?: KeyPair): Promise<ScriptedPeer> =>
  peers.start(script, key);

/**
 * A plaintext peer offering STLS: greeting, CAPA (`pre`), STLS → +OK, TLS with `key`, then
 * CAPA (`post`) and `rest` under TLS.
 */
function stlsPeer(
  rest: (c: ScriptedConn) => Promise<void>,
  opts: { pre?: string[]; post?: string[]; key?: KeyPair; greeting?: string } = {},
): Promise<ScriptedPeer> {
  return peerWith(async (c) => {
    await sendOpening(c, { greeting: `+OK ${opts.greeting ?? 'ready'}`, capa: opts.pre ?? ['STLS', 'USER'] });
    await c.expect('STLS');
    c.send('+OK begin TLS\r\n');
    await c.startTls({ ...(opts.key ?? certs.server) });
    await c.expect('CAPA');
    c.send(capaReply(opts.post ?? ['USER']));
    await rest(c);
  });
}

/** A STARTTLS client that trusts the test CA. */
const connect = (port: number, extra: Partial<ClientOptions> = {}) =>
  connectTo(port, { tls: 'starttls', tlsOptions: trusted, ...extra });

const CREDS = { user: 'alice', pass: 'tls-only-secret' };
const NO_CREDENTIALS = /USER|PASS|AUTH|APOP|tls-only-secret/;

/** Listen on `port` of a random 127.x.y.z address (so tests may use well-known ports without clashing). */
async function listenOnLoopback(server: net.Server, port: number): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const host = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      servers.push(server);
      return host;
    } catch (err) {
      if (attempt > 5) throw err;
    }
  }
}

describe('C11: TLS', () => {
  it('C11: implicit TLS is the default, on port 995; starttls and none default to port 110', async () => {
    const greet = (socket: net.Socket) => {
      socket.on('error', () => {});
      socket.write('+OK ready\r\n');
      socket.on('data', (d) => {
        if (d.toString().startsWith('CAPA')) socket.write('+OK\r\nUSER\r\n.\r\n');
      });
    };
    const implicitHost = await listenOnLoopback(tls.createServer({ ...certs.server }, greet), 995);
    const client = await Pop3Client.connect({
      host: implicitHost,
      timeouts: FAST,
      // The certificate names 127.0.0.1 and localhost, not this random address: check it for localhost.
      tlsOptions: {
        ...trusted,
        checkServerIdentity: (_host, cert) => tls.checkServerIdentity('localhost', cert),
      },
    });
    expect(client.secure).toBe(true);
    expect(client.tls?.version).toMatch(/^TLSv1\.[23]$/);
    client.close();

    const plainHost = await listenOnLoopback(net.createServer(greet), 110);
    const plain = await Pop3Client.connect({ host: plainHost, tls: 'none', timeouts: FAST });
    expect(plain.secure).toBe(false);
    expect(plain.capabilities.has('USER')).toBe(true);
    plain.close();
    // starttls also goes to 110, and refuses to go on there because this server has no STLS.
    const err = await failure(Pop3Client.connect({ host: plainHost, tls: 'starttls', timeouts: FAST }));
    expect(err.code).toBe('ETLS');
    expect(err.message).toMatch(/does not offer STLS/);
  });

  it('C11: the certificate chain and host name are verified; SNI carries a host name, never an IP', async () => {
    const names: (string | false | null | undefined)[] = [];
    const peer = await peerWith(async (c) => {
      names.push((c.socket as TLSSocket).servername);
      c.send('+OK ready\r\n');
      await c.expect('CAPA');
      c.send(capaReply(['USER']));
      await c.readLine(2000).catch(() => undefined);
    }, certs.server);
    for (const host of ['localhost', '127.0.0.1']) {
      const client = await Pop3Client.connect({
        host,
        port: peer.port,
        tlsOptions: trusted,
        timeouts: FAST,
      });
      expect(client.tls?.subject).toBe('localhost');
      expect(client.tls?.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      client.close();
    }
    expect(names[0]).toBe('localhost');
    expect(names[1] || undefined).toBeUndefined();
  });

  it('C11: after STLS the certificate is checked for the host named, an IP address too (not "localhost")', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const checked: string[] = [];
      const peer = await stlsPeer(async (c) => {
        await c.readLine(2000).catch(() => undefined);
      });
      const client = await connect(peer.port, {
        host,
        tlsOptions: {
          ...trusted,
          checkServerIdentity: (name, cert) => {
            checked.push(name);
            return tls.checkServerIdentity(name, cert);
          },
        },
      });
      expect(client.secure).toBe(true);
      client.close();
      // With a socket to wrap and no SNI name (none for an IP), Node checks "localhost" unless told the host.
      expect(checked).toEqual([host]);
    }
  });

  it('extraCa trusts a CA besides the built-in roots, for implicit TLS and after STLS', async () => {
    const script = async (c: ScriptedConn) => {
      c.send('+OK ready\r\n');
      await c.expect('CAPA');
      c.send(capaReply(['USER']));
      await c.readLine(2000).catch(() => undefined);
    };
    const implicit = await peerWith(script, certs.server);
    const client = await connectTo(implicit.port, { extraCa: [certs.ca] });
    expect(client.secure).toBe(true);
    client.close();
    const stls = await stlsPeer(async (c) => {
      await c.readLine(2000).catch(() => undefined);
    });
    const upgraded = await connect(stls.port, { tlsOptions: {}, extraCa: [certs.ca] });
    expect(upgraded.secure).toBe(true);
    upgraded.close();
    // A certificate it does not name still fails.
    const other = await peerWith(script, certs.selfSigned);
    const err = await failure(connectTo(other.port, { extraCa: [certs.ca] }));
    expect(err.code).toBe('ETLS');
    expect(err.message).toMatch(/self-signed/);
  });

  it('C11: STLS upgrades, discards pre-TLS capabilities, and logs in only under TLS', async () => {
    const peer = await stlsPeer(
      async (c) => {
        await acceptUserPass(c, {
          user: 'alice',
          pass: 'tls-only-secret',
          capa: ['USER', 'UIDL'],
          passReply: '+OK in',
        });
        await c.expect('QUIT');
        c.send('+OK bye\r\n');
        c.end();
      },
      { pre: ['STLS', 'USER', 'X-PRE-TLS-ONLY'], post: ['USER'] },
    );
    const trace: TraceEvent[] = [];
    const client = await connect(peer.port, { auth: CREDS, onTrace: (e) => trace.push(e) });
    expect(client.secure).toBe(true);
    expect(client.capabilities.names).toEqual(['USER', 'UIDL']);
    await client.quit();
    await peer.done;
    const lines = trace.map((e) => `${e.dir} ${e.line}`);
    // The cleartext part ends at STLS; the credentials come after the TLS line.
    expect(lines.indexOf('C STLS')).toBeLessThan(lines.findIndex((l) => l.startsWith('* TLS')));
    expect(lines.findIndex((l) => l.startsWith('* TLS'))).toBeLessThan(lines.indexOf('C USER alice'));
    expect(lines).toContain('C PASS ***');
    expect(JSON.stringify(trace)).not.toContain(CREDS.pass);
  });

  it('client case 22: CAPA -ERR while TLS is required aborts before credentials', async () => {
    let connections = 0;
    const peer = await peerWith(async (c) => {
      connections++;
      c.send('+OK ready\r\n');
      await c.expect('CAPA');
      c.send('-ERR what is CAPA\r\n');
      await c.closedByClient(2000);
    });
    const err = await failure(connect(peer.port, { auth: CREDS, allowInsecureAuth: true }));
    expect(err.code).toBe('ETLS');
    expect(await sentBy(peer)).toBe('CAPA\r\n');
    expect(connections).toBe(1);
  });

  it('client case 23: no STLS in CAPA aborts before credentials', async () => {
    const peer = await peerWith(async (c) => {
      await sendOpening(c, { greeting: '+OK ready', capa: ['USER', 'SASL PLAIN', 'PIPELINING'] });
      await c.closedByClient(2000);
    });
    const err = await failure(connect(peer.port, { auth: CREDS, allowInsecureAuth: true }));
    expect(err.code).toBe('ETLS');
    expect(err.message).toMatch(/does not offer STLS/);
    expect(await sentBy(peer)).toBe('CAPA\r\n');
  });

  it('client case 24: STLS answered -ERR aborts once: no retry, no loop', async () => {
    let connections = 0;
    const peer = await peerWith(async (c) => {
      connections++;
      c.send('+OK ready\r\n');
      await c.expect('CAPA');
      c.send(capaReply(['STLS', 'USER']));
      await c.expect('STLS');
      c.send('-ERR [SYS/TEMP] TLS unavailable\r\n');
      await c.closedByClient(2000);
    });
    const err = await failure(connect(peer.port, { auth: CREDS, allowInsecureAuth: true }));
    expect(err.code).toBe('ETLS');
    expect(err.command).toBe('STLS');
    expect(await sentBy(peer)).toBe('CAPA\r\nSTLS\r\n');
    await sleep(100);
    expect(connections).toBe(1);
  });

  it('client case 25: bytes after the STLS +OK abort the connection, whether in the same segment or just after', async () => {
    // Same segment: the bytes are in the read buffer when TLS would start.
    const same = await peerWith(async (c) => {
      await sendOpening(c, { greeting: '+OK ready', capa: ['STLS', 'USER'] });
      await c.expect('STLS');
      c.send('+OK begin TLS\r\nX');
      await c.closedByClient(2000);
    });
    const err = await failure(connect(same.port, { auth: CREDS }));
    expect(err.code).toBe('EPROTOCOL');
    expect(await sentBy(same)).toBe('CAPA\r\nSTLS\r\n'); // not even a ClientHello

    // Next segment: the client has started TLS, so the plaintext meets the TLS parser and fails it.
    const next = await peerWith(async (c) => {
      await sendOpening(c, { greeting: '+OK ready', capa: ['STLS', 'USER'] });
      await c.expect('STLS');
      c.socket.setNoDelay(true);
      c.send('+OK begin TLS\r\n');
      await sleep(5);
      c.send('+OK\r\nUSER\r\n.\r\n');
      await c.closedByClient(2000);
    });
    const err2 = await failure(connect(next.port, { auth: CREDS }));
    expect(['ETLS', 'EPROTOCOL']).toContain(err2.code);
    expect(await sentBy(next)).not.toMatch(NO_CREDENTIALS);
  });

  it('client case 26: CAPA changes after TLS: only the post-TLS list is used', async () => {
    const peer = await stlsPeer(
      async (c) => {
        // Pre-TLS CAPA offered SASL PLAIN and RESP-CODES; now only USER: the client must use it,
        // and "[AUTH]" is plain text because RESP-CODES is gone.
        await c.expect('USER alice');
        c.send('+OK\r\n');
        await c.expect('PASS tls-only-secret');
        c.send('-ERR [AUTH] rejected\r\n');
        await c.closedByClient(2000);
      },
      {
        pre: ['STLS', 'SASL PLAIN', 'RESP-CODES', 'PIPELINING', 'USER'],
        post: ['USER', 'IMPLEMENTATION post-tls'],
      },
    );
    const err = await failure(connect(peer.port, { auth: CREDS }));
    expect(err.code).toBe('EAUTH');
    expect(err.command).toBe('PASS ***');
    expect(err.responseCode).toBeUndefined();
    expect(err.response).toBe('[AUTH] rejected');
    await peer.done;

    const ok = await stlsPeer(async (c) => void (await c.readLine(2000).catch(() => undefined)), {
      pre: ['STLS', 'PIPELINING', 'RESP-CODES', 'SASL PLAIN'],
      post: ['USER', 'TOP'],
    });
    const client = await connect(ok.port);
    expect(client.capabilities.names).toEqual(['USER', 'TOP']);
    expect(client.capabilities.pipelining).toBe(false);
    expect(client.capabilities.responseCodes).toBe(false);
    client.close();
  });

  it('client case 27: a server that stalls after the STLS +OK hits the handshake timeout', async () => {
    const peer = await peerWith(async (c) => {
      await sendOpening(c, { greeting: '+OK ready', capa: ['STLS', 'USER'] });
      await c.expect('STLS');
      c.send('+OK begin TLS\r\n');
      await c.closedByClient(3000); // never answers the ClientHello
    });
    const started = Date.now();
    const err = await failure(connect(peer.port, { auth: CREDS, timeouts: { ...FAST, connect: 300 } }));
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.message).toMatch(/handshake/);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await sentBy(peer)).not.toMatch(NO_CREDENTIALS);

    // The same for implicit TLS: a port that accepts TCP and then says nothing.
    const silent = net.createServer((s) => s.on('error', () => {}).resume());
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const err2 = await failure(
      Pop3Client.connect({
        host: '127.0.0.1',
        port: (silent.address() as AddressInfo).port,
        tlsOptions: trusted,
        timeouts: { ...FAST, connect: 300 },
      }),
    );
    expect(err2.code).toBe('ETIMEDOUT');
  });

  it('client case 28: self-signed, unknown root, wrong host name and expired certificates fail closed; nothing is remembered', async () => {
    const cases: [string, KeyPair, tls.ConnectionOptions, RegExp][] = [
      ['self-signed', certs.selfSigned, trusted, /self-signed/],
      ['unknown root', certs.server, {}, /local issuer|verify the first certificate/],
      ['wrong host name', certs.wrongHost, trusted, /altnames|does not match/],
      ['expired', certs.expired, trusted, /expired/],
    ];
    for (const [name, key, tlsOptions, why] of cases) {
      const received: string[] = [];
      const peer = await peerWith(async (c) => {
        c.send('+OK ready\r\n');
        await c.closedByClient(2000);
        received.push(c.received.toString('latin1'));
      }, key);
      // Twice: a failure must not be turned into an exception for the next attempt.
      for (let i = 0; i < 2; i++) {
        const err = await failure(
          Pop3Client.connect({
            host: '127.0.0.1',
            port: peer.port,
            tlsOptions,
            auth: CREDS,
            timeouts: FAST,
          }),
        );
        expect(err.code, name).toBe('ETLS');
        expect(err.message, name).toMatch(why);
      }
      await sleep(50);
      expect(received.join(''), name).toBe('');
    }

    // The same checks apply to the certificate met after STLS.
    const stls = await peerWith(async (c) => {
      await sendOpening(c, { greeting: '+OK ready', capa: ['STLS', 'USER'] });
      await c.expect('STLS');
      c.send('+OK begin TLS\r\n');
      await c.startTls({ ...certs.expired });
      await c.closedByClient(2000);
    });
    const err = await failure(connect(stls.port, { auth: CREDS }));
    expect(err.code).toBe('ETLS');
    expect(await sentBy(stls)).toBe('CAPA\r\nSTLS\r\n');
  });

  it('client case 29: a plaintext answer on the implicit TLS port fails', async () => {
    let connections = 0;
    const peer = await peerWith(async (c) => {
      connections++;
      c.send('+OK POP3 in cleartext\r\n');
      await c.closedByClient(2000);
    });
    const err = await failure(
      Pop3Client.connect({ host: '127.0.0.1', port: peer.port, auth: CREDS, timeouts: FAST }),
    );
    expect(err.code).toBe('ETLS');
    const sent = await sentBy(peer);
    expect(sent.charCodeAt(0)).toBe(0x16); // a TLS handshake record, nothing else
    expect(sent).not.toMatch(/CAPA|USER|PASS/);
    await sleep(50);
    expect(connections).toBe(1);
  });

  it('C12: a failed TLS handshake never falls back to cleartext', async () => {
    // Counted at the TCP level: a fallback would be a second connection.
    let connections = 0;
    const server = tls.createServer({ ...certs.selfSigned }, (s) => s.on('error', () => {}).resume());
    server.on('connection', () => connections++);
    server.on('tlsClientError', () => {});
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    for (const tlsMode of ['implicit', undefined] as const) {
      const err = await failure(
        Pop3Client.connect({
          host: '127.0.0.1',
          port,
          tls: tlsMode,
          tlsOptions: trusted,
          auth: CREDS,
          timeouts: FAST,
        }),
      );
      expect(err.code).toBe('ETLS');
    }
    await sleep(100);
    expect(connections).toBe(2);
  });
});

describe('STARTTLS attack classes (CONFORMANCE §2)', () => {
  it('STLS stripping: with tls "starttls" nothing continues in cleartext, even with allowInsecureAuth', async () => {
    const strip = async (capa: string | null, stls: string | null) => {
      const peer = await peerWith(async (c) => {
        c.send('+OK ready\r\n');
        await c.expect('CAPA');
        c.send(capa ?? '-ERR\r\n');
        if (stls === null) return void (await c.closedByClient(2000));
        await c.expect('STLS');
        c.send(stls);
        await c.closedByClient(2000);
      });
      const err = await failure(connect(peer.port, { auth: CREDS, allowInsecureAuth: true }));
      const sent = await sentBy(peer);
      return { err, sent };
    };
    for (const [capa, stls] of [
      [null, null],
      [capaReply(['USER', 'SASL PLAIN']), null],
      [capaReply(['STLS', 'USER']), '-ERR no\r\n'],
      [capaReply(['STLS', 'USER']), '+OKAY sure\r\n'],
    ] as [string | null, string | null][]) {
      const { err, sent } = await strip(capa, stls);
      expect(['ETLS', 'EPROTOCOL'], `${capa} ${stls}`).toContain(err.code);
      expect(sent).not.toMatch(NO_CREDENTIALS);
      expect(sent.replace(/CAPA\r\n|STLS\r\n/g, '')).toBe('');
    }
  });

  it('STLS response injection: a forged CAPA reply pipelined after +OK is never read', async () => {
    const peer = await peerWith(async (c) => {
      await sendOpening(c, { greeting: '+OK ready', capa: ['STLS', 'SASL SCRAM-SHA-256', 'USER'] });
      await c.expect('STLS');
      // What a man in the middle would like the client to believe after TLS: PLAIN only.
      c.send(`+OK begin TLS\r\n${capaReply(['SASL PLAIN', 'USER'])}`);
      await c.closedByClient(2000);
    });
    const trace: TraceEvent[] = [];
    const err = await failure(connect(peer.port, { auth: CREDS, onTrace: (e) => trace.push(e) }));
    expect(err.code).toBe('EPROTOCOL');
    expect(await sentBy(peer)).toBe('CAPA\r\nSTLS\r\n');
    expect(trace.some((e) => e.line.includes('SASL PLAIN'))).toBe(false);
  });

  it('STLS tampering: pre-TLS state (greeting timestamp, response codes) does not shape the TLS session', async () => {
    const peer = await stlsPeer(async (c) => void (await c.closedByClient(2000)), {
      greeting: 'ready <1896.697170952@dbc.mailcom.example>',
      pre: ['STLS', 'RESP-CODES', 'USER'],
      post: ['USER'],
    });
    // APOP needs the greeting's timestamp, which was seen in cleartext: it must be forgotten.
    const err = await failure(connect(peer.port, { auth: { ...CREDS, mechanism: 'APOP' } }));
    expect(err.code).toBe('EAUTH');
    expect(err.message).toMatch(/timestamp/);
    const c = await peer.conn;
    await c.closedByClient(2000);
    expect(c.received.toString('latin1')).not.toMatch(/APOP/);
  });
});
