// Shared by the cli-*.test.ts files: our server in-process (MemoryStore) and the BUILT `pop3`
// binary run as a child process, with HOME and XDG dirs pointed at a fresh temporary directory
// so nothing of the developer's own config, netrc or history is read or written.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { MemoryStore } from '../../src/mailstore/memory-store.js';
import type { Pop3ServerOptions } from '../../src/server/options.js';
import { Pop3Server } from '../../src/server/server.js';
import { testCerts } from '../helpers/certs.js';

/**
 * The built `pop3`, the bundle users run (package.json's bin): the one cli-global-setup.ts builds,
 * or dist/bin/pop3.js (`npm run build`) where that setup does not run (the interop suite).
 */
export const BIN: string = (() => {
  try {
    return inject('pop3Bin') ?? resolve(import.meta.dirname, '../../dist/bin/pop3.js');
  } catch {
    return resolve(import.meta.dirname, '../../dist/bin/pop3.js');
  }
})();
export const PASSWORD = 'correct horse battery staple';
export const USER = 'alice';

export interface TestServer {
  port: number;
  tlsPort: number;
  store: MemoryStore;
  server: Pop3Server;
  ca: string;
  close(): Promise<void>;
}

export function sampleMessage(i: number, extra = ''): string {
  return (
    `From: Sender ${i} <sender${i}@example.org>\r\nTo: alice@example.org\r\n` +
    `Subject: Message number ${i}\r\nDate: Mon, 2 Mar 2026 10:0${i % 10}:00 +0000\r\n` +
    `Message-ID: <m${i}@example.org>\r\n\r\nBody of message ${i}.\r\n${extra}`
  );
}

/** Our server with STLS on `port` and implicit TLS on `tlsPort`; alice has `messages`. */
export async function startServer(
  opts: { messages?: (string | Buffer)[]; options?: Partial<Pop3ServerOptions>; tlsPort?: boolean } = {},
): Promise<TestServer> {
  const certs = testCerts();
  const store = new MemoryStore();
  for (const m of opts.messages ?? [1, 2, 3].map((i) => sampleMessage(i))) store.add(USER, m);
  const server = new Pop3Server({
    store,
    authenticate: ({ user, pass }) => user === USER && pass === PASSWORD,
    tls: { key: certs.server.key, cert: certs.server.cert },
    limits: { failedLoginDelayMs: 0 },
    ...opts.options,
  });
  const { port } = await server.listen({ port: 0 });
  const tlsPort = opts.tlsPort === false ? 0 : (await server.listen({ port: 0, implicitTls: true })).port;
  return { port, tlsPort, store, server, ca: certs.ca, close: () => server.close({ graceful: false }) };
}

/** startServer for a whole test file (beforeAll/afterAll), its CA written to `caFile` for --ca-file. */
export function useServer(opts?: Parameters<typeof startServer>[0]): { srv: TestServer; caFile: string } {
  const ctx = {} as { srv: TestServer; caFile: string };
  beforeAll(async () => {
    ctx.srv = await startServer(opts);
    ctx.caFile = join(tempDir(), 'ca.pem');
    writeFileSync(ctx.caFile, ctx.srv.ca);
  });
  afterAll(() => ctx.srv.close());
  return ctx;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

export interface CliRun {
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  cwd?: string;
  home?: string;
  timeoutMs?: number;
}

const temps: string[] = [];
process.once('exit', () => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory, removed at process exit. */
export function tempDir(prefix = 'pop3-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** A temporary HOME, removed at process exit. */
export function tempHome(): string {
  return tempDir('pop3-cli-home-');
}

/** Run `node <BIN> ...args`; never inherits POP3_* variables from the test's environment. */
export function runCli(args: string[], run: CliRun = {}): Promise<CliResult> {
  const home = run.home ?? tempHome();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('POP3_') && k !== 'NETRC' && !k.startsWith('XDG_')) env[k] = v;
  }
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.state'),
  });
  for (const [k, v] of Object.entries(run.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: run.cwd ?? home,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pop3 ${args.join(' ')} did not finish in time; stderr: ${Buffer.concat(err)}`));
    }, run.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolvePromise({
        code,
        signal,
        stdout: stdoutBytes.toString('utf8'),
        stdoutBytes,
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.end(run.input ?? '');
  });
}

const PTY_SCRIPT = `
import json, os, pty, sys
replies = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if replies and replies[0][0].encode() in out:
        os.write(fd, replies.pop(0)[1].encode())
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

/**
 * Run `pop3` on a pseudo-terminal (python3's pty module, standard on Debian), answering each
 * prompt: when the output so far contains `replies[i][0]`, type `replies[i][1]`. The result's
 * stdout is everything the terminal showed (stdout and stderr together).
 */
export function runInPty(args: string[], replies: [string, string][], run: CliRun = {}): Promise<CliResult> {
  const home = run.home ?? tempHome();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      'python3',
      ['-c', PTY_SCRIPT, JSON.stringify(replies), process.execPath, BIN, ...args],
      {
        cwd: run.cwd ?? home,
        env: { ...process.env, HOME: home, ...(run.env as Record<string, string>) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pty run of pop3 ${args.join(' ')} did not finish in time`));
    }, run.timeoutMs ?? 30_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolvePromise({
        code,
        signal,
        stdout: stdoutBytes.toString('utf8'),
        stdoutBytes,
        stderr: Buffer.concat(err).toString(),
      });
    });
  });
}
