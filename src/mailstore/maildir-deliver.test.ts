import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toWireForm } from '../protocol/wire-size.js';
import { deliverToMaildir, ensureMaildir, publish, uniqueMaildirName, writeTmp } from './maildir-deliver.js';
import { MaildirStore } from './maildir-store.js';

let root: string;
let dir: string;
beforeEach(async () => {
  root = await fs.mkdtemp(join(tmpdir(), 'pop3kit-deliver-'));
  dir = join(root, 'ann');
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const ls = async (sub: string) => (await fs.readdir(join(dir, sub))).sort();

describe('Maildir delivery', () => {
  it('creates the Maildir, lands the message in new/ byte for byte, leaves tmp/ empty', async () => {
    const msg = Buffer.from('Subject: hi\r\n\r\nbody \xff\r\n.\r\n', 'latin1');
    const { path, name } = await deliverToMaildir(dir, msg);
    expect(path).toBe(join(dir, 'new', name));
    expect(await ls('new')).toEqual([name]);
    expect(await ls('tmp')).toEqual([]);
    expect(await ls('cur')).toEqual([]);
    expect(Buffer.compare(await fs.readFile(path), msg)).toBe(0);
    expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
    expect((await fs.stat(path)).mode & 0o777).toBe(0o600);
  });

  it('names files time.M<usec>P<pid>Q<n>R<rand>.host,S=<bytes>,W=<octets>, and the store trusts W', async () => {
    const msg = 'a\nb';
    const { name } = await deliverToMaildir(dir, Readable.from([Buffer.from('a\n'), Buffer.from('b')]));
    const m = /^(\d+)\.M(\d+)P(\d+)Q(\d+)R([0-9a-f]{8})\.([\x21-\x7e]+),S=(\d+),W=(\d+)$/.exec(name);
    expect(m).not.toBeNull();
    expect(Math.abs(Number(m![1]) - Date.now() / 1000)).toBeLessThan(60);
    expect(Number(m![3])).toBe(process.pid);
    expect(Number(m![7])).toBe(3);
    expect(Number(m![8])).toBe(toWireForm(Buffer.from(msg)).length);
    const base = name.split(',')[0]!;
    expect(base.length).toBeLessThanOrEqual(70);
    const mb = await new MaildirStore({ root }).openMailbox('ann');
    expect(mb.messages).toEqual([{ uid: base, octets: 6 }]);
    await mb.release();
  });

  it('gives 200 parallel deliveries 200 distinct names', async () => {
    const names = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        deliverToMaildir(dir, Buffer.from(`m${i}\n`)).then((r) => r.name),
      ),
    );
    expect(new Set(names).size).toBe(200);
    expect(await ls('new')).toEqual([...names].sort());
    const uniques = new Set(Array.from({ length: 1000 }, () => uniqueMaildirName()));
    expect(uniques.size).toBe(1000);
  });

  it('writeTmp keeps the message invisible until publish; publish can be repeated', async () => {
    await ensureMaildir(dir);
    const tmp = await writeTmp(dir, Buffer.from('x\n'));
    expect(await ls('tmp')).toEqual([tmp.tmpPath.split('/').pop()]);
    const store = new MaildirStore({ root });
    let mb = await store.openMailbox('ann');
    expect(mb.messages).toEqual([]);
    await mb.release();
    const first = await publish(dir, tmp);
    expect(await publish(dir, tmp)).toEqual(first); // after a crash between rename and journal
    expect(await ls('tmp')).toEqual([]);
    mb = await store.openMailbox('ann');
    expect(mb.messages).toHaveLength(1);
    await mb.release();
  });

  it('never replaces a message already in new/ under the same name (link, not rename)', async () => {
    await ensureMaildir(dir);
    const tmp = await writeTmp(dir, Buffer.from('second\n'));
    await fs.writeFile(join(dir, 'new', tmp.name), 'first\n');
    await expect(publish(dir, tmp)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await fs.readFile(join(dir, 'new', tmp.name), 'latin1')).toBe('first\n');
    expect(await fs.readFile(tmp.tmpPath, 'latin1')).toBe('second\n'); // still there, not lost
  });

  it('finishes a publish cut between its link into new/ and the unlink of tmp/', async () => {
    await ensureMaildir(dir);
    const tmp = await writeTmp(dir, Buffer.from('x\n'));
    await fs.link(tmp.tmpPath, join(dir, 'new', tmp.name));
    await publish(dir, tmp);
    expect(await ls('tmp')).toEqual([]);
    expect(await ls('new')).toEqual([tmp.name]);
  });

  it('publish fails when the tmp file is gone and never reached new/', async () => {
    await ensureMaildir(dir);
    const tmp = await writeTmp(dir, Buffer.from('x\n'));
    await fs.unlink(tmp.tmpPath);
    await expect(publish(dir, tmp)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(publish(dir, { tmpPath: tmp.tmpPath, name: '../escape' })).rejects.toMatchObject({
      code: 'EARGUMENT',
    });
  });

  it('converts CRLF to LF on request, split CRLF included', async () => {
    const src = Readable.from([Buffer.from('a\r'), Buffer.from('\nb\rc\r'), Buffer.from('\r\n')]);
    const { path } = await deliverToMaildir(dir, src, { lineEnds: 'lf' });
    expect(await fs.readFile(path, 'latin1')).toBe('a\nb\rc\r\n');
  });

  it('refuses a message over maxBytes and leaves nothing behind', async () => {
    const src = Readable.from([Buffer.alloc(60, 0x61), Buffer.alloc(60, 0x61)]);
    await expect(deliverToMaildir(dir, src, { maxBytes: 100 })).rejects.toMatchObject({ code: 'ELIMIT' });
    expect(await ls('tmp')).toEqual([]);
    expect(await ls('new')).toEqual([]);
  });

  it('removes the tmp file when the source fails mid-way', async () => {
    async function* failing() {
      yield Buffer.from('partial');
      throw new Error('connection lost');
    }
    await expect(deliverToMaildir(dir, failing())).rejects.toThrow('connection lost');
    expect(await ls('tmp')).toEqual([]);
    expect(await ls('new')).toEqual([]);
  });
});
