// `pop3 users add` and `pop3 serve` (built binary): a users file written without echo, a server
// over a Maildir root that the CLI client reads, JSON logs without secrets, graceful SIGTERM.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testCerts } from '../helpers/certs.js';
import { BIN, PASSWORD, runCli, tempDir, USER } from './cli-harness.js';

function startServe(args: string[], home: string) {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    env: { ...process.env, HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const ports = new Promise<number[]>((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /listening on (.*)\n/.exec(stderr);
      if (m) resolve([...m[1]!.matchAll(/:(\d+) \(/g)].map((x) => Number(x[1])));
    });
    child.on('close', () => reject(new Error(`serve exited: ${stderr}`)));
  });
  const exited = new Promise<number | null>((r) => child.on('close', r));
  return { child, ports, exited, log: () => stderr };
}

describe('pop3 users add / pop3 serve', () => {
  it('users add: password from stdin, hashed, file 0600, never echoed; duplicates need --replace', async () => {
    const dir = tempDir();
    const file = join(dir, 'users');
    const r = await runCli(['users', 'add', USER, '--users', file], { input: `${PASSWORD}\n` });
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(new RegExp(`^${USER}:\\{SCRYPT\\}`));
    expect(text + r.stdout + r.stderr).not.toContain(PASSWORD);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = await runCli(['users', 'add', USER, '--users', file], { input: 'other\n' });
    expect(again.code).toBe(64);
    const replaced = await runCli(
      ['users', 'add', USER, '--users', file, '--replace', '--scheme', 'SCRAM-SHA-256'],
      {
        input: 'other\n',
      },
    );
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(new RegExp(`^${USER}:\\{SCRAM-SHA-256\\}`));
  });

  it('users hash: the {SCHEME} field for a password read from stdin', async () => {
    const plain = await runCli(['users', 'hash', '--scheme', 'plain'], { input: 'pw\n' });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toBe('{PLAIN}pw\n');
    const scrypt = await runCli(['users', 'hash'], { input: `${PASSWORD}\n` });
    expect(scrypt.stdout).toMatch(/^\{SCRYPT\}\S+\n$/);
    expect(scrypt.stdout).not.toContain(PASSWORD);
    expect((await runCli(['users', 'hash', '--scheme', 'MD5'], { input: 'pw\n' })).code).toBe(64);
  });

  it('serve: Maildir root, STLS and implicit TLS ports, JSON log, graceful SIGTERM', async () => {
    const dir = tempDir();
    const users = join(dir, 'users');
    expect((await runCli(['users', 'add', USER, '--users', users], { input: `${PASSWORD}\n` })).code).toBe(0);
    const root = join(dir, 'mail');
    for (const sub of ['new', 'cur', 'tmp']) mkdirSync(join(root, USER, sub), { recursive: true });
    writeFileSync(join(root, USER, 'new', '1700000000.1.host'), 'Subject: hello from a Maildir\n\nhi\n');
    const certs = testCerts();
    writeFileSync(join(dir, 'key.pem'), certs.server.key);
    writeFileSync(join(dir, 'cert.pem'), certs.server.cert);
    writeFileSync(join(dir, 'ca.pem'), certs.ca);
    const server = startServe(
      [
        '--maildir',
        root,
        '--users',
        users,
        '--tls-key',
        join(dir, 'key.pem'),
        '--tls-cert',
        join(dir, 'cert.pem'),
        '--port',
        '0',
        '--tls-port',
        '0',
        '--log-format',
        'json',
      ],
      dir,
    );
    try {
      const [plain, tls] = await server.ports;
      const env = { POP3_PASSWORD: PASSWORD };
      const viaStls = await runCli(
        ['inbox', `pop3://${USER}@127.0.0.1:${plain}`, '--ca-file', join(dir, 'ca.pem'), '--json'],
        { env },
      );
      expect(viaStls.code, viaStls.stderr).toBe(0);
      expect(JSON.parse(viaStls.stdout)[0].subject).toBe('hello from a Maildir');
      const viaTls = await runCli(
        ['stat', `pop3s://${USER}@127.0.0.1:${tls}`, '--ca-file', join(dir, 'ca.pem'), '--json'],
        { env },
      );
      expect(JSON.parse(viaTls.stdout).count).toBe(1);
      const bad = await runCli(
        ['stat', `pop3s://${USER}@127.0.0.1:${tls}`, '--ca-file', join(dir, 'ca.pem')],
        {
          env: { POP3_PASSWORD: 'not the password' },
        },
      );
      expect(bad.code).toBe(77);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
    const log = server.log();
    expect(log).toContain('pop3 serve: stopped');
    const events = log
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(events.some((e) => e.msg === 'login' && e.user === USER)).toBe(true);
    expect(log).not.toContain(PASSWORD);
    expect(log).not.toContain('not the password');
  });

  it('serve: bad arguments are usage errors; an unreadable users file is a config error', async () => {
    const dir = tempDir();
    expect((await runCli(['serve', '--maildir', dir])).code).toBe(64);
    expect(
      (await runCli(['serve', '--maildir', dir, '--users', join(dir, 'none'), '--port', '0'])).code,
    ).toBe(78);
    writeFileSync(join(dir, 'u'), `${USER}:{PLAIN}x\n`);
    expect(
      (await runCli(['serve', '--maildir', dir, '--users', join(dir, 'u'), '--tls-port', '0'])).code,
    ).toBe(64);
  });
});
