// A private Dovecot POP3 server for interop tests: its own config, sockets, state, log and mail,
// all under one folder, on free loopback ports. Never touches the system Dovecot service.
//   node --import tsx scripts/peers/dovecot.ts start|stop [--dir .peers/dovecot]
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { dovecotConfig } from './dovecot-config.js';

const run = promisify(execFile);

export interface PeerUser {
  user: string;
  pass: string;
  /** Maildir of this user (tmp/ new/ cur/ exist and belong to the mail user). */
  maildir: string;
}

/** Everything a test needs to reach the peer; plain data (peer.json, Vitest provide). */
export interface DovecotPeerInfo {
  host: '127.0.0.1';
  /** Cleartext POP3 with STLS. */
  plainPort: number;
  /** Implicit TLS (pop3s). */
  tlsPort: number;
  /** CA certificate that signed the server certificate: pass as `ca` to tls.connect. */
  caPem: string;
  /** Name the server certificate is valid for (also valid for IP 127.0.0.1). */
  certHostname: 'localhost';
  users: PeerUser[];
  dir: string;
  logPath: string;
  /** `dovecot --version`, e.g. '2.3.19.1 (9b53102964)'. */
  version: string;
  pid: number;
}

export interface DovecotPeer extends DovecotPeerInfo {
  maildir(user: string): string;
  /** Plain-data description (no functions), as written to peer.json. */
  info(): DovecotPeerInfo;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Folder for everything the peer owns; default `.peers/dovecot` under the current directory. */
  dir?: string;
  /** User names to create (default alice, bob, carol). */
  users?: string[];
}

const DEFAULT_USERS = ['alice', 'bob', 'carol'];
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const LOG_TAIL_LINES = 30;
// Unix sockets live in base_dir; sun_path is 108 bytes and the longest name Dovecot adds is ~25.
const MAX_BASE_DIR = 80;

function findBinary(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin']) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return name;
}

export async function dovecotVersion(): Promise<string> {
  try {
    const { stdout } = await run(findBinary('dovecot'), ['--version'], { timeout: 10_000 });
    return stdout.trim();
  } catch (err) {
    throw new Error(`dovecot is not installed or not runnable (run scripts/peers/install.sh): ${err}`);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolvePort(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

async function twoFreePorts(): Promise<[number, number]> {
  const a = await freePort();
  for (let i = 0; i < 20; i++) {
    const b = await freePort();
    if (b !== a) return [a, b];
  }
  throw new Error('could not find two distinct free loopback ports');
}

function randomPassword(): string {
  // base64url has no ':' (the passwd-file separator) and no whitespace.
  return randomBytes(12).toString('base64url');
}

async function makeCertificates(tlsDir: string): Promise<void> {
  const files = ['ca.pem', 'key.pem', 'cert.pem', 'dh.pem'];
  if (files.every((f) => existsSync(join(tlsDir, f)))) return;
  await mkdir(tlsDir, { recursive: true, mode: 0o700 });
  const openssl = async (args: string[]) => {
    try {
      await run('openssl', args, { cwd: tlsDir, timeout: 30_000 });
    } catch (err) {
      const e = err as { stderr?: string };
      throw new Error(`openssl ${args[0]} failed: ${(e.stderr ?? String(err)).slice(0, 2000)}`);
    }
  };
  const words = (text: string) => text.split(' ');
  const ec = words('-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes');
  // A CA and a leaf it signs (not one self-signed leaf), as real deployments have.
  await openssl([
    ...words('req -x509 -keyout ca.key -out ca.pem -days 3650'),
    ...ec,
    ...['-subj', '/CN=pop3kit test CA'],
    ...words('-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign'),
  ]);
  await openssl([...words('req -keyout key.pem -out cert.csr -subj /CN=localhost'), ...ec]);
  await writeFile(
    join(tlsDir, 'cert.ext'),
    [
      'subjectAltName = DNS:localhost, IP:127.0.0.1',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      '',
    ].join('\n'),
  );
  await openssl(
    words(
      'x509 -req -in cert.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -out cert.pem -extfile cert.ext',
    ),
  );
  // Finite-field DH parameters from RFC 7919: instant, unlike `openssl dhparam`.
  await openssl(words('genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out dh.pem'));
}

/** Who owns mail: Dovecot refuses mail access as uid 0, so root runs it as `nobody`. */
async function mailOwner(): Promise<{ uid: number; gid: number; group: string }> {
  const me = userInfo();
  const group = (await run('id', ['-gn'])).stdout.trim();
  if (me.uid !== 0) return { uid: me.uid, gid: me.gid, group };
  const id = async (flag: string) => Number((await run('id', [flag, 'nobody'])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g'), group };
}

async function checkTraversable(dir: string): Promise<void> {
  if (userInfo().uid !== 0) return;
  // Dovecot's auth and mail processes run as other users: every ancestor must be searchable.
  for (let d = dirname(dir); ; d = dirname(d)) {
    const st = await stat(d);
    if ((st.mode & 0o001) === 0) {
      throw new Error(`${d} is not searchable by other users; put the Dovecot peer dir elsewhere`);
    }
    if (d === dirname(d)) break;
  }
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

export function readPeerInfo(dir: string): DovecotPeerInfo {
  const info = readJson(join(resolve(dir), 'peer.json')) as DovecotPeerInfo | undefined;
  if (!info || typeof info.plainPort !== 'number') throw new Error(`no Dovecot peer described in ${dir}`);
  return info;
}

async function logTail(logPath: string): Promise<string> {
  try {
    const text = await readFile(logPath, 'utf8');
    return text.split('\n').slice(-LOG_TAIL_LINES).join('\n');
  } catch {
    return '(no log written)';
  }
}

/** Resolves once the port sends a POP3 greeting (over TLS verified against `ca` when given). */
function greeting(port: number, ca?: string): Promise<string> {
  return new Promise((resolveGreeting, reject) => {
    const sock = ca
      ? tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' })
      : net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const timer = setTimeout(() => done(new Error('no greeting within 5 s')), 5_000);
    const done = (err?: Error) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolveGreeting(buf.split('\r\n')[0]!);
    };
    sock.setEncoding('latin1');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.includes('\r\n')) done(buf.startsWith('+OK') ? undefined : new Error(`bad greeting ${buf}`));
      else if (buf.length > 512) done(new Error('greeting too long'));
    });
    sock.on('error', (err) => done(err));
    sock.on('close', () => done(new Error('closed before greeting')));
  });
}

async function waitReady(info: DovecotPeerInfo): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await greeting(info.plainPort);
      await greeting(info.tlsPort, info.caPem);
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(
    `Dovecot did not become ready within ${READY_TIMEOUT_MS} ms (${last}); log tail:\n${await logTail(info.logPath)}`,
  );
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when `pid` is a Dovecot master started with this folder's config (not a recycled pid). */
function isOurDovecot(pid: number, dir: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.endsWith('dovecot')) && argv.includes(join(dir, 'dovecot.conf'));
  } catch {
    return existsSync('/proc/self') ? false : pidAlive(pid); // no /proc at all: trust the pid file
  }
}

function masterPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, 'run', 'master.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 && isOurDovecot(pid, dir) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const statLine = readFileSync(`/proc/${entry}/stat`, 'utf8');
        // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
        const ppid = Number(statLine.slice(statLine.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === pid) kids.push(Number(entry));
      } catch {
        // process ended while we looked
      }
    }
  } catch {
    // no /proc
  }
  return kids;
}

/** Stops the Dovecot whose master.pid is in `<dir>/run`; a no-op if none runs. Bounded wait. */
export async function stopDovecot(dir: string): Promise<void> {
  const root = resolve(dir);
  const pid = masterPid(root);
  if (pid === undefined) return;
  const kids = childrenOf(pid);
  process.kill(pid, 'SIGTERM'); // master stops its children (shutdown_clients = yes)
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (pidAlive(pid)) {
    for (const p of [pid, ...kids]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    throw new Error(`Dovecot (pid ${pid}) ignored SIGTERM for ${STOP_TIMEOUT_MS} ms; killed it`);
  }
}

/**
 * Runs `dovecot -c conf`, which forks the master into the background and exits. Its stderr goes
 * to a file, not a pipe: the daemon keeps stderr open, so a pipe would never reach EOF.
 * Resolves to undefined on success or to the error text.
 */
async function launch(confPath: string, stderrPath: string): Promise<string | undefined> {
  const errFile = await open(stderrPath, 'w');
  try {
    const child = spawn(findBinary('dovecot'), ['-c', confPath], { stdio: ['ignore', 'ignore', errFile.fd] });
    const code = await new Promise<number | string>((resolveExit) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolveExit('timed out after 30 s');
      }, 30_000);
      child.once('error', (err) => {
        clearTimeout(timer);
        resolveExit(String(err));
      });
      child.once('exit', (status, signal) => {
        clearTimeout(timer);
        resolveExit(status ?? String(signal));
      });
    });
    if (code === 0) return undefined;
    const stderr = (await readFile(stderrPath, 'utf8')).slice(0, 2000);
    return `exit ${code}: ${stderr}`;
  } finally {
    await errFile.close();
  }
}

