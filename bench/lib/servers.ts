// The two servers under test, each able to say how much CPU it has used, how much memory it
// holds, and whether its log agrees that a session retrieved what the client says it did.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { open, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DovecotPeer, startDovecot } from '../../scripts/peers/dovecot.js';
import { CLI } from '../contenders/pop3-fetch.js';
import { childPath } from './children.js';
import { peakRssKb, resetPeakRss, rssKb, treeCpuMs } from './proc.js';
import { verifyDovecotLog, verifyOurLog } from './verify.js';

export interface ServerUnderTest {
  name: 'dovecot' | 'ours' | 'floor';
  /** The server's main process (Dovecot's master). */
  pid: number;
  plainPort: number;
  tlsPort: number;
  caFile: string;
  /** CPU time (ms) the whole server has used so far (all its processes). */
  cpuMs(): number;
  /** Resets the peak-RSS counter; false where there is no single server process. */
  resetPeak(): boolean;
  /** Peak RSS (KiB) since the last reset; undefined for Dovecot (a process per session). */
  peakRssKb(): number | undefined;
  rssKb(): number | undefined;
  logMark(): Promise<number>;
  /** Undefined when the log since `mark` shows `user` logging out cleanly after `count` RETRs. */
  checkLog(mark: number, user: string, count: number): Promise<string | undefined>;
  /** Warning and error lines logged since `mark`. */
  logProblems(mark: number): Promise<string[]>;
  stop(): Promise<void>;
}

/** How long a server may take to write a session's last log line after the client has exited. */
const LOG_SETTLE_MS = 3000;
const STOP_TIMEOUT_MS = 15_000;

async function readFrom(path: string, mark: number): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(Math.max(0, size - mark));
    await fh.read(buf, 0, buf.length, mark);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}

async function settle(check: () => Promise<string | undefined>): Promise<string | undefined> {
  const deadline = Date.now() + LOG_SETTLE_MS;
  for (;;) {
    const problem = await check();
    if (problem === undefined || Date.now() > deadline) return problem;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startDovecotServer(
  dir: string,
  users: string[],
): Promise<{
  server: ServerUnderTest;
  peer: DovecotPeer;
}> {
  const peer = await startDovecot({ dir, users });
  const server: ServerUnderTest = {
    name: 'dovecot',
    pid: peer.pid,
    plainPort: peer.plainPort,
    tlsPort: peer.tlsPort,
    caFile: join(peer.dir, 'tls', 'ca.pem'),
    cpuMs: () => treeCpuMs(peer.pid),
    resetPeak: () => false,
    peakRssKb: () => undefined,
    rssKb: () => undefined,
    logMark: async () => (await stat(peer.logPath)).size,
    checkLog: (mark, user, count) =>
      settle(async () => {
        return verifyDovecotLog(await readFrom(peer.logPath, mark), user, count);
      }),
    logProblems: async (mark) =>
      (await readFrom(peer.logPath, mark))
        .split('\n')
        .filter((l) => /: (Warning|Error|Fatal|Panic): /.test(l)),
    stop: () => peer.stop(),
  };
  return { server, peer };
}

export interface OursOptions {
  dir: string;
  maildirRoot: string;
  /** user -> password; written as {PLAIN} entries (as Dovecot's passwd-file holds them). */
  users: Map<string, string>;
  tlsKey: string;
  tlsCert: string;
  caFile: string;
  maxConnections: number;
  /** Extra node flags for the server process (e.g. --cpu-prof). */
  nodeFlags?: string[];
}

/** `pop3 serve` (the built CLI) in a child process, on free loopback ports, JSON log to a file. */
export async function startOurServer(opts: OursOptions): Promise<ServerUnderTest> {
  const usersFile = join(opts.dir, 'users');
  const lines = [...opts.users].map(([u, p]) => `${u}:{PLAIN}${p}\n`);
  await writeFile(usersFile, lines.join(''), { mode: 0o600 });
  const child = spawn(
    process.execPath,
    [
      ...(opts.nodeFlags ?? []),
      CLI,
      'serve',
      '--maildir',
      opts.maildirRoot,
      '--users',
      usersFile,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--tls-port',
      '0',
      '--tls-key',
      opts.tlsKey,
      '--tls-cert',
      opts.tlsCert,
      '--allow-insecure-auth',
      '--hostname',
      'bench.localhost',
      '--log-format',
      'json',
      '--log-level',
      'info',
      '--max-connections',
      String(opts.maxConnections),
      '--max-per-address',
      String(opts.maxConnections),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return jsonLoggingServer('ours', child, join(opts.dir, 'server.log'), opts.caFile);
}

/** As ours, less the limits; it reads a user's Maildir once, at their first login. */
export type FloorOptions = Omit<OursOptions, 'maxConnections' | 'nodeFlags'>;

/**
 * The floor server (bench/children/floor-pop3.ts): RETR hands the socket a reply kept in memory,
 * so a client's time against it is the least any server could give it.
 */
export async function startFloorServer(opts: FloorOptions): Promise<ServerUnderTest> {
  const args = { maildirRoot: opts.maildirRoot, tlsKey: opts.tlsKey, tlsCert: opts.tlsCert };
  const child = spawn(process.execPath, [childPath('floor-pop3'), JSON.stringify(args)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, POP3_FLOOR_USERS: JSON.stringify(Object.fromEntries(opts.users)) },
  });
  return jsonLoggingServer('floor', child, join(opts.dir, 'floor.log'), opts.caFile);
}

/**
 * A server that is one Node process logging on stderr as `pop3 serve --log-format json` does (ours,
 * and the floor server, which writes the same lines): first where it listens, then JSON records.
 * Its log goes to `logPath`.
 */
async function jsonLoggingServer(
  name: 'ours' | 'floor',
  child: ChildProcess,
  logPath: string,
  caFile: string,
): Promise<ServerUnderTest> {
  const log = createWriteStream(logPath);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let written = 0;
  let head = '';
  const bound = await new Promise<{ plain: number; tls: number }>((resolvePorts, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not listen within 20 s: ${head}`)), 20_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      written += chunk.length;
      if (head.length < 8192) {
        head += chunk.toString('utf8');
        const m = /listening on 127\.0\.0\.1:(\d+) \([^)]*\), 127\.0\.0\.1:(\d+) \(TLS\)/.exec(head);
        if (m) {
          clearTimeout(timer);
          resolvePorts({ plain: Number(m[1]), tls: Number(m[2]) });
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before listening: ${head.slice(0, 2000)}`));
    });
  });
  const pid = child.pid!;
  const flushed = () => new Promise<void>((r) => log.write('', () => r()));
  return {
    name,
    pid,
    plainPort: bound.plain,
    tlsPort: bound.tls,
    caFile,
    cpuMs: () => treeCpuMs(pid),
    resetPeak: () => resetPeakRss(pid),
    peakRssKb: () => peakRssKb(pid),
    rssKb: () => rssKb(pid),
    logMark: async () => written,
    checkLog: (mark, user, count) =>
      settle(async () => {
        await flushed();
        return verifyOurLog(await readFrom(logPath, mark), user, count);
      }),
    logProblems: async (mark) => {
      await flushed();
      return (await readFrom(logPath, mark)).split('\n').filter((l) => /"level":"(warn|error)"/.test(l));
    },
    stop: async () => {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const exited = await Promise.race([
          new Promise<boolean>((r) => child.once('exit', () => r(true))),
          new Promise<boolean>((r) => setTimeout(() => r(false), STOP_TIMEOUT_MS)),
        ]);
        if (!exited) child.kill('SIGKILL');
      }
      log.end();
    },
  };
}
