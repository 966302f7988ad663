// Crash test: `fetchAccount` runs in a child process (node --import tsx) against our server in this
// process and is SIGKILLed at random moments, again and again, while new mail keeps arriving. After
// every run: no message is in the Maildir twice, every file is byte-identical to a message we sent,
// and every message gone from the server is in the Maildir (none lost before delivery). At the end
// one uninterrupted run must leave every message in the Maildir exactly once. Both --delete and keep.
// (The 100-run, few-hundred-message version is a script; this one is bounded for the test suite.)
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchAccount } from '../../src/fetch/index.js';
import { accountId, accountPaths } from '../../src/fetch/state.js';
import type { AccountConfig } from '../../src/fetch/types.js';
import { MemoryStore } from '../../src/mailstore/memory-store.js';
import type { Pop3Server } from '../../src/server/server.js';
import { plainConnection, startPlainServer } from '../helpers/plain-server.js';

/**
 * Runs per mode (FETCH_CRASH_RUNS overrides both): each costs a child start-up of 1-3 s. Keep-mode
 * runs vary most in length (0-11 new messages), so fewer of them are killed mid-way (3 to 10 of 12
 * seen): 24 of them, beside the 30 delete runs, make "a third killed" hold without luck.
 */
const DELETE_RUNS = Number(process.env.FETCH_CRASH_RUNS ?? 30);
const KEEP_RUNS = Number(process.env.FETCH_CRASH_RUNS ?? 24);
const INITIAL_MESSAGES = 120;
const PASS = 'crash-test-password';

let root: string;
let store: MemoryStore;
let server: Pop3Server;
let port: number;
let childScript: string;

beforeAll(async () => {
  root = await fs.mkdtemp(join(tmpdir(), 'pop3kit-fetch-crash-'));
  store = new MemoryStore();
  ({ server, port } = await startPlainServer({
    store,
    authenticate: ({ user, pass }) => pass === PASS && (user === 'del' || user === 'keep'),
  }));
  childScript = join(root, 'fetch-child.mts');
  const fetchUrl = pathToFileURL(join(import.meta.dirname, '../../src/fetch/index.ts')).href;
  await fs.writeFile(
    childScript,
    `import { fetchAccount } from ${JSON.stringify(fetchUrl)};
     const parts = [];
     for await (const chunk of process.stdin) parts.push(chunk);
     const account = JSON.parse(Buffer.concat(parts).toString('utf8'));
     process.stdout.write('ready\\n');
     try {
       const r = await fetchAccount(account);
       process.stdout.write(JSON.stringify(r) + '\\n');
     } catch (err) {
       process.stderr.write(String(err && err.message) + '\\n');
       process.exit(2);
     }`,
  );
});
afterAll(async () => {
  await server?.close({ graceful: false });
  await fs.rm(root, { recursive: true, force: true });
});

/** Deterministic-per-seed pseudo-random numbers, so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface Mailbox {
  user: string;
  /** Message-ID -> bytes, for every message ever added. */
  sent: Map<string, Buffer>;
  next: number;
}

function addMessages(box: Mailbox, count: number, rand: () => number): void {
  for (let i = 0; i < count; i++) {
    const id = `<${box.user}-${box.next++}@crash.test>`;
    const size = rand() < 0.05 ? 200_000 : Math.floor(rand() * 30_000);
    const line = 'The quick brown fox jumps over the lazy dog 0123456789 \xe9\n';
    const body = line.repeat(Math.ceil(size / line.length)).slice(0, size);
    const bytes = Buffer.from(
      `Message-ID: ${id}\nSubject: ${id}\n\n.dot line\nFrom here\n${body}\nend\n`,
      'latin1',
    );
    box.sent.set(id, bytes);
    store.add(box.user, bytes);
  }
}

function accountFor(box: Mailbox, policy: { delete?: boolean }): AccountConfig {
  return {
    connection: {
      ...plainConnection(port, box.user, PASS),
      timeouts: { connect: 5000, greeting: 5000, command: 10_000, idle: 10_000 },
    },
    target: { kind: 'maildir', path: join(root, box.user, 'Maildir') },
    policy,
    stateDir: join(root, box.user, 'state'),
    window: 8,
  };
}

/** Message-ID -> copies in the Maildir; every file must be byte-identical to what was sent. */
async function maildirCopies(box: Mailbox): Promise<Map<string, number>> {
  const copies = new Map<string, number>();
  for (const sub of ['new', 'cur']) {
    const d = join(root, box.user, 'Maildir', sub);
    for (const name of await fs.readdir(d).catch(() => [] as string[])) {
      const data = await fs.readFile(join(d, name));
      const id = /^Message-ID: (\S+)\n/.exec(data.toString('latin1'))?.[1] ?? '';
      expect(box.sent.get(id)?.equals(data), `file ${name} is not byte-identical to ${id}`).toBe(true);
      copies.set(id, (copies.get(id) ?? 0) + 1);
    }
  }
  return copies;
}

