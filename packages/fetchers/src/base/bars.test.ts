import { ManualClock, type Bar } from '@pipeline/core';
import { finishBars, resampleBars, splitRange, toPrice, toVolume } from './bars';
import { rowToBar } from './fetcher-kit';
import { createFetcherStats } from './stats';

const H = 3_600_000;
const bar = (ts: number, close: number, extra: Partial<Bar> = {}): Bar => ({
  symbol: 'EURUSD',
  timeframe: '1h',
  ts,
  open: close,
  high: close + 1,
  low: close - 1,
  close,
  volume: 1,
  source: 'yahoo',
  final: true,
  quality: 1,
  ...extra,
});

describe('splitRange', () => {
  it('covers [from, to) with windows no wider than the limit', () => {
    expect(splitRange(0, 10, 4)).toEqual([
      { from: 0, to: 4 },
      { from: 4, to: 8 },
      { from: 8, to: 10 },
    ]);
    expect(splitRange(0, 8, 4)).toEqual([
      { from: 0, to: 4 },
      { from: 4, to: 8 },
    ]);
    expect(splitRange(5, 5, 4)).toEqual([]);
    expect(splitRange(0, 10)).toEqual([{ from: 0, to: 10 }]);
  });
});

describe('finishBars', () => {
  it('sorts, keeps the last copy of a ts, and marks the forming bar', () => {
    const t0 = Date.UTC(2024, 0, 2, 10);
    const clock = new ManualClock(t0 + 2 * H + 60_000);
    const out = finishBars([bar(t0 + 2 * H, 3), bar(t0, 1), bar(t0 + H, 2), bar(t0, 1.5)], clock);
    expect(out.map((b) => [b.ts - t0, b.close, b.final])).toEqual([
      [0, 1.5, true],
      [H, 2, true],
      [2 * H, 3, false],
    ]);
  });
});

describe('resampleBars', () => {
  it('builds UTC-aligned 4h bars from 1h bars', () => {
    const t0 = Date.UTC(2024, 0, 2, 0);
    const hours = [0, 1, 2, 3, 4, 5].map((i) =>
      bar(t0 + i * H, 10 + i, { high: 20 + i, low: 5 - i * 0.1, volume: i }),
    );
    const out = resampleBars(hours, '4h');
    expect(out).toHaveLength(2);
    expect(out[0]).toMatchObject({
      ts: t0,
      timeframe: '4h',
      open: 10,
      close: 13,
      high: 23,
      low: 4.7,
      volume: 6,
    });
    expect(out[1]).toMatchObject({ ts: t0 + 4 * H, open: 14, close: 15, high: 25, volume: 9 });
  });
});

describe('row helpers', () => {
  it('accept numeric strings, refuse zero, dash and null', () => {
    expect(toPrice('1.1130')).toBe(1.113);
    expect([toPrice('-'), toPrice(0), toPrice(null), toPrice(NaN)]).toEqual([null, null, null, null]);
    expect([toVolume(undefined), toVolume('12'), toVolume(-1)]).toEqual([0, 12, null]);
  });

  it('count null, partial and inconsistent rows instead of making zeros', () => {
    const stats = createFetcherStats();
    const base = { symbol: 'X', timeframe: '1m' as const, ts: 0, source: 'yahoo' as const };
    expect(
      rowToBar({ open: null, high: null, low: null, close: null, volume: null }, base, stats),
    ).toBeNull();
    expect(rowToBar({ open: null, high: 2, low: 1, close: 1.5 }, base, stats)).toBeNull();
    expect(rowToBar({ open: 1, high: 0.5, low: 1, close: 1 }, base, stats)).toBeNull();
    expect(rowToBar({ open: 1, high: 1.2, low: 0.9, close: 1.3 }, base, stats)).toBeNull();
    expect(rowToBar({ open: 1, high: 1.2, low: 0.9, close: 1.201 }, base, stats)).toMatchObject({
      high: 1.201,
      close: 1.201,
    });
    expect(rowToBar({ open: 1, high: 2, low: 0.5, close: 1.5 }, base, stats)).toMatchObject({
      volume: 0,
      final: true,
      quality: 1,
    });
    expect(stats).toMatchObject({
      nullRowsSkipped: 1,
      partialRowsSkipped: 1,
      inconsistentRowsSkipped: 2,
      ohlcRepaired: 1,
    });
  });
});
