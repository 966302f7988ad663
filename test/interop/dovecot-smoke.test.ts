// Proves the Dovecot peer works, with raw sockets only (independent of our own client), and pins
// the Dovecot behaviours other interop tests rely on: sizes, UIDLs, byte-exact RETR.
import net from 'node:net';
import tls from 'node:tls';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  generateMessages,
  type MailMessage,
  maildirBaseName,
  toWireForm,
} from '../fixtures/mail-generator.js';

const READ_TIMEOUT_MS = 30_000;
const CRLF_DOT_CRLF = Buffer.from('\r\n.\r\n');

/** Reads POP3 responses from a socket: growable buffer, every wait bounded. */
class Wire {
  private data = Buffer.alloc(64 * 1024);
  private len = 0;
  private wake: (() => void) | undefined;
  private ended = false;
  private readonly onData = (chunk: Buffer) => {
    if (this.len + chunk.length > this.data.length) {
      const bigger = Buffer.alloc(Math.max(this.data.length * 2, this.len + chunk.length));
      this.data.copy(bigger, 0, 0, this.len);
      this.data = bigger;
    }
    chunk.copy(this.data, this.len);
    this.len += chunk.length;
    this.wake?.();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.wake?.();
  };

  constructor(readonly sock: net.Socket) {
    sock.on('data', this.onData);
    sock.on('close', this.onEnd);
    sock.on('error', this.onEnd);
  }

  /** Stops listening (before a TLS upgrade takes over the socket); returns unread bytes. */
  detach(): number {
    this.sock.off('data', this.onData);
    this.sock.off('close', this.onEnd);
    this.sock.off('error', this.onEnd);
    return this.len;
  }

  send(text: string): void {
    this.sock.write(text);
  }

