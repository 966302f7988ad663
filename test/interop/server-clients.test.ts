// Real POP3 clients against our server: mpop, fetchmail and Python's poplib each download a whole
// seeded Maildir (the Dovecot tests' mixed mailbox: edge cases with '.'-lines, 8-bit and legacy
// charsets, bare LF/CR, NULs, no final newline, the 20 MiB attachment; 200 small messages instead of
// 2000 to keep CI time sane) over STLS and over implicit TLS, keeping or deleting the mail. Every
// delivered message must be byte-identical to the stored one in wire form, minus exactly what the
// client itself adds; afterwards the Maildir is unchanged (keep) or empty (delete), and nothing else
// under the store root was touched.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChildResult,
  runFetchmail,
  runMpop,
  runPoplib,
  stripFetchmailReceived,
  stripMpopReceived,
} from '../../scripts/peers/clients/index.js';
import { SIZE_CACHE_FILE } from '../../src/mailstore/size-cache.js';
import { hashPassword, MaildirStore, Pop3Server, UsersFile } from '../../src/server/index.js';
import { generateMessages, type MailMessage, toWireForm, writeMaildir } from '../fixtures/mail-generator.js';
import { testCerts } from '../helpers/certs.js';

const SMALL_COUNT = 200;
const PASS = 'interop pass-word 1939';
const CLIENT_TIMEOUT_MS = 180_000;
const CLIENTS = ['mpop', 'fetchmail', 'poplib'] as const;
const TRANSPORTS = ['starttls', 'implicit'] as const;
const MODES = ['keep', 'delete'] as const;
type Client = (typeof CLIENTS)[number];

const messages: MailMessage[] = generateMessages({ preset: 'mixed', smallCount: SMALL_COUNT, big: true });
/** Message-ID -> wire form (CRLF line ends, before dot-stuffing): what RETR must carry. */
const wireById = (list: MailMessage[]) =>
  new Map(list.map((m) => [messageId(m.bytes)!, toWireForm(m.bytes)]));
const expectedWire = wireById(messages);
const mechMessages = generateMessages({ preset: 'sized', count: 3, size: 2048, seed: 110 });

let work: string;
let root: string;
let caFile: string;
let server: Pop3Server;
let ports: Record<(typeof TRANSPORTS)[number], number>;
const serverErrors: string[] = [];

/** The first Message-ID header line (headers come first, and no generated body has one). */
function messageId(bytes: Buffer): string | undefined {
  return /^Message-ID: (<[^>\r\n]+>)\r?$/m.exec(bytes.subarray(0, 8192).toString('latin1'))?.[1];
}

const userName = (c: Client, t: string, m: string) => `${c}-${t}-${m}`;

beforeAll(async () => {
  expect(expectedWire.size).toBe(messages.length); // every generated message has its own Message-ID
  work = await fs.mkdtemp(join(tmpdir(), 'pop3kit-server-clients-'));
  root = join(work, 'store');
  await fs.mkdir(root);
  caFile = join(work, 'ca.pem');
  const certs = testCerts();
  await fs.writeFile(caFile, certs.ca);
  // SCRAM-SHA-256 entries serve USER/PASS and PLAIN as well (the password is checked against the keys).
  const field = await hashPassword(PASS, 'SCRAM-SHA-256');
  const names = ['bystander'];
  for (const c of CLIENTS) for (const t of TRANSPORTS) for (const m of MODES) names.push(userName(c, t, m));
  // `mech` has a {PLAIN} entry: CRAM-MD5 and SCRAM-SHA-1 need the plaintext (see UsersFile).
  const lines = [...names.map((n) => `${n}:${field}`), `mech:{PLAIN}${PASS}`];
  const users = UsersFile.parse(lines.join('\n'));
  await writeMaildir(join(root, 'mech'), mechMessages);
  // Bystanders: another user's Maildir and a stray file; neither may change.
  await writeMaildir(join(root, 'bystander'), generateMessages({ preset: 'sized', count: 3, size: 1024 }));
  await fs.writeFile(join(root, 'NOT-A-MAILDIR.txt'), 'left alone\n');

  server = new Pop3Server({
    store: new MaildirStore({ root }),
    users,
    tls: certs.server,
    limits: { failedLoginDelayMs: 0 },
  });
  server.on('error', (err, info) => serverErrors.push(`${info.what}: ${String(err)}`));
  ports = {
    starttls: (await server.listen({ port: 0, host: '127.0.0.1' })).port,
    implicit: (await server.listen({ port: 0, host: '127.0.0.1', implicitTls: true })).port,
  };
});

