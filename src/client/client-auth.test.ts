import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { testCerts } from '../../test/helpers/certs.js';
import {
  acceptUserPass,
  capaReply,
  connectPlain,
  PeerSet,
  failure as pop3Failure,
  sendOpening,
  sentBy,
  sleep,
} from '../../test/helpers/client-peer.js';
import type { ScriptedConn, ScriptedPeer } from '../../test/helpers/scripted-peer.js';
import type { Pop3Error } from '../protocol/errors.js';
import type { ClientOptions } from './options.js';

// CONFORMANCE.md C12 (no fallback), C13 (APOP), C14 (SASL), client cases 30–36, and the
// secrets half of C16: no password, token or SASL payload in traces, errors or err.command.
// C16's pooling half does not apply: pop3kit does not pool connections.

const PASS = 'pw-Correct-Horse-7';
const TOKEN = 'ya29.token-Abc123xyz';
const TIMESTAMP = '<1896.697170952@dbc.mailcom.example>';

// Everything shown to people or logs during this file's tests, and everything secret that went
// on the wire; the last test checks that no secret appears in what was shown.
const shown: string[] = [];
const secrets = new Set<string>([PASS, TOKEN]);
const conns: ScriptedConn[] = [];
const peers = new PeerSet();

/** Record the secret parts of what the client sent: PASS and APOP arguments, AUTH payloads, SASL answers. */
function recordSecrets(received: Buffer): void {
  for (const line of received.toString('latin1').split('\r\n')) {
    const [keyword, ...args] = line.split(' ');
    if (keyword === 'PASS') secrets.add(args.join(' '));
    else if (keyword === 'APOP' || keyword === 'AUTH') {
      if (args[1] && args[1] !== '=') secrets.add(args[1]);
    } else if (!/^[A-Z]{3,4}$/.test(keyword ?? '') && line.length >= 8) secrets.add(line);
  }
}

afterEach(async () => {
  await peers.closeAll();
  for (const c of conns.splice(0)) recordSecrets(c.received);
});

/** A peer running `script` (implicit TLS with `tls`); its connection is kept for the secrets check. */
function peerWith(script: (c: ScriptedConn) => Promise<void>, tls = false): Promise<ScriptedPeer> {
  return peers.start(
    async (c) => {
      conns.push(c);
      await script(c);
    },
    tls ? { ...testCerts().server } : undefined,
  );
}

/** Greeting (with an APOP timestamp), CAPA, then `rest`. */
function serve(capa: string[], rest: (c: ScriptedConn) => Promise<void>, tls = false): Promise<ScriptedPeer> {
  return peerWith(async (c) => {
    await sendOpening(c, { greeting: `+OK POP3 ready ${TIMESTAMP}`, capa });
    await rest(c);
  }, tls);
}

/** A plain client whose trace lines count as shown. */
const connect = (peer: ScriptedPeer, extra: Partial<ClientOptions> = {}) =>
  connectPlain(peer.port, { onTrace: (e) => shown.push(e.line), ...extra });

