import {
  FetchError,
  isFetchError,
  isTimeframe,
  type Bar,
  type FetchHistoryRequest,
  type SourceName,
  type Timeframe,
} from '@pipeline/core';
import { type FetcherStats } from './stats';
import { isConsistentOhlc, splitRange, toPrice, toVolume, type RangeChunk } from './bars';

/** Throws `aborted` when the caller's signal fired (checked between requests of a history run). */
export function throwIfAborted(source: SourceName, signal: AbortSignal | undefined, symbol?: string): void {
  if (signal?.aborted)
    throw new FetchError({ kind: 'aborted', source, symbol, message: 'request aborted by the caller' });
}

/** A `not_supported` error for a timeframe the source cannot serve. */
export function unsupportedTimeframe(source: SourceName, timeframe: string, symbol?: string): FetchError {
  return new FetchError({
    kind: 'not_supported',
    source,
    symbol,
    message: `timeframe ${JSON.stringify(timeframe)} is not supported`,
  });
}

/** Validates the shape of a request; a bad one is the caller's bug, reported as `bad_request`. */
export function checkRequest(
  source: SourceName,
  req: { symbol: unknown; timeframe: unknown; from?: unknown; to?: unknown; limit?: unknown },
  history: boolean,
): asserts req is { symbol: string; timeframe: Timeframe } {
  const bad = (what: string): never => {
    throw new FetchError({
      kind: 'bad_request',
      source,
      symbol: typeof req.symbol === 'string' ? req.symbol : undefined,
      message: what,
    });
  };
  if (typeof req.symbol !== 'string' || req.symbol.trim() === '')
    bad(`symbol must be a non-empty string, got ${JSON.stringify(req.symbol)}`);
  if (!isTimeframe(req.timeframe)) bad(`unknown timeframe ${JSON.stringify(req.timeframe)}`);
  if (history) {
    if (typeof req.from !== 'number' || !Number.isFinite(req.from))
      bad(`from must be epoch ms, got ${JSON.stringify(req.from)}`);
    if (typeof req.to !== 'number' || !Number.isFinite(req.to))
      bad(`to must be epoch ms, got ${JSON.stringify(req.to)}`);
  } else if (
    req.limit !== undefined &&
    (typeof req.limit !== 'number' || !Number.isInteger(req.limit) || req.limit < 1)
  ) {
    bad(`limit must be a positive integer, got ${JSON.stringify(req.limit)}`);
  }
}

/**
 * Runs one request per chunk of [from, to) (sequentially: the rate budget is per source, parallel
 * chunks would only collide in it), reporting progress and stopping at the first error or abort.
 */
export async function runChunked(
  source: SourceName,
  req: FetchHistoryRequest,
  maxRangeMs: number | undefined,
  fetchChunk: (chunk: RangeChunk) => Promise<Bar[]>,
): Promise<Bar[]> {
  return runPlanned(source, req, splitRange(req.from, req.to, maxRangeMs), fetchChunk);
}

/**
 * Runs one request per planned item (a range chunk, a calendar month, ...) in order, checking the
 * caller's signal before each and reporting progress after each; stops at the first error or abort.
 */
export async function runPlanned<T>(
  source: SourceName,
  req: FetchHistoryRequest,
  plan: readonly T[],
  fetchOne: (item: T) => Promise<Bar[]>,
): Promise<Bar[]> {
  const bars: Bar[] = [];
  let done = 0;
  for (const item of plan) {
    throwIfAborted(source, req.signal, req.symbol);
    bars.push(...(await fetchOne(item)));
    done++;
    req.onProgress?.({ requestsDone: done, requestsPlanned: plan.length, bars: bars.length });
  }
  return bars;
}

/** Largest relative amount by which open/close may lie outside [low, high] and still be repaired: 0.5 %. */
export const OHLC_REPAIR_TOLERANCE = 0.005;

/** Raw OHLCV values of one provider row, before checks. */
export interface RawRow {
  open: unknown;
  high: unknown;
  low: unknown;
  close: unknown;
  volume?: unknown;
}

/** An explicit literal: object spread was the row loop's main cost when profiled, and this runs once per row. */
function makeBar(
  base: Pick<Bar, 'symbol' | 'timeframe' | 'ts' | 'source'>,
  open: number,
  high: number,
  low: number,
  close: number,
  volume: number,
): Bar {
  return {
    symbol: base.symbol,
    timeframe: base.timeframe,
    ts: base.ts,
    open,
    high,
    low,
    close,
    volume,
    source: base.source,
    final: true,
    quality: 1,
  };
}

/**
 * Turns a provider row into a bar, or counts why it cannot: all OHLC null -> `nullRowsSkipped`;
 * some null/garbage -> `partialRowsSkipped`; open/close slightly outside [low, high] -> widened and
 * counted in `ohlcRepaired`; worse contradictions -> `inconsistentRowsSkipped`.
 * Never throws: bad market data is reported, not fatal.
 */
export function rowToBar(
  row: RawRow,
  base: Pick<Bar, 'symbol' | 'timeframe' | 'ts' | 'source'>,
  stats: FetcherStats,
): Bar | null {
  const fields = [row.open, row.high, row.low, row.close];
  if (fields.every((v) => v === null || v === undefined)) {
    stats.nullRowsSkipped++;
    return null;
  }
  const open = toPrice(row.open);
  const high = toPrice(row.high);
  const low = toPrice(row.low);
  const close = toPrice(row.close);
  const volume = toVolume(row.volume);
  if (open === null || high === null || low === null || close === null || volume === null) {
    stats.partialRowsSkipped++;
    return null;
  }
  if (!isConsistentOhlc(open, high, low, close)) {
    // Yahoo's FX dailies sometimes close a hair above the high (open/close and high/low come from
    // different snapshots). Within OHLC_REPAIR_TOLERANCE we widen high/low to contain open and
    // close (counted); anything worse is not trusted.
    const repairedHigh = Math.max(high, open, close);
    const repairedLow = Math.min(low, open, close);
    if (
      low > high ||
      repairedHigh / high - 1 > OHLC_REPAIR_TOLERANCE ||
      1 - repairedLow / low > OHLC_REPAIR_TOLERANCE
    ) {
      stats.inconsistentRowsSkipped++;
      return null;
    }
    stats.ohlcRepaired++;
    return makeBar(base, open, repairedHigh, repairedLow, close, volume);
  }
  return makeBar(base, open, high, low, close, volume);
}

/** Counts a failure in `stats` and rethrows it as a FetchError (unknown errors become `malformed`). */
export function countFailure(source: SourceName, stats: FetcherStats, err: unknown, symbol?: string): never {
  stats.failures++;
  if (isFetchError(err)) {
    if (err.kind === 'rate_limited' && /local rate budget/.test(err.message)) stats.rateLimitedLocally++;
    throw err;
  }
  throw new FetchError({
    kind: 'malformed',
    source,
    symbol,
    message: `could not read the response: ${String((err as Error)?.message ?? err)}`,
    cause: err,
  });
}
