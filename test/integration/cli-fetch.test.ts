// `pop3 fetch` (built binary) against our server: targets, keep/delete, seen UIDs across runs,
// --json, several accounts from the config with one failing (exit 1, the other delivered).
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BIN,
  PASSWORD,
  runCli,
  runInPty,
  sampleMessage,
  startServer,
  type TestServer,
  tempDir,
  tempHome,
  USER,
} from './cli-harness.js';

const env = { POP3_PASSWORD: PASSWORD };
const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function setup(count = 3) {
  const s = await startServer({
    messages: Array.from({ length: count }, (_, i) => sampleMessage(i + 1, '.dot line\r\n')),
  });
  servers.push(s);
  const dir = tempDir();
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, s.ca);
  return { s, dir, caFile, url: `pop3s://${USER}@127.0.0.1:${s.tlsPort}` };
}

const lf = (text: string) => text.replace(/\r\n/g, '\n');
const maildirFiles = (dir: string) =>
  readdirSync(join(dir, 'new')).map((f) => readFileSync(join(dir, 'new', f), 'utf8'));

describe('pop3 fetch', () => {
  it('keep mode: new mail into a Maildir once; a second run finds nothing new', async () => {
    const { s, dir, caFile, url } = await setup();
    const maildir = join(dir, 'Maildir');
    const args = ['fetch', url, '--ca-file', caFile, '--maildir', maildir, '--state-dir', join(dir, 'state')];
    const first = await runCli([...args, '--json'], { env });
    expect(first.code, first.stderr).toBe(0);
    const [acct] = JSON.parse(first.stdout).accounts;
    expect(acct).toMatchObject({ ok: true, new: 3, delivered: 3, deleted: 0, errors: 0 });
    expect(maildirFiles(maildir).sort()).toEqual(
      [1, 2, 3].map((i) => lf(sampleMessage(i, '.dot line\r\n'))).sort(),
    );
    const second = await runCli(args, { env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/0 new, 0 delivered/);
    expect(maildirFiles(maildir)).toHaveLength(3);
    expect(s.store.list(USER)).toHaveLength(3);
    s.store.add(USER, sampleMessage(4));
    const third = JSON.parse((await runCli([...args, '--json'], { env })).stdout).accounts[0];
    expect(third).toMatchObject({ new: 1, delivered: 1 });
  });

  it('--delete removes mail on the server after delivery; --limit bounds a run', async () => {
    const { s, dir, caFile, url } = await setup(4);
    const maildir = join(dir, 'Maildir');
    const args = [
      'fetch',
      url,
      '--ca-file',
      caFile,
      '--maildir',
      maildir,
      '--state-dir',
      join(dir, 'state'),
      '--delete',
    ];
    const limited = await runCli([...args, '--limit', '1'], { env });
    expect(limited.code, limited.stderr).toBe(0);
    expect(maildirFiles(maildir)).toHaveLength(1);
    expect(s.store.list(USER)).toHaveLength(3);
    const rest = await runCli(args, { env });
    expect(rest.code, rest.stderr).toBe(0);
    expect(maildirFiles(maildir)).toHaveLength(4);
    expect(s.store.list(USER)).toHaveLength(0);
  });

  it('on a terminal: a progress bar (messages, bytes, rate) and the summary line', async () => {
    const { dir, caFile, url } = await setup(3);
    const r = await runInPty(
      ['fetch', url, '--ca-file', caFile, '--maildir', join(dir, 'M'), '--state-dir', join(dir, 's')],
      [],
      { env },
    );
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/\[█+\] 3\/3 msgs \| [\d.]+ \w*B of [\d.]+ \w*B \| [\d.]+ \w*B\/s/);
    expect(r.stdout).toMatch(/3 new, 3 delivered/);
  });

  it('--daemon polls until SIGTERM, printing one JSON line per poll, then exits 0', async () => {
    const { s, dir, caFile, url } = await setup(1);
    const child = spawn(
      process.execPath,
      [
        BIN,
        'fetch',
        url,
        '--ca-file',
        caFile,
        '--maildir',
        join(dir, 'M'),
        '--state-dir',
        join(dir, 's'),
        '--daemon',
        '1',
        '--json',
      ],
      {
        env: { ...process.env, HOME: tempHome(), POP3_PASSWORD: PASSWORD },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const polls: { delivered: number }[] = [];
    let buffered = '';
    let wake = () => {};
    child.stdout.on('data', (c: Buffer) => {
      buffered += c.toString();
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        polls.push(JSON.parse(buffered.slice(0, nl)));
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf('\n');
      }
      wake();
    });
    const until = async (ok: () => boolean) => {
      const deadline = Date.now() + 30_000;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error('timed out waiting for polls');
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 500);
        });
      }
    };
    await until(() => polls.length >= 1);
    expect(polls[0]).toMatchObject({ ok: true, delivered: 1 });
    s.store.add(USER, sampleMessage(9));
    await until(() => polls.some((p) => p.delivered === 1 && p !== polls[0]));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(0);
    expect(maildirFiles(join(dir, 'M'))).toHaveLength(2);
  });

  it('--mbox and --stdout', async () => {
    const { dir, caFile, url } = await setup(2);
    const mbox = join(dir, 'inbox.mbox');
    const r = await runCli(
      ['fetch', url, '--ca-file', caFile, '--mbox', mbox, '--state-dir', join(dir, 'state')],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(mbox, 'utf8');
    expect(text.match(/^From /gm)).toHaveLength(2);
    expect(text).toContain('Subject: Message number 2');
    const out = await runCli(
      ['fetch', url, '--ca-file', caFile, '--stdout', '--state-dir', join(dir, 'state2')],
      { env },
    );
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.match(/^From /gm)).toHaveLength(2);
  });

  it('accounts from the config, fetched together; one failing gives exit 1 and the other still delivers', async () => {
    const { dir, caFile, url } = await setup(2);
    const home = tempHome();
    mkdirSync(join(home, '.config', 'pop3kit'), { recursive: true });
    const pw = join(home, 'pw');
    writeFileSync(pw, PASSWORD, { mode: 0o600 });
    writeFileSync(
      join(home, '.config', 'pop3kit', 'config.toml'),
      `[accounts.good]
url = "${url}"
ca_file = "${caFile}"
password_file = "${pw}"
maildir = "${join(dir, 'good')}"

[accounts.bad]
url = "pop3s://${USER}@127.0.0.1:${servers[0]!.port}"
ca_file = "${caFile}"
password_file = "${pw}"
maildir = "${join(dir, 'bad')}"
timeout = 5
`,
    );
    const r = await runCli(['fetch', '--json'], { home });
    expect(r.code).toBe(1);
    const accounts = JSON.parse(r.stdout).accounts;
    expect(accounts.find((a: { account: string }) => a.account === 'good')).toMatchObject({
      ok: true,
      delivered: 2,
    });
    expect(accounts.find((a: { account: string }) => a.account === 'bad')).toMatchObject({ ok: false });
    expect(maildirFiles(join(dir, 'good'))).toHaveLength(2);
    const only = await runCli(['fetch', '--account', 'good'], { home });
    expect(only.code, only.stderr).toBe(0);
    expect(only.stderr).toMatch(/good: 0 new/);
  });
});
