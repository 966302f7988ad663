// fetchAccount against scripted servers that misbehave: duplicate UIDs, a QUIT never answered,
// a connection cut in the middle of a message, no UIDL. Nothing may be lost or recorded wrongly.
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fetchAccount } from '../../src/fetch/index.js';
import { accountId, accountPaths, loadState } from '../../src/fetch/state.js';
import type { AccountConfig, FetchPolicy } from '../../src/fetch/types.js';
import { capaReply, sendOpening } from '../helpers/client-peer.js';
import { plainConnection } from '../helpers/plain-server.js';
import { type ScriptedConn, type ScriptedPeer, scriptedPeer } from '../helpers/scripted-peer.js';

let dir: string;
let peer: ScriptedPeer | undefined;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'pop3kit-fetch-faults-'));
});
afterEach(async () => {
  await peer?.close();
  peer = undefined;
  await fs.rm(dir, { recursive: true, force: true });
});

const CAPA = ['USER', 'UIDL'];

/** Greeting, CAPA, USER/PASS, CAPA again: what the client does before fetching. */
async function login(c: ScriptedConn, capa = CAPA): Promise<void> {
  await sendOpening(c, { greeting: '+OK ready', capa });
  await c.expect('USER alice');
  c.send('+OK\r\n');
  await c.expect(/^PASS /);
  c.send('+OK logged in\r\n');
  await c.expect('CAPA');
  c.send(capaReply(capa));
}

function account(port: number, policy: FetchPolicy = {}): AccountConfig {
  return {
    connection: { ...plainConnection(port, 'alice', 'pw'), timeouts: { command: 5000, idle: 5000 } },
    target: { kind: 'maildir', path: join(dir, 'Maildir') },
    policy,
    stateDir: join(dir, 'state'),
  };
}

async function maildir(): Promise<string[]> {
  const names = await fs.readdir(join(dir, 'Maildir', 'new')).catch(() => [] as string[]);
  return Promise.all(names.map((n) => fs.readFile(join(dir, 'Maildir', 'new', n), 'latin1'))).then((m) =>
    m.sort(),
  );
}

const stateOf = async (port: number) =>
  loadState(accountPaths(join(dir, 'state'), accountId(account(port).connection)).state);

