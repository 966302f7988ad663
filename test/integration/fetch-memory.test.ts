// Memory stays flat in message size: a child process fetches one 1 MiB message and one 48 MiB
// message (each into its own Maildir) and reports its peak RSS; the difference must be far below
// the message size. The server (and its in-memory copy of the mail) lives in this process.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../src/fetch/types.js';
import { MemoryStore } from '../../src/mailstore/memory-store.js';
import type { Pop3Server } from '../../src/server/server.js';
import { plainConnection, startPlainServer } from '../helpers/plain-server.js';

const MiB = 1024 * 1024;
const PASS = 'memory-test-password';
let dir: string;
let server: Pop3Server;
let port: number;
let script: string;

function bigMessage(bytes: number): Buffer {
  const line = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.-\n';
  return Buffer.from(`Subject: big\n\n${line.repeat(Math.ceil(bytes / line.length))}`, 'latin1');
}

beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'pop3kit-fetch-mem-'));
  const store = new MemoryStore();
  store.add('small', bigMessage(1 * MiB));
  store.add('large', bigMessage(48 * MiB));
  ({ server, port } = await startPlainServer({ store, authenticate: ({ pass }) => pass === PASS }));
  script = join(dir, 'child.mts');
  const url = pathToFileURL(join(import.meta.dirname, '../../src/fetch/index.ts')).href;
  await fs.writeFile(
    script,
    `import { fetchAccount } from ${JSON.stringify(url)};
     const parts = [];
     for await (const c of process.stdin) parts.push(c);
     const r = await fetchAccount(JSON.parse(Buffer.concat(parts).toString()));
     process.stdout.write(JSON.stringify({ delivered: r.delivered, bytes: r.bytes, maxRssKiB: process.resourceUsage().maxRSS }));`,
  );
});
afterAll(async () => {
  await server?.close({ graceful: false });
  await fs.rm(dir, { recursive: true, force: true });
});

async function fetchInChild(user: string): Promise<{ delivered: number; bytes: number; maxRssKiB: number }> {
  const account: AccountConfig = {
    connection: plainConnection(port, user, PASS),
    target: { kind: 'maildir', path: join(dir, user) },
    stateDir: join(dir, 'state'),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(JSON.stringify(account));
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const code = await new Promise((r) => child.once('exit', r));
  clearTimeout(timer);
  expect(code).toBe(0);
  return JSON.parse(out);
}

describe('fetch memory', () => {
  it('peak memory does not grow with message size (streamed, never buffered whole)', async () => {
    const small = await fetchInChild('small');
    const large = await fetchInChild('large');
    expect(small.delivered).toBe(1);
    expect(large.delivered).toBe(1);
    expect(large.bytes).toBeGreaterThan(48 * MiB);
    const growthMiB = (large.maxRssKiB - small.maxRssKiB) / 1024;
    console.log(
      `fetch peak RSS: 1 MiB message ${small.maxRssKiB >> 10} MiB, 48 MiB message ${large.maxRssKiB >> 10} MiB`,
    );
    expect(growthMiB).toBeLessThan(24);
    const [name] = await fs.readdir(join(dir, 'large', 'new'));
    expect((await fs.stat(join(dir, 'large', 'new', name!))).size).toBe(bigMessage(48 * MiB).length);
  }, 180_000);
});