  /** Waits until `end(buffer, scanFrom)` finds the end of a unit, then consumes and returns it. */
  private async take(end: (buf: Buffer, from: number) => number): Promise<Buffer> {
    const deadline = Date.now() + READ_TIMEOUT_MS;
    let from = 0;
    for (;;) {
      const stop = end(this.data.subarray(0, this.len), from);
      if (stop >= 0) {
        const unit = Buffer.from(this.data.subarray(0, stop));
        this.data.copy(this.data, 0, stop, this.len);
        this.len -= stop;
        return unit;
      }
      from = Math.max(0, this.len - 4);
      if (this.ended) throw new Error(`connection ended; unread: ${this.data.subarray(0, 200)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete response within ${READ_TIMEOUT_MS} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** One CRLF-terminated line, without the CRLF. */
  async line(): Promise<string> {
    const raw = await this.take((buf, from) => {
      const i = buf.indexOf('\r\n', from);
      return i < 0 ? -1 : i + 2;
    });
    return raw.subarray(0, raw.length - 2).toString('latin1');
  }

  /** The data of a multi-line response up to (not including) the terminating ".\r\n". */
  async block(): Promise<Buffer> {
    const raw = await this.take((buf, from) => {
      if (buf.length >= 3 && buf[0] === 0x2e && buf[1] === 0x0d && buf[2] === 0x0a) return 3;
      const i = buf.indexOf(CRLF_DOT_CRLF, from);
      return i < 0 ? -1 : i + CRLF_DOT_CRLF.length;
    });
    return raw.subarray(0, Math.max(0, raw.length - 3));
  }

  async command(cmd: string): Promise<string> {
    this.send(`${cmd}\r\n`);
    return this.line();
  }
}

/** RFC 1939 §3 unstuffing: a line that starts with '.' loses that first '.'. */
function unstuff(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    const nl = data.indexOf(0x0a, start);
    const end = nl < 0 ? data.length : nl + 1;
    parts.push(data.subarray(data[start] === 0x2e ? start + 1 : start, end));
    start = end;
  }
  return Buffer.concat(parts);
}

function connectPlain(port: number): Promise<Wire> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port }, () => resolve(new Wire(sock)));
    sock.once('error', reject);
  });
}

function connectTls(options: tls.ConnectionOptions): Promise<Wire> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect(options, () => resolve(new Wire(sock)));
    sock.once('error', reject);
  });
}

const peer = inject('dovecot');
const alice = peer.users.find((u) => u.user === 'alice')!;
const aliceSpec = peer.seeded.alice!;

async function loginAlice(): Promise<Wire> {
  const wire = await connectPlain(peer.plainPort);
  expect(await wire.line()).toMatch(/^\+OK/);
  expect(await wire.command('USER alice')).toMatch(/^\+OK/);
  expect(await wire.command(`PASS ${alice.pass}`)).toMatch(/^\+OK/);
  return wire;
}

describe('Dovecot peer (raw sockets)', () => {
  let messages: MailMessage[];
  beforeAll(() => {
    messages = generateMessages(aliceSpec);
  });

  it('greets on the plain port with an APOP timestamp', async () => {
    const wire = await connectPlain(peer.plainPort);
    const greeting = await wire.line();
    expect(greeting).toMatch(/^\+OK .*<[\x21-\x7e]+@[\x21-\x7e]+>$/);
    expect(await wire.command('QUIT')).toMatch(/^\+OK/);
    wire.sock.destroy();
  });

  it('lists STLS, SASL, PIPELINING, UIDL, TOP and USER in CAPA', async () => {
    const wire = await connectPlain(peer.plainPort);
    await wire.line();
    expect(await wire.command('CAPA')).toMatch(/^\+OK/);
    const capa = (await wire.block()).toString('latin1').split('\r\n').filter(Boolean);
    for (const cap of ['STLS', 'PIPELINING', 'UIDL', 'TOP', 'USER', 'RESP-CODES', 'AUTH-RESP-CODE']) {
      expect(capa).toContain(cap);
    }
    const sasl = capa.find((l) => l.startsWith('SASL '))?.split(' ') ?? [];
    expect(sasl).toEqual(
      expect.arrayContaining(['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256']),
    );
    wire.sock.destroy();
  });

  it('serves implicit TLS verified against the generated CA for localhost', async () => {
    const wire = await connectTls({
      host: peer.host,
      port: peer.tlsPort,
      ca: peer.caPem,
      servername: 'localhost',
    });
    expect((wire.sock as tls.TLSSocket).authorized).toBe(true);
    expect(await wire.line()).toMatch(/^\+OK/);
    expect(await wire.command('CAPA')).toMatch(/^\+OK/);
    const capa = (await wire.block()).toString('latin1');
    expect(capa).not.toMatch(/^STLS$/m); // no STLS once TLS is on
    wire.sock.destroy();
  });

  it('fails verification without the CA (the check is real)', async () => {
    await expect(
      connectTls({ host: peer.host, port: peer.tlsPort, servername: 'localhost' }),
    ).rejects.toThrow(/self[- ]signed|unable to (get|verify)/i);
    await expect(
      connectTls({ host: peer.host, port: peer.tlsPort, ca: peer.caPem, servername: 'mail.example.org' }),
    ).rejects.toThrow(/altnames|hostname/i);
  });

  it('upgrades with STLS and logs in over the upgraded stream', async () => {
    const plain = await connectPlain(peer.plainPort);
    await plain.line();
    expect(await plain.command('STLS')).toMatch(/^\+OK/);
    expect(plain.detach()).toBe(0); // nothing may follow +OK in cleartext
    const secure = await connectTls({ socket: plain.sock, ca: peer.caPem, servername: 'localhost' });
    expect((secure.sock as tls.TLSSocket).authorized).toBe(true);
    expect(await secure.command('USER bob')).toMatch(/^\+OK/);
    const bob = peer.users.find((u) => u.user === 'bob')!;
    expect(await secure.command(`PASS ${bob.pass}`)).toMatch(/^\+OK/);
    expect(await secure.command('STAT')).toMatch(/^\+OK 5 \d+$/);
    expect(await secure.command('QUIT')).toMatch(/^\+OK/);
    secure.sock.destroy();
  });

  it('rejects a wrong password with [AUTH]', async () => {
    const wire = await connectPlain(peer.plainPort);
    await wire.line();
    expect(await wire.command('USER alice')).toMatch(/^\+OK/);
    expect(await wire.command('PASS not-the-password')).toMatch(/^-ERR \[AUTH\]/);
    wire.sock.destroy();
  });

  it('logs alice in with USER/PASS; STAT and UIDL match what was seeded', async () => {
    const wire = await loginAlice();
    const stat = (await wire.command('STAT')).split(' ');
    expect(stat[1]).toBe(String(messages.length));
    expect(await wire.command('UIDL')).toMatch(/^\+OK/);
    const uidl = (await wire.block()).toString('latin1').split('\r\n').filter(Boolean);
    expect(uidl).toEqual(messages.map((m, i) => `${i + 1} ${maildirBaseName(i, m.name)}`));
    expect(await wire.command('QUIT')).toMatch(/^\+OK/);
    wire.sock.destroy();
  });

  it('answers pipelined commands in order', async () => {
    const wire = await loginAlice();
    wire.send('NOOP\r\nLIST 1\r\nUIDL 2\r\nRETR 999999\r\nNOOP\r\n');
    expect(await wire.line()).toMatch(/^\+OK/);
    expect(await wire.line()).toMatch(/^\+OK 1 \d+$/);
    expect(await wire.line()).toBe(`+OK 2 ${maildirBaseName(1, messages[1]!.name)}`);
    expect(await wire.line()).toMatch(/^-ERR/);
    expect(await wire.line()).toMatch(/^\+OK/);
    wire.sock.destroy();
  });

  it('RETR gives each edge-case message byte-exact in wire form (and the 20 MiB one)', async () => {
    const wire = await loginAlice();
    expect(await wire.command('LIST')).toMatch(/^\+OK/);
    const sizes = (await wire.block())
      .toString('latin1')
      .split('\r\n')
      .filter(Boolean)
      .map((l) => Number(l.split(' ')[1]));
    const picks = messages.map((m, i) => ({ m, n: i + 1 })).filter(({ m }) => !m.name.startsWith('small-'));
    picks.push({
      m: messages.find((m) => m.name === 'small-0004')!,
      n: messages.findIndex((m) => m.name === 'small-0004') + 1,
    });
    expect(picks.map((p) => p.m.name)).toEqual(expect.arrayContaining(['dot-leading', 'dot-lone', 'big']));
    for (const { m, n } of picks) {
      expect(await wire.command(`RETR ${n}`), m.name).toMatch(/^\+OK/);
      const body = unstuff(await wire.block());
      const wireForm = toWireForm(m.bytes);
      expect(body.equals(wireForm), `${m.name} differs`).toBe(true);
      // Dovecot's LIST size leaves out the CRLF it appends to a file without a final newline.
      const appended = m.bytes[m.bytes.length - 1] === 0x0a ? 0 : 2;
      expect(sizes[n - 1], `${m.name} LIST size`).toBe(wireForm.length - appended);
    }
    expect(await wire.command('QUIT')).toMatch(/^\+OK/);
    wire.sock.destroy();
  });
});
