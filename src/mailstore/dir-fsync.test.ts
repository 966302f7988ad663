// A new file or folder survives a crash only once the folder that names it is fsynced: fsync of
// the file itself makes its bytes durable, not its directory entry. Delivery creates the mbox file
// and the Maildir's folders on first use; both must be durable before the message counts.
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { dirFsyncs, forgetDirFsyncs } from '../../test/helpers/dir-fsync-spy.js';

vi.mock('./io.js', async (original) =>
  (await import('../../test/helpers/dir-fsync-spy.js')).withDirFsyncSpies(await original()),
);

const io = await import('./io.js');
const { appendToMbox } = await import('./mbox-deliver.js');
const { deliverToMaildir } = await import('./maildir-deliver.js');

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(join(tmpdir(), 'pop3kit-dirsync-'));
  forgetDirFsyncs(io);
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const synced = () => dirFsyncs(io).all;

describe('directory fsync after creating', () => {
  it('appendToMbox fsyncs the folder of an mbox it created', async () => {
    await appendToMbox(join(root, 'inbox'), Buffer.from('hello\n'));
    expect(synced()).toContain(root);
  });

  it('deliverToMaildir fsyncs the Maildir and its parent when it created them', async () => {
    const dir = join(root, 'Maildir');
    await deliverToMaildir(dir, Buffer.from('hello\n'));
    expect(synced()).toEqual(expect.arrayContaining([join(dir, 'new'), dir, root]));
  });
});
