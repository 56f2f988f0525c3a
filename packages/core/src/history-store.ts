// The history store port: what the sidecar (and any bot) needs from a bar history, whatever the engine
// behind it (@pipeline/sqlite-store in one file, @pipeline/pg-store in PostgreSQL shared by many
// sidecars). Every read is asynchronous so that a network store fits behind the same interface without
// blocking the caller; writes are buffered and flushed by the store on its own schedule.
import { type Bar, type Timeframe } from './bar';
import { type Disposable } from './disposable';
import { type PipelineError } from './errors';

/** A half-open interval `[from, to)` of bar open times of one series, epoch ms. */
export interface SeriesQuery {
  symbol: string;
  timeframe: Timeframe;
  /** Open time of the first bar wanted, epoch ms (inclusive). */
  from: number;
  /** Epoch ms (exclusive). */
  to: number;
}

/** A run of expected bars missing from the store. */
export interface HistoryGap {
  /** Open time of the first missing bar, epoch ms. */
  from: number;
  /** Open time of the last missing bar plus one timeframe, epoch ms (exclusive). */
  to: number;
  /** Expected bars missing in [from, to) (closed-market time is not counted). */
  missing: number;
}

/**
 * The named trading calendars every store understands (closed hours are not gaps): `24x7` for crypto and
 * synthetic data, `fx` (Sunday 22:00 to Friday 22:00 UTC) for FX and metals, `us-equity` (09:30-16:00
 * New York, weekdays) for US stocks and indices.
 */
export type HistoryCalendar = '24x7' | 'fx' | 'us-equity';

/** Counters every store reports. */
export interface HistoryStoreStats {
  /** Rows buffered (or handed to a writer) and not yet committed. */
  pending: number;
  flushes: number;
  failedFlushes: number;
  flushedRows: number;
  /** Bars refused by write()/backfill() as malformed. */
  rejectedBars: number;
}

/** Whether the store can take writes now; `down` keeps writes buffered (bounded) and retries. */
export interface HistoryStoreHealth {
  status: 'ready' | 'degraded' | 'down';
  /** The last failure, redacted, while not ready. */
  lastError?: string;
}

/**
 * One row per (symbol, timeframe, ts): writing the same key again replaces the bar. Reads see committed
 * rows only (not the write buffer). A bad query argument (unknown timeframe, `from > to`, a limit that is
 * not a positive integer) rejects with a code ending in `_BAD_ARGUMENT`; any use after `close()` throws or
 * rejects with a code ending in `_CLOSED`. `@pipeline/test-utils`' `runHistoryStoreContract` pins all of it.
 */
export interface HistoryStore {
  /** Engine name for health output, e.g. `sqlite` or `postgres`. */
  readonly kind: string;
  /**
   * Buffers bars for the next flush (same key replaces); never blocks on I/O. A malformed bar is not
   * thrown: it is dropped, counted in `stats().rejectedBars` and reported through {@link onError} with a
   * code ending in `_BAD_BAR` and a message naming its `symbol|timeframe|ts` key and the reason. Throws
   * (code ending in `_CLOSED`) after `close()`.
   */
  write(bars: readonly Bar[]): void;
  /** Commits what is buffered now. Rejects when the engine is down; the rows stay buffered. */
  flush(): Promise<void>;
  /**
   * Writes bars straight to the store in bulk (bootstrap path); resolves with the rows written.
   * Malformed bars are refused as in {@link write}.
   */
  backfill(bars: readonly Bar[]): Promise<number>;
  /** The latest `limit` bars of a series, oldest first; `limit` defaults to 500. */
  latest(symbol: string, timeframe: Timeframe, limit?: number): Promise<Bar[]>;
  /** Bars with `from <= ts < to`, oldest first, at most `limit`. */
  range(query: SeriesQuery, limit?: number): Promise<Bar[]>;
  /** Calendar-aware runs of missing bars in [from, to). */
  gaps(query: SeriesQuery, calendar?: HistoryCalendar): Promise<HistoryGap[]>;
  /** Small key-value state (bootstrap progress, breaker state), JSON values. */
  getState<T = unknown>(key: string): Promise<T | undefined>;
  setState(key: string, value: unknown): Promise<void>;
  /**
   * Failures that are not thrown or rejected: malformed bars (`*_BAD_BAR`), failed timer flushes, a
   * lost connection. Every error is a core `PipelineError` (string `code`, recognised without
   * `instanceof`). The store never logs on its own.
   */
  onError(listener: (error: PipelineError) => void): Disposable;
  stats(): HistoryStoreStats;
  health(): HistoryStoreHealth;
  readonly isClosed: boolean;
  /** Flushes what is pending and closes the store. */
  close(): Promise<void>;
}
