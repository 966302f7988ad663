// Crash safety of commit: a child process commits a long deletion list and is SIGKILLed at a
// random moment inside the commit. Afterwards every message not on the list must be intact,
// and the next session (after stale-lock recovery) must finish the job.

import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureMaildir } from './maildir-deliver.js';
import { MaildirStore } from './maildir-store.js';

const COUNT = 600;
const RUNS = 20;
const body = (i: number) => `Subject: ${i}\n\n${'x'.repeat(i % 97)}\n`;
const uid = (i: number) => `1700000000.M${i}P1.host`;
// Sizes in the names (as our delivery writes them) spare each child a counting pass.
const name = (i: number) => `${uid(i)},S=${body(i).length},W=${body(i).length + 3}`;
const listed = (i: number) => i % 3 !== 0;

const CHILD = `
const { MaildirStore } = await import(process.argv[1]);
const deleted = JSON.parse(process.argv[3]);
const mb = await new MaildirStore({ root: process.argv[2] }).openMailbox('ann');
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  await mb.commit(deleted);
  await mb.release();
  process.stdout.write('done\\n');
  process.exit(0);
});`;

let base: string;
let commitMs = 0;
let partialRuns = 0;

beforeAll(async () => {
  base = await fs.mkdtemp(join(tmpdir(), 'pop3kit-kill-'));
});
afterAll(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

async function makeMaildir(root: string): Promise<string> {
  const dir = join(root, 'ann');
  await ensureMaildir(dir);
  for (let i = 0; i < COUNT; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, COUNT - i) }, (_, k) =>
        fs.writeFile(join(dir, i + k < COUNT / 2 ? 'new' : 'cur', name(i + k)), body(i + k)),
      ),
    );
  }
  return dir;
}

function startChild(root: string): { child: ChildProcess; said: (word: string) => Promise<void> } {
  const deleted = Array.from({ length: COUNT }, (_, i) => i)
    .filter(listed)
    .map(uid);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      CHILD,
      join(import.meta.dirname, 'maildir-store.ts'),
      root,
      JSON.stringify(deleted),
    ],
    { cwd: join(import.meta.dirname, '../..'), stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const said = (word: string) =>
    new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const check = () => {
        if (out.includes(word)) resolve();
        else if (Date.now() - started > 15_000) reject(new Error(`child never said ${word}`));
        else setTimeout(check, 1);
      };
      check();
    });
  return { child, said };
}

/** Where each message is now: its content, or null when gone. Also fails on any unexpected file. */
async function survey(dir: string): Promise<(string | null)[]> {
  const found = new Map<string, string>();
  for (const sub of ['new', 'cur']) {
    for (const f of await fs.readdir(join(dir, sub)))
      found.set(f, await fs.readFile(join(dir, sub, f), 'utf8'));
  }
  const state = Array.from({ length: COUNT }, (_, i) => found.get(name(i)) ?? null);
  expect(found.size).toBe(state.filter((s) => s !== null).length);
  return state;
}

describe('MaildirStore commit under SIGKILL', () => {
  it('calibrates: an uninterrupted commit removes exactly the list', async () => {
    const root = join(base, 'calibrate');
    const dir = await makeMaildir(root);
    const { child, said } = startChild(root);
    await said('ready');
    const t0 = performance.now();
    child.stdin!.write('go\n');
    await said('done');
    commitMs = performance.now() - t0;
    const state = await survey(dir);
    for (let i = 0; i < COUNT; i++) expect(state[i]).toBe(listed(i) ? null : body(i));
  });

  it.each(Array.from({ length: RUNS }, (_, i) => i))(
    'run %i: killed mid-commit, nothing unlisted is lost',
    async (run) => {
      const root = join(base, `run${run}`);
      const dir = await makeMaildir(root);
      const { child, said } = startChild(root);
      await said('ready');
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin!.write('go\n');
      await new Promise((r) => setTimeout(r, Math.random() * commitMs));
      child.kill('SIGKILL');
      await exited;

      const state = await survey(dir);
      let removed = 0;
      for (let i = 0; i < COUNT; i++) {
        if (!listed(i)) expect(state[i], `unlisted message ${i}`).toBe(body(i));
        else if (state[i] === null) removed++;
        else expect(state[i]).toBe(body(i)); // a listed survivor is whole too
      }
      if (removed > 0 && removed < (COUNT * 2) / 3) partialRuns++;

      // The dead holder's lock is recovered; a new session finishes the deletions.
      const mb = await new MaildirStore({ root }).openMailbox('ann');
      const left = mb.messages.map((m) => m.uid);
      expect(await mb.commit(left.filter((u) => listed(Number(/M(\d+)P/.exec(u)![1]))))).toEqual({
        notRemoved: [],
      });
      await mb.release();
      const after = await survey(dir);
      for (let i = 0; i < COUNT; i++) expect(after[i]).toBe(listed(i) ? null : body(i));
      await fs.rm(root, { recursive: true, force: true });
    },
  );

  it('actually interrupted some commits part-way', () => {
    // The delays are drawn across the measured commit time, so most runs land inside it.
    expect(partialRuns).toBeGreaterThan(0);
  });
});
