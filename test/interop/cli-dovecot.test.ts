// The built `pop3` (dist/bin/pop3.js, made by `npm ci` / `npm run build`) against a real Dovecot:
// every one-shot command over implicit TLS and STLS, URL forms with ;AUTH=, a secret from each
// source, --json parsed, and fetch --delete / dele --yes on carol (left empty again, as found).
import { chownSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { emptyMaildir, generateMessages, toWireForm, writeMaildir } from '../fixtures/mail-generator.js';
import {
  PASSWORD,
  runCli,
  sampleMessage,
  startServer,
  tempDir,
  tempHome,
} from '../integration/cli-harness.js';

const peer = inject('dovecot');
const bob = peer.users.find((u) => u.user === 'bob')!;
const carol = peer.users.find((u) => u.user === 'carol')!;
let caFile: string;

beforeAll(() => {
  caFile = join(tempDir(), 'dovecot-ca.pem');
  writeFileSync(caFile, peer.caPem);
});

const tlsUrl = (user: string, auth = '') => `pop3s://${user}${auth}@127.0.0.1:${peer.tlsPort}`;
const stlsUrl = (user: string) => `pop3://${user}@127.0.0.1:${peer.plainPort}`;
const as = (pass: string) => ({ env: { POP3_PASSWORD: pass } });

function storedFile(maildir: string, uid: string): Buffer {
  for (const sub of ['cur', 'new']) {
    for (const name of readdirSync(join(maildir, sub))) {
      if (name === uid || name.startsWith(`${uid}:`)) return readFileSync(join(maildir, sub, name));
    }
  }
  throw new Error(`no file for UID ${uid}`);
}

describe('pop3 (built) against Dovecot', () => {
  it('capa without login, over TLS and STLS', async () => {
    for (const url of [`pop3s://127.0.0.1:${peer.tlsPort}`, `pop3://127.0.0.1:${peer.plainPort}`]) {
      const r = await runCli(['capa', url, '--ca-file', caFile, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.tls.version).toMatch(/^TLSv1\.[23]$/);
      expect(j.capabilities).toHaveProperty('PIPELINING');
    }
  });

  it('stat, list, uidl --json over TLS and STLS', async () => {
    for (const url of [tlsUrl('bob'), stlsUrl('bob')]) {
      const stat = await runCli(['stat', url, '--ca-file', caFile, '--json'], as(bob.pass));
      expect(stat.code, stat.stderr).toBe(0);
      expect(JSON.parse(stat.stdout).count).toBe(5);
      const list = JSON.parse(
        (await runCli(['list', url, '--ca-file', caFile, '--json'], as(bob.pass))).stdout,
      );
      expect(list).toHaveLength(5);
      const uidl = JSON.parse(
        (await runCli(['uidl', url, '--ca-file', caFile, '--json'], as(bob.pass))).stdout,
      );
      expect(uidl.map((u: { n: number }) => u.n)).toEqual([1, 2, 3, 4, 5]);
    }
  });

  it('retr writes exactly the stored message (wire form); top gives its headers', async () => {
    const uid = JSON.parse(
      (await runCli(['uidl', '2', tlsUrl('bob'), '--ca-file', caFile, '--json'], as(bob.pass))).stdout,
    ).uid as string;
    const r = await runCli(['retr', '2', tlsUrl('bob'), '--ca-file', caFile], as(bob.pass));
    expect(r.code, r.stderr).toBe(0);
    const want = toWireForm(storedFile(bob.maildir, uid));
    expect(r.stdoutBytes.equals(want)).toBe(true);
    const top = await runCli(['top', '2', tlsUrl('bob'), '--ca-file', caFile], as(bob.pass));
    expect(want.subarray(0, top.stdoutBytes.length).equals(top.stdoutBytes)).toBe(true);
  });

  it('inbox --json and the shell', async () => {
    const rows = JSON.parse(
      (await runCli(['inbox', tlsUrl('bob'), '--ca-file', caFile, '--json'], as(bob.pass))).stdout,
    );
    expect(rows).toHaveLength(5);
    const shell = await runCli(['shell', tlsUrl('bob'), '--ca-file', caFile], {
      ...as(bob.pass),
      input: 'STAT\nQUIT\n',
    });
    expect(shell.code, shell.stderr).toBe(0);
    expect(shell.stdout).toMatch(/^\+OK 5 \d+$/m);
  });

  it(';AUTH= mechanisms Dovecot offers, and every secret source', async () => {
    for (const mech of ['USER', 'PLAIN', 'SCRAM-SHA-256', 'CRAM-MD5']) {
      const r = await runCli(
        ['stat', tlsUrl('bob', `;AUTH=${mech}`), '--ca-file', caFile, '--trace'],
        as(bob.pass),
      );
      expect(r.code, `${mech}: ${r.stderr}`).toBe(0);
      expect(r.stderr).not.toContain(bob.pass);
    }
    const dir = tempDir();
    const pw = join(dir, 'pw');
    writeFileSync(pw, `${bob.pass}\n`, { mode: 0o600 });
    expect((await runCli(['stat', tlsUrl('bob'), '--ca-file', caFile, '--password-file', pw])).code).toBe(0);
    expect(
      (await runCli(['stat', tlsUrl('bob'), '--ca-file', caFile, '--password-command', `cat '${pw}'`])).code,
    ).toBe(0);
    const home = tempHome();
    writeFileSync(join(home, '.netrc'), `machine 127.0.0.1 login bob password ${bob.pass}\n`, {
      mode: 0o600,
    });
    const netrc = await runCli(['stat', `pop3s://127.0.0.1:${peer.tlsPort}`, '--ca-file', caFile], { home });
    expect(netrc.code, netrc.stderr).toBe(0);
  });

  it('fetch --delete and dele --yes on carol, who ends empty as she began', async () => {
    // Another file's test may have left carol some mail (interop files run in any order).
    await emptyMaildir(carol.maildir);
    await writeMaildir(carol.maildir, generateMessages({ preset: 'sized', count: 3, size: 1500 }));
    const out = tempDir();
    const fetch = await runCli(
      [
        'fetch',
        tlsUrl('carol'),
        '--ca-file',
        caFile,
        '--maildir',
        join(out, 'Maildir'),
        '--state-dir',
        join(out, 's'),
        '--delete',
        '--json',
      ],
      as(carol.pass),
    );
    expect(fetch.code, fetch.stderr).toBe(0);
    expect(JSON.parse(fetch.stdout).accounts[0]).toMatchObject({ ok: true, delivered: 3, deleted: 3 });
    expect(readdirSync(join(out, 'Maildir', 'new'))).toHaveLength(3);
    await writeMaildir(carol.maildir, generateMessages({ preset: 'sized', count: 1, size: 600 }));
    const dele = await runCli(
      ['dele', '1', tlsUrl('carol'), '--ca-file', caFile, '--yes', '--json'],
      as(carol.pass),
    );
    expect(dele.code, dele.stderr).toBe(0);
    const stat = await runCli(['stat', tlsUrl('carol'), '--ca-file', caFile, '--json'], as(carol.pass));
    expect(JSON.parse(stat.stdout).count).toBe(0);
  });

  it('Dovecot reads the Maildir that pop3 fetch writes: every message served back byte for byte', async () => {
    await emptyMaildir(carol.maildir);
    const sent = [1, 2, 3].map((i) => sampleMessage(i, '.a line with a leading dot\r\n'));
    const ours = await startServer({ messages: sent });
    try {
      const ourCa = join(tempDir(), 'ours.pem');
      writeFileSync(ourCa, ours.ca);
      const fetch = await runCli(
        [
          'fetch',
          `pop3s://alice@127.0.0.1:${ours.tlsPort}`,
          '--ca-file',
          ourCa,
          '--maildir',
          carol.maildir,
          '--state-dir',
          join(tempDir(), 's'),
        ],
        { env: { POP3_PASSWORD: PASSWORD } },
      );
      expect(fetch.code, fetch.stderr).toBe(0);
    } finally {
      await ours.close();
    }
    // Delivered by root; handed to the mail user, as an MDA running as that user would leave them.
    const owner = statSync(carol.maildir);
    for (const sub of ['new', 'cur', 'tmp']) {
      for (const name of readdirSync(join(carol.maildir, sub))) {
        chownSync(join(carol.maildir, sub, name), owner.uid, owner.gid);
      }
    }
    const url = tlsUrl('carol');
    const rows = JSON.parse(
      (await runCli(['inbox', url, '--ca-file', caFile, '--json'], as(carol.pass))).stdout,
    );
    expect(rows.map((r: { subject: string }) => r.subject).sort()).toEqual([
      'Message number 1',
      'Message number 2',
      'Message number 3',
    ]);
    const got: string[] = [];
    for (const n of [1, 2, 3]) {
      const r = await runCli(['retr', String(n), url, '--ca-file', caFile], as(carol.pass));
      expect(r.code, r.stderr).toBe(0);
      got.push(r.stdout);
    }
    expect(got.sort()).toEqual([...sent].sort());
    const dele = await runCli(['dele', '1', '2', '3', url, '--ca-file', caFile, '--yes'], as(carol.pass));
    expect(dele.code, dele.stderr).toBe(0);
  });

  it("another program reads the mbox that pop3 fetch writes: Python's mailbox module finds every message intact", async () => {
    const out = tempDir();
    const mbox = join(out, 'inbox.mbox');
    const fetch = await runCli(
      ['fetch', tlsUrl('bob'), '--ca-file', caFile, '--mbox', mbox, '--state-dir', join(out, 's'), '--json'],
      as(bob.pass),
    );
    expect(fetch.code, fetch.stderr).toBe(0);
    expect(JSON.parse(fetch.stdout).accounts[0]).toMatchObject({ ok: true, delivered: 5 });
    // Python's mailbox.mbox is an independent mbox reader: its messages, as stored (LF line ends).
    const script =
      'import json, mailbox, sys\n' +
      'box = mailbox.mbox(sys.argv[1], create=False)\n' +
      'print(json.dumps([box.get_bytes(k).decode("latin1") for k in box.iterkeys()]))\n';
    const { execFileSync } = await import('node:child_process');
    const read: string[] = JSON.parse(execFileSync('python3', ['-c', script, mbox], { encoding: 'utf8' }));
    const uidl = JSON.parse(
      (await runCli(['uidl', tlsUrl('bob'), '--ca-file', caFile, '--json'], as(bob.pass))).stdout,
    ) as { n: number; uid: string }[];
    expect(read).toHaveLength(uidl.length);
    const lf = (b: Buffer) => toWireForm(b).toString('latin1').replace(/\r\n/g, '\n').replace(/\n+$/, '');
    uidl.forEach((m, i) => {
      expect(read[i]!.replace(/\n+$/, '')).toBe(lf(storedFile(bob.maildir, m.uid)));
    });
  });
});
