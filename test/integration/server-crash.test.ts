// The server SIGKILLed during sessions that delete mail (a bounded run of scripts/crash-server.ts:
// 15 kills here, 50 or more from the script), and the Maildir session lock after a kill at the exact
// moments that matter: while a session holds it, between writing the lock's temp file and linking
// it, right after linking it, and while a stale lock is being broken. A killed server must never
// block the next one (its pid is dead), and the next login sweeps what the kill left.
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport, runServerCrash } from '../../scripts/crash-server.js';
import { Pop3Client } from '../../src/client/client.js';
import { LOCK_FILE, MaildirStore } from '../../src/mailstore/maildir-store.js';
import { Pop3Server } from '../../src/server/server.js';
import { generateMessages, writeMaildir } from '../fixtures/mail-generator.js';

const RUNS = Number(process.env.SERVER_CRASH_RUNS ?? 15);
const PASS = 'lock-test-password';

let work: string;
let server: Pop3Server;
let port: number;

beforeAll(async () => {
  work = await fs.mkdtemp(join(tmpdir(), 'pop3kit-server-crash-test-'));
  // Default staleLockMs (5 min): only the dead-pid rule can free a lock within these tests.
  server = new Pop3Server({
    store: new MaildirStore({ root: join(work, 'store') }),
    authenticate: ({ pass }) => pass === PASS,
    allowInsecureAuth: true,
    limits: { failedLoginDelayMs: 0 },
  });
  ({ port } = await server.listen({ port: 0, host: '127.0.0.1' }));
});

afterAll(async () => {
  await server?.close({ graceful: false });
  if (work) await fs.rm(work, { recursive: true, force: true });
});

it(`the server SIGKILLed ${RUNS} times during deleting sessions loses nothing, keeps confirmed deletions, never stays locked`, async () => {
  const report = await runServerCrash({ runs: RUNS, dir: join(work, 'crash') });
  console.log(formatReport(report));
  expect(report.violations).toEqual([]);
  expect(report.runs).toBe(RUNS);
  expect(report.inUseRefusals).toBe(0);
  // The run did what it claims: deletions were confirmed, kills left locks that the next run broke.
  expect(report.quitConfirmed).toBeGreaterThan(0);
  expect(report.staleLocksAfterKill).toBeGreaterThan(0);
  expect(report.finalMessages).toBeGreaterThan(0);
}, 600_000);

it('self-check: the same run catches a store that also removes one message no QUIT named', async () => {
  const report = await runServerCrash({
    runs: 3,
    seed: 1939,
    dir: join(work, 'faulty'),
    fault: 'extra-delete',
  });
  expect(report.quitConfirmed).toBeGreaterThan(0);
  expect(
    report.violations.filter((v) => /lost \(no QUIT named it\)|UIDL lists|final: .* missing/.test(v)),
  ).not.toEqual([]);
}, 300_000);

// The child for openAndDie(): argv is storeUrl, root, user, op ('open' | 'link' | 'none'), pattern.
const OPEN_AND_DIE = `import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { basename } from 'node:path';
const [storeUrl, root, user, op, pattern] = process.argv.slice(2);
const hit = (path) => new RegExp(pattern).test(basename(String(path)));
const p = fs.promises;
const realOpen = p.open;
const realLink = p.link;
if (op === 'open') p.open = async function (path, flags, mode) {
  const fh = await realOpen.call(p, path, flags, mode);
  if (flags === 'wx' && hit(path)) process.kill(process.pid, 'SIGKILL');
  return fh;
};
// The same for the synchronous call (writers may use either); named imports see it after the sync.
const realOpenSync = fs.openSync;
if (op === 'open') fs.openSync = function (path, flags, mode) {
  const fd = realOpenSync.call(fs, path, flags, mode);
  if (flags === 'wx' && hit(path)) process.kill(process.pid, 'SIGKILL');
  return fd;
};
syncBuiltinESMExports();
if (op === 'link') p.link = async function (from, to) {
  await realLink.call(p, from, to);
  if (hit(to)) process.kill(process.pid, 'SIGKILL');
};
const { MaildirStore } = await import(storeUrl);
await new MaildirStore({ root }).openMailbox(user);
process.stdout.write('opened\\n');
setInterval(() => {}, 1000); // hold the lock until killed
`;

