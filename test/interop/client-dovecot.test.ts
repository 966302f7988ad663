// Our client against a real Dovecot pop3d: every transport, every mechanism Dovecot offers,
// and every seeded message byte-for-byte equal to the file in the Maildir in wire form.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { type ClientOptions, Pop3Client, Pop3Error, type TraceEvent } from '../../src/index.js';
import { emptyMaildir, generateMessages, toWireForm, writeMaildir } from '../fixtures/mail-generator.js';

const peer = inject('dovecot');
const user = (name: string) => {
  const u = peer.users.find((x) => x.user === name);
  if (!u) throw new Error(`no peer user ${name}`);
  return u;
};

function options(mode: 'plain' | 'starttls' | 'implicit', extra: Partial<ClientOptions> = {}): ClientOptions {
  return {
    host: '127.0.0.1',
    port: mode === 'implicit' ? peer.tlsPort : peer.plainPort,
    tls: mode === 'plain' ? 'none' : mode,
    tlsOptions: { ca: peer.caPem, servername: peer.certHostname },
    allowInsecureAuth: mode === 'plain',
    timeouts: { command: 30_000, idle: 30_000 },
    ...extra,
  };
}

/** The stored file behind a Dovecot UIDL (pop3_uidl_format = %f: the Maildir base name). */
function storedFile(maildir: string, uid: string): Buffer {
  for (const sub of ['cur', 'new']) {
    for (const name of readdirSync(join(maildir, sub))) {
      if (name === uid || name.startsWith(`${uid}:`)) return readFileSync(join(maildir, sub, name));
    }
  }
  throw new Error(`no file for UID ${uid}`);
}

