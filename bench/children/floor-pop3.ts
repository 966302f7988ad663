// The server-side bound: a POP3 server that does no work per message. A user's Maildir is read and
// encoded once, at their first login, and kept in memory; from then on RETR hands a ready buffer
// to the socket. What a client takes to fetch from it is what it would take from any server,
// however fast. Not a server to use: no locking, no deletion, a mailbox fixed at first login.
// Run by the harness in its own process: node floor-pop3.mjs '<json FloorArgs>', users and
// passwords in POP3_FLOOR_USERS (JSON). On stderr, as `pop3 serve --log-format json`: where it
// listens, then a JSON "session closed" line per session.
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { maildirBase, uidForBase } from '../../src/mailstore/maildir-names.js';
import { DotEncoder } from '../../src/protocol/dot-encoder.js';
import { wireOctets } from '../../src/protocol/wire-size.js';

interface FloorArgs {
  maildirRoot: string;
  tlsKey: string;
  tlsCert: string;
}

interface Message {
  octets: number;
  uid: string;
  reply: Buffer;
}

const MAX_LINE = 512;
const SLICE = 256 * 1024;
const args = JSON.parse(process.argv[2] ?? '{}') as FloorArgs;
const passwords = new Map(
  Object.entries(JSON.parse(process.env.POP3_FLOOR_USERS ?? '{}') as Record<string, string>),
);
const mailboxes = new Map<string, Message[]>();

/** new/ then cur/, by name: every message's reply (status line, stuffed body, terminator). */
function load(user: string): Message[] {
  const kept = mailboxes.get(user);
  if (kept) return kept;
  const messages: Message[] = [];
  for (const sub of ['new', 'cur']) {
    const dir = join(args.maildirRoot, user, sub);
    for (const name of readdirSync(dir).sort()) {
      const stored = readFileSync(join(dir, name));
      const octets = wireOctets(stored);
      const reply = DotEncoder.whole(Buffer.from(`+OK ${octets} octets\r\n`, 'latin1'), stored).reply;
      messages.push({ octets, uid: uidForBase(maildirBase(Buffer.from(name, 'latin1'))), reply });
    }
  }
  mailboxes.set(user, messages);
  return messages;
}

function serve(socket: net.Socket): void {
  let user: string | undefined;
  let messages: Message[] | undefined;
  let retr = 0;
  let pending = '';
  let quitting = false;
  // Replies wait here, uncopied, and go out a slice at a time as the socket takes them: one
  // 20 MiB write to a TLS socket is far slower than slices of it (Node re-copies what is left).
  const queue: Buffer[] = [];
  let at = 0;
  const pump = (): void => {
    while (queue.length > 0) {
      const reply = queue[0]!;
      const slice = reply.subarray(at, at + SLICE);
      at += slice.length;
      if (at === reply.length) {
        queue.shift();
        at = 0;
      }
      if (!socket.write(slice)) return; // 'drain' calls again
    }
    if (quitting) socket.end();
  };
  socket.on('drain', pump);
  const send = (reply: Buffer | string): void => {
    queue.push(typeof reply === 'string' ? Buffer.from(reply, 'latin1') : reply);
    if (queue.length === 1 && !socket.writableNeedDrain) pump();
  };
  const multi = (lines: string[]) => send(`+OK\r\n${lines.map((l) => `${l}\r\n`).join('')}.\r\n`);
  const command = (line: string): void => {
    const [word = '', arg = ''] = line.split(' ');
    const keyword = word.toUpperCase();
    if (keyword === 'QUIT') {
      process.stderr.write(
        `${JSON.stringify({ level: 'info', msg: 'session closed', user, reason: 'quit', retr })}\n`,
      );
      quitting = true;
      send('+OK bye\r\n');
    } else if (keyword === 'CAPA') multi(['USER', 'UIDL', 'PIPELINING']);
    else if (keyword === 'USER' && !messages) {
      user = arg;
      send('+OK\r\n');
    } else if (keyword === 'PASS' && user !== undefined && !messages && passwords.get(user) === arg) {
      try {
        messages = load(user);
        send('+OK\r\n');
      } catch (err) {
        send(
          `-ERR [SYS/PERM] cannot read the maildir: ${(err as NodeJS.ErrnoException).code ?? 'error'}\r\n`,
        );
      }
    } else if (!messages) send('-ERR not logged in\r\n');
    else if (keyword === 'STAT')
      send(`+OK ${messages.length} ${messages.reduce((n, m) => n + m.octets, 0)}\r\n`);
    else if (keyword === 'LIST') multi(messages.map((m, i) => `${i + 1} ${m.octets}`));
    else if (keyword === 'UIDL') multi(messages.map((m, i) => `${i + 1} ${m.uid}`));
    else if (keyword === 'NOOP') send('+OK\r\n');
    else if (keyword === 'RETR' && messages[Number(arg) - 1]) {
      send(messages[Number(arg) - 1]!.reply);
      retr++;
    } else send('-ERR\r\n');
  };
  send('+OK floor\r\n');
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1');
    socket.cork(); // the replies to one read of pipelined commands go out together
    for (let nl = pending.indexOf('\n'); nl >= 0 && !quitting; nl = pending.indexOf('\n')) {
      command(pending.slice(0, nl).replace(/\r$/, ''));
      pending = pending.slice(nl + 1);
    }
    socket.uncork();
    if (pending.length > MAX_LINE) socket.destroy();
  });
  socket.on('error', () => socket.destroy());
}

const plain = net.createServer(serve);
const secure = tls.createServer(
  { key: readFileSync(args.tlsKey), cert: readFileSync(args.tlsCert) },
  (s: tls.TLSSocket) => serve(s),
);
const listen = (server: net.Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
// Said as `pop3 serve` says it, so the harness reads both servers' ports the same way.
const [plainPort, tlsPort] = [await listen(plain), await listen(secure)];
process.stderr.write(`floor-pop3: listening on 127.0.0.1:${plainPort} (plain), 127.0.0.1:${tlsPort} (TLS)\n`);