afterAll(async () => {
  await server?.close({ graceful: false });
  if (work) await fs.rm(work, { recursive: true, force: true });
});

/** Seed: the special messages and the big one in cur/ (seen), the small ones in new/. */
async function seed(maildir: string): Promise<void> {
  const firstSmall = messages.findIndex((m) => m.name.startsWith('small-'));
  await writeMaildir(maildir, messages.slice(0, firstSmall), { folder: 'cur' });
  await writeMaildir(maildir, messages.slice(firstSmall), { folder: 'new' });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Every entry under `dir` (recursive) except `skip`: path -> kind, size, mtime and content hash. */
async function treeState(dir: string, skip: string): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(e.parentPath, e.name);
    if (path === skip || path.startsWith(`${skip}/`)) continue;
    const st = await fs.lstat(path);
    const content = e.isFile() ? sha(await fs.readFile(path)) : e.isDirectory() ? 'dir' : 'other';
    state.set(path, `${content} ${st.size} ${st.mtimeMs}`);
  }
  state.set(dir, `dir ${(await fs.stat(dir)).mtimeMs}`);
  return state;
}

/** A Maildir's messages (relative path -> hash), the files left in tmp/, and any other top-level names. */
async function maildirState(dir: string) {
  const files = new Map<string, string>();
  for (const sub of ['new', 'cur']) {
    for (const name of await fs.readdir(join(dir, sub))) {
      files.set(`${sub}/${name}`, sha(await fs.readFile(join(dir, sub, name))));
    }
  }
  const tmp = await fs.readdir(join(dir, 'tmp'));
  const other = (await fs.readdir(dir)).filter((n) => !['new', 'cur', 'tmp'].includes(n));
  return { files, tmp, other };
}

async function sessionsEnded(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (server.sessionCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(server.sessionCount).toBe(0);
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** Files under dir (recursive), read whole. */
async function readAll(dir: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(await fs.readFile(join(e.parentPath, e.name)));
  }
  return out;
}

const crlfToLf = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');

/**
 * Compare what a client delivered with what was seeded. `unwrap` strips exactly what that client
 * adds (null: the addition is missing or different); `expect` maps the wire form to the form the
 * client stores. Returns a list of problems (empty when all is well).
 */
function compareDelivered(
  delivered: Buffer[],
  expectedWire: Map<string, Buffer>,
  unwrap: (stored: Buffer) => Buffer | null,
  expectedForm: (wire: Buffer) => Buffer,
): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const stored of delivered) {
    const body = unwrap(stored);
    if (!body) {
      problems.push(`unexpected header block: ${JSON.stringify(stored.subarray(0, 120).toString('latin1'))}`);
      continue;
    }
    const id = messageId(body);
    const wire = id ? expectedWire.get(id) : undefined;
    if (!id || !wire) {
      problems.push(`unknown message: ${JSON.stringify(body.subarray(0, 120).toString('latin1'))}`);
      continue;
    }
    if (seen.has(id)) problems.push(`${id} delivered twice`);
    seen.add(id);
    const want = expectedForm(wire);
    if (!body.equals(want)) {
      const at = firstDifference(body, want);
      problems.push(`${id}: ${body.length} bytes, expected ${want.length}; first difference at ${at}`);
    }
  }
  for (const id of expectedWire.keys()) if (!seen.has(id)) problems.push(`${id} not delivered`);
  return problems;
}

function expectExit(result: ChildResult, what: string): void {
  const status = `exit ${result.code} signal ${result.signal} timedOut ${result.timedOut}`;
  const detail = `${what}: ${status}\n${result.stderr.slice(-2000)}`;
  expect(result.timedOut, detail).toBe(false);
  expect(result.code, detail).toBe(0);
}

