import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { topReference } from '../../scripts/fuzz/server-oracle.js';
import { runServerFuzz, type ServerFuzzReport, summarizeServer } from '../../scripts/fuzz/server-targets.js';
import { ReplyReader, unstuff, WireError } from '../../test/helpers/pop3-wire.js';
import type { MailStore, MemoryStore } from './index.js';

// A short run of the server fuzzer (`node --import tsx scripts/fuzz-server.ts` runs a million
// commands), so CI fuzzes the session parser and SASL decoders on every run; and checks that the
// fuzzer's oracle does catch a server that corrupts, loses or stalls on mail. FUZZ_SEED picks another seed.
const seed = Number(process.env.FUZZ_SEED ?? 20261126) >>> 0;
const COMMANDS = 8000;

const describeFailures = (r: ServerFuzzReport) =>
  [summarizeServer(r), ...r.failures.map((f) => `session ${f.session} (${f.server}): ${f.message}`)].join(
    '\n',
  );

describe('server fuzz smoke run', () => {
  it(`${COMMANDS} commands in every state: no failure, no hang, healthy sessions served`, async () => {
    const r = await runServerFuzz({ commands: COMMANDS, seed, concurrency: 6 });
    expect(r.failures, describeFailures(r)).toEqual([]);
    expect(r.moreFailures).toBe(0);
    expect(r.lines).toBeGreaterThanOrEqual(COMMANDS);
    expect(r.replies).toBeGreaterThan(COMMANDS * 0.7);
    for (const [state, n] of Object.entries(r.perState)) expect(n, state).toBeGreaterThan(0);
    expect(r.tlsSessions).toBeGreaterThan(0);
    expect(r.checked).toBeGreaterThan(COMMANDS / 3);
    for (const ending of ['quit', 'closed', 'limit', 'protocol'])
      expect(r.endings[ending], ending).toBeGreaterThan(0);
    expect(r.health.checks).toBeGreaterThan(3);
    expect(r.slowestBatchMs).toBeLessThan(5000);
  }, 120_000);
});

/** The MemoryStore behind a wrapper that changes what one in every few messages looks like. */
function bend(
  open: (
    uid: string,
    real: () => Promise<NodeJS.ReadableStream | Readable>,
  ) => Promise<NodeJS.ReadableStream | Readable>,
  commit?: (uids: readonly string[], all: readonly string[]) => readonly string[],
) {
  return (store: MemoryStore): MailStore => ({
    async openMailbox(user) {
      const mb = await store.openMailbox(user);
      return {
        messages: mb.messages,
        open: (uid) => open(uid, () => mb.open(uid)),
        commit: (deleted) =>
          mb.commit(
            commit
              ? commit(
                  deleted,
                  mb.messages.map((m) => m.uid),
                )
              : deleted,
          ),
        release: () => mb.release(),
      };
    },
  });
}

const picked = (uid: string) => Number(uid.slice(1)) % 3 === 0;

describe('the fuzzer catches a broken server', () => {
  it('a store that flips a byte: RETR or TOP reported as differing', async () => {
    const flip = bend(async (uid, real) => {
      if (!picked(uid)) return real();
      const chunks: Buffer[] = [];
      for await (const c of (await real()) as Readable) chunks.push(c as Buffer);
      const bytes = Buffer.concat(chunks);
      if (bytes.length > 0) bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x20;
      return Readable.from([bytes]);
    });
    const r = await runServerFuzz({ commands: 2000, seed, wrapStore: flip, healthEveryMs: 10_000 });
    expect(r.failures.map((f) => f.message).join('\n')).toMatch(/RETR .* body differs|TOP .* wrong cut/);
  }, 60_000);

  it('a store that deletes more than was marked: the QUIT check reports it', async () => {
    const greedy = bend(
      (_uid, real) => real(),
      (deleted, all) => (deleted.length > 0 ? [...new Set([...deleted, ...all])] : deleted),
    );
    const r = await runServerFuzz({
      commands: 6000,
      seed,
      wrapStore: greedy,
      concurrency: 2,
      healthEveryMs: 10_000,
    });
    expect(r.failures.map((f) => f.message).join('\n')).toMatch(/removed without DELE/);
  }, 60_000);

  it('a store that stalls: reported as a hang at the deadline', async () => {
    const slow = bend(async (uid, real) => {
      if (picked(uid)) await new Promise((resolve) => setTimeout(resolve, 1500));
      return real();
    });
    const r = await runServerFuzz({
      commands: 1500,
      seed,
      wrapStore: slow,
      deadlineMs: 300,
      healthEveryMs: 10_000,
    });
    expect(r.failures.map((f) => f.message).join('\n')).toMatch(/HangError/);
  }, 60_000);
});

describe('oracle pieces', () => {
  it('TOP reference: headers, the empty line, n body lines; a CR-only line is not the empty line', () => {
    const wire = Buffer.from('A: 1\r\n\r\r\nB: 2\r\n\r\nl1\r\nl2\r\n');
    expect(topReference(wire, 0).toString()).toBe('A: 1\r\n\r\r\nB: 2\r\n\r\n');
    expect(topReference(wire, 1).toString()).toBe('A: 1\r\n\r\r\nB: 2\r\n\r\nl1\r\n');
    expect(topReference(wire, 9).equals(wire)).toBe(true);
    expect(topReference(Buffer.from('A: 1\r\nB: 2\r\n'), 0).toString()).toBe('A: 1\r\nB: 2\r\n');
  });

  it('unstuff refuses a bare LF and a lone leading dot', () => {
    expect(unstuff(Buffer.from('..a\r\nb\r\n')).toString()).toBe('.a\r\nb\r\n');
    expect(() => unstuff(Buffer.from('a\nb\r\n'))).toThrow(WireError);
    expect(() => unstuff(Buffer.from('.a\r\n'))).toThrow(WireError);
  });

  it('a status line over 512 octets or without CRLF is a wire error', async () => {
    const { PassThrough } = await import('node:stream');
    for (const bad of [`+OK ${'x'.repeat(600)}\r\n`, '+OK bare\n']) {
      const s = new PassThrough();
      const reader = new ReplyReader();
      reader.attach(s);
      s.write(bad);
      await expect(reader.line(Date.now() + 1000)).rejects.toThrow(WireError);
    }
  });
});
