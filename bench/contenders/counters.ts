// The two byte-counting contenders, which write no files: the raw socket reader (the physical
// bound: pipelined RETR, octets counted up to each CRLF.CRLF) and our client library into a sink.
import { childPath } from '../lib/children.js';
import { verifyCount } from '../lib/verify.js';
import { type Contender, isolatedEnv } from './types.js';

export const rawSocket: Contender = {
  name: 'raw-socket',
  durability: 'none (counts octets, writes nothing)',
  async prepare(ctx) {
    const { endpoint: e } = ctx;
    const args = {
      host: e.host,
      port: e.port,
      tls: e.tls,
      caFile: e.caFile,
      servername: e.servername,
      user: ctx.user,
      count: ctx.expected.count,
      window: Math.min(ctx.expected.count, 1000),
      timeoutMs: ctx.timeoutMs,
    };
    return { argv: [process.execPath, childPath('raw-pop3'), JSON.stringify(args)], env: passEnv(ctx) };
  },
  verify: async (ctx, run) => verifyCount(run.stdout, ctx.expected, 'stuffed'),
};

export const clientSink: Contender = {
  name: 'client-sink',
  durability: 'none (counts octets, writes nothing)',
  async prepare(ctx) {
    const { endpoint: e } = ctx;
    const args = {
      host: e.host,
      port: e.port,
      tls: e.tls,
      caFile: e.caFile,
      servername: e.servername,
      user: ctx.user,
      timeoutMs: ctx.timeoutMs,
    };
    return { argv: [process.execPath, childPath('client-sink'), JSON.stringify(args)], env: passEnv(ctx) };
  },
  verify: async (ctx, run) => verifyCount(run.stdout, ctx.expected, 'wire'),
};

function passEnv(ctx: { workDir: string; pass: string }): NodeJS.ProcessEnv {
  return isolatedEnv(ctx.workDir, { POP3_BENCH_PASS: ctx.pass });
}
