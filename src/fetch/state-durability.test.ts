// The fetcher's state folder and journal are named durably: a new file or folder survives a crash
// only once the folder that names it is fsynced, and the journal is what keeps a message from
// being fetched twice. (The fsync wrappers are spied on, and still run: a power cut cannot be.)
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { dirFsyncs, forgetDirFsyncs } from '../../test/helpers/dir-fsync-spy.js';

vi.mock('../mailstore/io.js', async (original) =>
  (await import('../../test/helpers/dir-fsync-spy.js')).withDirFsyncSpies(await original()),
);

const io = await import('../mailstore/io.js');
const { AccountSession } = await import('./account-session.js');
const { accountPaths } = await import('./state.js');
const { createTarget } = await import('./targets/index.js');

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(join(tmpdir(), 'pop3kit-statesync-'));
  forgetDirFsyncs(io);
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

it('a first run fsyncs the folders it made for the state, and the state folder for the new journal', async () => {
  const stateDir = join(root, 'state', 'pop3kit');
  const target = createTarget(
    { kind: 'maildir', path: join(root, 'Maildir') },
    accountPaths(stateDir, 'a@b:1'),
  );
  const { session } = await AccountSession.open(stateDir, 'a@b:1', target);
  await session.close();
  expect(dirFsyncs(io).all).toEqual(expect.arrayContaining([root, join(root, 'state')]));
  // The journal's own: made with a synchronous open, so synced the same way, before any state save.
  expect(dirFsyncs(io).sync).toContain(stateDir);
});