describe('client against Dovecot', () => {
  const bob = user('bob');

  for (const mode of ['plain', 'starttls', 'implicit'] as const) {
    for (const mechanism of ['USER', 'PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'APOP']) {
      // APOP's timestamp comes from the greeting, which STLS makes stale (RFC 2595 §4).
      if (mechanism === 'APOP' && mode === 'starttls') continue;
      it(`${mode}: logs in with ${mechanism} and reads STAT`, async () => {
        const client = await Pop3Client.connect(
          options(mode, { auth: { user: bob.user, pass: bob.pass, mechanism } }),
        );
        expect(client.mechanism).toBe(mechanism);
        expect(client.secure).toBe(mode !== 'plain');
        expect((await client.stat()).count).toBe(5);
        await client.quit();
      });
    }
  }

  it('chooses the strongest mechanism by itself (SCRAM-SHA-256) over TLS', async () => {
    const client = await Pop3Client.connect(
      options('implicit', { auth: { user: bob.user, pass: bob.pass } }),
    );
    expect(client.mechanism).toBe('SCRAM-SHA-256');
    expect(client.tls?.version).toMatch(/TLSv1\.[23]/);
    await client.quit();
  });

  it('a wrong password fails with EAUTH and no fallback to another mechanism', async () => {
    const trace: TraceEvent[] = [];
    const err = await Pop3Client.connect(
      options('implicit', {
        auth: { user: bob.user, pass: 'wrong-password' },
        onTrace: (e) => trace.push(e),
      }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Pop3Error);
    expect((err as Pop3Error).code).toBe('EAUTH');
    expect(trace.filter((e) => e.dir === 'C' && /^(AUTH|USER|APOP)/.test(e.line))).toHaveLength(1);
    expect(JSON.stringify(trace)).not.toContain('wrong-password');
  });

  it('TOP returns the headers, the blank line and n body lines', async () => {
    const client = await Pop3Client.connect(
      options('implicit', { auth: { user: bob.user, pass: bob.pass } }),
    );
    const uid = (await client.uidl(1)).uid;
    const whole = toWireForm(storedFile(join(peer.dir, 'mail', bob.user), uid));
    const top = await client.topBuffer(1, 2);
    const headerEnd = whole.indexOf('\r\n\r\n') + 4;
    const bodyLines = whole.subarray(headerEnd).toString('latin1').split('\r\n').slice(0, 2);
    expect(top.toString('latin1')).toBe(
      `${whole.subarray(0, headerEnd).toString('latin1')}${bodyLines.join('\r\n')}\r\n`,
    );
    await client.quit();
  });

  it('DELE then RSET keeps the message; DELE then QUIT removes it', async () => {
    const carol = user('carol');
    const maildir = peer.users.find((u) => u.user === 'carol')!.maildir;
    await emptyMaildir(maildir); // interop files run in any order; another may have left carol mail
    await writeMaildir(maildir, generateMessages({ preset: 'sized', count: 3, size: 1000 }));
    const login = () =>
      Pop3Client.connect(options('implicit', { auth: { user: carol.user, pass: carol.pass } }));

    let client = await login();
    expect((await client.stat()).count).toBe(3);
    await client.dele(1);
    expect((await client.stat()).count).toBe(2);
    await client.rset();
    expect((await client.stat()).count).toBe(3);
    const doomed = (await client.uidl(2)).uid;
    await client.dele(2);
    await client.quit();

    client = await login();
    const uids = (await client.uidl()).map((u) => u.uid);
    expect(uids).toHaveLength(2);
    expect(uids).not.toContain(doomed);
    await client.quit();
  });

  it('retrieves every seeded message byte-for-byte, pipelined, in far fewer round trips than messages', async () => {
    const alice = user('alice');
    const trace: TraceEvent[] = [];
    const client = await Pop3Client.connect(
      options('implicit', { auth: { user: alice.user, pass: alice.pass }, onTrace: (e) => trace.push(e) }),
    );
    expect(client.capabilities.pipelining).toBe(true);
    const uids = await client.uidl();
    expect(uids.length).toBeGreaterThan(2000);
    const sizes = new Map((await client.list()).map((m) => [m.n, m.octets]));
    let checked = 0;
    for await (const m of client.retrieveMany(
      uids.map((u) => u.n),
      { window: 64 },
    )) {
      const parts: Buffer[] = [];
      for await (const chunk of m.body) parts.push(chunk as Buffer);
      const got = Buffer.concat(parts);
      const file = storedFile(alice.maildir, m.uid!);
      const want = toWireForm(file);
      if (!got.equals(want)) throw new Error(`message ${m.n} (${m.uid}) differs from its Maildir file`);
      // Dovecot sends the CRLF a file without a final newline lacks, but does not count it in LIST.
      const uncounted = file.length > 0 && file[file.length - 1] !== 0x0a ? 2 : 0;
      expect(got.length - uncounted).toBe(sizes.get(m.n));
      checked++;
    }
    await client.quit();
    expect(checked).toBe(uids.length);

    // Round trips: times the client had no RETR in flight and had to wait for the server.
    let inFlight = 0;
    let maxInFlight = 0;
    let roundTrips = 0;
    for (const e of trace) {
      if (e.dir === 'C' && e.line.startsWith('RETR')) {
        if (inFlight === 0) roundTrips++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
      } else if (e.dir === 'S' && e.body) inFlight--;
    }
    expect(maxInFlight).toBeGreaterThanOrEqual(32);
    expect(roundTrips).toBeLessThan(uids.length / 20);
  });

  it('fails closed on an untrusted (self-signed) certificate and on a wrong host name, before any login', async () => {
    for (const tlsOptions of [{}, { ca: peer.caPem, servername: 'wrong.example' }]) {
      for (const mode of ['implicit', 'starttls'] as const) {
        const trace: TraceEvent[] = [];
        const err = await Pop3Client.connect(
          options(mode, {
            tlsOptions,
            auth: { user: bob.user, pass: bob.pass },
            onTrace: (e) => trace.push(e),
          }),
        ).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(Pop3Error);
        expect((err as Pop3Error).code).toBe('ETLS');
        expect(trace.some((e) => e.dir === 'C' && /^(AUTH|USER|PASS|APOP)/.test(e.line))).toBe(false);
      }
    }
  });
});