async function checkInvariants(box: Mailbox): Promise<void> {
  const copies = await maildirCopies(box);
  for (const [id, n] of copies) expect(n, `${id} is in the Maildir ${n} times`).toBe(1);
  const onServer = new Set(store.list(box.user).map((m) => m.bytes.toString('latin1')));
  for (const [id, bytes] of box.sent) {
    if (!onServer.has(bytes.toString('latin1'))) {
      expect(copies.get(id), `${id} left the server but was never delivered`).toBe(1);
    }
  }
}

async function waitUnlocked(user: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (store.isLocked(user) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

interface RunStats {
  killed: number;
  completed: number;
  failed: number;
  /** Longest child run, start-up included, ms. */
  slowest: number;
}

/** One child fetch, killed after `killAfterMs` (from when it is ready) unless it finishes first. */
async function childRun(
  account: AccountConfig,
  killAfterMs: number,
): Promise<{ how: 'killed' | 'completed' | 'failed'; ms: number; total: number }> {
  const spawned = Date.now();
  // The account (with its password) goes over stdin, not argv, where `ps` would show it.
  const child = spawn(process.execPath, ['--import', 'tsx', childScript], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(JSON.stringify(account));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const ready = await Promise.race([
    new Promise<boolean>((r) => child.stdout.once('data', () => r(true))),
    exited.then(() => false),
  ]);
  const started = Date.now();
  let killer: NodeJS.Timeout | undefined;
  if (ready) killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const { code, signal } = await exited;
  clearTimeout(guard);
  clearTimeout(killer);
  const ms = Date.now() - started;
  const total = Date.now() - spawned;
  if (signal === 'SIGKILL') return { how: 'killed', ms, total };
  if (code === 0) return { how: 'completed', ms, total };
  // A refusal is allowed ([IN-USE] while the server notices the killed connection); nothing else.
  expect(stderr, 'the child fetch failed').toMatch(/IN-USE|locked|busy/i);
  return { how: 'failed', ms, total };
}

async function crashSequence(
  box: Mailbox,
  policy: { delete?: boolean },
  runs: number,
  seed: number,
): Promise<RunStats> {
  const rand = rng(seed);
  const account = accountFor(box, policy);
  const stats: RunStats = { killed: 0, completed: 0, failed: 0, slowest: 0 };
  // Kill moments spread over a run's length: the estimate grows while runs get killed and is reset
  // by each completed run, so kills land from connect to the final compaction.
  let estimateMs = 400;
  addMessages(box, INITIAL_MESSAGES, rand);
  for (let run = 0; run < runs; run++) {
    addMessages(box, Math.floor(rand() * 12), rand);
    await waitUnlocked(box.user);
    const r = await childRun(account, Math.floor(rand() * estimateMs * 1.3));
    stats[r.how]++;
    stats.slowest = Math.max(stats.slowest, r.total);
    estimateMs = r.how === 'completed' ? Math.max(50, r.ms) : Math.min(estimateMs * 1.3, 10_000);
    await checkInvariants(box);
  }
  // The uninterrupted run, then a check that nothing is left to do.
  await waitUnlocked(box.user);
  const final = await fetchAccount(account);
  expect(final.errors).toBe(0);
  const copies = await maildirCopies(box);
  expect(copies.size).toBe(box.sent.size);
  for (const [id, n] of copies) expect(n, id).toBe(1);
  expect(await fs.readdir(join(root, box.user, 'Maildir', 'tmp'))).toEqual([]);
  const paths = accountPaths(account.stateDir, accountId(account.connection));
  expect((await fs.stat(paths.journal)).size).toBe(0);
  if (policy.delete) {
    // Deletions a killed run left unconfirmed are finished by the next run.
    expect(store.list(box.user)).toEqual([]);
  } else {
    expect(store.list(box.user)).toHaveLength(box.sent.size);
    expect((await fetchAccount(account)).delivered).toBe(0);
  }
  return stats;
}

describe('fetch killed at random moments', () => {
  it(`${DELETE_RUNS} runs with --delete and ${KEEP_RUNS} in keep mode: nothing lost, nothing twice`, async () => {
    const seed = Number(process.env.FETCH_CRASH_SEED ?? Date.now() % 1_000_000);
    const [del, keep] = await Promise.all([
      crashSequence({ user: 'del', sent: new Map(), next: 0 }, { delete: true }, DELETE_RUNS, seed),
      crashSequence({ user: 'keep', sent: new Map(), next: 0 }, {}, KEEP_RUNS, seed + 1),
    ]);
    console.log(
      `fetch crash test (seed ${seed}): delete ${JSON.stringify(del)}, keep ${JSON.stringify(keep)}`,
    );
    // Many runs must really be killed mid-way, or the test proves little.
    expect(del.killed).toBeGreaterThanOrEqual(DELETE_RUNS / 3);
    expect(keep.killed).toBeGreaterThanOrEqual(KEEP_RUNS / 3);
  }, 600_000);
});
