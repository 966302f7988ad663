import { describe, expect, it } from 'vitest';
import { FuzzFailure, type FuzzReport, runFuzz, summarize, type Target } from '../../scripts/fuzz/targets.js';
import { Pop3Error } from './errors.js';

// A short run of the same fuzz targets as `npm run fuzz`, so CI fuzzes on every run.
// FUZZ_SEED picks another seed (the seed is in the failure message for replay).
const seed = Number(process.env.FUZZ_SEED ?? 20261126) >>> 0;
const ITERATIONS = 20_000;

describe('fuzz smoke run', () => {
  let cached: FuzzReport | undefined;
  const fuzzed = () => {
    cached ??= runFuzz({ iterations: ITERATIONS, seed });
    return cached;
  };

  it(`${ITERATIONS} inputs: no failures, no exception but allowed Pop3Errors, no slow input`, () => {
    const report = fuzzed();
    const detail = report.failures.map((f) => `${f.target} #${f.index}: ${f.message}`).join('\n');
    expect(report.failures, `${summarize(report)}\n${detail}`).toEqual([]);
    expect(report.moreFailures).toBe(0);
    expect(report.inputs).toBe(ITERATIONS);
    expect(report.slowest.ms, summarize(report)).toBeLessThan(2000);
  }, 120_000);

  it('every target ran, and the rejecting ones both accepted and rejected inputs', () => {
    for (const [name, s] of Object.entries(fuzzed().perTarget)) {
      expect(s.inputs, name).toBeGreaterThan(ITERATIONS / 20);
      if (name !== 'round-trip') {
        expect(s.rejected, name).toBeGreaterThan(0);
        expect(s.rejected, name).toBeLessThan(s.inputs);
      }
    }
  }, 120_000);
});

describe('fuzz runner', () => {
  const target = (name: string, run: Target['run'], allowed: Target['allowed'] = ['EPROTOCOL']): Target => ({
    name,
    weight: 1,
    allowed,
    run,
  });

  it('reports an escaped non-Pop3Error, a FuzzFailure and a Pop3Error with a code not allowed', () => {
    const r = runFuzz({
      iterations: 30,
      seed: 1,
      targets: [
        target('type-error', () => {
          throw new TypeError('boom');
        }),
        target('oracle', () => {
          throw new FuzzFailure('wrong body');
        }),
        target('wrong-code', () => ({ octets: 1, rejected: new Pop3Error('x', { code: 'ELIMIT' }) })),
      ],
    });
    expect(r.failures.length).toBe(20); // kept; the rest are counted
    expect(r.failures.length + r.moreFailures).toBe(30);
    const messages = r.failures.map((f) => f.message).join('\n');
    expect(messages).toContain('escaped TypeError');
    expect(messages).toContain('wrong body');
    expect(messages).toContain('rejected with ELIMIT');
  });

  it('counts allowed rejections as correct, and replays an input from its seed and index', () => {
    const seen: number[] = [];
    const rejecting = target('ok', (rng) => {
      const v = rng.u32();
      seen.push(v);
      return { octets: 1, rejected: v % 2 ? new Pop3Error('x', { code: 'EPROTOCOL' }) : undefined };
    });
    const r = runFuzz({ iterations: 50, seed: 7, targets: [rejecting] });
    expect(r.failures).toEqual([]);
    expect(r.perTarget.ok?.rejected).toBe(seen.filter((v) => v % 2).length);
    const again: number[] = [];
    const replay = target('ok', (rng) => {
      again.push(rng.u32());
      return { octets: 1 };
    });
    runFuzz({ iterations: 1, seed: 7, start: 13, targets: [replay] });
    expect(again).toEqual([seen[13]]);
  });
});
