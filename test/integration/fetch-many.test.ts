// Several accounts (fetchAll) and daemon mode (pollLoop) against our server on loopback.
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AccountOutcome, fetchAll, pollLoop } from '../../src/fetch/index.js';
import type { AccountConfig } from '../../src/fetch/types.js';
import { MemoryStore } from '../../src/mailstore/memory-store.js';
import type { Pop3Server } from '../../src/server/server.js';
import { plainConnection, startPlainServer } from '../helpers/plain-server.js';

const PASS = 'many-accounts-password';
let dir: string;
let store: MemoryStore;
let servers: Pop3Server[] = [];

beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'pop3kit-fetch-many-'));
  store = new MemoryStore();
});
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close({ graceful: false })));
  servers = [];
  await fs.rm(dir, { recursive: true, force: true });
});

async function startServer(loginDelay?: number): Promise<number> {
  const { server, port } = await startPlainServer({
    store,
    authenticate: ({ pass }) => pass === PASS,
    ...(loginDelay === undefined ? {} : { capabilities: { loginDelay } }),
  });
  servers.push(server);
  return port;
}

function account(port: number, user: string, pass = PASS): AccountConfig {
  return {
    name: user,
    connection: plainConnection(port, user, pass),
    target: { kind: 'maildir', path: join(dir, user) },
    stateDir: join(dir, 'state'),
  };
}

const count = async (user: string) => (await fs.readdir(join(dir, user, 'new')).catch(() => [])).length;

describe('fetchAll', () => {
  it('fetches accounts concurrently; one failing account does not stop the others', async () => {
    const port = await startServer();
    for (const user of ['ann', 'bob', 'cy', 'dee']) {
      for (let i = 0; i < 5; i++) store.add(user, `Subject: ${user} ${i}\n\nhello\n`);
    }
    const finished: string[] = [];
    const outcomes = await fetchAll(
      [
        account(port, 'ann'),
        account(port, 'bob', 'wrong password'),
        account(port, 'cy'),
        account(port, 'dee'),
      ],
      { concurrency: 2, onOutcome: (o) => finished.push(o.account) },
    );
    expect(outcomes.map((o) => [o.account, o.ok])).toEqual([
      ['ann', true],
      ['bob', false],
      ['cy', true],
      ['dee', true],
    ]);
    expect((outcomes[1] as Extract<AccountOutcome, { ok: false }>).error).toMatchObject({ code: 'EAUTH' });
    expect(String((outcomes[1] as { error: Error }).error.message)).not.toContain('wrong password');
    expect(finished.sort()).toEqual(['ann', 'bob', 'cy', 'dee']);
    expect([await count('ann'), await count('bob'), await count('cy'), await count('dee')]).toEqual([
      5, 0, 5, 5,
    ]);
  });
});

describe('pollLoop', () => {
  it("never logs in again sooner than the server's LOGIN-DELAY, picks up new mail, stops on abort", async () => {
    const port = await startServer(1); // LOGIN-DELAY 1 second, enforced by the server
    store.add('ann', 'Subject: first\n\nx\n');
    const outcomes: { at: number; o: AccountOutcome }[] = [];
    const ac = new AbortController();
    const started = Date.now();
    const loop = pollLoop([account(port, 'ann')], 50, ac.signal, {
      onOutcome: (o) => {
        outcomes.push({ at: Date.now() - started, o });
        if (outcomes.length === 1) store.add('ann', 'Subject: second\n\nx\n');
      },
    });
    await new Promise((r) => setTimeout(r, 2600));
    ac.abort();
    const aborted = Date.now();
    await loop;
    expect(Date.now() - aborted).toBeLessThan(1500);
    // Interval 50 ms would mean dozens of polls; LOGIN-DELAY allows about one per second.
    expect(outcomes.length).toBeGreaterThanOrEqual(2);
    expect(outcomes.length).toBeLessThanOrEqual(3);
    // Only a poll cut short by the abort may fail.
    for (const { o } of outcomes) if (!o.ok) expect(o.error).toMatchObject({ code: 'EABORT' });
    const ok = outcomes.filter((x) => x.o.ok);
    expect(ok.length).toBeGreaterThanOrEqual(2); // no [LOGIN-DELAY] refusals
    expect(ok[0]!.o.ok && ok[0]!.o.result.loginDelay).toBe(1);
    for (let i = 1; i < ok.length; i++) expect(ok[i]!.at - ok[i - 1]!.at).toBeGreaterThanOrEqual(1000);
    expect(await count('ann')).toBe(2);
  }, 20_000);
});
