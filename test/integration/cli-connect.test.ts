// How the built `pop3` finds the server and the user: URL forms (RFC 2384 and pop3s://),
// --host/--port/--user/--tls flags, config-file accounts, and TLS trust (--ca-file, pinning).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, UsersFile } from '../../src/server/users-file.js';
import { testCerts } from '../helpers/certs.js';
import { PASSWORD, runCli, startServer, type TestServer, tempDir, tempHome, USER } from './cli-harness.js';

let srv: TestServer;
let caFile: string;
const env = { POP3_PASSWORD: PASSWORD };

beforeAll(async () => {
  srv = await startServer();
  caFile = join(tempDir(), 'ca.pem');
  writeFileSync(caFile, srv.ca);
});
afterAll(() => srv.close());

describe('URLs', () => {
  it('pop3s:// is implicit TLS; pop3:// is STLS (required)', async () => {
    const a = await runCli(
      ['stat', `pop3s://${USER}@127.0.0.1:${srv.tlsPort}`, '--ca-file', caFile, '--trace'],
      { env },
    );
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).not.toContain('C: STLS');
    const b = await runCli(['stat', `pop3://${USER}@127.0.0.1:${srv.port}`, '--ca-file', caFile, '--trace'], {
      env,
    });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toContain('C: STLS');
    expect(b.stderr).toMatch(/\* +TLS TLSv1\.[23]/);
  });

  it(';AUTH=USER, ;AUTH=PLAIN and ;AUTH=* choose the login', async () => {
    const base = `127.0.0.1:${srv.tlsPort}`;
    const user = await runCli(['stat', `pop3s://${USER};AUTH=USER@${base}`, '--ca-file', caFile, '--trace'], {
      env,
    });
    expect(user.code, user.stderr).toBe(0);
    expect(user.stderr).toContain(`C: USER ${USER}`);
    const plain = await runCli(
      ['stat', `pop3s://${USER};auth=plain@${base}`, '--ca-file', caFile, '--trace'],
      { env },
    );
    expect(plain.stderr).toContain('C: AUTH PLAIN ***');
    const any = await runCli(['stat', `pop3s://${USER};AUTH=*@${base}`, '--ca-file', caFile], { env });
    expect(any.code, any.stderr).toBe(0);
  });

  it(';AUTH=SCRAM-SHA-256 and ;AUTH=+APOP against a users file', async () => {
    const scram = await startServer({
      options: {
        authenticate: undefined,
        users: UsersFile.parse(`${USER}:${await hashPassword(PASSWORD, 'SCRAM-SHA-256')}\n`),
      },
    });
    const apop = await startServer({
      options: {
        authenticate: undefined,
        users: UsersFile.parse(`${USER}:{PLAIN}${PASSWORD}\n`),
        apop: true,
      },
    });
    try {
      const s = await runCli(
        [
          'stat',
          `pop3s://${USER};AUTH=SCRAM-SHA-256@127.0.0.1:${scram.tlsPort}`,
          '--ca-file',
          caFile,
          '--trace',
        ],
        { env },
      );
      expect(s.code, s.stderr).toBe(0);
      expect(s.stderr).toContain('C: AUTH SCRAM-SHA-256');
      const a = await runCli(
        ['stat', `pop3s://${USER};AUTH=+APOP@127.0.0.1:${apop.tlsPort}`, '--ca-file', caFile, '--trace'],
        { env },
      );
      expect(a.code, a.stderr).toBe(0);
      expect(a.stderr).toMatch(new RegExp(`C: APOP ${USER} \\*\\*\\*`));
    } finally {
      await scram.close();
      await apop.close();
    }
  });

  it('%-encoded user names are decoded', async () => {
    const r = await runCli(['stat', `pop3s://%61lice@127.0.0.1:${srv.tlsPort}`, '--ca-file', caFile], {
      env,
    });
    expect(r.code, r.stderr).toBe(0);
  });

  it('refuses CR/LF after %-decoding, passwords in the URL, paths and bad ports (exit 64)', async () => {
    const cases = [
      [`pop3s://bob%0d%0aDELE%201@127.0.0.1:${srv.tlsPort}`, 'CR, LF'],
      [`pop3s://bob;AUTH=PLAIN%0d%0aQUIT@127.0.0.1:${srv.tlsPort}`, 'CR, LF'],
      [`pop3s://bob:secret@127.0.0.1:${srv.tlsPort}`, 'passwords are not allowed'],
      [`pop3s://bob@127.0.0.1:${srv.tlsPort}/INBOX`, 'no path'],
      ['pop3s://bob@127.0.0.1:99999', 'out of range'],
    ] as const;
    for (const [url, message] of cases) {
      const r = await runCli(['stat', url], { env });
      expect(r.code, url).toBe(64);
      expect(r.stderr, url).toContain(message);
      expect(r.stderr).not.toContain('secret');
    }
  });
});

