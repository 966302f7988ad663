// What every real-client runner takes: where the server is, how to secure and log in, and whether
// to leave the mail on the server. Each runner downloads the whole mailbox once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ClientRunOptions {
  host: string;
  port: number;
  user: string;
  /** Written only to a 0600 config file or passed through the environment, never on a command line. */
  pass: string;
  /**
   * 'starttls': plain connect then STLS; 'implicit': TLS from the first byte; 'none': cleartext
   * (the password goes in the clear: for benchmarks on loopback only).
   */
  tls: 'starttls' | 'implicit' | 'none';
  /** PEM file of the CA that signed the server certificate (verification is always on). Needed with TLS. */
  caFile?: string;
  /** The name the certificate must carry, when it differs from `host`. */
  servername?: string;
  /** true: leave every message on the server; false: DELE each one and QUIT. */
  keep: boolean;
  /** Hard deadline for the client process (it and its children are SIGKILLed after it). */
  timeoutMs: number;
  /** Folder for the client's config and state; default a fresh temporary folder removed afterwards. */
  workDir?: string;
}

/** Run `fn` in opts.workDir, or in a temporary folder that is removed when `fn` settles. */
export async function inWorkDir<T>(workDir: string | undefined, fn: (dir: string) => Promise<T>): Promise<T> {
  if (workDir) return fn(workDir);
  const dir = await mkdtemp(join(tmpdir(), 'pop3kit-client-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The CA file, which every TLS mode needs. */
export function requireCaFile(opts: ClientRunOptions): string {
  if (!opts.caFile) throw new TypeError(`tls '${opts.tls}' needs caFile`);
  return opts.caFile;
}
