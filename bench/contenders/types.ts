// What every contender (a POP3 client, or a byte counter) provides to the harness.
import type { Expected } from '../lib/mailbox.js';
import type { Measured } from '../lib/measure.js';

/** Where a contender connects: a server port, possibly through the delay relay. */
export interface Endpoint {
  host: '127.0.0.1';
  port: number;
  /** Implicit TLS (certificate for localhost and IP 127.0.0.1, signed by caFile) or cleartext. */
  tls: boolean;
  caFile: string;
  servername: 'localhost';
}

export interface RunContext {
  endpoint: Endpoint;
  user: string;
  pass: string;
  expected: Expected;
  /** This contender's folder for the workload: config files, state (wiped by prepare). */
  workDir: string;
  /** The Maildir to deliver into (on tmpfs; empty when prepare is called). */
  maildir: string;
  timeoutMs: number;
}

export interface Prepared {
  argv: string[];
  env?: NodeJS.ProcessEnv;
}

export interface Contender {
  name: string;
  /** One line: what counts as delivered (fsync or not), for the table's notes. */
  durability: string;
  /** Wipe the contender's local state (so the run is a full fetch) and return the command. */
  prepare(ctx: RunContext): Promise<Prepared>;
  /** Undefined when the run produced every message byte-exact; otherwise what is wrong. */
  verify(ctx: RunContext, run: Measured): Promise<string | undefined>;
}

/** Environment for a child: no inherited config (HOME and XDG folders point into workDir). */
export function isolatedEnv(workDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    HOME: `${workDir}/home`,
    XDG_CONFIG_HOME: `${workDir}/home/.config`,
    XDG_STATE_HOME: `${workDir}/home/.local/state`,
    XDG_CACHE_HOME: `${workDir}/home/.cache`,
    ...extra,
  };
}
