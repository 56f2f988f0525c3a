// The store shell: options, the file, the keyed write buffer and its flush schedule (inline or through
// the writer thread), and the lifecycle. Reads, CSV export, state, encoding and the writer thread are
// each in their own file, named after what they do.
import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';
import { Emitter, isRecord, type Bar, type TimerHandle, type Timeframe } from '@pipeline/core';
import { COMPONENT, checkRange, type RangeQuery } from './arguments';
import { BarQueries, type Gap, type PruneResult, type SeriesCoverage } from './bar-queries';
import { type CalendarSpec } from './calendar';
import { exportCsv } from './csv-export';
import { openBarDatabase, pragmaList } from './database';
import { SQLITE_STORE_ERROR_CODES as CODES, SqliteStoreError, isSqliteStoreError } from './errors';
import { type StoreSubscription } from './events';
import {
  resolveSqliteStoreOptions,
  type ResolvedSqliteStoreOptions,
  type SqliteStoreOptions,
  type WriteMode,
} from './options';
import { PendingRows, type PackedRows } from './pending-rows';
import { ROW_WIDTH, encodeBarList, encodeStorableBars, putRow, type EncodedRows } from './row-encoding';
import { barProblem } from './schema';
import { StateTable } from './state-table';
import { RowWriter } from './writer';
import { WriterThread } from './writer-thread';

/** Emitted after every successful flush. */
export interface FlushEvent {
  /** Rows written by this flush. */
  rows: number;
  /** Milliseconds the write transaction took (on the writer thread in worker mode). */
  ms: number;
  /** Where it ran. */
  mode: WriteMode;
}

/** Result of {@link SqliteStore.write}: bad bars are counted and reported through onError, never thrown. */
export interface WriteResult {
  accepted: number;
  rejected: number;
}

/** Counters for health and metrics; all counts since the store was opened. */
export interface SqliteStoreStats {
  mode: WriteMode;
  /** True when worker mode fell back to writing on the calling thread after the worker failed. */
  workerFallback: boolean;
  /** Rows buffered or handed to the writer and not yet committed. */
  pending: number;
  flushes: number;
  failedFlushes: number;
  /** Failed flushes since the last successful one (0 when the last flush succeeded): "failing now". */
  consecutiveFailures: number;
  flushedRows: number;
  /** Bars refused by write()/backfill() (SQLITE_BAD_BAR). */
  rejectedBars: number;
  /** Duration of the last successful flush, ms, or null. */
  lastFlushMs: number | null;
  /** Scheduler time of the last successful flush, epoch ms, or null. */
  lastFlushAt: number | null;
}

const PAGE_DEFAULT_LIMIT = 500;

/**
 * Bar history in one SQLite file: buffered writes flushed in one transaction per interval (inline or
 * on a worker thread), last-N/range reads, coverage, calendar-aware gaps, retention, CSV export and a
 * small JSON key-value table. Create it with {@link createSqliteStore}.
 */
export class SqliteStore {
  /** Resolved, frozen options. */
  readonly options: ResolvedSqliteStoreOptions;
  private readonly db: Database.Database;
  private readonly writer: RowWriter;
  private readonly queries: BarQueries;
  private readonly state: StateTable;
  private readonly thread: WriterThread | null = null;
  /** Pending rows, already packed (pending-rows.ts); kept across flushes. */
  private readonly buffer = new PendingRows();
  private readonly flushEvents = new Emitter<FlushEvent>('sqlite-store onFlush');
  private readonly errorEvents = new Emitter<SqliteStoreError>('sqlite-store onError');
  private timer: TimerHandle | null = null;
  private closing: Promise<void> | null = null;
  private closed = false;
  private counters = {
    flushes: 0,
    failedFlushes: 0,
    consecutiveFailures: 0,
    flushedRows: 0,
    rejectedBars: 0,
  };
  private lastFlushMs: number | null = null;
  private lastFlushAt: number | null = null;
  /** Buffer size at which write() flushes early; raised after a failed early flush to avoid a retry per write. */
  private earlyFlushAt: number;

