import { benchBar, benchRow, measureLoopBlocking, percentile, percentileOf, round } from './bench';

describe('bench kit', () => {
  it('takes the nearest-rank percentile of sorted values, or of any order via percentileOf', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(51);
    expect(percentile(sorted, 99)).toBe(100);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentileOf([5, 1, 4, 2, 3], 20)).toBe(2);
    expect(percentileOf([5, 1, 4, 2, 3], 50)).toBe(3);
  });

  it('rounds to the given decimals', () => {
    expect(round(1.23456, 2)).toBe(1.23);
    expect(round(1234.5, 0)).toBe(1235);
  });

  it('fills a row with nulls in the field order tooling/bench.mjs tabulates', () => {
    const row = benchRow({ goal: '< 1 ms', case: 'c', unit: 'ms', ours: 0.5, pass: true });
    expect(Object.entries(row)).toEqual([
      ['case', 'c'],
      ['unit', 'ms'],
      ['ours', 0.5],
      ['baseline', null],
      ['baselineValue', null],
      ['ratio', null],
      ['goal', '< 1 ms'],
      ['pass', true],
    ]);
  });

  it('makes valid bars of one series per symbol index', () => {
    const b = benchBar(12, 3);
    expect(b.symbol).toBe('SYM0012');
    expect(benchBar(12, 4).ts - b.ts).toBe(60_000);
    expect(b.low).toBeLessThanOrEqual(Math.min(b.open, b.close));
    expect(b.high).toBeGreaterThanOrEqual(Math.max(b.open, b.close));
  });

  it('sees a blocked event loop, and not an idle one', async () => {
    const busy = await measureLoopBlocking(async () => {
      await new Promise((r) => setTimeout(r, 5));
      const end = performance.now() + 120;
      while (performance.now() < end);
    });
    expect(busy.maxLagMs).toBeGreaterThanOrEqual(100);
    expect(busy.busyMs).toBeGreaterThanOrEqual(100);
    const idle = await measureLoopBlocking(() => new Promise((r) => setTimeout(r, 30)));
    expect(idle.maxLagMs).toBeLessThan(busy.maxLagMs);
    expect(idle.wallMs).toBeGreaterThanOrEqual(25);
  });
});
