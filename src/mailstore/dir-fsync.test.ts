// A new file or folder survives a crash only once the folder that names it is fsynced: fsync of
// the file itself makes its bytes durable, not its directory entry. Delivery creates the mbox file
// and the Maildir's folders on first use; both must be durable before the message counts.
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('./io.js', async (importOriginal) => {
  const io = await importOriginal<typeof import('./io.js')>();
  return { ...io, fsyncDir: vi.fn(io.fsyncDir), fsyncDirSync: vi.fn(io.fsyncDirSync) };
});

const io = await import('./io.js');
const { appendToMbox } = await import('./mbox-deliver.js');
const { deliverToMaildir } = await import('./maildir-deliver.js');

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(join(tmpdir(), 'pop3kit-dirsync-'));
  vi.mocked(io.fsyncDir).mockClear();
  vi.mocked(io.fsyncDirSync).mockClear();
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const synced = () =>
  [...vi.mocked(io.fsyncDir).mock.calls, ...vi.mocked(io.fsyncDirSync).mock.calls].map((c) => String(c[0]));

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
