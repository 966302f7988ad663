import { readFileSync } from 'node:fs';
import { MaildirStore } from '../../mailstore/maildir-store.js';
import type { CapabilityOptions, ServerLimits } from '../../server/options.js';
import { Pop3Server } from '../../server/server.js';
import { UsersFile } from '../../server/users-file.js';
import { parseCount } from '../arguments.js';
import { CliError, configError, EXIT, usageError } from '../exit-codes.js';
import { createLogger, type LogFormat, parseLogLevel } from '../server-logger.js';
import { onSignal } from '../signals.js';

interface ServeFlags {
  maildir: string;
  users: string;
  tlsKey?: string;
  tlsCert?: string;
  host: string;
  port: string;
  tlsPort?: string;
  stls: boolean;
  allowInsecureAuth?: boolean;
  hostname?: string;
  maxConnections?: string;
  maxPerAddress?: string;
  idleTimeout?: string;
  loginDelay?: string;
  expire?: string;
  logFormat?: string;
  logLevel: string;
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(
      `cannot read the TLS ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}

/** `off` or a port number (0 = any free port, printed at start). */
function portOption(text: string, what: string): number | undefined {
  if (text === 'off') return undefined;
  return parseCount(text, what, 65535);
}

export async function run(flags: ServeFlags): Promise<void> {
  if (Boolean(flags.tlsKey) !== Boolean(flags.tlsCert))
    throw usageError('--tls-key and --tls-cert go together');
  const tls = flags.tlsKey
    ? { key: readPem(flags.tlsKey, 'key'), cert: readPem(flags.tlsCert!, 'certificate') }
    : undefined;
  const plainPort = portOption(flags.port, '--port');
  const tlsPort = flags.tlsPort === undefined ? undefined : portOption(flags.tlsPort, '--tls-port');
  if (tlsPort !== undefined && !tls) throw usageError('--tls-port needs --tls-key and --tls-cert');
  if (plainPort === undefined && tlsPort === undefined)
    throw usageError('both ports are off: nothing to listen on');
  const level = parseLogLevel(flags.logLevel);
  if (!level) throw usageError('--log-level must be debug, info, warn or error');
  const format = (flags.logFormat ?? (process.stderr.isTTY ? 'pretty' : 'json')) as LogFormat;
  if (format !== 'json' && format !== 'pretty') throw usageError('--log-format must be json or pretty');
  let users: UsersFile;
  try {
    users = await UsersFile.load(flags.users);
  } catch (err) {
    throw configError(`users file ${flags.users}: ${(err as Error).message}`);
  }
  const limits: Partial<ServerLimits> = {};
  if (flags.maxConnections) limits.maxConnections = parseCount(flags.maxConnections, '--max-connections');
  if (flags.maxPerAddress)
    limits.maxConnectionsPerAddress = parseCount(flags.maxPerAddress, '--max-per-address');
  if (flags.idleTimeout) {
    const s = parseCount(flags.idleTimeout, '--idle-timeout');
    if (s < 600) throw usageError('--idle-timeout must be at least 600 seconds (RFC 1939 §3)');
    limits.idleTimeoutMs = s * 1000;
  }
  const capabilities: CapabilityOptions = {};
  if (flags.loginDelay) capabilities.loginDelay = parseCount(flags.loginDelay, '--login-delay');
  if (flags.expire) {
    capabilities.expire =
      flags.expire.toUpperCase() === 'NEVER' ? 'NEVER' : parseCount(flags.expire, '--expire');
  }
  const logger = createLogger(format, level);
  let server: Pop3Server;
  try {
    server = new Pop3Server({
      store: new MaildirStore({ root: flags.maildir }),
      users,
      ...(tls ? { tls, stls: flags.stls } : {}),
      allowInsecureAuth: flags.allowInsecureAuth ?? false,
      ...(flags.hostname ? { hostname: flags.hostname } : {}),
      limits,
      capabilities,
      logger,
    });
  } catch (err) {
    throw usageError((err as Error).message);
  }
  server.on('error', (err, info) => logger.error?.({ what: info.what, error: err }, 'server error'));
  const listening: string[] = [];
  try {
    if (plainPort !== undefined) {
      const a = await server.listen({ host: flags.host, port: plainPort, implicitTls: false });
      listening.push(`${a.address}:${a.port} (${tls && flags.stls ? 'STLS' : 'plain'})`);
    }
    if (tlsPort !== undefined) {
      const a = await server.listen({ host: flags.host, port: tlsPort, implicitTls: true });
      listening.push(`${a.address}:${a.port} (TLS)`);
    }
  } catch (err) {
    await server.close({ graceful: false });
    throw new CliError(`cannot listen: ${(err as Error).message}`, EXIT.NETWORK);
  }
  process.stderr.write(`pop3 serve: listening on ${listening.join(', ')}\n`);
  await new Promise<void>((resolve) => {
    const release = onSignal((signal) => {
      process.stderr.write(`pop3 serve: ${signal}: closing (sessions finish their current command)\n`);
      server.close({ graceful: true, timeoutMs: 10_000 }).then(() => {
        release();
        resolve();
      });
    });
  });
  process.stderr.write('pop3 serve: stopped\n');
}
