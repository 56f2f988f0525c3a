// The engine-neutral HistoryStore port of @pipeline/core over one SqliteStore. SqliteStore keeps its
// synchronous reads (they cost well under a millisecond and its existing callers rely on them); this
// adapter gives the sidecar, a bot and the shared contract suite the same asynchronous interface that
// @pipeline/pg-store implements, so either engine plugs in without the caller knowing which.
import {
  type Bar,
  type Disposable,
  type HistoryCalendar,
  type HistoryGap,
  type HistoryStore,
  type HistoryStoreHealth,
  type PipelineError,
  type SeriesQuery,
  type Timeframe,
} from '@pipeline/core';
import { SQLITE_STORE_ERROR_CODES as CODES } from './errors';
import { type SqliteStoreOptions } from './options';
import { createSqliteStore, type SqliteStore, type SqliteStoreStats } from './sqlite-store';

/** A {@link HistoryStore} backed by one SQLite file; `sqlite` reaches the engine-specific API. */
export interface SqliteHistoryStore extends HistoryStore {
  readonly kind: 'sqlite';
  /** The store underneath: `prune`, `exportCsv`, `coverage`, `needsBootstrap`, `deleteState`, `onFlush`. */
  readonly sqlite: SqliteStore;
  /** The port's counters plus SQLite's own (mode, worker fallback, last flush time). */
  stats(): SqliteStoreStats;
}

/**
 * Opens a SQLite bar store (same options as {@link createSqliteStore}) behind the asynchronous
 * `HistoryStore` port. Closing the adapter closes the file.
 */
export function createSqliteHistoryStore(options: SqliteStoreOptions): SqliteHistoryStore {
  const store = createSqliteStore(options);
  // Health: the last flush failure until a flush succeeds again (as pg-store's consecutive
  // failures), and a writer thread failure for good (writes go on inline).
  let failure: string | null = null;
  let workerFailure: string | null = null;
  store.onError((error) => {
    if (error.code === CODES.FLUSH_FAILED) failure = error.message;
    // Writes go on, inline: nothing is lost, but flushes block the event loop again.
    if (error.code === CODES.WORKER_FAILED) workerFailure = error.message;
  });
  store.onFlush(() => {
    // Not "nothing pending": live writes keep rows pending between any two flushes.
    failure = null;
  });
  return {
    kind: 'sqlite',
    sqlite: store,
    write(bars: readonly Bar[]): void {
      store.write(bars);
    },
    async flush(): Promise<void> {
      await store.flush();
    },
    // Not `async`, as SqliteStore.backfill: the promise keeps no reference to the bars handed over.
    backfill(bars: readonly Bar[]): Promise<number> {
      return store.backfill(bars).then((r) => r.accepted);
    },
    async latest(symbol: string, timeframe: Timeframe, limit?: number): Promise<Bar[]> {
      return store.latest(symbol, timeframe, limit);
    },
    async range(query: SeriesQuery, limit?: number): Promise<Bar[]> {
      return store.range(query, limit);
    },
    async gaps(query: SeriesQuery, calendar?: HistoryCalendar): Promise<HistoryGap[]> {
      return store.gaps(query, calendar);
    },
    async getState<T = unknown>(key: string): Promise<T | undefined> {
      return store.getState<T>(key);
    },
    async setState(key: string, value: unknown): Promise<void> {
      store.setState(key, value);
    },
    onError(listener: (error: PipelineError) => void): Disposable {
      return store.onError(listener);
    },
    stats: () => store.stats(),
    health(): HistoryStoreHealth {
      if (store.isClosed) return { status: 'down', lastError: 'the store is closed' };
      if (failure !== null) return { status: 'degraded', lastError: failure };
      if (workerFailure !== null) return { status: 'degraded', lastError: workerFailure };
      return { status: 'ready' };
    },
    get isClosed(): boolean {
      return store.isClosed;
    },
    close: () => store.close(),
  };
}
