// Our client library into a byte-counting sink: log in, LIST, retrieveMany() over every message
// (pipelined, the library's default window unless told) and count the unstuffed body octets.
// Run by the harness in its own process: node client-sink.mjs '<json SinkArgs>'; prints one JSON line.
import { readFileSync } from 'node:fs';
import { Pop3Client } from '../../src/index.js';

interface SinkArgs {
  host: string;
  port: number;
  tls: boolean;
  caFile?: string;
  servername?: string;
  user: string;
  window?: number;
  timeoutMs: number;
}

/** From the environment, so it is not on the command line for every `ps` to see. */
const pass = process.env.POP3_BENCH_PASS ?? '';
const args = JSON.parse(process.argv[2] ?? '{}') as SinkArgs;
setTimeout(() => {
  process.stderr.write(`client-sink: no result within ${args.timeoutMs} ms\n`);
  process.exit(1);
}, args.timeoutMs).unref();

const started = performance.now();
const client = await Pop3Client.connect({
  host: args.host,
  port: args.port,
  tls: args.tls ? 'implicit' : 'none',
  tlsOptions: { ca: args.caFile ? readFileSync(args.caFile) : undefined, servername: args.servername },
  allowInsecureAuth: !args.tls,
  auth: { user: args.user, pass, mechanism: 'USER' },
});
const sizes = await client.list();
const ns = (Array.isArray(sizes) ? sizes : [sizes]).map((s) => s.n);
let messages = 0;
let octets = 0;
for await (const m of client.retrieveMany(ns, args.window ? { window: args.window } : {})) {
  for await (const chunk of m.body) octets += (chunk as Buffer).length;
  messages++;
}
await client.quit();
process.stdout.write(`${JSON.stringify({ messages, octets, ms: performance.now() - started })}\n`);
