// Where the built `pop3` gets secrets: environment, files, commands, ~/.netrc, never argv; and
// what --trace shows of them (nothing: *** only).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PASSWORD,
  runCli,
  runInPty,
  startServer,
  type TestServer,
  tempDir,
  tempHome,
  USER,
} from './cli-harness.js';

let srv: TestServer;
let caFile: string;
const TOKEN = 'ya29.test-token-value';

beforeAll(async () => {
  srv = await startServer({
    options: { verifyToken: async (user, token) => (user === USER && token === TOKEN ? user : null) },
  });
  caFile = join(tempDir(), 'ca.pem');
  writeFileSync(caFile, srv.ca);
});
afterAll(() => srv.close());

const url = () => `pop3s://${USER}@127.0.0.1:${srv.tlsPort}`;
const stat = (extra: string[], run: Parameters<typeof runCli>[1] = {}) =>
  runCli(['stat', url(), '--ca-file', caFile, '--json', ...extra], run);

function secretFile(text: string): string {
  const file = join(tempDir(), 'secret');
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

describe('password sources', () => {
  it('POP3_PASSWORD', async () => {
    const r = await stat([], { env: { POP3_PASSWORD: PASSWORD } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).count).toBe(3);
  });

  it('--password-file (first line) wins over the environment', async () => {
    const r = await stat(['--password-file', secretFile(`${PASSWORD}\nignored\n`)], {
      env: { POP3_PASSWORD: 'wrong' },
    });
    expect(r.code, r.stderr).toBe(0);
  });

  it('--password-command runs through the shell and takes the first line', async () => {
    const file = secretFile(`${PASSWORD}\n`);
    const r = await stat(['--password-command', `cat '${file}' | head -n 1; echo second-line`]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('a failing password command is a config error (78) that shows no output', async () => {
    const r = await stat(['--password-command', 'echo leaked-output; exit 3']);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('exit 3');
    expect(r.stderr).not.toContain('leaked-output');
  });

  it('~/.netrc gives the password, and the login when the URL has no user', async () => {
    const home = tempHome();
    writeFileSync(
      join(home, '.netrc'),
      `machine other.example login x password y\nmachine 127.0.0.1\n  login ${USER}\n  password "${PASSWORD}"\n`,
      { mode: 0o600 },
    );
    const r = await runCli(['stat', `pop3s://127.0.0.1:${srv.tlsPort}`, '--ca-file', caFile, '--trace'], {
      home,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('password from ~/.netrc');
    const off = await runCli(['stat', url(), '--ca-file', caFile, '--no-netrc'], { home });
    expect(off.code).toBe(78);
  });

  it('on a terminal: asks without echo (a reply typed at once is not echoed either)', async () => {
    const r = await runInPty(['stat', url(), '--ca-file', caFile], [['Password for', `${PASSWORD}\r`]]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain(`Password for ${USER}@127.0.0.1:`);
    expect(r.stdout).toMatch(/3 messages/);
    expect(r.stdout).not.toContain(PASSWORD);
    const own = await startServer(); // its own mailbox: this deletes a message
    try {
      const confirmed = await runInPty(
        ['dele', '1', `pop3s://${USER}@127.0.0.1:${own.tlsPort}`, '--ca-file', caFile],
        [
          ['Password for', `${PASSWORD}\r`],
          ['[y/N]', 'y\r'],
        ],
      );
      expect(confirmed.code, confirmed.stdout).toBe(0);
      expect(own.store.list(USER)).toHaveLength(2);
    } finally {
      await own.close();
    }
  });

  it('no secret anywhere and no terminal: exit 78 naming the sources', async () => {
    const r = await stat([]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('POP3_PASSWORD');
  });

  it('--password is refused with the reason, and the value is not echoed', async () => {
    for (const args of [['--password', 'hunter2'], ['--password=hunter2'], ['--token', 'hunter2']]) {
      const r = await runCli(['stat', url(), ...args]);
      expect(r.code).toBe(64);
      expect(r.stderr).toContain('can be read by other users');
      expect(r.stderr).not.toContain('hunter2');
    }
  });
});

describe('access tokens', () => {
  it('POP3_TOKEN and --token-file with --auth XOAUTH2 / OAUTHBEARER', async () => {
    const a = await stat(['--auth', 'XOAUTH2', '--trace'], { env: { POP3_TOKEN: TOKEN } });
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toContain('C: AUTH XOAUTH2');
    expect(a.stderr).toContain('access token from POP3_TOKEN');
    const b = await stat(['--auth', 'OAUTHBEARER', '--token-file', secretFile(`${TOKEN}\n`)]);
    expect(b.code, b.stderr).toBe(0);
    const wrong = await stat(['--auth', 'XOAUTH2'], { env: { POP3_TOKEN: 'nope' } });
    expect(wrong.code).toBe(77);
  });
});

describe('--trace never shows a secret', () => {
  it('USER/PASS, PLAIN and XOAUTH2 show ***; the secret is nowhere in the output', async () => {
    const runs = [
      await stat(['--auth', 'USER', '--trace'], { env: { POP3_PASSWORD: PASSWORD } }),
      await stat(['--auth', 'PLAIN', '--trace'], { env: { POP3_PASSWORD: PASSWORD } }),
      await stat(['--auth', 'XOAUTH2', '--trace'], { env: { POP3_TOKEN: TOKEN } }),
      await stat(['--auth', 'USER', '--trace'], { env: { POP3_PASSWORD: 'wrong password here' } }),
    ];
    expect(runs[0]!.stderr).toMatch(/^\d\d:\d\d:\d\d\.\d{3} C: PASS \*\*\*$/m);
    expect(runs[1]!.stderr).toContain('C: AUTH PLAIN ***');
    expect(runs[3]!.code).toBe(77);
    const plainB64 = Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64');
    for (const r of runs) {
      const all = r.stdout + r.stderr;
      for (const secret of [
        PASSWORD,
        TOKEN,
        'wrong password here',
        plainB64,
        Buffer.from(TOKEN).toString('base64'),
      ]) {
        expect(all).not.toContain(secret);
      }
    }
  });

  it('bodies are summarised unless --trace-body', async () => {
    const env = { POP3_PASSWORD: PASSWORD };
    const summary = await runCli(['retr', '1', url(), '--ca-file', caFile, '--trace'], { env });
    expect(summary.stderr).toMatch(/S: <message body: \d+ octets, \d+ lines>/);
    expect(summary.stderr).not.toContain('Body of message 1');
    const body = await runCli(['retr', '1', url(), '--ca-file', caFile, '--trace-body'], { env });
    expect(body.stderr).toContain('S: Body of message 1.');
    expect(body.stderr.indexOf('S: Body of message 1.')).toBeLessThan(body.stderr.indexOf('C: QUIT'));
  });
});
