// Stdout that cannot be written (a full disk, an I/O error; here /dev/full) is "cannot
// write the output" (73) with a one-line message, as for -o FILE; not an uncaught exception with a
// stack trace and exit 1 (which the README reserves for "partly done").
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { BIN, PASSWORD, tempHome, USER, useServer } from './cli-harness.js';

const ctx = useServer();

function runToDevFull(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const fd = openSync('/dev/full', 'w');
  const home = tempHome();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, HOME: home, XDG_STATE_HOME: join(home, '.state'), POP3_PASSWORD: PASSWORD },
      stdio: ['ignore', fd, 'pipe'],
    });
    closeSync(fd);
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('stdout cannot be written (/dev/full)', () => {
  it('list, retr and fetch --stdout end with 73 and one line, no stack trace', async () => {
    const url = `pop3s://${USER}@127.0.0.1:${ctx.srv.tlsPort}`;
    for (const args of [
      ['list', url],
      ['retr', '1', url],
      ['fetch', url, '--stdout', '--no-progress'],
    ]) {
      const r = await runToDevFull([...args, '--ca-file', ctx.caFile]);
      expect(r.stderr, args[0]).not.toMatch(/\n\s+at /);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(EXIT.OUTPUT);
    }
    expect(ctx.srv.store.list(USER)).toHaveLength(3);
  });
});
