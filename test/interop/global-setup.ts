// Vitest globalSetup for the interop project: installs the real peers if needed, starts a private
// Dovecot with seeded mailboxes, and hands its description to tests as inject('dovecot').
// A missing Dovecot fails the run: a silently skipped interop test would hide a break.
// Set POP3KIT_KEEP_PEERS=1 to keep the peer's folder (config, log, mail) after the run.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { type DovecotPeerInfo, startDovecot } from '../../scripts/peers/dovecot.js';
import { generateMessages, type MailboxSpec, writeMaildir } from '../fixtures/mail-generator.js';

export interface DovecotProvided extends DovecotPeerInfo {
  /** What each user's Maildir was seeded with: generateMessages(seeded[user]) gives the same bytes. */
  seeded: Record<string, MailboxSpec>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    dovecot: DovecotProvided;
  }
}

const SEEDED: Record<string, MailboxSpec> = {
  alice: { preset: 'mixed', smallCount: 2000, big: true },
  bob: { preset: 'sized', count: 5, size: 2048 },
  carol: { preset: 'sized', count: 0, size: 2048 },
};

const INSTALL_TIMEOUT_MS = 10 * 60_000;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const script = fileURLToPath(new URL('../../scripts/peers/install.sh', import.meta.url));
  try {
    await promisify(execFile)('bash', [script], { timeout: INSTALL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message?: string };
    throw new Error(`interop peers are not installed and install.sh failed:\n${e.stderr || e.message}`);
  }

  const dir = await mkdtemp(join(tmpdir(), 'pop3kit-dovecot-'));
  const peer = await startDovecot({ dir });
  // If the test run dies without teardown, do not leave a Dovecot behind.
  const killOnExit = () => {
    try {
      process.kill(peer.pid, 'SIGTERM');
    } catch {
      // already stopped
    }
  };
  process.once('exit', killOnExit);
  try {
    for (const [user, spec] of Object.entries(SEEDED)) {
      await writeMaildir(peer.maildir(user), generateMessages(spec));
    }
  } catch (err) {
    await peer.stop();
    throw err;
  }
  project.provide('dovecot', { ...peer.info(), seeded: SEEDED });

  return async () => {
    process.off('exit', killOnExit);
    await peer.stop();
    if (process.env.POP3KIT_KEEP_PEERS === '1') {
      process.stderr.write(`interop: kept the Dovecot peer folder ${dir}\n`);
    } else {
      await rm(dir, { recursive: true, force: true });
    }
  };
}
