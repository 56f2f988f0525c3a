import { type Bar, type Timeframe, TIMEFRAME_MS } from '@pipeline/core';

/** A deterministic, valid bar; prices vary with `i` so replacements are visible. */
export function makeBar(
  i: number,
  overrides: Partial<Bar> = {},
  timeframe: Timeframe = '1m',
  start = Date.UTC(2024, 0, 1),
): Bar {
  const base = 1.1 + (i % 97) / 1000;
  return {
    symbol: 'EURUSD',
    timeframe,
    ts: start + i * TIMEFRAME_MS[timeframe],
    open: base,
    high: base + 0.002,
    low: base - 0.002,
    close: base + 0.001,
    volume: i % 7,
    source: 'yahoo',
    final: true,
    quality: 1,
    ...overrides,
  };
}

export function makeBars(
  n: number,
  overrides: Partial<Bar> = {},
  timeframe: Timeframe = '1m',
  start?: number,
): Bar[] {
  return Array.from({ length: n }, (_, i) => makeBar(i, overrides, timeframe, start));
}
