// Python's poplib downloading a whole mailbox (poplib_fetch.py): one <n>.eml file per message in
// wire form (CRLF line ends, unstuffed), and a JSON report of what LIST, UIDL and poplib said.
import { fileURLToPath } from 'node:url';
import { type ClientRunOptions, inWorkDir, requireCaFile } from './client-options.js';
import { type ChildResult, isolatedEnv, runChild } from './run-child.js';

export interface PoplibOptions extends ClientRunOptions {
  /** Folder that receives <n>.eml per message (created if missing). */
  outDir: string;
  /** Python interpreter. Default 'python3' from PATH. */
  python?: string;
}

export interface PoplibMessage {
  n: number;
  uid: string | null;
  /** The size LIST gave. */
  listed: number;
  /** What poplib counted while reading RETR (line ends as CRLF, stuffed dots not counted). */
  octets: number;
  file: string;
}

export interface PoplibResult extends ChildResult {
  /** Parsed from the script's last stdout line when it exited 0. */
  messages?: PoplibMessage[];
}

const SCRIPT = fileURLToPath(new URL('./poplib_fetch.py', import.meta.url));

/** Download the whole mailbox with poplib (USER/PASS). Exit code 0 means every message was written. */
export function runPoplib(opts: PoplibOptions): Promise<PoplibResult> {
  return inWorkDir(opts.workDir, async (dir) => {
    const args = [SCRIPT, '--host', opts.host, '--port', String(opts.port), '--user', opts.user];
    args.push('--tls', opts.tls, '--out', opts.outDir);
    if (opts.tls !== 'none') args.push('--cafile', requireCaFile(opts));
    args.push('--timeout', String(Math.min(60, Math.max(1, opts.timeoutMs / 1000))));
    if (opts.servername) args.push('--servername', opts.servername);
    if (!opts.keep) args.push('--delete');
    const result: PoplibResult = await runChild(opts.python ?? 'python3', args, {
      timeoutMs: opts.timeoutMs,
      env: isolatedEnv(dir, { POP3KIT_PASS: opts.pass, PYTHONDONTWRITEBYTECODE: '1' }),
    });
    if (result.code === 0) {
      const last = result.stdout.trim().split('\n').pop() ?? '';
      result.messages = (JSON.parse(last) as { messages: PoplibMessage[] }).messages;
    }
    return result;
  });
}