  constructor(options: SqliteStoreOptions) {
    this.options = resolveSqliteStoreOptions(options);
    const o = this.options;
    this.earlyFlushAt = o.maxPending;
    const pragmas = pragmaList(o);
    this.db = openBarDatabase(o, pragmas);
    this.writer = new RowWriter(this.db, o.rowsPerStatement);
    this.queries = new BarQueries(this.db);
    this.state = new StateTable(this.db, o.scheduler);
    if (o.mode === 'worker') {
      try {
        this.thread = new WriterThread(o, pragmas, {
          flushFailed: (requeue, rows, later, failure) => this.requeue(requeue, rows, later, failure),
          backfillFailed: (rows, failure) => this.backfillError(rows, failure),
          succeeded: () => {
            this.earlyFlushAt = this.options.maxPending;
          },
          died: (cause, rows) => this.reportWorkerDeath(cause, rows),
        });
      } catch (cause) {
        this.db.close();
        throw new SqliteStoreError(
          CODES.WORKER_FAILED,
          `${COMPONENT}: cannot start the writer thread: ${(cause as Error).message}`,
          { path: o.path },
          cause,
        );
      }
    }
    this.schedule();
  }

  // ---------------------------------------------------------------- events

  /** Called after every successful flush with its size and duration. */
  onFlush(listener: (event: FlushEvent) => void): StoreSubscription {
    return this.flushEvents.on(listener);
  }

  /** Called for every failure that is not thrown: failed flushes, bad bars, a dead worker. */
  onError(listener: (error: SqliteStoreError) => void): StoreSubscription {
    return this.errorEvents.on(listener);
  }

  // ---------------------------------------------------------------- writes

  /** Rows written but not yet committed (buffered plus handed to the writer thread). */
  get pendingCount(): number {
    return this.buffer.size + (this.thread?.inflightRows ?? 0);
  }

  /**
   * Buffers bars for the next flush. A bar with the key of a buffered one replaces it (the forming
   * bar). Bad bars are dropped, counted and reported via onError (SQLITE_BAD_BAR). When the buffer
   * reaches maxPending it is flushed early, before this call returns.
   */
  write(bars: readonly Bar[]): WriteResult {
    this.assertOpen();
    let accepted = 0;
    let rejected = 0;
    // Indexed: called once per cycle with every bar of it, often before V8 optimises it, where a
    // for-of allocated an iterator result per bar.
    for (let i = 0; i < bars.length; i++) {
      const bar = bars[i] as Bar;
      const problem = barProblem(bar);
      if (problem !== null) {
        rejected++;
        this.reportBadBar(bar, problem);
        continue;
      }
      // Same key: the later bar replaces the buffered one (flush order does not matter, every row
      // is an upsert by key).
      this.buffer.set(bar);
      accepted++;
      if (this.buffer.size >= this.earlyFlushAt) this.flushEarly();
    }
    return { accepted, rejected };
  }

  /**
   * Writes pending rows now, in one transaction. Resolves with what was written; rejects with
   * SQLITE_FLUSH_FAILED when the transaction failed (the rows stay pending and onError is told too).
   */
  async flush(): Promise<FlushEvent> {
    this.assertOpen();
    return this.flushPending();
  }

