import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendToMbox } from '../../mailstore/mbox-deliver.js';
import type { IntentTarget } from '../journal.js';
import { expectedMboxBytes, mboxTarget, recoverMboxIntent } from './mbox.js';

type MboxIntent = Extract<IntentTarget, { kind: 'mbox' }>;

let dir: string;
let mbox: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'pop3kit-mbt-'));
  mbox = join(dir, 'inbox.mbox');
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function* chunks(...parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p, 'latin1');
}
async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

const AT = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
const MESSAGES = [
  'Subject: one\r\n\r\nFrom the start\r\n>From quoted\r\nend\r\n',
  'Subject: no final newline\r\n\r\nlast line',
  '',
  'Subject: lf only\n\nFrom x\n',
];

async function prepared(text: string, at = AT) {
  const p = await mboxTarget(mbox, join(dir, 'acct.spool')).prepare(chunks(text), { uid: 'u', at });
  return { p, intent: p.intent as MboxIntent };
}

describe('mbox target', () => {
  it('spools first (mbox untouched), then appends; expectedMboxBytes matches what appendToMbox wrote', async () => {
    for (const prefix of ['', 'From a Thu Jan  1 00:00:00 2024\nx\n', 'junk without newline']) {
      await fs.writeFile(mbox, prefix);
      for (const text of MESSAGES) {
        const before = await fs.readFile(mbox);
        const { p, intent } = await prepared(text);
        expect(await fs.readFile(mbox)).toEqual(before);
        expect(intent.offset).toBe(before.length);
        expect(intent.bytes).toBe(Buffer.byteLength(text, 'latin1'));
        await p.commit();
        const after = await fs.readFile(mbox);
        const expected = await collect(expectedMboxBytes(intent.spool, intent.date));
        expect(after.subarray(after.length - expected.length)).toEqual(expected);
        // Only a blank-line repair may sit between the old end and our bytes.
        expect(after.length - expected.length - before.length).toBeLessThanOrEqual(2);
        await p.cleanup();
        await expect(fs.access(intent.spool)).rejects.toThrow();
      }
    }
  });
});

describe('recoverMboxIntent', () => {
  it('a complete copy at the recorded offset counts as delivered', async () => {
    const { p, intent } = await prepared(MESSAGES[0]!);
    await p.commit();
    expect(await recoverMboxIntent(intent, 'u')).toEqual({ delivered: true });
  });

  it('finds our copy after mail another writer appended first', async () => {
    await fs.writeFile(mbox, 'From a Mon Jan  1 00:00:00 2024\nold\n\n');
    const { p, intent } = await prepared(MESSAGES[0]!);
    await appendToMbox(mbox, Buffer.from('Subject: someone else\n\nhi\n'), { date: new Date(AT) });
    await p.commit();
    expect(await recoverMboxIntent(intent, 'u')).toEqual({ delivered: true });
  });

  it('truncates a cut append at the end of the file (every cut point) and reports not delivered', async () => {
    await fs.writeFile(mbox, 'From a Mon Jan  1 00:00:00 2024\nold\n\n');
    const base = await fs.readFile(mbox);
    const { intent } = await prepared(MESSAGES[0]!);
    const ours = await collect(expectedMboxBytes(intent.spool, intent.date));
    for (let cut = 1; cut < ours.length; cut += cut < 40 ? 1 : 7) {
      await fs.writeFile(mbox, Buffer.concat([base, ours.subarray(0, cut)]));
      const r = await recoverMboxIntent(intent, 'u');
      expect(r.delivered).toBe(false);
      expect(await fs.readFile(mbox)).toEqual(base);
    }
  });

  it('leaves a cut copy followed by another writer in place, with a warning', async () => {
    const { intent } = await prepared(MESSAGES[0]!);
    const ours = await collect(expectedMboxBytes(intent.spool, intent.date));
    const content = Buffer.concat([
      ours.subarray(0, ours.length - 10),
      Buffer.from('\nFrom b Mon Jan  1 00:00:00 2024\nx\n\n'),
    ]);
    await fs.writeFile(mbox, content);
    const r = await recoverMboxIntent(intent, 'u');
    expect(r.delivered).toBe(false);
    expect(r.warning).toMatch(/incomplete copy of message u at byte 0/);
    expect(await fs.readFile(mbox)).toEqual(content);
  });

  it('nothing appended, or no spool left: not delivered, file untouched', async () => {
    await fs.writeFile(mbox, 'From a Mon Jan  1 00:00:00 2024\nold\n\n');
    const { p, intent } = await prepared(MESSAGES[1]!);
    expect(await recoverMboxIntent(intent, 'u')).toEqual({ delivered: false });
    await p.commit();
    await p.cleanup();
    expect(await recoverMboxIntent(intent, 'u')).toEqual({ delivered: false });
  });

  it('does not take a different message with the same separator date for ours', async () => {
    const { intent } = await prepared(MESSAGES[0]!);
    await appendToMbox(mbox, Buffer.from('Subject: other\n\nbody\n'), { date: new Date(AT) });
    expect(await recoverMboxIntent(intent, 'u')).toEqual({ delivered: false });
  });
});
