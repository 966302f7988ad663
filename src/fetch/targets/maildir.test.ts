import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureMaildir, uniqueMaildirName } from '../../mailstore/maildir-deliver.js';
import { cleanMaildirTmp, maildirTarget, recoverMaildirIntent } from './maildir.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'pop3kit-mdt-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function* chunks(...parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p, 'latin1');
}
const ls = async (sub: string) => (await fs.readdir(join(dir, sub))).sort();

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid!;
  await new Promise((r) => child.once('exit', r));
  return pid;
}

describe('Maildir target', () => {
  it('prepare writes tmp/ only; commit moves it to new/ with LF line ends by default', async () => {
    const t = maildirTarget(dir);
    const p = await t.prepare(chunks('Subject: x\r', '\n\r\nbody\xff\r\n'), { uid: 'u', at: 0 });
    expect(p.intent.kind).toBe('maildir');
    expect(await ls('new')).toEqual([]);
    expect(await ls('tmp')).toHaveLength(1);
    await p.commit();
    expect(await ls('tmp')).toEqual([]);
    const [name] = await ls('new');
    expect(name).toMatch(/,S=18,W=/);
    expect(await fs.readFile(join(dir, 'new', name!), 'latin1')).toBe('Subject: x\n\nbody\xff\n');
  });

  it("keeps CRLF with lineEnds 'keep'", async () => {
    const p = await maildirTarget(dir, { lineEnds: 'keep' }).prepare(chunks('A: b\r\n\r\nc\r\n'), {
      uid: 'u',
      at: 0,
    });
    await p.commit();
    const [name] = await ls('new');
    expect(await fs.readFile(join(dir, 'new', name!), 'latin1')).toBe('A: b\r\n\r\nc\r\n');
  });

  it('a failing source leaves nothing behind', async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.from('Subject: half');
      throw new Error('connection lost');
    }
    await expect(maildirTarget(dir).prepare(broken(), { uid: 'u', at: 0 })).rejects.toThrow(
      'connection lost',
    );
    expect(await ls('tmp')).toEqual([]);
    expect(await ls('new')).toEqual([]);
  });
});

describe('recoverMaildirIntent', () => {
  const intentFor = async (uid: string) => {
    const p = await maildirTarget(dir).prepare(chunks(`Subject: ${uid}\n`), { uid, at: 0 });
    if (p.intent.kind !== 'maildir') throw new Error('kind');
    return { p, intent: p.intent };
  };

  it('rolls a complete tmp/ file forward into new/', async () => {
    const { intent } = await intentFor('a');
    expect(await recoverMaildirIntent(intent)).toBe(true);
    expect(await ls('new')).toEqual([intent.name]);
    expect(await ls('tmp')).toEqual([]);
    expect(await recoverMaildirIntent(intent)).toBe(true); // idempotent
  });

  it('finds a message a reader already moved to cur/ with flags', async () => {
    const { p, intent } = await intentFor('b');
    await p.commit();
    await fs.rename(join(dir, 'new', intent.name), join(dir, 'cur', `${intent.name}:2,S`));
    expect(await recoverMaildirIntent(intent)).toBe(true);
    expect(await ls('new')).toEqual([]);
  });

  it('reports not delivered when neither tmp/ nor new/ nor cur/ has it', async () => {
    const { p, intent } = await intentFor('c');
    await p.discard();
    expect(await recoverMaildirIntent(intent)).toBe(false);
    expect(await ls('new')).toEqual([]);
  });
});

describe('cleanMaildirTmp', () => {
  it("removes only our naming scheme's files from dead pids of this account's runs", async () => {
    await ensureMaildir(dir);
    const dead = await deadPid();
    const ours = uniqueMaildirName().replace(/P\d+Q/, `P${dead}Q`);
    const live = uniqueMaildirName(); // this process
    const otherDead = uniqueMaildirName().replace(/P\d+Q/, `P${dead + 1_000_000}Q`); // not in runPids
    const dovecot = `1700000000.M1P${dead}.host`; // another program's name
    for (const n of [ours, live, otherDead, dovecot]) await fs.writeFile(join(dir, 'tmp', n), 'x');
    expect(await cleanMaildirTmp(dir, new Set([dead, process.pid]))).toBe(1);
    expect(await ls('tmp')).toEqual([live, otherDead, dovecot].sort());
  });
});
