import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal, type JournalRecord, readJournal } from './journal.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'pop3kit-journal-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const records: JournalRecord[] = [
  { op: 'run', pid: 42, host: 'h', at: 1 },
  { op: 'intent', uid: 'u1', at: 2, target: { kind: 'maildir', dir: '/m', tmp: 't1', name: 'n1,S=3' } },
  { op: 'done', uid: 'u1', at: 2 },
  {
    op: 'intent',
    uid: 'u2',
    at: 3,
    target: { kind: 'mbox', file: '/x', offset: 9, date: 3, spool: '/s', bytes: 4 },
  },
  { op: 'intent', uid: 'u3', at: 4, target: { kind: 'pipe' } },
  { op: 'failed', uid: 'u3' },
];

describe('Journal', () => {
  it('appends records (serialised, in order) and reads them back', async () => {
    const path = join(dir, 'j');
    const j = await Journal.open(path);
    await Promise.all(records.map((r) => j.append(r)));
    expect(j.length).toBe(records.length);
    await j.close();
    expect(await readJournal(path)).toEqual({ records, torn: false, damaged: 0 });
  });

  it('ignores a torn last line (a kill mid-append) and counts damaged lines', async () => {
    const path = join(dir, 'j');
    const lines = records.map((r) => JSON.stringify(r));
    await fs.writeFile(path, `${lines[0]}\n{"op":"done",nonsense\n${lines[2]}\n${lines[1]!.slice(0, 20)}`);
    const got = await readJournal(path);
    expect(got.records).toEqual([records[0], records[2]]);
    expect(got.torn).toBe(true);
    expect(got.damaged).toBe(1);
  });

  it('rejects records that could steer recovery outside the Maildir', async () => {
    const path = join(dir, 'j');
    const bad = [
      {
        op: 'intent',
        uid: 'u',
        at: 1,
        target: { kind: 'maildir', dir: '/m', tmp: '../../etc/x', name: 'n' },
      },
      { op: 'intent', uid: 'u', at: 1, target: { kind: 'maildir', dir: '/m', tmp: 't', name: 'a/b' } },
      { op: 'done', uid: 'has space', at: 1 },
      { op: 'done', uid: '', at: 1 },
      {
        op: 'intent',
        uid: 'u',
        at: 1,
        target: { kind: 'mbox', file: '/x', offset: -1, date: 1, spool: '/s', bytes: 1 },
      },
      { op: 'what', uid: 'u' },
    ];
    await fs.writeFile(path, bad.map((b) => `${JSON.stringify(b)}\n`).join(''));
    expect(await readJournal(path)).toEqual({ records: [], torn: false, damaged: bad.length });
  });

  it('truncates to empty, and appends land after the truncation', async () => {
    const path = join(dir, 'j');
    const j = await Journal.open(path);
    await j.append(records[0]!);
    await j.truncate();
    expect(j.length).toBe(0);
    await j.append(records[2]!);
    await j.close();
    expect((await readJournal(path)).records).toEqual([records[2]]);
  });

  it('reads a missing journal as empty', async () => {
    expect(await readJournal(join(dir, 'none'))).toEqual({ records: [], torn: false, damaged: 0 });
  });
});