describe.each(CLIENTS)('%s against our server', (client) => {
  for (const transport of TRANSPORTS) {
    for (const mode of MODES) {
      it(`${transport}, ${mode}: downloads the whole mailbox byte-identical`, async () => {
        const user = userName(client, transport, mode);
        const maildir = join(root, user);
        await seed(maildir);
        const before = await maildirState(maildir);
        expect(before.files.size).toBe(messages.length);
        const others = await treeState(root, maildir);
        const out = join(work, 'out', user);
        const common = {
          host: '127.0.0.1',
          port: ports[transport],
          user,
          pass: PASS,
          tls: transport,
          caFile,
          servername: 'localhost',
          keep: mode === 'keep',
          timeoutMs: CLIENT_TIMEOUT_MS,
        };
        const errorsBefore = serverErrors.length;
        const started = Date.now();
        let problems: string[];
        if (client === 'mpop') {
          // Two login paths: USER/PASS after STLS, SASL PLAIN on the implicit-TLS port.
          const auth = transport === 'starttls' ? 'user' : 'plain';
          expectExit(await runMpop({ ...common, auth, maildir: out }), 'mpop');
          expect(await fs.readdir(join(out, 'tmp'))).toEqual([]);
          // mpop stores LF line ends and prepends its Received header.
          problems = compareDelivered(await readAll(out), expectedWire, stripMpopReceived, crlfToLf);
        } else if (client === 'fetchmail') {
          expectExit(await runFetchmail({ ...common, outDir: out }), 'fetchmail');
          // `no stripcr`: the wire form exactly, after fetchmail's Received header.
          problems = compareDelivered(await readAll(out), expectedWire, stripFetchmailReceived, (w) => w);
        } else {
          const result = await runPoplib({ ...common, outDir: out });
          expectExit(result, 'poplib');
          const sizes = (result.messages ?? []).filter((m) => m.listed !== m.octets || !m.uid);
          expect(sizes, 'LIST size equals the octets poplib read, and every message has a UID').toEqual([]);
          expect(result.messages).toHaveLength(messages.length);
          problems = compareDelivered(
            await readAll(out),
            expectedWire,
            (b) => b,
            (w) => w,
          );
        }
        const elapsed = Date.now() - started;
        expect(problems).toEqual([]);
        await sessionsEnded();

        const after = await maildirState(maildir);
        if (mode === 'keep') expect(after.files).toEqual(before.files);
        else expect([...after.files.keys()]).toEqual([]);
        expect(after.tmp).toEqual([]);
        // The server's own size cache may appear; no lock or anything else may be left behind.
        expect(after.other.filter((n) => n !== SIZE_CACHE_FILE)).toEqual([]);
        expect(await treeState(root, maildir)).toEqual(others);
        expect(serverErrors.slice(errorsBefore)).toEqual([]);
        console.log(
          `${client} ${transport} ${mode}: ${messages.length} messages byte-identical in ${elapsed} ms`,
        );
      });
    }
  }
});

describe('mpop logs in with every mechanism both sides support', () => {
  // CAPA over TLS offers SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN and USER for a {PLAIN} entry;
  // 'on' lets mpop choose. Keep mode, so the one small mailbox serves every login.
  for (const auth of ['on', 'scram-sha-256', 'scram-sha-1', 'cram-md5', 'plain', 'login', 'user']) {
    it(`auth ${auth}`, async () => {
      const out = join(work, 'out', `mech-${auth}`);
      const result = await runMpop({
        host: '127.0.0.1',
        port: ports.implicit,
        user: 'mech',
        pass: PASS,
        tls: 'implicit',
        caFile,
        servername: 'localhost',
        keep: true,
        timeoutMs: 30_000,
        auth,
        maildir: out,
      });
      expectExit(result, `mpop auth ${auth}`);
      expect(
        compareDelivered(await readAll(out), wireById(mechMessages), stripMpopReceived, crlfToLf),
      ).toEqual([]);
      await sessionsEnded();
    });
  }
});
