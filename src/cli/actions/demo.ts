import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Pop3Client } from '../../client/client.js';
import type { ClientOptions } from '../../client/options.js';
import { fetchAccount } from '../../fetch/index.js';
import { MemoryStore } from '../../mailstore/memory-store.js';
import { Pop3Server } from '../../server/server.js';
import { readAll, requestBody } from '../body-output.js';
import { demoMessages } from '../demo-mailbox.js';
import { CliError, EXIT } from '../exit-codes.js';
import { humanSize } from '../output.js';
import { makeSelfSigned } from '../self-signed.js';
import { Tracer } from '../trace.js';
import { formatInbox, inboxRows } from './inbox.js';

const USER = 'demo';
const MARKER = '.pop3-demo';

const out = (text = '') => process.stdout.write(`${text}\n`);
const heading = (text: string) => out(`\n== ${text}\n`);

/** The output folder: ours (marked) is emptied and reused; anything else is left alone. */
async function prepareDir(dir: string): Promise<void> {
  if (existsSync(dir)) {
    if (!existsSync(join(dir, MARKER))) {
      throw new CliError(
        `${dir} exists and was not made by pop3 demo; choose another with --dir`,
        EXIT.USAGE,
      );
    }
    for (const sub of ['Maildir', 'state']) await fs.rm(join(dir, sub), { recursive: true, force: true });
  }
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(join(dir, MARKER), 'made by pop3 demo; safe to delete\n');
}

async function notesSession(options: ClientOptions, pass: string): Promise<void> {
  const tracer = new Tracer({ write: (s) => process.stdout.write(s), showBody: true });
  const client = await Pop3Client.connect({ ...options, onTrace: tracer.onTrace });
  try {
    await client.login({ user: USER, pass, mechanism: 'USER' });
    // All at once, as in the notes: with PIPELINING they share the wire and replies come in order.
    const stat = client.stat();
    const list = client.list();
    const uid1 = client.uidl(1);
    const body3 = requestBody(tracer, () => client.retr(3)).then((b) => readAll(b, 1024 * 1024));
    const quit = client.quit();
    await Promise.all([stat, list, uid1, body3, quit]);
  } finally {
    client.close();
    tracer.flush();
  }
}

export async function run(flags: { dir: string }): Promise<void> {
  const dir = resolve(flags.dir);
  await prepareDir(dir);
  const cert = makeSelfSigned({ commonName: 'pop3kit demo', names: ['localhost', '127.0.0.1', '::1'] });
  const pass = randomBytes(12).toString('base64url');
  const store = new MemoryStore();
  const messages = demoMessages();
  for (const m of messages) store.add(USER, m);
  const server = new Pop3Server({
    store,
    authenticate: ({ user, pass: given }) => user === USER && given === pass,
    tls: { key: cert.key, cert: cert.cert },
    stls: true,
    hostname: 'pop3-demo.localhost',
  });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  // Trust exactly the certificate made a moment ago: verification stays on.
  const options: ClientOptions = {
    host: '127.0.0.1',
    port,
    tls: 'starttls',
    tlsOptions: { ca: [cert.cert] },
  };
  try {
    out(`A POP3 server is running on 127.0.0.1:${port} (this process, loopback only).`);
    out(`Mailbox "${USER}" holds ${messages.length} messages, in memory. The password is random`);
    out('and never shown: in the trace it is ***.');
    out(`TLS: a self-signed certificate made just now, sha256:${cert.fingerprint256}`);
    out('The client trusts exactly that certificate; nothing is unverified.');

    heading("The notes' session: USER, PASS, STAT, LIST, UIDL 1, RETR 3, QUIT");
    out('C: is the client, S: the server, * what happened on the connection. After STLS all');
    out('of it is encrypted; you see it because the client shows it. STAT to QUIT go out');
    out('together when the server offers PIPELINING; the replies come back in order.\n');
    await notesSession(options, pass);

    heading('pop3 inbox: headers with pipelined TOP n 0, RFC 2047 subjects decoded');
    const client = await Pop3Client.connect({ ...options, auth: { user: USER, pass } });
    try {
      process.stdout.write(formatInbox(await inboxRows(client, undefined)));
      await client.quit();
    } finally {
      client.close();
    }

    heading('pop3 fetch --delete: into a Maildir, exactly once');
    const maildir = join(dir, 'Maildir');
    const result = await fetchAccount({
      name: 'demo',
      connection: { ...options, auth: { user: USER, pass } },
      target: { kind: 'maildir', path: maildir },
      policy: { delete: true },
      stateDir: join(dir, 'state'),
    });
    out(
      `${result.delivered} of ${result.new} new messages delivered (${humanSize(result.bytes)}), ` +
        `${result.deleted} deleted on the server only after each was safely stored.`,
    );
    const left = store.list(USER).length;
    out(`The server now holds ${left} message${left === 1 ? '' : 's'}.`);
    const files = (await fs.readdir(join(maildir, 'new'))).sort();
    const shown = relative(process.cwd(), maildir) || maildir;
    out(`\nYour mail is in ${shown}/new/ (${files.length} files, one message each):`);
    for (const f of files) out(`  ${f}`);
    if (result.errors > 0 || result.delivered !== messages.length) {
      throw new CliError('the demo fetch did not deliver every message', EXIT.INCOMPLETE);
    }
    out('\nNext: pop3 --help, pop3 inbox --help, pop3 fetch --help.');
  } finally {
    await server.close({ graceful: false });
  }
}
