// Everything a bench run needs before the first measurement: dist/ and the child bundles built,
// Dovecot and our server started on loopback, the mailboxes seeded into both (on tmpfs), and the
// contenders configured. teardown() stops the servers and removes the scratch folder.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stopDovecot } from '../../scripts/peers/dovecot.js';
import { clientSink, rawSocket } from '../contenders/counters.js';
import { buildMda, fetchmailContender } from '../contenders/fetchmail.js';
import { mpop } from '../contenders/mpop.js';
import { CLI, pop3Fetch } from '../contenders/pop3-fetch.js';
import { poplib } from '../contenders/poplib.js';
import type { Contender } from '../contenders/types.js';
import { buildChildren } from './children.js';
import type { HarnessEnv } from './harness.js';
import { type Expected, seedGenerated, seedHuge } from './mailbox.js';
import { type ServerUnderTest, startDovecotServer, startFloorServer, startOurServer } from './servers.js';
import { sessionUser } from './sessions.js';
import { type ContenderName, MAILBOXES, type MailboxKey } from './workloads.js';

const run = promisify(execFile);
export const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** Fails early, naming what is missing, instead of a contender failing run after run. */
export async function requireTools(tools: string[]): Promise<void> {
  const missing: string[] = [];
  for (const tool of tools) {
    try {
      await run('sh', ['-c', `command -v ${tool}`], { timeout: 10_000 });
    } catch {
      missing.push(tool);
    }
  }
  if (missing.length > 0) {
    throw new Error(`not installed: ${missing.join(', ')} (scripts/peers/install.sh installs the peers)`);
  }
}

export interface SetupOptions {
  base: string;
  build: boolean;
  tls: boolean;
  mailboxes: MailboxKey[];
  /** Users e00001.. created on our server for workload e. */
  sessions: number;
  serverNodeFlags?: string[];
  log: (line: string) => void;
}

export interface Bench {
  env: HarnessEnv;
  ours: ServerUnderTest;
  dovecot: ServerUnderTest;
  sessionPass: string;
  mdaKind: 'c' | 'sh';
  teardown(keep: boolean): Promise<void>;
}

/** The steps of `npm run build`: tsc, then the bundled bin (scripts/bundle-cli.mjs) that CLI names. */
async function buildDist(log: (line: string) => void): Promise<void> {
  log('building dist/ (tsc, then the pop3 bundle) so pop3 fetch and pop3 serve are the current code');
  const opts = { cwd: ROOT, timeout: 10 * 60_000 };
  await run(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    opts,
  );
  await run(process.execPath, [join(ROOT, 'scripts', 'bundle-cli.mjs')], opts);
}

export async function setupBench(opts: SetupOptions): Promise<Bench> {
  const { base, log } = opts;
  if (opts.build || !existsSync(CLI)) await buildDist(log);
  await buildChildren();
  await stopDovecot(join(base, 'dovecot')).catch(() => undefined); // a leftover of an interrupted run
  await rm(base, { recursive: true, force: true });
  await mkdir(base, { recursive: true });
  const workRoot = join(base, 'work');
  const oursRoot = join(base, 'ours');
  await mkdir(join(oursRoot, 'mail'), { recursive: true });

  const stops: (() => Promise<void>)[] = [];
  const teardown = async (keep: boolean) => {
    for (const stop of stops) await stop().catch((err: unknown) => log(`stopping a server: ${err}`));
    if (!keep) await rm(base, { recursive: true, force: true });
  };
  try {
    log('starting Dovecot');
    const { server: dovecot, peer } = await startDovecotServer(
      join(base, 'dovecot'),
      Object.values(MAILBOXES).map((m) => m.user),
    );
    stops.push(() => dovecot.stop());

    const expected: Partial<Record<MailboxKey, Expected>> = {};
    for (const key of opts.mailboxes) {
      const spec = MAILBOXES[key];
      log(`seeding ${spec.count} x ${spec.size} octets for ${spec.user} into both servers' Maildirs`);
      const dirs = [peer.maildir(spec.user), join(oursRoot, 'mail', spec.user)];
      expected[key] = key === 'huge' ? await seedHuge(spec, dirs) : await seedGenerated(spec, dirs);
    }

    const passwords = new Map(peer.users.map((u) => [u.user, u.pass]));
    const oursUsers = new Map(passwords);
    const sessionPass = randomBytes(12).toString('base64url');
    for (let n = 1; n <= opts.sessions; n++) oursUsers.set(sessionUser(n), sessionPass);
    log('starting our server (pop3 serve)');
    const ours = await startOurServer({
      dir: oursRoot,
      maildirRoot: join(oursRoot, 'mail'),
      users: oursUsers,
      tlsKey: join(peer.dir, 'tls', 'key.pem'),
      tlsCert: join(peer.dir, 'tls', 'cert.pem'),
      caFile: dovecot.caFile,
      maxConnections: opts.sessions + 1000,
      ...(opts.serverNodeFlags ? { nodeFlags: opts.serverNodeFlags } : {}),
    });
    stops.unshift(() => ours.stop());
    log('starting the floor server (replies from memory)');
    const floor = await startFloorServer({
      dir: oursRoot,
      maildirRoot: join(oursRoot, 'mail'),
      users: passwords,
      tlsKey: join(peer.dir, 'tls', 'key.pem'),
      tlsCert: join(peer.dir, 'tls', 'cert.pem'),
      caFile: dovecot.caFile,
    });
    stops.unshift(() => floor.stop());

    const mda = await buildMda(join(workRoot, 'mda'));
    const contenders: Record<ContenderName, Contender> = {
      mpop,
      'pop3-fetch': pop3Fetch,
      fetchmail: fetchmailContender(mda.path),
      poplib,
      'raw-socket': rawSocket,
      'client-sink': clientSink,
    };
    const env: HarnessEnv = {
      contenders,
      servers: { dovecot, ours, floor },
      expected,
      passwords,
      tls: opts.tls,
      workRoot,
      deliverRoot: join(base, 'deliver'),
      log,
    };
    return { env, ours, dovecot, sessionPass, mdaKind: mda.kind, teardown };
  } catch (err) {
    await teardown(false);
    throw err;
  }
}
