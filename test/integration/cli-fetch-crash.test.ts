// Crash test through the command line: the built `pop3 fetch` (--delete, and keep mode) is
// SIGKILLed at random moments against our server in this process, while new mail arrives. After
// every run: no message is in the Maildir twice, every file is byte-identical to a message sent
// (in the Maildir's LF form), and every message gone from the server is in the Maildir. A last,
// uninterrupted run must leave every message there exactly once. CLI_CRASH_RUNS sets the runs per
// mode (default 8, to keep `npm test` short; the figure is CLI_CRASH_RUNS=100).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/mailstore/memory-store.js';
import { Pop3Server } from '../../src/server/server.js';
import { BIN, tempDir, tempHome } from './cli-harness.js';

const RUNS = Number(process.env.CLI_CRASH_RUNS ?? 8);
const INITIAL = Number(process.env.CLI_CRASH_MESSAGES ?? 300);
const PASS = 'crash-test-password';

let store: MemoryStore;
let server: Pop3Server;
let port: number;
let seq = 0;
/** LF form of every message ever added, by its sequence header. */
const sent = new Map<string, string>();

function addMessage(user: string): void {
  const n = ++seq;
  const filler = 'x'.repeat(200 + ((n * 7919) % 3000));
  const text =
    `From: crash@example.org\r\nSubject: crash test ${n}\r\nX-Seq: ${user}-${n}\r\n\r\n` +
    `.leading dot line ${n}\r\n${filler}\r\nend ${n}\r\n`;
  store.add(user, text);
  sent.set(`${user}-${n}`, text.replace(/\r\n/g, '\n'));
}

beforeAll(async () => {
  store = new MemoryStore();
  server = new Pop3Server({
    store,
    authenticate: ({ user, pass }) => pass === PASS && (user === 'del' || user === 'keep'),
    allowInsecureAuth: true,
    limits: { failedLoginDelayMs: 0 },
  });
  ({ port } = await server.listen({ port: 0, host: '127.0.0.1' }));
});
afterAll(() => server.close({ graceful: false }));

/** When to kill: so long after the process started, or so long after it logged in; never. */
type Kill = { afterSpawnMs: number } | { afterLoginMs: number } | undefined;

function runFetch(user: string, dir: string, kill: Kill): Promise<{ code: number | null; killed: boolean }> {
  const args = [
    BIN,
    'fetch',
    `pop3://${user}@127.0.0.1:${port}`,
    '--tls',
    'none',
    '--insecure-auth',
    '--maildir',
    join(dir, 'Maildir'),
    '--state-dir',
    join(dir, 'state'),
    '--no-progress',
    ...(user === 'del' ? ['--delete'] : []),
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, HOME: tempHome(), POP3_PASSWORD: PASS },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    let killed = false;
    const killNow = () => {
      killed = child.exitCode === null;
      child.kill('SIGKILL');
    };
    let timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const onLogin = (info: { user?: string }) => {
      if (info.user !== user || kill === undefined || !('afterLoginMs' in kill)) return;
      server.off('login', onLogin);
      clearTimeout(timer);
      timer = setTimeout(killNow, kill.afterLoginMs);
    };
    if (kill && 'afterSpawnMs' in kill) {
      clearTimeout(timer);
      timer = setTimeout(killNow, kill.afterSpawnMs);
    } else if (kill) server.on('login', onLogin);
    child.on('close', (code) => {
      clearTimeout(timer);
      server.off('login', onLogin);
      resolve({ code, killed });
    });
  });
}

/** The invariants after any run; returns how many messages the Maildir holds. */
function check(user: string, dir: string): number {
  const maildir = join(dir, 'Maildir');
  const seen = new Set<string>();
  for (const sub of ['new', 'cur']) {
    let names: string[] = [];
    try {
      names = readdirSync(join(maildir, sub));
    } catch {
      continue; // not created yet: the first run was killed early
    }
    for (const name of names) {
      const text = readFileSync(join(maildir, sub, name), 'utf8');
      const key = /^X-Seq: (\S+)$/m.exec(text)?.[1];
      if (!key) throw new Error(`${name}: no X-Seq header`);
      if (seen.has(key)) throw new Error(`${key} is in the Maildir twice`);
      if (text !== sent.get(key)) throw new Error(`${key} differs from what was sent`);
      seen.add(key);
    }
  }
  const onServer = new Set(store.list(user).map((m) => /X-Seq: (\S+)/.exec(m.bytes.toString())![1]!));
  for (const key of sent.keys()) {
    if (key.startsWith(`${user}-`) && !onServer.has(key) && !seen.has(key)) {
      throw new Error(`${key} left the server but is not in the Maildir (lost)`);
    }
  }
  return seen.size;
}

describe('pop3 fetch killed at random (built binary)', () => {
  for (const user of ['del', 'keep']) {
    it(`${user === 'del' ? '--delete' : 'keep mode'}: ${RUNS} SIGKILLed runs, then one clean run`, async () => {
      const dir = tempDir();
      for (let i = 0; i < INITIAL; i++) addMessage(user);
      let killed = 0;
      let withProgress = 0; // killed runs that had delivered something first
      let before = check(user, dir);
      let deletedDuring = 0; // killed runs whose QUIT had removed mail from the server
      let onServer = store.list(user).length;
      for (let run = 0; run < RUNS; run++) {
        // Every other run is killed during its session (0-800 ms after login: RETR, delivery, DELE,
        // QUIT); the rest anywhere from start-up on (start-up alone takes 0.3-2 s on a busy machine).
        const kill: Kill =
          run % 2 === 0
            ? { afterLoginMs: Math.floor(Math.random() * 800) }
            : { afterSpawnMs: 200 + Math.floor(Math.random() * 2500) };
        const r = await runFetch(user, dir, kill);
        if (r.killed) killed++;
        const now = check(user, dir);
        if (now > before) withProgress++;
        before = now;
        if (store.list(user).length < onServer) deletedDuring++;
        for (let k = 0; k < 3; k++) addMessage(user);
        onServer = store.list(user).length;
      }
      // A session killed a moment ago may still hold the maildrop ([IN-USE], exit 75): retry, bounded.
      let final = await runFetch(user, dir, undefined);
      for (let i = 0; i < 5 && final.code === 75; i++) {
        await new Promise((r) => setTimeout(r, 500));
        final = await runFetch(user, dir, undefined);
      }
      expect(final.code).toBe(0);
      const inMaildir = check(user, dir);
      const total = [...sent.keys()].filter((k) => k.startsWith(`${user}-`)).length;
      expect(inMaildir).toBe(total);
      expect(store.list(user)).toHaveLength(user === 'del' ? 0 : total);
      console.log(
        `cli crash test (${user}): ${RUNS} runs, ${killed} killed, ${withProgress} of them after delivering ` +
          `some mail, ${deletedDuring} after deleting on the server; ${total} messages, each in the Maildir exactly once`,
      );
    }, 600_000);
  }
});