describe('flags and config accounts', () => {
  it('--host --port --user --tls', async () => {
    const r = await runCli(
      [
        'stat',
        '--host',
        '127.0.0.1',
        '--port',
        String(srv.port),
        '--user',
        USER,
        '--tls',
        'starttls',
        '--ca-file',
        caFile,
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const bad = await runCli(['stat', '--host', '127.0.0.1', '--tls', 'sometimes'], { env });
    expect(bad.code).toBe(64);
  });

  it('--tls none needs --insecure-auth before any password is sent (exit 79), then works', async () => {
    const clear = await startServer({ options: { allowInsecureAuth: true } });
    try {
      const url = `pop3://${USER}@127.0.0.1:${clear.port}`;
      const refused = await runCli(['stat', url, '--tls', 'none', '--trace'], { env });
      expect(refused.code).toBe(79);
      expect(refused.stderr).toContain('--insecure-auth');
      expect(refused.stderr).not.toContain('C: USER');
      const ok = await runCli(['stat', url, '--tls', 'none', '--insecure-auth'], { env });
      expect(ok.code, ok.stderr).toBe(0);
    } finally {
      await clear.close();
    }
  });

  it('accounts from the XDG config file: --account, default, --config FILE', async () => {
    const home = tempHome();
    mkdirSync(join(home, '.config', 'pop3kit'), { recursive: true });
    const passFile = join(home, 'pw');
    writeFileSync(passFile, `${PASSWORD}\n`, { mode: 0o600 });
    const toml = `default = "work"
[accounts.work]
url = "pop3s://${USER}@127.0.0.1:${srv.tlsPort}"
ca_file = "${caFile}"
password_file = "${passFile}"

[accounts.other]
host = "127.0.0.1"
port = ${srv.port}
tls = "starttls"
user = "${USER}"
ca_file = "${caFile}"
password_command = "cat '${passFile}'"
`;
    writeFileSync(join(home, '.config', 'pop3kit', 'config.toml'), toml);
    const byDefault = await runCli(['stat', '--json'], { home });
    expect(byDefault.code, byDefault.stderr).toBe(0);
    expect(JSON.parse(byDefault.stdout).count).toBe(3);
    const other = await runCli(['stat', '--account', 'other', '--trace'], { home });
    expect(other.code, other.stderr).toBe(0);
    expect(other.stderr).toContain('C: STLS');
    expect(other.stderr).toContain('password from password_command in the config');
    const explicit = join(tempDir(), 'c.toml');
    writeFileSync(explicit, toml.replace('default = "work"\n', ''));
    const viaFlag = await runCli(['list', '--config', explicit, '--account', 'work', '--json'], {
      home: tempHome(),
    });
    expect(viaFlag.code, viaFlag.stderr).toBe(0);
    const missing = await runCli(['stat', '--account', 'nope'], { home });
    expect(missing.code).toBe(78);
  });

  it('config errors: unknown keys, passwords in the file, bad TOML (exit 78)', async () => {
    for (const text of [
      '[accounts.a]\nhots = "x"\n',
      '[accounts.a]\npassword = "x"\n',
      'this is = not toml [',
    ]) {
      const file = join(tempDir(), 'c.toml');
      writeFileSync(file, text);
      const r = await runCli(['stat', '--config', file], { env });
      expect(r.code, text).toBe(78);
    }
  });
});

describe('TLS trust', () => {
  it('an unknown CA fails closed (79) with a hint; --ca-file fixes it', async () => {
    const r = await runCli(['stat', `pop3s://${USER}@127.0.0.1:${srv.tlsPort}`], { env });
    expect(r.code).toBe(79);
    expect(r.stderr).toContain('--ca-file');
  });

  it('--fingerprint trusts exactly a self-signed certificate; a wrong one fails (79)', async () => {
    const certs = testCerts();
    const self = await startServer({
      options: { tls: { key: certs.selfSigned.key, cert: certs.selfSigned.cert } },
    });
    try {
      const { X509Certificate } = await import('node:crypto');
      const fp = new X509Certificate(certs.selfSigned.cert).fingerprint256;
      for (const port of [self.tlsPort, self.port]) {
        const scheme = port === self.tlsPort ? 'pop3s' : 'pop3';
        const url = `${scheme}://${USER}@127.0.0.1:${port}`;
        const ok = await runCli(['stat', url, '--fingerprint', `sha256:${fp}`, '--trace'], { env });
        expect(ok.code, `${ok.signal} ${ok.stderr}`).toBe(0);
        expect(ok.stderr).toContain('matches the pinned');
        const wrong = await runCli(
          ['stat', url, '--fingerprint', `sha256:${'AB:'.repeat(31)}AB`, '--trace'],
          { env },
        );
        expect(wrong.code).toBe(79);
        expect(wrong.stderr).not.toContain('C: USER');
        expect(wrong.stderr).not.toContain('C: AUTH');
      }
    } finally {
      await self.close();
    }
  });

  it('a pinned CA-issued certificate needs its CA; --insecure-tls warns loudly; --tls-min', async () => {
    const { X509Certificate } = await import('node:crypto');
    const fp = new X509Certificate(testCerts().server.cert).fingerprint256;
    const url = `pop3s://${USER}@127.0.0.1:${srv.tlsPort}`;
    const noCa = await runCli(['stat', url, '--fingerprint', fp], { env });
    expect(noCa.code).toBe(79);
    expect(noCa.stderr).toContain('--ca-file');
    const withCa = await runCli(['stat', url, '--fingerprint', fp, '--ca-file', caFile], { env });
    expect(withCa.code, withCa.stderr).toBe(0);
    const insecure = await runCli(['stat', url, '--insecure-tls'], { env });
    expect(insecure.code, insecure.stderr).toBe(0);
    expect(insecure.stderr).toContain('WARNING: --insecure-tls');
    const tls13 = await runCli(['stat', url, '--ca-file', caFile, '--tls-min', '1.3'], { env });
    expect(tls13.code, tls13.stderr).toBe(0);
    const old = await runCli(['stat', url, '--ca-file', caFile, '--tls-min', '1.0'], { env });
    expect(old.code).toBe(64);
  });
});
