// Workload (e): open `sessions` POP3 connections, log each in (USER/PASS as its own user, since a
// maildrop is locked per session), and hold them all. Prints {"ready": n, "errors": e, "ms": t}
// once every login has finished, then holds until stdin says "release" (or closes, or maxSeconds
// pass), sends QUIT on every session and prints {"released": n, "quitOk": q, "droppedWhileHeld": d}.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

interface HolderArgs {
  host: string;
  port: number;
  tls: boolean;
  caFile?: string;
  servername?: string;
  /** Users are `${prefix}${n}` for n in 1..sessions (zero-padded to 5 digits), all with one password. */
  userPrefix: string;
  sessions: number;
  /** Logins in progress at once. */
  concurrency: number;
  maxSeconds: number;
}

/** From the environment (POP3_BENCH_PASS), so it is not on the command line. */
const pass = process.env.POP3_BENCH_PASS ?? '';
const args = JSON.parse(process.argv[2] ?? '{}') as HolderArgs;
setTimeout(() => process.exit(2), args.maxSeconds * 1000).unref();
const ca = args.caFile ? readFileSync(args.caFile) : undefined;

interface Session {
  socket: net.Socket;
  /** Resolves each complete reply line in turn. */
  next(): Promise<string>;
  held: boolean;
  dropped: boolean;
}

function open(): Promise<Session> {
  return new Promise((resolveOpen, reject) => {
    const socket = args.tls
      ? tls.connect({ host: args.host, port: args.port, ca, servername: args.servername })
      : net.connect({ host: args.host, port: args.port });
    let buf = '';
    const lines: string[] = [];
    const waiters: ((line: string) => void)[] = [];
    const session: Session = {
      socket,
      held: false,
      dropped: false,
      next: () => new Promise((r) => (lines.length > 0 ? r(lines.shift()!) : waiters.push(r))),
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl + 1);
        buf = buf.slice(nl + 1);
        const w = waiters.shift();
        if (w) w(line);
        else lines.push(line);
      }
      if (buf.length > 4096) socket.destroy(new Error('reply line too long'));
    });
    socket.on('close', () => {
      if (session.held) session.dropped = true;
      for (const w of waiters.splice(0)) w('-ERR connection closed\r\n');
    });
    socket.once(args.tls ? 'secureConnect' : 'connect', () => resolveOpen(session));
    socket.once('error', reject);
  });
}

async function login(n: number): Promise<Session> {
  const s = await open();
  s.socket.on('error', () => {}); // a later error shows up as a dropped session
  const user = `${args.userPrefix}${String(n).padStart(5, '0')}`;
  const expectOk = async (what: string) => {
    const line = await s.next();
    if (!line.startsWith('+OK')) throw new Error(`${what}: ${line.trim().slice(0, 100)}`);
  };
  await expectOk('greeting');
  s.socket.write(`USER ${user}\r\n`);
  await expectOk('USER');
  s.socket.write(`PASS ${pass}\r\n`);
  await expectOk('PASS');
  s.held = true;
  return s;
}

const started = performance.now();
const sessions: Session[] = [];
const errors: string[] = [];
let nextUser = 1;
async function worker(): Promise<void> {
  while (nextUser <= args.sessions) {
    const n = nextUser++;
    try {
      sessions.push(await login(n));
    } catch (err) {
      errors.push(`session ${n}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
await Promise.all(Array.from({ length: Math.max(1, args.concurrency) }, worker));
process.stdout.write(
  `${JSON.stringify({ ready: sessions.length, errors: errors.length, firstErrors: errors.slice(0, 5), ms: performance.now() - started })}\n`,
);

await new Promise<void>((resolveHold) => {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    text += d;
    if (text.includes('release')) resolveHold();
  });
  process.stdin.on('end', () => resolveHold());
});

const droppedWhileHeld = sessions.filter((s) => s.dropped).length;
let quitOk = 0;
await Promise.all(
  sessions.map(async (s) => {
    if (s.dropped) return;
    s.socket.write('QUIT\r\n');
    const line = await s.next();
    if (line.startsWith('+OK')) quitOk++;
    s.socket.end();
  }),
);
process.stdout.write(`${JSON.stringify({ released: sessions.length, quitOk, droppedWhileHeld })}\n`);
process.exit(0);