/**
 * Open the user's maildrop in a child process that SIGKILLs itself right after its first
 * exclusive-create open (op 'open') or hard link (op 'link', by destination) of a file whose name
 * matches `pattern`, as a crash at that instant would. Resolves 'killed', or 'opened' when no such
 * file operation happened (the child is then killed while it holds the maildrop).
 */
async function openAndDie(user: string, op: 'open' | 'link' | 'none', pattern = '^$'): Promise<string> {
  const storeUrl = pathToFileURL(join(import.meta.dirname, '../../src/mailstore/maildir-store.ts')).href;
  const script = join(work, 'open-and-die.mts');
  await fs.writeFile(script, OPEN_AND_DIE);
  const args = ['--import', 'tsx', script, storeUrl, join(work, 'store'), user, op, pattern];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let opened = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('child neither opened nor died'));
    }, 30_000);
    child.stdout.once('data', () => {
      opened = true;
      child.kill('SIGKILL'); // a crash while holding the maildrop
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (opened) resolve('opened');
      else if (signal === 'SIGKILL') resolve('killed');
      else reject(new Error(`child exited with ${code}`));
    });
  });
}

/** Lock-related names in a Maildir: the lock, its breaker, and their temp files. */
async function lockFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((n) => n.startsWith(LOCK_FILE)).sort();
}

async function seedUser(user: string): Promise<string> {
  const dir = join(work, 'store', user);
  await writeMaildir(dir, generateMessages({ preset: 'sized', count: 3, size: 1024 }));
  return dir;
}

/** Log in as `user`: resolves with STAT's count, or rejects (e.g. [IN-USE]). */
async function loginCount(user: string): Promise<number> {
  const client = await Pop3Client.connect({
    host: '127.0.0.1',
    port,
    tls: 'none',
    allowInsecureAuth: true,
    auth: { user, pass: PASS, mechanism: 'USER' },
    timeouts: { connect: 5000, greeting: 5000, command: 5000 },
  });
  const { count } = await client.stat();
  await client.quit();
  return count;
}

function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('the Maildir lock after a SIGKILL', () => {
  const LOCK = LOCK_FILE.replace('.', '\\.');
  const TEMP = `^${LOCK}\\.[0-9a-f]{8}\\.\\d+\\.[0-9a-f]{12}\\.tmp$`;

  it('killed while a session holds the maildrop: the next login breaks the lock at once', async () => {
    const dir = await seedUser('held');
    expect(await openAndDie('held', 'none')).toBe('opened');
    expect((await fs.readFile(join(dir, LOCK_FILE), 'utf8')).split(' ')[1]).toBe(hostname());
    expect(await loginCount('held')).toBe(3);
    expect(await lockFiles(dir)).toEqual([]);
  }, 60_000);

  it('killed after creating the lock temp file, before linking it: no lock; the next login works and sweeps the temp', async () => {
    // Before 3df9443 the lock itself was created empty and written in a second step: a kill in
    // between left an empty lock that refused logins with [IN-USE] for staleLockMs (5 min).
    const dir = await seedUser('temp-lock');
    expect(await openAndDie('temp-lock', 'open', TEMP)).toBe('killed');
    const left = await lockFiles(dir);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(new RegExp(TEMP));
    expect(await loginCount('temp-lock')).toBe(3);
    expect(await lockFiles(dir)).toEqual([]);
  }, 60_000);

  it('killed right after linking the lock, its temp file still there: the next login works and sweeps both', async () => {
    const dir = await seedUser('linked-lock');
    expect(await openAndDie('linked-lock', 'link', `^${LOCK}$`)).toBe('killed');
    expect((await lockFiles(dir)).length).toBe(2);
    expect(await loginCount('linked-lock')).toBe(3);
    expect(await lockFiles(dir)).toEqual([]);
  }, 60_000);

  it('killed while breaking a stale lock (its breaker file just linked): the next login works', async () => {
    // Before e7d32b3 an orphaned pop3kit.lock.break refused logins with [IN-USE] for 30 s.
    const dir = await seedUser('breaker');
    await fs.writeFile(join(dir, LOCK_FILE), `${deadPid()} ${hostname()} ${Date.now()} 0123456789abcdef\n`);
    expect(await openAndDie('breaker', 'link', `^${LOCK}\\.break$`)).toBe('killed');
    expect(await lockFiles(dir)).toContain(`${LOCK_FILE}.break`);
    expect(await loginCount('breaker')).toBe(3);
    expect(await lockFiles(dir)).toEqual([]);
  }, 60_000);
});