describe('fetch against misbehaving servers', () => {
  it('downloads a duplicated UID once, deletes none of its copies; an unanswered QUIT confirms nothing', async () => {
    peer = await scriptedPeer(async (c) => {
      await login(c);
      await c.expect('UIDL');
      c.send('+OK\r\n1 dup\r\n2 one\r\n3 dup\r\n.\r\n');
      await c.expect('LIST');
      c.send('+OK\r\n1 20\r\n2 20\r\n3 20\r\n.\r\n');
      await c.expect('RETR 1');
      c.send('+OK\r\nSubject: first dup\r\n.\r\n');
      await c.expect('RETR 2');
      c.send('+OK\r\nSubject: one\r\n.\r\n');
      await c.expect('DELE 2'); // only the unique UID
      c.send('+OK\r\n');
      await c.expect('QUIT');
      c.destroy(); // no +OK: the server may not have deleted anything
    });
    const r = await fetchAccount(account(peer.port, { delete: true }));
    await peer.done;
    expect(r).toMatchObject({ new: 2, delivered: 2, deleted: 0, errors: 0 });
    expect(r.warnings.join('\n')).toMatch(/1 UID\(s\) more than once.*never deleted/);
    expect(r.warnings.join('\n')).toMatch(/closed before QUIT was answered/);
    expect(await maildir()).toEqual(['Subject: first dup\n', 'Subject: one\n']);
    expect([...(await stateOf(peer.port)).seen.keys()].sort()).toEqual(['dup', 'one']);
  });

  it('a connection cut mid-message records nothing, deletes nothing, leaves no file', async () => {
    peer = await scriptedPeer(async (c) => {
      await login(c);
      await c.expect('UIDL');
      c.send('+OK\r\n1 a\r\n2 b\r\n.\r\n');
      await c.expect('LIST');
      c.send('+OK\r\n1 20\r\n2 5000\r\n.\r\n');
      await c.expect('RETR 1');
      c.send('+OK\r\nSubject: a\r\n.\r\n');
      await c.expect('RETR 2');
      c.send('+OK\r\nSubject: b\r\n\r\nthe first half of the bo');
      await new Promise((r) => setTimeout(r, 50));
      c.destroy();
    });
    await expect(fetchAccount(account(peer.port, { delete: true }))).rejects.toMatchObject({
      code: 'ECLOSED',
    });
    expect(await maildir()).toEqual(['Subject: a\n']);
    expect(await fs.readdir(join(dir, 'Maildir', 'tmp'))).toEqual([]);
    expect([...(await stateOf(peer.port)).seen.keys()]).toEqual(['a']);
    expect(peer ? (await peer.conn).received.toString() : '').not.toMatch(/DELE|QUIT/);
    // The lock was released: the next run may start.
    await expect(fs.readdir(join(dir, 'state'))).resolves.not.toContainEqual(
      expect.stringMatching(/\.lock$/),
    );
  });

  it('pipelines RETRs (a window of them in flight) when the server offers PIPELINING', async () => {
    peer = await scriptedPeer(async (c) => {
      await login(c, [...CAPA, 'PIPELINING']);
      await c.expect('UIDL');
      c.send('+OK\r\n1 a\r\n2 b\r\n3 c\r\n4 d\r\n.\r\n');
      await c.expect('LIST');
      c.send('+OK\r\n1 9\r\n2 9\r\n3 9\r\n4 9\r\n.\r\n');
      // Three commands arrive before any reply: the window is 3.
      for (const n of [1, 2, 3]) await c.expect(`RETR ${n}`);
      // ...and no fourth until a reply makes room.
      if (
        await c.readLine(300).then(
          () => true,
          () => false,
        )
      )
        throw new Error('window exceeded');
      for (const n of [1, 2, 3]) c.send(`+OK\r\nSubject: ${n}\r\n.\r\n`);
      await c.expect('RETR 4');
      c.send('+OK\r\nSubject: 4\r\n.\r\n');
      await c.expect('QUIT');
      c.send('+OK bye\r\n');
      c.end();
    });
    const r = await fetchAccount({ ...account(peer.port), window: 3 });
    await peer.done;
    expect(r).toMatchObject({ delivered: 4, warnings: [] });
    expect(await maildir()).toEqual(['Subject: 1\n', 'Subject: 2\n', 'Subject: 3\n', 'Subject: 4\n']);
  });

  it('asks UIDL and LIST in one round trip when the server offers PIPELINING', async () => {
    const capa = [...CAPA, 'PIPELINING'];
    peer = await scriptedPeer(async (c) => {
      await login(c, capa);
      // Both before either is answered: a client waiting for UIDL's reply would time out here.
      await c.expect('UIDL');
      expect(await c.readLine(2000)).toBe('LIST');
      c.send('+OK\r\n1 only\r\n.\r\n+OK\r\n1 20\r\n.\r\n');
      await c.expect('RETR 1');
      c.send('+OK\r\nSubject: only\r\n.\r\n');
      await c.expect('QUIT');
      c.send('+OK bye\r\n');
      c.end();
    });
    const r = await fetchAccount(account(peer.port));
    await peer.done;
    expect(r).toMatchObject({ new: 1, delivered: 1, warnings: [] });
    expect(await maildir()).toEqual(['Subject: only\n']);
  });

  it('refuses without UIDL even when LIST went out with it (pipelined) and was answered', async () => {
    peer = await scriptedPeer(async (c) => {
      await login(c, ['USER', 'UIDL', 'PIPELINING']);
      await c.expect('UIDL');
      await c.expect('LIST');
      c.send('-ERR unknown command\r\n+OK\r\n1 20\r\n.\r\n');
      await c.closedByClient();
    });
    await expect(fetchAccount(account(peer.port))).rejects.toMatchObject({
      code: 'ESERVER',
      message: expect.stringContaining('does not support UIDL'),
    });
    expect(await maildir()).toEqual([]);
  });

  it('keep mode: the final compaction runs while QUIT is answered; the lock is held until it is', async () => {
    const paths = () => accountPaths(join(dir, 'state'), accountId(account(peer!.port).connection));
    const during: { saved?: boolean; locked?: boolean } = {};
    peer = await scriptedPeer(async (c) => {
      await login(c);
      await c.expect('UIDL');
      c.send('+OK\r\n1 a\r\n2 b\r\n.\r\n');
      await c.expect('LIST');
      c.send('+OK\r\n1 20\r\n2 20\r\n.\r\n');
      await c.expect('RETR 1');
      c.send('+OK\r\nSubject: a\r\n.\r\n');
      await c.expect('RETR 2');
      c.send('+OK\r\nSubject: b\r\n.\r\n');
      await c.expect('QUIT');
      // The client has not had QUIT's answer: the state is already saved, the lock still held.
      const deadline = Date.now() + 3000;
      while (!during.saved && Date.now() < deadline) {
        during.saved = (await loadState(paths().state)).has('b');
        if (!during.saved) await new Promise((r) => setTimeout(r, 20));
      }
      during.locked = await fs.stat(paths().lock).then(
        () => true,
        () => false,
      );
      c.send('+OK bye\r\n');
      c.end();
    });
    const r = await fetchAccount(account(peer.port));
    await peer.done;
    expect(during).toEqual({ saved: true, locked: true });
    expect(r).toMatchObject({ new: 2, delivered: 2, deleted: 0, warnings: [] });
    await expect(fs.stat(paths().lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keep mode: a QUIT left unanswered (connection cut) still ends the run with mail delivered', async () => {
    peer = await scriptedPeer(async (c) => {
      await login(c);
      await c.expect('UIDL');
      c.send('+OK\r\n1 a\r\n.\r\n');
      await c.expect('LIST');
      c.send('+OK\r\n1 20\r\n.\r\n');
      await c.expect('RETR 1');
      c.send('+OK\r\nSubject: a\r\n.\r\n');
      await c.expect('QUIT');
      c.destroy();
    });
    const r = await fetchAccount(account(peer.port));
    await peer.done;
    expect(r).toMatchObject({ delivered: 1, deleted: 0, warnings: [] });
    expect((await stateOf(peer.port)).has('a')).toBe(true);
  });

  it('refuses to fetch without UIDL, with a clear error', async () => {
    peer = await scriptedPeer(async (c) => {
      await login(c);
      await c.expect('UIDL');
      c.send('-ERR unknown command\r\n');
      await c.closedByClient();
    });
    await expect(fetchAccount(account(peer.port))).rejects.toMatchObject({
      code: 'ESERVER',
      message: expect.stringContaining('does not support UIDL'),
    });
  });

  it('never sends the password to a server without TLS unless allowed', async () => {
    peer = await scriptedPeer(async (c) => {
      await sendOpening(c, { greeting: '+OK ready', capa: CAPA });
      await c.closedByClient();
    });
    const a = account(peer.port);
    a.connection.allowInsecureAuth = false;
    await expect(fetchAccount(a)).rejects.toMatchObject({ code: 'EINSECURE' });
    expect((await peer.conn).received.toString()).not.toContain('pw');
  });
});