/** The Pop3Error `p` rejects with; its texts count as shown. */
async function failure(p: Promise<unknown>): Promise<Pop3Error> {
  const e = await pop3Failure(p);
  shown.push(e.message, e.command ?? '', e.stack ?? '', String(e.cause ?? ''));
  return e;
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** A SCRAM server for one exchange (RFC 5802), written here from the RFC so it checks the client independently. */
function scramServer(hash: 'sha1' | 'sha256', password: string) {
  const H = (d: Buffer) => createHash(hash).update(d).digest();
  const HMAC = (k: Buffer, d: string) => createHmac(hash, k).update(d).digest();
  const salt = randomBytes(16);
  let clientFirstBare = '';
  let serverFirst = '';
  let iterations = 4096;
  return {
    clientNonce: '',
    first(clientFirst: string, opts: { nonce?: string; iterations?: number } = {}): string {
      const m = /^n,,(n=[^,]*,r=([^,]+))$/.exec(clientFirst);
      if (!m) throw new Error(`bad client-first ${clientFirst}`);
      clientFirstBare = m[1]!;
      this.clientNonce = m[2]!;
      iterations = opts.iterations ?? 4096;
      serverFirst = `r=${opts.nonce ?? `${this.clientNonce}srv${randomBytes(8).toString('hex')}`},s=${salt.toString('base64')},i=${iterations}`;
      return serverFirst;
    },
    /** Check the client proof; returns `v=` with the server signature. */
    final(clientFinal: string): { proofOk: boolean; serverFinal: string } {
      const m = /^(c=biws,r=[^,]+),p=([^,]+)$/.exec(clientFinal);
      if (!m) throw new Error(`bad client-final ${clientFinal}`);
      const authMessage = `${clientFirstBare},${serverFirst},${m[1]}`;
      const salted = pbkdf2Sync(password, salt, iterations, hash === 'sha1' ? 20 : 32, hash);
      const storedKey = H(HMAC(salted, 'Client Key'));
      const signature = HMAC(storedKey, authMessage);
      const proof = Buffer.from(m[2]!, 'base64');
      const clientKey = Buffer.from(proof.map((b, i) => b ^ (signature[i] ?? 0)));
      const serverSignature = HMAC(HMAC(salted, 'Server Key'), authMessage);
      return {
        proofOk: H(clientKey).equals(storedKey),
        serverFinal: `v=${serverSignature.toString('base64')}`,
      };
    },
  };
}

/** Run a SCRAM-SHA-256 exchange on the peer side; `tamper` may change what the server sends. */
async function scramPeer(
  c: ScriptedConn,
  tamper: {
    nonce?: (client: string) => string;
    iterations?: number;
    final?: (v: string) => string | null;
  } = {},
): Promise<{ proofOk: boolean }> {
  const server = scramServer('sha256', PASS);
  const line = await c.expect(/^AUTH SCRAM-SHA-256 \S+$/);
  const clientFirst = unb64(line.split(' ')[2]!);
  const nonce = /r=([^,]+)$/.exec(clientFirst)?.[1] ?? '';
  c.send(
    `+ ${b64(server.first(clientFirst, { nonce: tamper.nonce?.(nonce), iterations: tamper.iterations }))}\r\n`,
  );
  const answer = await c.readLine();
  if (answer === '*' || answer === undefined) return { proofOk: false };
  const { proofOk, serverFinal } = server.final(unb64(answer));
  const final = tamper.final ? tamper.final(serverFinal) : serverFinal;
  if (final === null) {
    c.send('+OK logged in\r\n'); // success without ever sending v=
    return { proofOk };
  }
  c.send(`+ ${b64(final)}\r\n`);
  const empty = await c.readLine();
  if (empty === '') c.send('+OK logged in\r\n');
  return { proofOk };
}

describe('C12–C14: choosing and running a login', () => {
  it('C14: the strongest offered mechanism is chosen: SCRAM-SHA-256, with the server signature verified', async () => {
    let proof = false;
    const peer = await serve(['USER', 'SASL LOGIN PLAIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256'], async (c) => {
      proof = (await scramPeer(c)).proofOk;
      await c.expect('CAPA');
      c.send(capaReply(['USER', 'PIPELINING']));
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(peer, { auth: { user: 'alice', pass: PASS } });
    expect(client.mechanism).toBe('SCRAM-SHA-256');
    expect(proof).toBe(true);
    expect(client.capabilities.pipelining).toBe(true);
    client.close();
  });

  it('C14: with a token, OAUTHBEARER is preferred over XOAUTH2 and PLAIN', async () => {
    const peer = await serve(['SASL PLAIN XOAUTH2 OAUTHBEARER'], async (c) => {
      const line = await c.expect(/^AUTH OAUTHBEARER \S+$/);
      expect(unb64(line.split(' ')[2]!)).toBe(`n,a=alice,\x01auth=Bearer ${TOKEN}\x01\x01`);
      c.send('+OK\r\n');
      await c.expect('CAPA');
      c.send(capaReply(['USER']));
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(peer, { auth: { user: 'alice', accessToken: TOKEN } });
    expect(client.mechanism).toBe('OAUTHBEARER');
    client.close();
    await peer.done;
  });

  it('C14: PLAIN is used under TLS, and its initial response is dropped when AUTH would exceed 255 octets', async () => {
    const long = `${PASS}-${'x'.repeat(200)}`;
    const lines: string[] = [];
    const peer = await serve(
      ['SASL PLAIN'],
      async (c) => {
        lines.push(await c.expect(/^AUTH PLAIN/));
        if (lines[0] === 'AUTH PLAIN') c.send('+ \r\n');
        const payload = lines[0] === 'AUTH PLAIN' ? await c.readLine() : lines[0]!.split(' ')[2];
        lines.push(unb64(payload ?? ''));
        c.send('+OK\r\n');
        await c.expect('CAPA');
        c.send(capaReply(['USER']));
        await c.readLine(2000).catch(() => undefined);
      },
      true,
    );
    for (const pass of [PASS, long]) {
      lines.length = 0;
      const client = await connect(peer, {
        tls: 'implicit',
        allowInsecureAuth: false,
        tlsOptions: { ca: testCerts().ca },
        auth: { user: 'alice', pass },
      });
      expect(client.mechanism).toBe('PLAIN');
      expect(lines).toEqual([
        pass === PASS ? `AUTH PLAIN ${b64(`\0alice\0${pass}`)}` : 'AUTH PLAIN',
        `\0alice\0${pass}`,
      ]);
      client.close();
      await sleep(20);
    }
  });

  it('C14: an XOAUTH2 error challenge is answered with an empty line', async () => {
    const answers: (string | undefined)[] = [];
    const peer = await serve(['SASL XOAUTH2'], async (c) => {
      await c.expect('AUTH XOAUTH2');
      c.send('+ \r\n');
      answers.push(unb64((await c.readLine()) ?? ''));
      c.send(`+ ${b64('{"status":"401","schemes":"bearer","scope":"https://mail.example/"}')}\r\n`);
      answers.push(await c.readLine());
      c.send('-ERR [AUTH] invalid token\r\n');
      await c.closedByClient(2000);
    });
    const err = await failure(connect(peer, { auth: { user: 'alice', accessToken: TOKEN } }));
    expect(err.code).toBe('EAUTH');
    expect(answers).toEqual([`user=alice\x01auth=Bearer ${TOKEN}\x01\x01`, '']);
  });

  it('C12: a failed SCRAM login does not fall back to PLAIN, LOGIN or USER', async () => {
    const peer = await serve(['USER', 'SASL PLAIN LOGIN SCRAM-SHA-256'], async (c) => {
      await c.expect(/^AUTH SCRAM-SHA-256 /);
      c.send('-ERR [AUTH] authentication failed\r\n');
      await c.closedByClient(2000);
    });
    const err = await failure(connect(peer, { auth: { user: 'alice', pass: PASS } }));
    expect(err.code).toBe('EAUTH');
    const sent = await sentBy(peer);
    expect(sent).toMatch(/^CAPA\r\nAUTH SCRAM-SHA-256 \S+\r\n$/);
  });

  it('C12: a failed APOP or PLAIN login does not fall back to USER/PASS', async () => {
    for (const mechanism of ['APOP', 'PLAIN']) {
      const peer = await serve(['USER', 'SASL PLAIN LOGIN'], async (c) => {
        await c.expect(new RegExp(`^(${mechanism}|AUTH ${mechanism}) `));
        c.send('-ERR nope\r\n');
        await c.closedByClient(2000);
      });
      const err = await failure(connect(peer, { auth: { user: 'alice', pass: PASS, mechanism } }));
      expect(err.code, mechanism).toBe('EAUTH');
      const sent = (await sentBy(peer)).split('\r\n').filter(Boolean);
      expect(sent.length, mechanism).toBe(2);
      expect(sent.join('\n')).not.toMatch(/USER|PASS|LOGIN/);
    }
  });

  it('C13: APOP is opt-in: a greeting timestamp alone does not select it', async () => {
    const peer = await serve(['USER'], async (c) => {
      await acceptUserPass(c, { user: 'alice', pass: PASS, capa: ['USER'] });
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(peer, { auth: { user: 'alice', pass: PASS } });
    expect(client.mechanism).toBe('USER');
    client.close();
  });

  it('C13: when asked for, APOP sends the lowercase hex MD5 of timestamp and secret', async () => {
    const digest = createHash('md5').update(`${TIMESTAMP}${PASS}`).digest('hex');
    const peer = await serve(['USER'], async (c) => {
      await c.expect(`APOP alice ${digest}`);
      c.send('+OK\r\n');
      await c.expect('CAPA');
      c.send(capaReply(['USER']));
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(peer, { auth: { user: 'alice', pass: PASS, mechanism: 'APOP' } });
    expect(client.mechanism).toBe('APOP');
    client.close();
    await peer.done;
  });
});

describe('adversarial server: login (client cases 30–36)', () => {
  it('client case 30: APOP timestamps with no @, control bytes, non-ASCII or nested < are refused; parsing stays linear', async () => {
    for (const stamp of [
      '<1896.697170952.dbc.example>',
      '<1896.\x01@dbc>',
      '<1896.\u00e9@dbc>',
      '<<1896@dbc>>',
      '<a@b@c>',
    ]) {
      const peer = await peerWith(async (c) => {
        await sendOpening(c, { greeting: `+OK ready ${stamp}`, capa: ['USER'] });
        await c.closedByClient(2000);
      });
      const err = await failure(connect(peer, { auth: { user: 'alice', pass: PASS, mechanism: 'APOP' } }));
      expect(err.code, JSON.stringify(stamp)).toBe('EAUTH');
      expect(err.message).toMatch(/timestamp/);
      expect(await sentBy(peer)).toBe('CAPA\r\n');
    }
    // A 4 MiB greeting made to trip a backtracking parser: answered (refused) in linear time.
    const hostile = `<${'<@'.repeat(1024 * 1024)}`;
    const peer = await peerWith(async (c) => {
      await sendOpening(c, { greeting: `+OK ${hostile}`, capa: ['USER'] });
      await c.closedByClient(5000);
    });
    const started = Date.now();
    const err = await failure(
      connect(peer, {
        limits: { maxLineLength: 8 * 1024 * 1024 },
        auth: { user: 'alice', pass: PASS, mechanism: 'APOP' },
      }),
    );
    expect(err.code).toBe('EAUTH');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('client case 31: bad base64 in a challenge is answered with "*", and the -ERR that follows fails the login', async () => {
    let answer: string | undefined;
    const peer = await serve(['SASL CRAM-MD5'], async (c) => {
      await c.expect('AUTH CRAM-MD5');
      c.send('+ not*base64!\r\n');
      answer = await c.readLine();
      c.send('-ERR cancelled\r\n');
      await c.closedByClient(2000);
    });
    const err = await failure(connect(peer, { auth: { user: 'alice', pass: PASS } }));
    expect(answer).toBe('*');
    expect(err.code).toBe('EPROTOCOL');
    expect(err.message).toMatch(/base64/);
  });

  it('a reply sent with a challenge, before the answer to it, is a protocol error, not a login', async () => {
    let afterAuth: string | undefined;
    const peer = await serve(['SASL LOGIN'], async (c) => {
      await c.expect('AUTH LOGIN');
      // Both challenges and the +OK in one write: the server "accepts" before it has the password.
      c.send(`+ ${b64('Username:')}\r\n+ ${b64('Password:')}\r\n+OK logged in\r\n`);
      await c.closedByClient(2000);
      afterAuth = c.received.toString('latin1').split('AUTH LOGIN\r\n')[1];
    });
    const err = await failure(connect(peer, { auth: { user: 'alice', pass: PASS, mechanism: 'LOGIN' } }));
    expect(err.code).toBe('EPROTOCOL');
    expect(err.message).toMatch(/before the answer to its SASL challenge/);
    await peer.done;
    expect(afterAuth).toBe(''); // not even the user name was sent
    // One round at a time, the same exchange logs in.
    const fair = await serve(['SASL LOGIN'], async (c) => {
      await c.expect('AUTH LOGIN');
      c.send(`+ ${b64('Username:')}\r\n`);
      await c.expect(b64('alice'));
      c.send(`+ ${b64('Password:')}\r\n`);
      await c.expect(b64(PASS));
      c.send('+OK logged in\r\n');
      await c.expect('CAPA');
      c.send(capaReply(['USER']));
      await c.readLine(2000).catch(() => undefined);
    });
    const client = await connect(fair, { auth: { user: 'alice', pass: PASS, mechanism: 'LOGIN' } });
    expect(client.mechanism).toBe('LOGIN');
    client.close();
  });

  it('client case 32: 1,000 challenge rounds stop at the round cap', async () => {
    let rounds = 0;
    const peer = await serve(['SASL LOGIN'], async (c) => {
      await c.expect('AUTH LOGIN');
      for (; rounds < 1000; rounds++) {
        c.send(`+ ${b64(rounds % 2 ? 'Password:' : 'Username:')}\r\n`);
        if ((await c.readLine(2000)) === undefined) break;
      }
    });
    const err = await failure(
      connect(peer, { limits: { maxSaslRounds: 6 }, auth: { user: 'alice', pass: PASS } }),
    );
    expect(err.code).toBe('ELIMIT');
    expect(err.message).toMatch(/more than 6 SASL challenges/);
    await peer.done;
    expect(rounds).toBeLessThanOrEqual(7);
  });

  it('client case 33: DIGEST-MD5 and NTLM are not implemented: never chosen, refused when asked, nothing sent', async () => {
    const offered = ['SASL DIGEST-MD5 NTLM GSSAPI'];
    for (const mechanism of [undefined, 'DIGEST-MD5', 'NTLM']) {
      const peer = await serve(offered, async (c) => void (await c.closedByClient(2000)));
      const err = await failure(connect(peer, { auth: { user: 'alice', pass: PASS, mechanism } }));
      expect(err.code, mechanism).toBe('EAUTH');
      expect(await sentBy(peer)).toBe('CAPA\r\n');
    }
  });

  it('client case 34: SCRAM with a bad nonce, i=0, i=10^9, a bad v=, or +OK without v= aborts', async () => {
    const variants: [string, Parameters<typeof scramPeer>[1], string][] = [
      ['nonce not extending ours', { nonce: () => 'someone-elses-nonce' }, 'EAUTH'],
      ['nonce equal to ours', { nonce: (n) => n }, 'EAUTH'],
      ['i=0', { iterations: 0 }, 'EPROTOCOL'],
      ['i=10^9', { iterations: 1_000_000_000 }, 'EAUTH'],
      ['bad v=', { final: () => `v=${b64(randomBytes(32))}` }, 'EAUTH'],
      ['e= instead of v=', { final: () => 'e=other-error' }, 'EAUTH'],
      ['+OK without v=', { final: () => null }, 'EAUTH'],
    ];
    for (const [name, tamper, code] of variants) {
      const peer = await serve(['SASL SCRAM-SHA-256'], async (c) => {
        await scramPeer(c, tamper);
        c.send('-ERR [AUTH] failed\r\n');
        await c.closedByClient(2000);
      });
      const started = Date.now();
      const err = await failure(connect(peer, { auth: { user: 'alice', pass: PASS } }));
      expect(err.code, name).toBe(code);
      expect(Date.now() - started, name).toBeLessThan(1500); // i=10^9 was refused, not computed
      expect(await sentBy(peer), name).not.toMatch(/CAPA\r\n.*CAPA/s); // never went on as logged in
    }

    // The same through login() on an open connection: an unverified +OK must close it.
    const peer = await serve(['SASL SCRAM-SHA-256'], async (c) => {
      await scramPeer(c, { final: () => null });
      await c.closedByClient(2000);
    });
    const client = await connect(peer);
    const err = await failure(client.login({ user: 'alice', pass: PASS }));
    expect(err.code).toBe('EAUTH');
    expect(client.closed).toBe(true);
    expect((await failure(client.stat())).code).not.toBe('ESERVER');
  });

  it('client case 35: an OAUTHBEARER error challenge is answered AQ==; oversized challenges are capped', async () => {
    let answer: string | undefined;
    const peer = await serve(['SASL OAUTHBEARER'], async (c) => {
      await c.expect(/^AUTH OAUTHBEARER \S+$/);
      c.send(`+ ${b64('{"status":"invalid_token","scope":"pop"}')}\r\n`);
      answer = await c.readLine();
      c.send('-ERR [AUTH] invalid token\r\n');
      await c.closedByClient(2000);
    });
    const err = await failure(connect(peer, { auth: { user: 'alice', accessToken: TOKEN } }));
    expect(answer).toBe('AQ==');
    expect(err.code).toBe('EAUTH');

    // 1 MiB of challenge: the line cap stops it first (default limits) ...
    const huge = await serve(['SASL OAUTHBEARER'], async (c) => {
      await c.expect(/^AUTH OAUTHBEARER /);
      c.send(`+ ${b64(Buffer.alloc(768 * 1024, '{'))}\r\n`);
      await c.closedByClient(2000);
    });
    expect((await failure(connect(huge, { auth: { user: 'alice', accessToken: TOKEN } }))).code).toBe(
      'ELIMIT',
    );

    // ... and with long lines allowed, the SASL challenge cap does: "*", then the error.
    let cancel: string | undefined;
    const big = await serve(['SASL OAUTHBEARER'], async (c) => {
      await c.expect(/^AUTH OAUTHBEARER /);
      c.send(`+ ${b64(Buffer.alloc(64 * 1024, '{'))}\r\n`);
      cancel = await c.readLine();
      c.send('-ERR cancelled\r\n');
      await c.closedByClient(2000);
    });
    const err2 = await failure(
      connect(big, { limits: { maxLineLength: 1024 * 1024 }, auth: { user: 'alice', accessToken: TOKEN } }),
    );
    expect(cancel).toBe('*');
    expect(err2.code).toBe('ELIMIT');
  });

  it('client case 36: [IN-USE] and [LOGIN-DELAY] are temporary; only [AUTH] means bad credentials', async () => {
    const expected: [string, boolean][] = [
      ['IN-USE', true],
      ['LOGIN-DELAY', true],
      ['AUTH', false],
    ];
    for (const [code, temporary] of expected) {
      const peer = await serve(['USER', 'RESP-CODES', 'AUTH-RESP-CODE'], async (c) => {
        await c.expect('USER alice');
        c.send('+OK\r\n');
        await c.expect(/^PASS /);
        c.send(`-ERR [${code}] go away\r\n`);
        await c.closedByClient(2000);
      });
      const err = await failure(connect(peer, { auth: { user: 'alice', pass: PASS } }));
      expect(err.code, code).toBe('EAUTH');
      expect(err.responseCode).toBe(code);
      expect(err.temporary, code).toBe(temporary);
      expect(err.response).toBe('go away');
      expect(err.command).toBe('PASS ***');
    }
  });
});

describe('C16 (secrets half)', () => {
  it('C16: no password, token or SASL payload appears in traces, error messages or err.command', async () => {
    // Failures of every kind, each with the secret in play; the earlier tests of this file add theirs.
    const logins: [string[], Partial<ClientOptions>['auth'], (c: ScriptedConn) => Promise<void>][] = [
      [
        ['USER'],
        { user: 'alice', pass: PASS },
        async (c) => {
          await c.expect('USER alice');
          c.send('+OK\r\n');
          await c.expect(`PASS ${PASS}`);
          c.send('-ERR [AUTH] wrong\r\n');
        },
      ],
      [
        ['SASL PLAIN'],
        { user: 'alice', pass: PASS },
        async (c) => {
          await c.expect(/^AUTH PLAIN /);
          c.send('-ERR [AUTH] no\r\n');
        },
      ],
      [
        ['SASL LOGIN'],
        { user: 'alice', pass: PASS },
        async (c) => {
          await c.expect('AUTH LOGIN');
          c.send(`+ ${b64('Username:')}\r\n`);
          await c.readLine();
          c.send(`+ ${b64('Password:')}\r\n`);
          await c.readLine();
          c.send('-ERR no\r\n');
        },
      ],
      [
        ['SASL CRAM-MD5'],
        { user: 'alice', pass: PASS },
        async (c) => {
          await c.expect('AUTH CRAM-MD5');
          c.send(`+ ${b64('<1.2@host>')}\r\n`);
          await c.readLine();
          c.send('-ERR no\r\n');
        },
      ],
      [
        ['SASL XOAUTH2'],
        { user: 'alice', accessToken: TOKEN, xoauth2InitialResponse: true },
        async (c) => {
          await c.readLine();
          c.send('-ERR no\r\n');
        },
      ],
      [['USER'], { user: 'alice', pass: `${PASS}\r\nDELE 1` }, async () => {}],
      [['USER'], { user: 'alice', pass: `${PASS}${'y'.repeat(300)}` }, async () => {}],
    ];
    for (const [capa, auth, script] of logins) {
      const peer = await serve(capa, async (c) => {
        await script(c);
        await c.closedByClient(2000);
      });
      const err = await failure(connect(peer, { auth }));
      expect(['EAUTH', 'EARGUMENT', 'ESERVER']).toContain(err.code);
      recordSecrets(Buffer.from(await sentBy(peer), 'latin1'));
    }
    expect(shown.length).toBeGreaterThan(50);
    expect(secrets.size).toBeGreaterThan(8);
    for (const secret of secrets) {
      for (const text of shown) {
        if (text.includes(secret))
          throw new Error(`secret ${JSON.stringify(secret)} shown in ${JSON.stringify(text)}`);
      }
    }
  });
});
