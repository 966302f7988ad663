// SIGTERM ends every command with 143 (128 + 15; src/cli/signals.ts), but `pop3 fetch`
// (one run) turned it into 130, the Ctrl-C code, so a supervisor cannot tell the two apart.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, PASSWORD, tempDir, tempHome, USER } from './cli-harness.js';

async function silentServer() {
  let connected = () => {};
  const seen = new Promise<void>((r) => {
    connected = r;
  });
  const server = createServer((s) => {
    s.on('error', () => {});
    connected();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server, seen };
}

async function exitOn(signal: NodeJS.Signals, command: string[]): Promise<number | null> {
  const { port, server, seen } = await silentServer();
  try {
    const dir = tempDir();
    const args =
      command[0] === 'fetch'
        ? ['--maildir', join(dir, 'M'), '--state-dir', join(dir, 's'), '--no-progress']
        : [];
    const child = spawn(
      process.execPath,
      [BIN, ...command, `pop3://${USER}@127.0.0.1:${port}`, '--tls', 'none', '--insecure-auth', ...args],
      {
        env: { ...process.env, HOME: tempHome(), POP3_PASSWORD: PASSWORD },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    await seen;
    child.kill(signal);
    return await new Promise<number | null>((r) => child.on('close', r));
  } finally {
    server.close();
  }
}

describe('signals: the same exit code for every command', () => {
  it('SIGTERM: 143 for stat and for fetch; SIGINT: 130 for both', async () => {
    expect(await exitOn('SIGTERM', ['stat'])).toBe(143);
    expect(await exitOn('SIGINT', ['stat'])).toBe(130);
    expect(await exitOn('SIGINT', ['fetch'])).toBe(130);
    expect(await exitOn('SIGTERM', ['fetch'])).toBe(143);
  });
});
