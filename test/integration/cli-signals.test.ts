// Signals: SIGTERM ends every command with 143 (128 + 15; src/cli/signals.ts) and Ctrl-C with
// 130 (`pop3 fetch` once turned both into 130), and nothing half-written is left behind.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capaReply, sendOpening } from '../helpers/client-peer.js';
import { scriptedPeer } from '../helpers/scripted-peer.js';
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

describe('signals: nothing half-written is left', () => {
  it('Ctrl-C during retr -o FILE: exit 130, no file and no temporary file', async () => {
    const peer = await scriptedPeer(async (c) => {
      await sendOpening(c, { capa: ['USER'] });
      await c.expect(`USER ${USER}`);
      c.send('+OK\r\n');
      await c.expect(/^PASS /);
      c.send('+OK\r\n');
      await c.expect('CAPA');
      c.send(capaReply(['USER']));
      await c.expect('RETR 1');
      c.send('+OK\r\nSubject: half\r\n\r\nthe first part'); // and never the rest
      await c.readLine(10_000).catch(() => undefined);
    });
    const dir = tempDir();
    const child = spawn(
      process.execPath,
      [
        BIN,
        'retr',
        '1',
        `pop3://${USER}@127.0.0.1:${peer.port}`,
        '--tls',
        'none',
        '--insecure-auth',
        '-o',
        join(dir, 'msg.eml'),
      ],
      {
        env: { ...process.env, HOME: tempHome(), POP3_PASSWORD: PASSWORD },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const closed = new Promise<number | null>((r) => child.on('close', r));
    // Wait (bounded) until the body is being written, then interrupt.
    for (let i = 0; i < 200 && readdirSync(dir).length === 0; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(readdirSync(dir)).toHaveLength(1);
    child.kill('SIGINT');
    expect(await closed).toBe(130);
    expect(readdirSync(dir)).toEqual([]);
    await peer.close();
  });
});
