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

const STEPS: SessionStep[] = ['prepared', 'intent', 'committed', 'done', 'state-saved'];
/** Whether recovery finds the message delivered after a kill at each step. */
const RECOVERED: Record<'maildir' | 'mbox' | 'mda', Record<SessionStep, boolean>> = {
  // After `intent` the complete tmp/ file is rolled forward into new/.
  maildir: { prepared: false, intent: true, committed: true, done: true, 'state-saved': true },
  // The spool is not rolled forward: the message is fetched again (still exactly once in the mbox).
  mbox: { prepared: false, intent: false, committed: true, done: true, 'state-saved': true },
  mda: { prepared: false, intent: false, committed: false, done: true, 'state-saved': true },
};

describe('AccountSession: kill after every step, then recover', () => {
  for (const kind of ['maildir', 'mbox', 'mda'] as const) {
    it(`${kind}: exactly one copy after recovery (MDA: two only for a kill between its exit and done)`, async () => {
      const results = await Promise.all(
        STEPS.map(async (step) => {
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
        expect(r.recorded, r.step).toBe(RECOVERED[kind][r.step]);
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
