// Crash positions of the exactly-once protocol, with real process death: a child process delivers
// one message through AccountSession and SIGKILLs itself right after a chosen step; this process
// then opens the account (recovery) and runs the "next fetch" for the message if it is not
// recorded. Maildir and mbox must end with exactly one copy whatever the step; an MDA may get a
// second copy only when the kill falls between its exit and the `done` record (documented).
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountSession, type SessionStep } from './account-session.js';
import { accountPaths } from './state.js';
import { createTarget } from './targets/index.js';
import type { TargetConfig } from './types.js';

const here = import.meta.dirname;
const url = (f: string) => JSON.stringify(pathToFileURL(join(here, f)).href);
const MESSAGE = 'Subject: crash test\r\nFrom: a@b\r\n\r\nFrom the body\r\n.dot\r\nend\r\n';
const UID = 'uid-1';
const ACCOUNT = 'ann@pop.example:995';

let root: string;
let mda: string;
beforeAll(async () => {
  root = await fs.mkdtemp(join(tmpdir(), 'pop3kit-crash-'));
  // An MDA that appends each delivery to a log file (so repeats are visible).
  mda = join(root, 'mda.mjs');
  await fs.writeFile(
    mda,
    `import { appendFileSync } from 'node:fs';
     const parts = []; process.stdin.on('data', (d) => parts.push(d));
     process.stdin.on('end', () => appendFileSync(process.argv[2], Buffer.concat(parts).toString('latin1') + '\\n=====\\n'));`,
  );
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

function targetFor(kind: 'maildir' | 'mbox' | 'mda', dir: string): TargetConfig {
  if (kind === 'maildir') return { kind, path: join(dir, 'Maildir') };
  if (kind === 'mbox') return { kind, path: join(dir, 'inbox.mbox') };
  return { kind, command: [process.execPath, mda, join(dir, 'mda.log')] };
}

/** Run a child script (bounded: 30 s); resolves with the signal that ended it. Its stderr is the error otherwise. */
async function runChild(script: string): Promise<string | null> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const signal = await new Promise<string | null>((r) => child.once('exit', (_c, s) => r(s)));
  clearTimeout(timer);
  if (signal !== 'SIGKILL' && err) throw new Error(err);
  return signal;
}

/** Deliver MESSAGE in a child that kills itself after `step`; resolves with how it ended. */
async function crashAfter(step: SessionStep, target: TargetConfig, stateDir: string): Promise<string | null> {
  const script = join(stateDir, 'child.mts');
  await fs.writeFile(
    script,
    `import { AccountSession } from ${url('account-session.ts')};
     import { accountPaths } from ${url('state.ts')};
     import { createTarget } from ${url('targets/index.ts')};
     const stateDir = ${JSON.stringify(stateDir)};
     const target = createTarget(${JSON.stringify(target)}, accountPaths(stateDir, ${JSON.stringify(ACCOUNT)}));
     let armed = false;
     const onStep = (s) => { if (armed && s === ${JSON.stringify(step)}) process.kill(process.pid, 'SIGKILL'); };
     const { session } = await AccountSession.open(stateDir, ${JSON.stringify(ACCOUNT)}, target, { onStep });
     armed = true;
     async function* body() { yield Buffer.from(${JSON.stringify(MESSAGE)}, 'latin1'); }
     const prepared = await target.prepare(body(), { uid: ${JSON.stringify(UID)}, at: 1000 });
     await session.deliver(${JSON.stringify(UID)}, 1000, prepared);
     await session.close();
     console.log('not killed');`,
  );
  return runChild(script);
}

/** The "next run": recover, then deliver again if the UID is not recorded. Returns what recovery saw. */
async function nextRun(target: TargetConfig, stateDir: string) {
  const t = createTarget(target, accountPaths(stateDir, ACCOUNT));
  const { session, report } = await AccountSession.open(stateDir, ACCOUNT, t);
  const recorded = session.state.has(UID);
  if (!recorded) {
    async function* body() {
      yield Buffer.from(MESSAGE, 'latin1');
    }
    await session.deliver(UID, 2000, await t.prepare(body(), { uid: UID, at: 2000 }));
  }
  await session.close();
  return { recorded, report };
}

async function copies(kind: 'maildir' | 'mbox' | 'mda', dir: string): Promise<number> {
  if (kind === 'maildir') {
    let n = 0;
    for (const sub of ['new', 'cur']) {
      for (const name of await fs.readdir(join(dir, 'Maildir', sub))) {
        expect(await fs.readFile(join(dir, 'Maildir', sub, name), 'latin1')).toBe(
          MESSAGE.replace(/\r\n/g, '\n'),
        );
        n++;
      }
    }
    expect(await fs.readdir(join(dir, 'Maildir', 'tmp'))).toEqual([]);
    return n;
  }
  const file = join(dir, kind === 'mbox' ? 'inbox.mbox' : 'mda.log');
  const text = await fs.readFile(file, 'latin1').catch(() => '');
  return text.split(kind === 'mbox' ? /^From MAILER-DAEMON /m : /^=====$/m).length - 1;
}

/** Whether recovery finds the message delivered after a kill at each step the target goes through. */
const RECOVERED: Record<'maildir' | 'mbox' | 'mda', Partial<Record<SessionStep, boolean>>> = {
  // After `intent` the complete tmp/ file is rolled forward into new/.
  maildir: {
    prepared: false,
    intent: true,
    renamed: true,
    published: true,
    committed: true,
    done: true,
    'state-saved': true,
  },
  // The spool is not rolled forward: the message is fetched again (still exactly once in the mbox).
  mbox: { prepared: false, intent: false, committed: true, done: true, 'state-saved': true },
  mda: { prepared: false, intent: false, committed: false, done: true, 'state-saved': true },
};

describe('AccountSession: kill after every step, then recover', () => {
  for (const kind of ['maildir', 'mbox', 'mda'] as const) {
    it(`${kind}: exactly one copy after recovery (MDA: two only for a kill between its exit and done)`, async () => {
      const steps = Object.keys(RECOVERED[kind]) as SessionStep[];
      const results = await Promise.all(
        steps.map(async (step) => {
          const dir = join(root, `${kind}-${step}`);
          await fs.mkdir(dir);
          const target = targetFor(kind, dir);
          const signal = await crashAfter(step, target, dir);
          const { recorded, report } = await nextRun(target, dir);
          const again = await nextRun(target, dir); // a third run changes nothing
          const paths = accountPaths(dir, ACCOUNT);
          const leftovers = (await fs.readdir(dir)).filter(
            (n) => n.includes('.spool') || n.includes('.tmp-'),
          );
          return { step, signal, recorded, report, again, copies: await copies(kind, dir), leftovers, paths };
        }),
      );
      for (const r of results) {
        expect(r.signal, r.step).toBe('SIGKILL');
        expect(r.recorded, r.step).toBe(RECOVERED[kind][r.step]!);
        expect(r.again.recorded, r.step).toBe(true);
        expect(r.leftovers, r.step).toEqual([]);
        expect((await fs.stat(r.paths.journal)).size, r.step).toBe(0);
        const atLeastOnceGap = kind === 'mda' && r.step === 'committed';
        expect(r.copies, r.step).toBe(atLeastOnceGap ? 2 : 1);
        // An MDA intent without an outcome cannot be inspected: the user is told it may repeat.
        const unresolvedPipe = kind === 'mda' && (r.step === 'intent' || r.step === 'committed');
        if (unresolvedPipe)
          expect(r.report.warnings.join(), r.step).toMatch(/may have been delivered already/);
        else expect(r.report.warnings, r.step).toEqual([]);
      }
    }, 120_000);
  }
});

// Group commit: three messages queued and flushed as one batch (one intents append, three renames,
// one fsync of new/, one dones append); the child is killed at the n-th time it reaches a step.
const BATCH = ['uid-a', 'uid-b', 'uid-c'];
const batchMessage = (uid: string) => `Subject: batch ${uid}\r\nFrom: a@b\r\n\r\nbody of ${uid}\r\n`;

async function crashBatchAfter(step: SessionStep, nth: number, dir: string): Promise<string | null> {
  const script = join(dir, 'child.mts');
  const target = targetFor('maildir', dir);
  await fs.writeFile(
    script,
    `import { AccountSession } from ${url('account-session.ts')};
     import { accountPaths } from ${url('state.ts')};
     import { createTarget } from ${url('targets/index.ts')};
     const stateDir = ${JSON.stringify(dir)};
     const target = createTarget(${JSON.stringify(target)}, accountPaths(stateDir, ${JSON.stringify(ACCOUNT)}));
     let armed = false;
     let seen = 0;
     const onStep = (s) => {
       if (armed && s === ${JSON.stringify(step)} && ++seen === ${nth}) process.kill(process.pid, 'SIGKILL');
     };
     const { session } = await AccountSession.open(stateDir, ${JSON.stringify(ACCOUNT)}, target, {
       onStep,
       batch: { messages: ${BATCH.length}, ageMs: 60_000 },
     });
     armed = true;
     let delivered = 0;
     for (const uid of ${JSON.stringify(BATCH)}) {
       const body = Buffer.from('Subject: batch ' + uid + '\\r\\nFrom: a@b\\r\\n\\r\\nbody of ' + uid + '\\r\\n', 'latin1');
       const prepared = await target.prepare(body, { uid, at: 1000 });
       delivered += (await session.add({ uid, at: 1000, prepared, bytes: body.length })).length;
     }
     if (delivered !== ${BATCH.length}) throw new Error('the batch was not flushed at its bound');
     await session.close();
     console.log('not killed');`,
  );
  return runChild(script);
}

/** Recover, then deliver (one batch) whatever is not recorded; returns how many were recorded. */
async function nextBatchRun(dir: string): Promise<number> {
  const target = targetFor('maildir', dir);
  const t = createTarget(target, accountPaths(dir, ACCOUNT));
  const { session } = await AccountSession.open(dir, ACCOUNT, t);
  const missing = BATCH.filter((uid) => !session.state.has(uid));
  for (const uid of missing) {
    const prepared = await t.prepare(Buffer.from(batchMessage(uid), 'latin1'), { uid, at: 2000 });
    await session.add({ uid, at: 2000, prepared, bytes: 0 });
  }
  await session.flush();
  await session.close();
  return BATCH.length - missing.length;
}

describe('AccountSession group commit: kill at every point of a batch, then recover', () => {
  // [step, nth time, messages recovery finds delivered]
  const points: [SessionStep, number, number][] = [
    ['prepared', 2, 0], // two tmp files, no intent: removed as a dead run's, fetched again
    ['prepared', 3, 0], // the batch is full, its intents not yet written
    ['intent', 1, 3], // intents durable, nothing renamed: all rolled forward from tmp/
    ['renamed', 1, 3], // mid-renames: one in new/, two rolled forward
    ['renamed', 2, 3],
    ['published', 1, 3], // all renamed, new/ not yet fsynced
    ['committed', 1, 3], // new/ fsynced, dones not yet written
    ['done', 1, 3], // dones appended (not fsynced: a kill keeps them, a power cut falls back on intents)
    ['state-saved', 1, 3],
  ];
  it('maildir: every message exactly once, nothing left in tmp/, journal empty', async () => {
    const results = await Promise.all(
      points.map(async ([step, nth, expected]) => {
        const dir = join(root, `batch-${step}-${nth}`);
        await fs.mkdir(dir);
        const signal = await crashBatchAfter(step, nth, dir);
        const recorded = await nextBatchRun(dir);
        const again = await nextBatchRun(dir);
        const files: string[] = [];
        for (const sub of ['new', 'cur']) {
          for (const name of await fs.readdir(join(dir, 'Maildir', sub))) {
            files.push(await fs.readFile(join(dir, 'Maildir', sub, name), 'latin1'));
          }
        }
        const tmp = await fs.readdir(join(dir, 'Maildir', 'tmp'));
        const journal = (await fs.stat(accountPaths(dir, ACCOUNT).journal)).size;
        return { label: `${step} #${nth}`, expected, signal, recorded, again, files, tmp, journal };
      }),
    );
    for (const r of results) {
      expect(r.signal, r.label).toBe('SIGKILL');
      expect(r.recorded, r.label).toBe(r.expected);
      expect(r.again, r.label).toBe(BATCH.length);
      expect(r.files.sort(), r.label).toEqual(
        BATCH.map((u) => batchMessage(u).replace(/\r\n/g, '\n')).sort(),
      );
      expect(r.tmp, r.label).toEqual([]);
      expect(r.journal, r.label).toBe(0);
    }
  }, 120_000);
});
