// The daemon scheduler alone, with a stand-in for one account's fetch (timing, not mail).
import { describe, expect, it } from 'vitest';
import { Pop3Error } from '../protocol/errors.js';
import { emptyResult } from './fetch-account.js';
import { pollLoop } from './poll.js';
import type { AccountConfig, FetchResult } from './types.js';

const account = (name: string): AccountConfig => ({
  name,
  connection: { host: 'h', auth: { user: name, pass: 'p' } },
  target: { kind: 'stdout' },
  stateDir: '/nonexistent',
});

const result = (loginDelay?: number): FetchResult => ({ ...emptyResult('a'), loginDelay });

describe('pollLoop', () => {
  it('polls each account every interval and stops when aborted', async () => {
    const calls: Record<string, number[]> = { a: [], b: [] };
    const ac = new AbortController();
    const t0 = Date.now();
    const loop = pollLoop([account('a'), account('b')], 100, ac.signal, {
      fetch: async (acc) => {
        calls[acc.name!]!.push(Date.now() - t0);
        return result();
      },
    });
    await new Promise((r) => setTimeout(r, 550));
    ac.abort();
    await loop;
    for (const times of Object.values(calls)) {
      expect(times.length).toBeGreaterThanOrEqual(4);
      expect(times.length).toBeLessThanOrEqual(7);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(95);
    }
  });

  it('waits at least LOGIN-DELAY after a session ends, and backs off on [IN-USE]', async () => {
    const times: number[] = [];
    const ac = new AbortController();
    const t0 = Date.now();
    let n = 0;
    const loop = pollLoop([account('a')], 10, ac.signal, {
      fetch: async () => {
        times.push(Date.now() - t0);
        n++;
        if (n === 1) return result(1); // LOGIN-DELAY 1 s
        throw new Pop3Error('busy', { code: 'ESERVER', responseCode: 'IN-USE' });
      },
    });
    await new Promise((r) => setTimeout(r, 3300));
    ac.abort();
    await loop;
    // 0, then >= 1000 (LOGIN-DELAY), then >= +1000 (backoff: max(interval, LOGIN-DELAY)), then >= +2000.
    expect(times.length).toBe(3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1000);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(1000);
  });

  it('runs at most `concurrency` fetches at once', async () => {
    let running = 0;
    let peak = 0;
    const ac = new AbortController();
    const loop = pollLoop(['a', 'b', 'c', 'd', 'e'].map(account), 0, ac.signal, {
      concurrency: 2,
      fetch: async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return result();
      },
    });
    await new Promise((r) => setTimeout(r, 200));
    ac.abort();
    await loop;
    expect(peak).toBe(2);
  });
});
