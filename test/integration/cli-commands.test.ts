// Every one-shot command of the built `pop3`, against our server (in-process, MemoryStore),
// in text and --json form, over implicit TLS trusted through --ca-file.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PASSWORD,
  runCli,
  sampleMessage,
  startServer,
  type TestServer,
  tempDir,
  USER,
} from './cli-harness.js';

let srv: TestServer;
let caFile: string;
const env = { POP3_PASSWORD: PASSWORD };

const gbSubject = '你好，邮件世界';
const gbMessage = Buffer.concat([
  Buffer.from(
    `From: =?GB2312?B?${iconv.encode('李雷', 'gb2312').toString('base64')}?= <li@example.cn>\r\n` +
      `Subject: =?GB2312?B?${iconv.encode(gbSubject, 'gb2312').toString('base64')}?=\r\n` +
      'Date: Tue, 3 Mar 2026 12:00:00 +0800\r\nContent-Type: text/plain; charset=GB2312\r\n\r\n',
  ),
  iconv.encode('正文\r\n', 'gb2312'),
]);
const dotMessage = 'From: a@example.org\r\nSubject: dots\r\n\r\n.\r\n..two\r\n.one\r\nend\r\n';

beforeAll(async () => {
  srv = await startServer({ messages: [sampleMessage(1), gbMessage, dotMessage] });
  const dir = tempDir();
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, srv.ca);
});
afterAll(() => srv.close());

const url = () => `pop3s://${USER}@127.0.0.1:${srv.tlsPort}`;
const pop3 = (...args: string[]) => runCli([...args, url(), '--ca-file', caFile], { env });

