// The physical bound: log in, pipeline RETR 1..N over one socket and count the octets of each
// reply body up to its CRLF.CRLF, nothing else (no unstuffing, no copies, no files).
// Run by the harness in its own process: node raw-pop3.mjs '<json RawArgs>'; prints one JSON line.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

interface RawArgs {
  host: string;
  port: number;
  tls: boolean;
  caFile?: string;
  servername?: string;
  user: string;
  count: number;
  /** RETRs in flight at most. */
  window: number;
  timeoutMs: number;
}

const TERM = Buffer.from('\r\n.\r\n');
const MAX_STATUS = 512;
const READ_BUFFER_BYTES = 256 * 1024;

function fail(message: string): never {
  process.stderr.write(`raw-pop3: ${message}\n`);
  process.exit(1);
}

/** From the environment, so it is not on the command line for every `ps` to see. */
const pass = process.env.POP3_BENCH_PASS ?? '';
const args = JSON.parse(process.argv[2] ?? '{}') as RawArgs;
setTimeout(() => fail(`no result within ${args.timeoutMs} ms`), args.timeoutMs).unref();

const started = performance.now();
// Reads land in one reused buffer (`onread`) instead of a fresh 64 KiB buffer per read, the
// cheapest way Node offers to take bytes off a socket; everything read is used before the
// callback returns (the few octets kept across reads are copied).
const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
const onread = {
  buffer: readBuffer,
  callback: (n: number): boolean => {
    onChunk(readBuffer.subarray(0, n));
    return true;
  },
};
// tls.connect takes `onread` too (Node 15+, nodejs/node#35753); @types/node does not list it.
const tlsOptions: tls.ConnectionOptions & { onread: typeof onread } = {
  host: args.host,
  port: args.port,
  ca: args.caFile ? readFileSync(args.caFile) : undefined,
  servername: args.servername,
  onread,
};
const socket = args.tls ? tls.connect(tlsOptions) : net.connect({ host: args.host, port: args.port, onread });
socket.setNoDelay(true);

type State = 'greeting' | 'user' | 'pass' | 'status' | 'body' | 'quit';
let state: State = 'greeting';
let line = '';
let tail: Buffer = Buffer.alloc(0); // last <= 4 body octets, to find a terminator split across chunks
let bodyBytes = 0;
let messages = 0;
let octets = 0;
let sent = 0;

function sendRetrs(upTo: number): void {
  const parts: string[] = [];
  while (sent < upTo && sent < args.count) parts.push(`RETR ${++sent}\r\n`);
  if (parts.length > 0) socket.write(parts.join(''));
}

/** A whole status line arrived: act on it. */
function onStatus(text: string): void {
  if (!text.startsWith('+OK')) fail(`${state}: ${text.slice(0, 100)}`);
  switch (state) {
    case 'greeting':
      state = 'user';
      socket.write(`USER ${args.user}\r\n`);
      return;
    case 'user':
      state = 'pass';
      socket.write(`PASS ${pass}\r\n`);
      return;
    case 'pass':
      if (args.count === 0) quit();
      else {
        state = 'status';
        sendRetrs(Math.min(args.window, args.count));
      }
      return;
    case 'status':
      state = 'body';
      tail = Buffer.from('\r\n'); // an empty body is a bare ".\r\n" right after the status line
      bodyBytes = 0;
      return;
    case 'quit':
      process.stdout.write(`${JSON.stringify({ messages, octets, ms: performance.now() - started })}\n`);
      socket.end();
      return;
  }
}

function quit(): void {
  state = 'quit';
  socket.write('QUIT\r\n');
}

/** Consumes body octets from chunk[off..]; returns where the message ended, or -1 if it did not. */
function scanBody(chunk: Buffer, off: number): number {
  const head = Buffer.concat([tail, chunk.subarray(off, off + 4)]);
  const split = head.indexOf(TERM);
  let end = -1;
  if (split >= 0 && split < tail.length) end = off + split + TERM.length - tail.length;
  else {
    const at = chunk.indexOf(TERM, off);
    if (at >= 0) end = at + TERM.length;
  }
  if (end < 0) {
    bodyBytes += chunk.length - off;
    const joined =
      chunk.length - off >= 4 ? chunk.subarray(chunk.length - 4) : Buffer.concat([tail, chunk.subarray(off)]);
    tail = Buffer.from(joined.subarray(Math.max(0, joined.length - 4)));
    return -1;
  }
  bodyBytes += end - off;
  octets += bodyBytes - 3; // the ".\r\n" after the body's last CRLF is not part of it
  messages++;
  if (messages === args.count) quit();
  else {
    state = 'status';
    if (sent < args.count) sendRetrs(sent + 1);
  }
  return end;
}

function onChunk(chunk: Buffer): void {
  let off = 0;
  while (off < chunk.length) {
    if (state === 'body') {
      const end = scanBody(chunk, off);
      if (end < 0) return;
      off = end;
      continue;
    }
    const nl = chunk.indexOf(0x0a, off);
    line += chunk.toString('latin1', off, nl < 0 ? chunk.length : nl + 1);
    if (line.length > MAX_STATUS) fail('status line too long');
    if (nl < 0) return;
    off = nl + 1;
    const text = line;
    line = '';
    onStatus(text);
  }
}
socket.on('error', (err) => fail(err.message));
socket.on('close', () => {
  if (state !== 'quit') fail(`connection closed in state ${state}`);
  process.exit(0);
});
