// Checks of query arguments shared by the store's reads, exports and state: a bad one is a
// SqliteStoreError with code SQLITE_BAD_ARGUMENT that names it.
import { isRecord, isTimeframe, type Timeframe } from '@pipeline/core';
import { SQLITE_STORE_ERROR_CODES as CODES, SqliteStoreError } from './errors';

export const COMPONENT = 'SqliteStore';

/** Range of one series for range() and exportCsv(). */
export interface RangeQuery {
  symbol: string;
  timeframe: Timeframe;
  /** Inclusive, epoch ms. */
  from: number;
  /** Exclusive, epoch ms. */
  to: number;
}

export function badArgument(message: string, reason: string): SqliteStoreError {
  return new SqliteStoreError(CODES.BAD_ARGUMENT, `${COMPONENT}: ${message}`, { reason });
}

export function checkSeries(symbol: unknown, timeframe: unknown): void {
  if (typeof symbol !== 'string' || symbol.length === 0)
    throw badArgument(`symbol must be a non-empty string, got ${JSON.stringify(symbol)}`, 'symbol');
  if (!isTimeframe(timeframe))
    throw badArgument(`unknown timeframe ${JSON.stringify(timeframe)}`, 'timeframe');
}

export function checkRange(q: RangeQuery): void {
  if (!isRecord(q)) throw badArgument('query must be an object', 'query');
  checkSeries(q.symbol, q.timeframe);
  if (!Number.isFinite(q.from) || !Number.isFinite(q.to) || q.from > q.to) {
    throw badArgument(
      `range must be finite with from <= to, got [${String(q.from)}, ${String(q.to)})`,
      'range',
    );
  }
}

export function checkLimit(limit: unknown): void {
  if (!Number.isSafeInteger(limit) || (limit as number) < 1)
    throw badArgument(`limit must be a positive integer, got ${String(limit)}`, 'limit');
}

export function checkKey(key: unknown): void {
  if (typeof key !== 'string' || key.length === 0)
    throw badArgument(`state key must be a non-empty string, got ${JSON.stringify(key)}`, 'key');
}