describe('pop3 one-shot commands (built binary, our server)', () => {
  it('stat: text and --json', async () => {
    const text = await pop3('stat');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^3 messages, \d+ octets/);
    const json = await pop3('stat', '--json');
    expect(JSON.parse(json.stdout)).toEqual({ count: 3, octets: expect.any(Number) });
  });

  it('list and list n: text and --json agree with the store', async () => {
    const sizes = srv.store.list(USER).map((m) => m.octets);
    const all = JSON.parse((await pop3('list', '--json')).stdout);
    expect(all).toEqual(sizes.map((octets, i) => ({ n: i + 1, octets })));
    const one = JSON.parse(
      (await runCli(['list', '2', url(), '--ca-file', caFile, '--json'], { env })).stdout,
    );
    expect(one).toEqual({ n: 2, octets: sizes[1] });
    const text = await pop3('list');
    expect(text.stdout.split('\n')[1]).toMatch(new RegExp(`^1\\s+${sizes[0]}$`));
  });

  it('uidl and uidl n', async () => {
    const uids = srv.store.list(USER).map((m) => m.uid);
    expect(JSON.parse((await pop3('uidl', '--json')).stdout)).toEqual(
      uids.map((uid, i) => ({ n: i + 1, uid })),
    );
    const one = await runCli(['uidl', '3', url(), '--ca-file', caFile], { env });
    expect(one.stdout.trim()).toBe(`3 ${uids[2]}`);
  });

  it('retr n writes the exact bytes to stdout, unstuffed', async () => {
    const r = await runCli(['retr', '3', url(), '--ca-file', caFile], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(dotMessage);
    const gb = await runCli(['retr', '2', url(), '--ca-file', caFile], { env });
    expect(gb.stdoutBytes.equals(gbMessage)).toBe(true);
  });

  it('retr -o FILE writes the file (and --json gives base64 and decoded headers)', async () => {
    const dir = tempDir();
    const file = join(dir, 'm.eml');
    const r = await runCli(['retr', '2', url(), '--ca-file', caFile, '-o', file], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file).equals(gbMessage)).toBe(true);
    const j = JSON.parse((await runCli(['retr', '2', url(), '--ca-file', caFile, '--json'], { env })).stdout);
    expect(Buffer.from(j.base64, 'base64').equals(gbMessage)).toBe(true);
    expect(j.subject).toBe(gbSubject);
    expect(j.from).toBe('李雷');
  });

  it('top n [lines]: headers, or headers and body lines; --json decodes the fields', async () => {
    const head = await runCli(['top', '1', url(), '--ca-file', caFile], { env });
    expect(head.stdout).toBe(`${sampleMessage(1).split('\r\n\r\n')[0]}\r\n\r\n`);
    const two = await runCli(['top', '3', '2', url(), '--ca-file', caFile], { env });
    expect(two.stdout).toBe('From: a@example.org\r\nSubject: dots\r\n\r\n.\r\n..two\r\n');
    const j = JSON.parse((await runCli(['top', '2', url(), '--ca-file', caFile, '--json'], { env })).stdout);
    expect(j.subject).toBe(gbSubject);
    expect(j.headers.find((h: { name: string }) => h.name === 'From').value).toBe('李雷 <li@example.cn>');
  });

  it('inbox: table with decoded GB2312 subject; --json rows', async () => {
    const text = await pop3('inbox');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(gbSubject);
    expect(text.stdout).toContain('Message number 1');
    const rows = JSON.parse((await pop3('inbox', '--json')).stdout);
    expect(rows.map((r: { subject: string }) => r.subject)).toEqual(['Message number 1', gbSubject, 'dots']);
    expect(rows[0]).toMatchObject({
      n: 1,
      from: 'Sender 1',
      fromAddress: 'sender1@example.org',
      date: '2026-03-02T10:01:00.000Z',
    });
    const last = JSON.parse((await pop3('inbox', '--json', '--last', '1')).stdout);
    expect(last).toHaveLength(1);
    expect(last[0].n).toBe(3);
  });

  it('capa: without a password, text and --json; --login shows the post-login list', async () => {
    const text = await runCli(['capa', `pop3s://127.0.0.1:${srv.tlsPort}`, '--ca-file', caFile]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/TLS: +TLSv1\.[23]/);
    expect(text.stdout).toContain('PIPELINING');
    const j = JSON.parse((await pop3('capa', '--json', '--login')).stdout);
    expect(j.loggedIn).toBe(true);
    expect(j.capabilities).toHaveProperty('UIDL');
    expect(j.tls.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('shell: piped commands, replies shown raw, QUIT commits DELE', async () => {
    const s = await startServer();
    try {
      const r = await runCli(['shell', `pop3s://${USER}@127.0.0.1:${s.tlsPort}`, '--ca-file', caFile], {
        env,
        input: 'STAT\nLIST 2\nRETR 1\nFOO\nDELE 1\nQUIT\n',
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^\+OK 3 \d+$/m);
      expect(r.stdout).toContain('Body of message 1.');
      expect(r.stdout).toMatch(/unknown or unsupported command "FOO"/);
      expect(r.stdout).toMatch(/^\+OK bye/m);
      expect(s.store.list(USER)).toHaveLength(2);
    } finally {
      await s.close();
    }
  });

  it('shell: leaving without QUIT (EOF) deletes nothing', async () => {
    const s = await startServer();
    try {
      const r = await runCli(['shell', `pop3s://${USER}@127.0.0.1:${s.tlsPort}`, '--ca-file', caFile], {
        env,
        input: 'DELE 1\nDELE 2\n',
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('leaving without QUIT');
      expect(s.store.list(USER)).toHaveLength(3);
    } finally {
      await s.close();
    }
  });

  it('dele: refuses to ask without a terminal, deletes with --yes at QUIT, all or nothing', async () => {
    const s = await startServer();
    const u = `pop3s://${USER}@127.0.0.1:${s.tlsPort}`;
    try {
      const refused = await runCli(['dele', '1', u, '--ca-file', caFile], { env });
      expect(refused.code).toBe(64);
      expect(refused.stderr).toContain('--yes');
      const missing = await runCli(['dele', '1', '9', u, '--ca-file', caFile, '--yes'], { env });
      expect(missing.code).toBe(65);
      expect(s.store.list(USER)).toHaveLength(3);
      const ok = await runCli(['dele', '1', '3', u, '--ca-file', caFile, '--yes', '--json'], { env });
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toEqual({ deleted: [1, 3] });
      expect(s.store.list(USER).map((m) => m.bytes.toString())).toEqual([sampleMessage(2)]);
    } finally {
      await s.close();
    }
  });

  it('--help for the program and every command, with examples', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    for (const c of [
      'inbox',
      'stat',
      'list',
      'uidl',
      'top',
      'retr',
      'dele',
      'capa',
      'shell',
      'fetch',
      'serve',
      'users',
      'demo',
    ]) {
      expect(top.stdout).toContain(`  ${c} `);
      const h = await runCli([c, '--help']);
      expect(h.code, `${c}: ${h.stderr}`).toBe(0);
      expect(h.stdout, c).toMatch(/Usage: pop3/);
      if (!['users'].includes(c)) expect(h.stdout, c).toMatch(/Examples?:/);
    }
    expect(top.stdout).toContain('Exit codes:');
    expect(top.stdout).toContain('no --password option');
  });
});
