// Every documented exit code of the built `pop3`, provoked for real (70, an internal error,
// has no honest way to be provoked and is not tested here).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { Pop3Client } from '../../src/client/client.js';
import {
  BIN,
  PASSWORD,
  runCli,
  runInPty,
  startServer,
  type TestServer,
  tempDir,
  tempHome,
  USER,
} from './cli-harness.js';

let srv: TestServer;
let caFile: string;
const env = { POP3_PASSWORD: PASSWORD };

beforeAll(async () => {
  srv = await startServer();
  caFile = join(tempDir(), 'ca.pem');
  writeFileSync(caFile, srv.ca);
});
afterAll(() => srv.close());

const url = () => `pop3s://${USER}@127.0.0.1:${srv.tlsPort}`;

/** A TCP server that sends `greeting` (or nothing) and then stays silent. */
async function fakeServer(greeting?: string): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => {
    s.on('error', () => {});
    if (greeting) s.write(greeting);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server };
}

describe('exit codes', () => {
  it('0 ok', async () => {
    expect((await runCli(['stat', url(), '--ca-file', caFile], { env })).code).toBe(EXIT.OK);
  });

  it('64 usage: unknown option, bad message number, missing argument', async () => {
    for (const args of [['stat', '--frobnicate'], ['retr', 'x', url()], ['retr'], ['nosuchcommand']]) {
      const r = await runCli(args, { env });
      expect(r.code, args.join(' ')).toBe(EXIT.USAGE);
    }
  });

  it('65 the server said -ERR (no such message)', async () => {
    const r = await runCli(['retr', '99', url(), '--ca-file', caFile], { env });
    expect(r.code).toBe(EXIT.SERVER);
    expect(r.stderr).toContain('RETR failed');
  });

  it('69 network: nothing listening; a server that never answers (--timeout)', async () => {
    const { port, server } = await fakeServer();
    server.close();
    for (const scheme of ['pop3', 'pop3s']) {
      const refused = await runCli(['stat', `${scheme}://${USER}@127.0.0.1:${port}`], { env });
      expect(refused.code, scheme).toBe(EXIT.NETWORK);
    }
    const silent = await fakeServer();
    try {
      const r = await runCli(['stat', `pop3://${USER}@127.0.0.1:${silent.port}`, '--timeout', '1'], { env });
      expect(r.code).toBe(EXIT.NETWORK);
      expect(r.stderr).toContain('timed out');
    } finally {
      silent.server.close();
    }
  });

  it('73 the output cannot be written', async () => {
    const r = await runCli(['retr', '1', url(), '--ca-file', caFile, '-o', '/nonexistent-dir/m.eml'], {
      env,
    });
    expect(r.code).toBe(EXIT.OUTPUT);
  });

  it('75 try later: the maildrop is in use ([IN-USE])', async () => {
    const holder = await Pop3Client.connect({
      host: '127.0.0.1',
      port: srv.tlsPort,
      tlsOptions: { ca: srv.ca },
      auth: { user: USER, pass: PASSWORD },
    });
    try {
      const r = await runCli(['stat', url(), '--ca-file', caFile], { env });
      expect(r.code).toBe(EXIT.TEMPFAIL);
      expect(r.stderr).toContain('IN-USE');
    } finally {
      holder.close();
    }
  });

  it('76 protocol: a greeting that is not +OK', async () => {
    const { port, server } = await fakeServer('HELLO THERE\r\n');
    try {
      const r = await runCli(['stat', `pop3://${USER}@127.0.0.1:${port}`], { env });
      expect(r.code).toBe(EXIT.PROTOCOL);
    } finally {
      server.close();
    }
  });

  it('77 authentication failed', async () => {
    const r = await runCli(['stat', url(), '--ca-file', caFile], { env: { POP3_PASSWORD: 'wrong' } });
    expect(r.code).toBe(EXIT.AUTH);
  });

  it('78 config: no secret, unreadable password file', async () => {
    expect((await runCli(['stat', url(), '--ca-file', caFile])).code).toBe(EXIT.CONFIG);
    const r = await runCli(['stat', url(), '--ca-file', caFile, '--password-file', '/nonexistent/pw']);
    expect(r.code).toBe(EXIT.CONFIG);
  });

  it('79 TLS: certificate not trusted; server without STLS when STLS is required', async () => {
    expect((await runCli(['stat', url()], { env })).code).toBe(EXIT.TLS);
    const plain = await startServer({ tlsPort: false, options: { tls: undefined, allowInsecureAuth: true } });
    try {
      const r = await runCli(['stat', `pop3://${USER}@127.0.0.1:${plain.port}`, '--trace'], { env });
      expect(r.code).toBe(EXIT.TLS);
      expect(r.stderr).toContain('STLS');
      expect(r.stderr).not.toContain('C: USER');
    } finally {
      await plain.close();
    }
  });

  it('1 incomplete: a confirmation declined (dele on a terminal)', async () => {
    const r = await runInPty(['dele', '2', url(), '--ca-file', caFile], [['[y/N]', 'n\r']], { env });
    expect(r.stdout).toContain('Message number 2');
    expect(r.code, r.stdout).toBe(EXIT.INCOMPLETE);
    expect(srv.store.list(USER)).toHaveLength(3);
  });

  it('130 interrupted (SIGINT while waiting for the server)', async () => {
    let connected: () => void = () => {};
    const seen = new Promise<void>((r) => {
      connected = r;
    });
    const { port, server } = await fakeServer();
    server.on('connection', () => connected()); // past start-up: its signal handlers are in place
    try {
      const home = tempHome();
      const child = spawn(process.execPath, [BIN, 'stat', `pop3://${USER}@127.0.0.1:${port}`], {
        env: { ...process.env, HOME: home, POP3_PASSWORD: PASSWORD },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      await seen;
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.on('close', r));
      expect(code).toBe(EXIT.INTERRUPTED);
    } finally {
      server.close();
    }
  });
});
