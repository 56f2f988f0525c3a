/**
 * The one bar shape every package speaks (see ARCHITECTURE.md, "The bar").
 * Prices are IEEE doubles; `ts` is the bar's open time in Unix epoch milliseconds, UTC.
 */
export interface Bar {
  /** Generic symbol, e.g. `EURUSD`, `XAUUSD`, `NAS100`, `AAPL`. */
  symbol: string;
  timeframe: Timeframe;
  /** Bar open time, Unix epoch milliseconds, UTC. */
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  /** >= 0; 0 where the source has none (most FX). */
  volume: number;
  source: SourceName;
  /** False while the bar is still forming; a later bar with the same (symbol, timeframe, ts) replaces it. */
  final: boolean;
  /** 0..1, set by the validator (1 until validated). */
  quality: number;
}

/** Bar timeframes, finest first. */
export const TIMEFRAMES = ['1s', '1m', '5m', '15m', '30m', '1h', '4h', '1d'] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];

/** Length of each timeframe in milliseconds. */
export const TIMEFRAME_MS: Readonly<Record<Timeframe, number>> = Object.freeze({
  '1s': 1_000,
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '30m': 1_800_000,
  '1h': 3_600_000,
  '4h': 14_400_000,
  '1d': 86_400_000,
});

export function isTimeframe(value: unknown): value is Timeframe {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(TIMEFRAME_MS, value);
}

/** Floors an epoch-ms time to the open of its UTC-aligned bar (days start at 00:00 UTC). */
export function alignTs(ts: number, timeframe: Timeframe): number {
  const ms = TIMEFRAME_MS[timeframe];
  return ts - (((ts % ms) + ms) % ms);
}

/** Names of the data sources a bar can come from. */
export const SOURCE_NAMES = [
  'yahoo',
  'alphavantage',
  'twelvedata',
  'polygon',
  'replay',
  'synthetic',
] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

export function isSourceName(value: unknown): value is SourceName {
  return typeof value === 'string' && (SOURCE_NAMES as readonly string[]).includes(value);
}

/** Key that identifies a bar: a later bar with the same key replaces the earlier one. */
export function barKey(bar: Pick<Bar, 'symbol' | 'timeframe' | 'ts'>): string {
  return `${bar.symbol}|${bar.timeframe}|${bar.ts}`;
}