  /**
   * Writes bars straight to the file in one transaction with multi-row statements, bypassing the
   * buffer: the bootstrap/backfill path. Bad bars are dropped and counted as in write(). Rejects with
   * SQLITE_BACKFILL_FAILED if the transaction fails (nothing of the call is written).
   */
  backfill(bars: readonly Bar[]): Promise<WriteResult> {
    // Not `async`: the bars are checked, packed and handed over before this returns, and the promise
    // returned holds no reference to them. A suspended async function keeps its arguments until the
    // write is done: a caller's bars then outlived their hand-over, survived scavenges and were promoted.
    try {
      return this.startBackfill(bars);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private startBackfill(bars: readonly Bar[]): Promise<WriteResult> {
    this.assertOpen();
    if (this.thread && !this.thread.failed && bars.length > 0) {
      // The usual case: every bar storable, checked while packed (one pass over the bars).
      const packed = encodeStorableBars(bars);
      if (packed) return this.postBackfill(packed, { accepted: bars.length, rejected: 0 });
    }
    // The storable bars: the call's own array unless some were refused (the common case copies nothing).
    let rejected = 0;
    for (const bar of bars) {
      const problem = barProblem(bar);
      if (problem === null) continue;
      rejected++;
      this.reportBadBar(bar, problem);
    }
    const good = rejected === 0 ? bars : bars.filter((bar) => barProblem(bar) === null);
    const accepted = good.length;
    if (accepted === 0) return Promise.resolve({ accepted, rejected });
    // Packed straight from the bars into one transferable array (no flat row array between).
    if (this.thread && !this.thread.failed)
      return this.postBackfill(encodeBarList(good), { accepted, rejected });
    // One preallocated flat array filled by index (no per-bar row arrays).
    const flat = new Array<unknown>(accepted * ROW_WIDTH);
    let o = 0;
    for (const bar of good) {
      putRow(flat, o, bar);
      o += ROW_WIDTH;
    }
    try {
      this.writer.write(flat);
    } catch (cause) {
      throw this.backfillError(accepted, cause);
    }
    return Promise.resolve({ accepted, rejected });
  }

  /** Hands packed rows to the writer thread; resolves with `result` once they are committed. */
  private postBackfill(packed: EncodedRows, result: WriteResult): Promise<WriteResult> {
    return (this.thread as WriterThread).post(packed, null).then(
      () => result,
      (cause: unknown) => {
        throw isSqliteStoreError(cause, CODES.BACKFILL_FAILED)
          ? cause
          : this.backfillError(result.accepted, cause);
      },
    );
  }

  // ---------------------------------------------------------------- reads

  /** The latest `limit` bars of a series, oldest first. Reads the file: pending rows are not included. */
  latest(symbol: string, timeframe: Timeframe, limit = PAGE_DEFAULT_LIMIT): Bar[] {
    this.assertOpen();
    return this.queries.latest(symbol, timeframe, limit);
  }

  /** Bars with from <= ts < to, oldest first, at most `limit` (default: all). */
  range(query: RangeQuery, limit = Number.MAX_SAFE_INTEGER): Bar[] {
    this.assertOpen();
    return this.queries.range(query, limit);
  }

  /** First ts, last ts and count per series (optionally of one symbol and/or timeframe); cost grows with rows. */
  coverage(filter: { symbol?: string; timeframe?: Timeframe } = {}): SeriesCoverage[] {
    this.assertOpen();
    return this.queries.coverage(filter);
  }

  /**
   * Runs of bars the calendar expects in [from, to) that the file does not hold. A bar is expected
   * when its interval overlaps an open session. Pending (unflushed) rows count as missing.
   */
  gaps(query: RangeQuery, calendar: CalendarSpec = this.options.calendar): Gap[] {
    this.assertOpen();
    return this.queries.gaps(query, calendar);
  }

  /**
   * What a bootstrap of `days` of history up to `now` still has to fetch: the gaps of
   * [align(now - days), align(now)), the forming bar excluded. Empty means nothing to bootstrap.
   */
  needsBootstrap(
    symbol: string,
    timeframe: Timeframe,
    days: number,
    now: number = this.options.scheduler.now(),
    calendar: CalendarSpec = this.options.calendar,
  ): Gap[] {
    return this.queries.needsBootstrap(symbol, timeframe, days, now, calendar);
  }

  // ---------------------------------------------------------------- maintenance

  /**
   * Deletes bars older than the retention of their timeframe (`retentionMs` option, or the one given
   * here) relative to `now`, in one transaction.
   */
  prune(
    now: number = this.options.scheduler.now(),
    retentionMs: Partial<Record<Timeframe, number>> = this.options.retentionMs,
  ): PruneResult {
    this.assertOpen();
    return this.queries.prune(now, retentionMs);
  }

  /**
   * Streams [from, to) of one series as CSV (header `CSV_HEADER`) to a file path or a writable
   * stream, page by page, honouring back-pressure. A path is created/overwritten and closed at the
   * end; a stream passed in is left open. Resolves with the number of data rows.
   */
  async exportCsv(query: RangeQuery, target: string | NodeJS.WritableStream): Promise<{ rows: number }> {
    this.assertOpen();
    checkRange(query);
    const source = {
      page: (q: RangeQuery, from: number, limit: number) => this.queries.rawRange(q, from, limit),
      isClosed: () => this.closed,
    };
    return exportCsv(source, query, target, this.options.exportPageRows);
  }

  // ---------------------------------------------------------------- key-value state

  /** The JSON value stored under `key`, or undefined. Used for bootstrap progress and breaker state. */
  getState<T = unknown>(key: string): T | undefined {
    this.assertOpen();
    return this.state.read<T>(key);
  }

  /** Stores `value` as JSON under `key`, committed immediately (not buffered). */
  setState(key: string, value: unknown): void {
    this.assertOpen();
    this.state.write(key, value);
  }

  /** Removes `key`; true if it existed. */
  deleteState(key: string): boolean {
    this.assertOpen();
    return this.state.delete(key);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Counters for health and metrics. */
  stats(): SqliteStoreStats {
    return {
      mode: this.options.mode,
      workerFallback: this.thread?.failed ?? false,
      pending: this.pendingCount,
      ...this.counters,
      lastFlushMs: this.lastFlushMs,
      lastFlushAt: this.lastFlushAt,
    };
  }

  /** True once close() has been called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Flushes everything pending, stops the timer and the worker, and closes the file. Idempotent. If
   * the final flush fails the file is still closed and the promise rejects with SQLITE_FLUSH_FAILED
   * whose `data.rows` says how many rows were not written.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.timer?.cancel();
    this.timer = null;
    let failure: SqliteStoreError | null = null;
    try {
      await this.flushPending();
    } catch (e) {
      failure = e as SqliteStoreError;
    }
    // Let in-flight worker jobs settle; a failed one puts its rows back, which get one more try.
    while ((this.thread?.pendingJobs ?? 0) > 0 || (this.buffer.size > 0 && failure === null)) {
      await this.whenIdle();
      if (this.buffer.size > 0 && failure === null) {
        try {
          await this.flushPending();
        } catch (e) {
          failure = e as SqliteStoreError;
        }
      }
      if (failure !== null) {
        await this.whenIdle();
        break;
      }
    }
    this.closed = true;
    await this.thread?.stop();
    const lost = this.buffer.size;
    this.buffer.clear();
    this.db.close();
    this.flushEvents.clear();
    this.errorEvents.clear();
    if (failure) {
      throw new SqliteStoreError(
        CODES.FLUSH_FAILED,
        `${COMPONENT}: final flush on close failed, ${lost} rows not written: ${failure.message}`,
        { path: this.options.path, rows: lost },
        failure,
      );
    }
  }

  // ---------------------------------------------------------------- internals

  /**
   * The writer thread's Worker (worker mode), for tests that kill it the way a native crash would. Protected
   * rather than private: the test reads it through a cast that `noUnusedLocals` cannot see.
   */
  protected get worker(): WriterThread['worker'] | null {
    return this.thread?.worker ?? null;
  }

  private whenIdle(): Promise<void> {
    return this.thread ? this.thread.whenIdle() : Promise.resolve();
  }

  private schedule(): void {
    if (this.closed || this.closing) return;
    this.timer = this.options.scheduler.setTimeout(() => {
      this.timer = null;
      // The promise is observed: failures already went to onError inside flushPending.
      this.flushPending().then(
        () => this.schedule(),
        () => this.schedule(),
      );
    }, this.options.flushIntervalMs);
  }

  private assertOpen(): void {
    if (this.closed || this.closing) {
      throw new SqliteStoreError(CODES.CLOSED, `${COMPONENT}: the store is closed`, {
        path: this.options.path,
      });
    }
  }

  private reportBadBar(bar: unknown, reason: string): void {
    this.counters.rejectedBars++;
    const b = isRecord(bar) ? bar : {};
    const key = `${String(b.symbol)}|${String(b.timeframe)}|${String(b.ts)}`;
    this.errorEvents.emit(
      new SqliteStoreError(CODES.BAD_BAR, `${COMPONENT}: bar ${key} not stored: ${reason}`, { key, reason }),
    );
  }

  private backfillError(rows: number, cause: unknown): SqliteStoreError {
    return new SqliteStoreError(
      CODES.BACKFILL_FAILED,
      `${COMPONENT}: backfill of ${rows} rows failed, none written: ${(cause as Error).message}`,
      { path: this.options.path, rows },
      cause,
    );
  }

  private useWorker(): boolean {
    return this.thread !== null && !this.thread.failed;
  }

  /** Buffer full: flush before write() returns. Worker mode hands the rows over, blocking only if the worker is a full buffer behind. */
  private flushEarly(): void {
    if (!this.thread || this.thread.failed) {
      try {
        this.flushInline();
        this.earlyFlushAt = this.options.maxPending;
      } catch {
        // Reported through onError; the rows stay buffered. Retry after another maxPending rows (or
        // at the next timer flush) rather than on every write while the file is locked or full.
        this.earlyFlushAt = this.buffer.size + this.options.maxPending;
      }
      return;
    }
    this.thread.waitBelow(this.options.maxPending);
    this.flushPending().catch(() => undefined);
  }

  private async flushPending(): Promise<FlushEvent> {
    if (!this.useWorker()) return this.flushInline();
    return this.flushToWorker();
  }

  private flushInline(): FlushEvent {
    const rows = this.buffer.size;
    if (rows === 0) return { rows: 0, ms: 0, mode: this.options.mode };
    const flat = this.buffer.flat();
    const t0 = performance.now();
    try {
      this.writer.write(flat);
    } catch (cause) {
      // The rows stay buffered (a later write of a key replaces it there, as before the flush).
      throw this.flushFailed(rows, cause);
    }
    this.buffer.clear();
    return this.flushed(rows, performance.now() - t0, 'inline');
  }

  private async flushToWorker(): Promise<FlushEvent> {
    if (this.buffer.size === 0) return { rows: 0, ms: 0, mode: 'worker' };
    // The rows are packed already: the thread gets a copy of them (transferred), the job keeps the
    // batch to give back if it fails.
    const batch = this.buffer.take();
    const encoded = { data: batch.data.slice(0, batch.rows * ROW_WIDTH), strings: batch.strings };
    try {
      const { rows, ms } = await (this.thread as WriterThread).post(encoded, batch);
      return this.flushed(rows, ms, 'worker');
    } catch (cause) {
      // The rows were given back to the buffer by the job's failure path (requeue).
      throw isSqliteStoreError(cause, CODES.FLUSH_FAILED) ? cause : this.flushFailed(batch.rows, cause);
    }
  }

  /**
   * A flush job on the writer thread failed: give its rows back. A newer version of a key wins: one
   * buffered since, or one in a later job (the thread runs jobs in order, so later jobs have not been
   * answered yet).
   */
  private requeue(
    rows: PackedRows,
    count: number,
    later: readonly PackedRows[],
    cause: Error,
  ): SqliteStoreError {
    // Keys of the later jobs (the failure path only: a set of key strings is fine here).
    const key = (symbol: string, tf: string, ts: number) => `${symbol}\u0000${tf}\u0000${ts}`;
    const newer = new Set<string>();
    for (const l of later) {
      for (let r = 0; r < l.rows; r++) {
        const o = r * ROW_WIDTH;
        const d = l.data;
        newer.add(
          key(
            l.strings[d[o] as number] as string,
            l.strings[d[o + 1] as number] as string,
            d[o + 2] as number,
          ),
        );
      }
    }
    this.buffer.restore(
      rows,
      (symbol, tf, ts) => !this.buffer.has(symbol, tf, ts) && !newer.has(key(symbol, tf, ts)),
    );
    return this.flushFailed(count, cause);
  }

  private flushed(rows: number, ms: number, mode: WriteMode): FlushEvent {
    this.counters.flushes++;
    this.counters.consecutiveFailures = 0;
    this.counters.flushedRows += rows;
    this.lastFlushMs = ms;
    this.lastFlushAt = this.options.scheduler.now();
    const event: FlushEvent = { rows, ms, mode };
    this.flushEvents.emit(event);
    return event;
  }

  private flushFailed(rows: number, cause: unknown): SqliteStoreError {
    this.counters.failedFlushes++;
    this.counters.consecutiveFailures++;
    const error = new SqliteStoreError(
      CODES.FLUSH_FAILED,
      `${COMPONENT}: flush of ${rows} rows failed, kept pending for the next flush: ${(cause as Error).message}`,
      { path: this.options.path, rows },
      cause,
    );
    this.errorEvents.emit(error);
    return error;
  }

  private reportWorkerDeath(cause: unknown, rows: number): void {
    this.errorEvents.emit(
      new SqliteStoreError(
        CODES.WORKER_FAILED,
        `${COMPONENT}: writer thread failed, writing on the calling thread from now on: ${(cause as Error).message}`,
        { path: this.options.path, rows },
        cause,
      ),
    );
  }
}

/** Opens (creating and migrating if needed) a bar store; see {@link SqliteStoreOptions}. */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}