/** Starts (or restarts) a private Dovecot under `dir`; reuses its users and certificates if present. */
export async function startDovecot(opts: StartOptions = {}): Promise<DovecotPeer> {
  const dir = resolve(opts.dir ?? '.peers/dovecot');
  const runDir = join(dir, 'run');
  if (runDir.length > MAX_BASE_DIR) throw new Error(`peer dir path too long for unix sockets: ${dir}`);
  const version = await dovecotVersion();
  if (!/^2\.3\./.test(version)) {
    throw new Error(`Dovecot ${version}: this peer config is written for 2.3 (2.4 renamed its settings)`);
  }
  await stopDovecot(dir);
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  // Keeps a peer folder inside the work tree (the default .peers/dovecot) out of git.
  await writeFile(join(dir, '.gitignore'), '*\n');
  await checkTraversable(dir);

  const owner = await mailOwner();
  const previous = readJson(join(dir, 'peer.json')) as DovecotPeerInfo | undefined;
  const names = opts.users ?? DEFAULT_USERS;
  const users: PeerUser[] = names.map((user) => {
    if (!/^[a-z][a-z0-9]{0,31}$/.test(user)) throw new Error(`bad user name ${user}`);
    const pass = previous?.users.find((u) => u.user === user)?.pass ?? randomPassword();
    return { user, pass, maildir: join(dir, 'mail', user) };
  });

  for (const sub of ['run', 'state', 'mail', 'home'])
    await mkdir(join(dir, sub), { recursive: true, mode: 0o755 });
  for (const u of users) {
    for (const path of [
      u.maildir,
      ...['tmp', 'new', 'cur'].map((s) => join(u.maildir, s)),
      join(dir, 'home', u.user),
    ]) {
      await mkdir(path, { recursive: true, mode: 0o755 });
      await chown(path, owner.uid, owner.gid);
    }
  }
  await makeCertificates(join(dir, 'tls'));

  // passwd-file: user:{PLAIN}password:uid:gid::home:: (plaintext so CRAM-MD5, SCRAM, APOP work).
  const passwdPath = join(dir, 'users.passwd');
  const passwd = users.map(
    (u) => `${u.user}:{PLAIN}${u.pass}:${owner.uid}:${owner.gid}::${join(dir, 'home', u.user)}::\n`,
  );
  await writeFile(passwdPath, passwd.join(''), { mode: 0o640 });
  if (userInfo().uid === 0) {
    // The auth process runs as the internal user `dovecot` and reads this file itself.
    const gid = Number((await run('id', ['-g', 'dovecot'])).stdout.trim());
    await chown(passwdPath, 0, gid);
  }

  const logPath = join(dir, 'dovecot.log');
  const confPath = join(dir, 'dovecot.conf');
  const caPem = await readFile(join(dir, 'tls', 'ca.pem'), 'utf8');
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const [plainPort, tlsPort] = await twoFreePorts();
    await writeFile(
      confPath,
      dovecotConfig({
        dir,
        plainPort,
        tlsPort,
        passwdPath,
        logPath,
        mailUid: owner.uid,
        mailGid: owner.gid,
        groupName: owner.group,
      }),
    );
    const failure = await launch(confPath, join(dir, 'dovecot.stderr'));
    if (failure !== undefined) {
      lastError = `${failure}\nlog tail:\n${await logTail(logPath)}`;
      if (/address already in use/i.test(lastError)) continue; // a port was taken meanwhile
      throw new Error(`dovecot failed to start: ${lastError}`);
    }
    // The launcher exits before the forked master has written its pid file.
    let pid = masterPid(dir);
    for (const until = Date.now() + READY_TIMEOUT_MS; pid === undefined && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 50));
      pid = masterPid(dir);
    }
    if (pid === undefined)
      throw new Error(`dovecot started but wrote no master.pid; log tail:\n${await logTail(logPath)}`);
    const info: DovecotPeerInfo = {
      host: '127.0.0.1',
      plainPort,
      tlsPort,
      caPem,
      certHostname: 'localhost',
      users,
      dir,
      logPath,
      version,
      pid,
    };
    try {
      await waitReady(info);
    } catch (err) {
      await stopDovecot(dir).catch(() => undefined);
      throw err;
    }
    await writeFile(join(dir, 'peer.json'), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
    return {
      ...info,
      maildir(user: string) {
        const found = users.find((u) => u.user === user);
        if (!found) throw new Error(`no such peer user ${user}`);
        return found.maildir;
      },
      info: () => ({ ...info, users: users.map((u) => ({ ...u })) }),
      stop: () => stopDovecot(dir),
    };
  }
  throw new Error(`dovecot could not bind free ports after 3 attempts: ${lastError}`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  let dir = '.peers/dovecot';
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--dir' && rest[i + 1]) dir = rest[++i]!;
    else throw new Error(`unknown argument ${rest[i]}`);
  }
  if (command === 'start') {
    const peer = await startDovecot({ dir });
    process.stdout.write(
      `dovecot ${peer.version} pid ${peer.pid}: pop3 127.0.0.1:${peer.plainPort}, ` +
        `pop3s 127.0.0.1:${peer.tlsPort}; details in ${join(peer.dir, 'peer.json')}\n`,
    );
  } else if (command === 'stop') {
    await stopDovecot(dir);
  } else {
    throw new Error('usage: dovecot.ts start|stop [--dir .peers/dovecot]');
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
