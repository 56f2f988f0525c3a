import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import {
  TIMEFRAME_MS,
  alignTs,
  isTimeframe,
  type Bar,
  type TimerHandle,
  type Timeframe,
} from '@pipeline/core';
import { expectedBarTimes, resolveCalendar, type CalendarSpec } from './calendar';
import { SQLITE_STORE_ERROR_CODES as CODES, SqliteStoreError } from './errors';
import { BarBuffer } from './bar-buffer';
import { Emitter, type StoreSubscription } from './events';
import {
  resolveSqliteStoreOptions,
  type ResolvedSqliteStoreOptions,
  type SqliteStoreOptions,
  type WriteMode,
} from './options';
import {
  BAR_COLUMNS,
  MIGRATIONS,
  SCHEMA_VERSION,
  SERIES_SQL,
  barProblem,
  rowToBar,
  upsertSql,
} from './schema';
import { ROW_WIDTH, RowWriter } from './writer';
import { WORKER_SOURCE } from './worker-source';

/** The CSV header of an export; it matches the replay source's documented CSV input. */
export const CSV_HEADER = 'ts,open,high,low,close,volume,symbol,timeframe';

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

/** A run of expected bars missing from the file. `to` is exclusive, ready to use as a fetch range. */
export interface Gap {
  /** Open time of the first missing bar, epoch ms. */
  from: number;
  /** Open time of the last missing bar plus one timeframe, epoch ms (exclusive). */
  to: number;
  /** Expected bars missing in [from, to) (closed-market time is not counted). */
  missing: number;
}

/** What the file holds for one (symbol, timeframe). */
export interface SeriesCoverage {
  symbol: string;
  timeframe: Timeframe;
  /** Open time of the oldest stored bar, epoch ms. */
  firstTs: number;
  /** Open time of the newest stored bar, epoch ms. */
  lastTs: number;
  count: number;
}

/** Result of {@link SqliteStore.prune}. */
export interface PruneResult {
  deleted: number;
  byTimeframe: Partial<Record<Timeframe, number>>;
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
  flushedRows: number;
  /** Bars refused by write()/backfill() (SQLITE_BAD_BAR). */
  rejectedBars: number;
  /** Duration of the last successful flush, ms, or null. */
  lastFlushMs: number | null;
  /** Scheduler time of the last successful flush, epoch ms, or null. */
  lastFlushAt: number | null;
}

/** Range of one series for range() and exportCsv(). */
export interface RangeQuery {
  symbol: string;
  timeframe: Timeframe;
  /** Inclusive, epoch ms. */
  from: number;
  /** Exclusive, epoch ms. */
  to: number;
}

interface WorkerJob {
  rows: number;
  /** Buffered rows of a flush job, given back to the buffer when the job fails. */
  requeue: BarBuffer | null;
  resolve: (r: { rows: number; ms: number }) => void;
  reject: (e: SqliteStoreError) => void;
}

interface WorkerReply {
  seq: number;
  ok: boolean;
  rows: number;
  ms: number;
  error?: { message: string; code?: string };
}

const COMPONENT = 'SqliteStore';
const DAY_MS = 86_400_000;
const PAGE_DEFAULT_LIMIT = 500;

function driverPath(): string {
  // CommonJS (jest, dist/index.cjs) has __filename; the ESM build has import.meta.url instead.
  const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
  return createRequire(here).resolve('better-sqlite3');
}

function badArgument(message: string, reason: string): SqliteStoreError {
  return new SqliteStoreError(CODES.BAD_ARGUMENT, `${COMPONENT}: ${message}`, { reason });
}

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
  private buffer = new BarBuffer();
  private readonly flushEvents = new Emitter<FlushEvent>();
  private readonly errorEvents = new Emitter<SqliteStoreError>();
  private timer: TimerHandle | null = null;
  private closing: Promise<void> | null = null;
  private closed = false;
  private counters = { flushes: 0, failedFlushes: 0, flushedRows: 0, rejectedBars: 0 };
  private lastFlushMs: number | null = null;
  private lastFlushAt: number | null = null;

  private worker: Worker | null = null;
  private replyPort: MessagePort | null = null;
  private ctrl: Int32Array | null = null;
  private workerFailed = false;
  private readonly jobs = new Map<number, WorkerJob>();
  private inflightRows = 0;
  private seq = 0;
  private idleWaiters: (() => void)[] = [];
  /** Buffer size at which write() flushes early; raised after a failed early flush to avoid a retry per write. */
  private earlyFlushAt: number;

  private readonly stmts: {
    latest: Database.Statement;
    range: Database.Statement;
    tsRange: Database.Statement;
    seriesAll: Database.Statement;
    seriesCoverage: Database.Statement;
    pruneSeries: Database.Statement;
    dropEmptySeries: Database.Statement;
    kvGet: Database.Statement;
    kvSet: Database.Statement;
    kvDelete: Database.Statement;
  };

  constructor(options: SqliteStoreOptions) {
    this.options = resolveSqliteStoreOptions(options);
    const o = this.options;
    this.earlyFlushAt = o.maxPending;
    const pragmas = this.pragmaList();
    try {
      this.db = new Database(o.path, { timeout: o.busyTimeoutMs });
      for (const p of pragmas) this.db.pragma(p);
    } catch (cause) {
      throw new SqliteStoreError(
        CODES.OPEN_FAILED,
        `${COMPONENT}: cannot open ${JSON.stringify(o.path)}: ${(cause as Error).message}`,
        { path: o.path },
        cause,
      );
    }
    try {
      this.migrate();
    } catch (cause) {
      this.db.close();
      throw isSqliteStoreErrorLike(cause)
        ? cause
        : new SqliteStoreError(
            CODES.MIGRATION_FAILED,
            `${COMPONENT}: migrating ${JSON.stringify(o.path)} failed: ${(cause as Error).message}`,
            { path: o.path },
            cause,
          );
    }
    this.writer = new RowWriter(this.db, o.rowsPerStatement);
    const cols = BAR_COLUMNS;
    const db = this.db;
    this.stmts = {
      latest: db
        .prepare(`SELECT ${cols} FROM bars WHERE symbol = ? AND timeframe = ? ORDER BY ts DESC LIMIT ?`)
        .raw(),
      range: db
        .prepare(
          `SELECT ${cols} FROM bars WHERE symbol = ? AND timeframe = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?`,
        )
        .raw(),
      tsRange: db
        .prepare('SELECT ts FROM bars WHERE symbol = ? AND timeframe = ? AND ts >= ? AND ts < ? ORDER BY ts')
        .pluck(),
      seriesAll: db.prepare('SELECT symbol, timeframe FROM series ORDER BY symbol, timeframe').raw(),
      seriesCoverage: db
        .prepare('SELECT MIN(ts), MAX(ts), COUNT(*) FROM bars WHERE symbol = ? AND timeframe = ?')
        .raw(),
      pruneSeries: db.prepare('DELETE FROM bars WHERE symbol = ? AND timeframe = ? AND ts < ?'),
      dropEmptySeries: db.prepare(
        'DELETE FROM series WHERE NOT EXISTS (SELECT 1 FROM bars b WHERE b.symbol = series.symbol AND b.timeframe = series.timeframe)',
      ),
      kvGet: db.prepare('SELECT value FROM kv WHERE key = ?').pluck(),
      kvSet: db.prepare(
        'INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
      ),
      kvDelete: db.prepare('DELETE FROM kv WHERE key = ?'),
    };
    if (o.mode === 'worker') {
      try {
        this.startWorker(pragmas);
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
    return this.buffer.size + this.inflightRows;
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
    for (const bar of bars) {
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
  async backfill(bars: readonly Bar[]): Promise<WriteResult> {
    this.assertOpen();
    // One preallocated flat array filled by index (no per-bar row arrays), trimmed if bars were refused.
    let flat = new Array<unknown>(bars.length * ROW_WIDTH);
    let rejected = 0;
    let o = 0;
    for (const bar of bars) {
      const problem = barProblem(bar);
      if (problem !== null) {
        rejected++;
        this.reportBadBar(bar, problem);
        continue;
      }
      putRow(flat, o, bar);
      o += ROW_WIDTH;
    }
    if (o < flat.length) flat = flat.slice(0, o);
    const accepted = flat.length / ROW_WIDTH;
    if (accepted === 0) return { accepted, rejected };
    if (this.useWorker()) {
      try {
        await this.postJob(encodeRows(flat), null);
      } catch (cause) {
        throw isSqliteStoreErrorLike(cause) && cause.code === CODES.BACKFILL_FAILED
          ? cause
          : this.backfillError(accepted, cause);
      }
    } else {
      try {
        this.writer.write(flat);
      } catch (cause) {
        throw this.backfillError(accepted, cause);
      }
    }
    return { accepted, rejected };
  }

  // ---------------------------------------------------------------- reads

  /** The latest `limit` bars of a series, oldest first. Reads the file: pending rows are not included. */
  latest(symbol: string, timeframe: Timeframe, limit = PAGE_DEFAULT_LIMIT): Bar[] {
    this.assertOpen();
    checkSeries(symbol, timeframe);
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw badArgument(`limit must be a positive integer, got ${String(limit)}`, 'limit');
    const rows = this.stmts.latest.all(symbol, timeframe, limit) as unknown[][];
    const out = new Array<Bar>(rows.length);
    for (let i = 0, j = rows.length - 1; j >= 0; i++, j--) out[i] = rowToBar(rows[j]);
    return out;
  }

  /** Bars with from <= ts < to, oldest first, at most `limit` (default: all). */
  range(query: RangeQuery, limit = Number.MAX_SAFE_INTEGER): Bar[] {
    this.assertOpen();
    checkRange(query);
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw badArgument(`limit must be a positive integer, got ${String(limit)}`, 'limit');
    const rows = this.stmts.range.all(
      query.symbol,
      query.timeframe,
      query.from,
      query.to,
      limit,
    ) as unknown[][];
    return rows.map(rowToBar);
  }

  /** First ts, last ts and count per series (optionally of one symbol and/or timeframe); cost grows with rows. */
  coverage(filter: { symbol?: string; timeframe?: Timeframe } = {}): SeriesCoverage[] {
    this.assertOpen();
    if (filter.timeframe !== undefined && !isTimeframe(filter.timeframe)) {
      throw badArgument(`unknown timeframe ${JSON.stringify(filter.timeframe)}`, 'timeframe');
    }
    const out: SeriesCoverage[] = [];
    for (const [symbol, timeframe] of this.stmts.seriesAll.all() as [string, Timeframe][]) {
      if (filter.symbol !== undefined && filter.symbol !== symbol) continue;
      if (filter.timeframe !== undefined && filter.timeframe !== timeframe) continue;
      const [first, last, count] = this.stmts.seriesCoverage.get(symbol, timeframe) as [
        number | null,
        number | null,
        number,
      ];
      if (count > 0) out.push({ symbol, timeframe, firstTs: first!, lastTs: last!, count });
    }
    return out;
  }

  /**
   * Runs of bars the calendar expects in [from, to) that the file does not hold. A bar is expected
   * when its interval overlaps an open session. Pending (unflushed) rows count as missing.
   */
  gaps(query: RangeQuery, calendar: CalendarSpec = this.options.calendar): Gap[] {
    this.assertOpen();
    checkRange(query);
    const cal = resolveCalendar(calendar);
    const stored = this.stmts.tsRange.all(query.symbol, query.timeframe, query.from, query.to) as number[];
    const step = TIMEFRAME_MS[query.timeframe];
    const out: Gap[] = [];
    let current: Gap | null = null;
    let i = 0;
    for (const ts of expectedBarTimes(cal, query.timeframe, query.from, query.to)) {
      while (i < stored.length && stored[i] < ts) i++;
      if (i < stored.length && stored[i] === ts) {
        if (current) out.push(current);
        current = null;
      } else if (current) {
        current.to = ts + step;
        current.missing++;
      } else {
        current = { from: ts, to: ts + step, missing: 1 };
      }
    }
    if (current) out.push(current);
    return out;
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
    checkSeries(symbol, timeframe);
    if (typeof days !== 'number' || !(days > 0) || !Number.isFinite(days))
      throw badArgument(`days must be a positive number, got ${String(days)}`, 'days');
    if (!Number.isFinite(now)) throw badArgument(`now must be epoch ms, got ${String(now)}`, 'now');
    const to = alignTs(now, timeframe);
    const from = alignTs(now - days * DAY_MS, timeframe);
    return this.gaps({ symbol, timeframe, from, to }, calendar);
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
    for (const [tf, ms] of Object.entries(retentionMs)) {
      if (!isTimeframe(tf))
        throw badArgument(`unknown timeframe ${JSON.stringify(tf)} in retention`, 'timeframe');
      if (typeof ms !== 'number' || !(ms > 0))
        throw badArgument(`retention of ${tf} must be > 0 ms, got ${String(ms)}`, 'retention');
    }
    const result: PruneResult = { deleted: 0, byTimeframe: {} };
    this.db.transaction(() => {
      for (const [symbol, timeframe] of this.stmts.seriesAll.all() as [string, Timeframe][]) {
        const keep = retentionMs[timeframe];
        if (keep === undefined) continue;
        const { changes } = this.stmts.pruneSeries.run(symbol, timeframe, now - keep);
        result.deleted += changes;
        result.byTimeframe[timeframe] = (result.byTimeframe[timeframe] ?? 0) + changes;
      }
      this.stmts.dropEmptySeries.run();
    })();
    return result;
  }

  /**
   * Streams [from, to) of one series as CSV (header {@link CSV_HEADER}) to a file path or a writable
   * stream, page by page, honouring back-pressure. A path is created/overwritten and closed at the
   * end; a stream passed in is left open. Resolves with the number of data rows.
   */
  async exportCsv(query: RangeQuery, target: string | NodeJS.WritableStream): Promise<{ rows: number }> {
    this.assertOpen();
    checkRange(query);
    const ownStream = typeof target === 'string';
    const out: NodeJS.WritableStream = ownStream ? createWriteStream(target) : target;
    // Any stream error ends the export; every wait races against it so a dead stream cannot hang us.
    let onError: (e: Error) => void = () => undefined;
    const errored = new Promise<never>((_, reject) => {
      onError = reject;
      out.once('error', onError);
    });
    errored.catch(() => undefined);
    let rows = 0;
    try {
      const write = async (chunk: string): Promise<void> => {
        if (!out.write(chunk)) await Promise.race([once(out, 'drain'), errored]);
      };
      await write(`${CSV_HEADER}\n`);
      let from = query.from;
      for (;;) {
        if (this.closed) throw new Error('store closed during export');
        const page = this.stmts.range.all(
          query.symbol,
          query.timeframe,
          from,
          query.to,
          this.options.exportPageRows,
        ) as unknown[][];
        if (page.length === 0) break;
        let chunk = '';
        for (const r of page)
          chunk += `${r[2] as number},${r[3] as number},${r[4] as number},${r[5] as number},${r[6] as number},${r[7] as number},${csvField(r[0] as string)},${r[1] as string}\n`;
        rows += page.length;
        await write(chunk);
        if (page.length < this.options.exportPageRows) break;
        from = (page[page.length - 1][2] as number) + 1;
      }
      if (ownStream) {
        const closed = once(out, 'close');
        out.end();
        await Promise.race([closed, errored]);
      }
    } catch (cause) {
      if (ownStream) (out as NodeJS.WritableStream & { destroy(): void }).destroy();
      throw new SqliteStoreError(
        CODES.EXPORT_FAILED,
        `${COMPONENT}: CSV export failed: ${(cause as Error).message}`,
        { path: ownStream ? target : undefined },
        cause,
      );
    } finally {
      out.removeListener('error', onError);
    }
    return { rows };
  }

  // ---------------------------------------------------------------- key-value state

  /** The JSON value stored under `key`, or undefined. Used for bootstrap progress and breaker state. */
  getState<T = unknown>(key: string): T | undefined {
    this.assertOpen();
    checkKey(key);
    const value = this.stmts.kvGet.get(key) as string | undefined;
    return value === undefined ? undefined : (JSON.parse(value) as T);
  }

  /** Stores `value` as JSON under `key`, committed immediately (not buffered). */
  setState(key: string, value: unknown): void {
    this.assertOpen();
    checkKey(key);
    const json = JSON.stringify(value);
    if (json === undefined) throw badArgument(`value of "${key}" is not JSON-serialisable`, 'value');
    this.stmts.kvSet.run(key, json, this.options.scheduler.now());
  }

  /** Removes `key`; true if it existed. */
  deleteState(key: string): boolean {
    this.assertOpen();
    checkKey(key);
    return this.stmts.kvDelete.run(key).changes > 0;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Counters for health and metrics. */
  stats(): SqliteStoreStats {
    return {
      mode: this.options.mode,
      workerFallback: this.workerFailed,
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
    while (this.jobs.size > 0 || (this.buffer.size > 0 && failure === null)) {
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
    await this.stopWorker();
    const lost = this.buffer.size;
    this.buffer = new BarBuffer();
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

  private pragmaList(): string[] {
    const merged: Record<string, string | number> = {
      journal_mode: 'WAL',
      synchronous: 'NORMAL',
      ...this.options.pragmas,
    };
    return Object.entries(merged).map(([k, v]) => `${k} = ${v}`);
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new SqliteStoreError(
        CODES.MIGRATION_FAILED,
        `${COMPONENT}: ${JSON.stringify(this.options.path)} has schema version ${version}, newer than ${SCHEMA_VERSION} which this package knows; upgrade @pipeline/sqlite-store`,
        { path: this.options.path },
      );
    }
    for (let v = version; v < SCHEMA_VERSION; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
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
    const b = (typeof bar === 'object' && bar !== null ? bar : {}) as Record<string, unknown>;
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
    return this.worker !== null && !this.workerFailed;
  }

  /** Buffer full: flush before write() returns. Worker mode hands the rows over, blocking only if the worker is a full buffer behind. */
  private flushEarly(): void {
    if (!this.useWorker()) {
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
    this.waitForWorker(this.options.maxPending);
    this.flushPending().catch(() => undefined);
  }

  private async flushPending(): Promise<FlushEvent> {
    if (!this.useWorker()) return this.flushInline();
    return this.flushToWorker();
  }

  private flushInline(): FlushEvent {
    const batch = this.buffer;
    if (batch.size === 0) return { rows: 0, ms: 0, mode: this.options.mode };
    const flat = flatten(batch);
    const t0 = performance.now();
    try {
      this.writer.write(flat);
    } catch (cause) {
      throw this.flushFailed(batch.size, cause);
    }
    this.buffer = new BarBuffer();
    return this.flushed(batch.size, performance.now() - t0, 'inline');
  }

  private async flushToWorker(): Promise<FlushEvent> {
    const batch = this.buffer;
    if (batch.size === 0) return { rows: 0, ms: 0, mode: 'worker' };
    this.buffer = new BarBuffer();
    try {
      const { rows, ms } = await this.postJob(encodeBars(batch), batch);
      return this.flushed(rows, ms, 'worker');
    } catch (cause) {
      // The rows were given back to the buffer by the job's failure path.
      throw isSqliteStoreErrorLike(cause) && cause.code === CODES.FLUSH_FAILED
        ? cause
        : this.flushFailed(batch.size, cause);
    }
  }

  private flushed(rows: number, ms: number, mode: WriteMode): FlushEvent {
    this.counters.flushes++;
    this.counters.flushedRows += rows;
    this.lastFlushMs = ms;
    this.lastFlushAt = this.options.scheduler.now();
    const event: FlushEvent = { rows, ms, mode };
    this.flushEvents.emit(event);
    return event;
  }

  private flushFailed(rows: number, cause: unknown): SqliteStoreError {
    this.counters.failedFlushes++;
    const error = new SqliteStoreError(
      CODES.FLUSH_FAILED,
      `${COMPONENT}: flush of ${rows} rows failed, kept pending for the next flush: ${(cause as Error).message}`,
      { path: this.options.path, rows },
      cause,
    );
    this.errorEvents.emit(error);
    return error;
  }

  // ---------------------------------------------------------------- worker

  private startWorker(pragmas: string[]): void {
    const { port1, port2 } = new MessageChannel();
    const ctrlBuffer = new SharedArrayBuffer(4);
    this.ctrl = new Int32Array(ctrlBuffer);
    this.replyPort = port1;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driverPath: driverPath(),
        path: this.options.path,
        pragmas,
        busyTimeoutMs: this.options.busyTimeoutMs,
        rowsPerStatement: this.options.rowsPerStatement,
        chunkSql: upsertSql(this.options.rowsPerStatement),
        oneSql: upsertSql(1),
        seriesSql: SERIES_SQL,
        port: port2,
        ctrl: ctrlBuffer,
      },
      transferList: [port2],
    });
    this.worker = worker;
    port1.on('message', (m: WorkerReply) => this.onReply(m));
    worker.on('error', (e) => this.onWorkerDeath(e));
    worker.on('exit', (code) => {
      if (!this.closed) this.onWorkerDeath(new Error(`writer thread exited with code ${code}`));
    });
    this.refWorker();
  }

  /** The worker holds the process open only while it has work, like an unref'd timer. */
  private refWorker(): void {
    if (!this.worker || !this.replyPort) return;
    if (this.jobs.size > 0) {
      this.worker.ref();
      this.replyPort.ref();
    } else {
      this.worker.unref();
      this.replyPort.unref();
    }
  }

  private postJob(encoded: EncodedRows, requeue: BarBuffer | null): Promise<{ rows: number; ms: number }> {
    const seq = ++this.seq;
    const { data, strings } = encoded;
    const rows = data.length / ROW_WIDTH;
    return new Promise((resolve, reject) => {
      this.jobs.set(seq, { rows, requeue, resolve, reject });
      this.inflightRows += requeue ? rows : 0;
      this.refWorker();
      try {
        // Transferred, not cloned: structured-cloning 11 values per row was the main cost left on
        // the event loop in worker mode.
        this.worker!.postMessage({ seq, kind: 'write', data, strings }, [data.buffer]);
      } catch (cause) {
        this.settleJob(seq, this.jobs.get(seq)!, cause as Error);
      }
    });
  }

  private whenIdle(): Promise<void> {
    if (this.jobs.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private onReply(m: WorkerReply): void {
    const job = this.jobs.get(m.seq);
    if (!job) return;
    this.settleJob(
      m.seq,
      job,
      m.ok ? null : Object.assign(new Error(m.error?.message ?? 'write failed'), { code: m.error?.code }),
      m,
    );
  }

  private settleJob(seq: number, job: WorkerJob, failure: Error | null, reply?: WorkerReply): void {
    this.jobs.delete(seq);
    if (job.requeue) this.inflightRows -= job.rows;
    this.refWorker();
    if (this.jobs.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    if (!failure) {
      this.earlyFlushAt = this.options.maxPending;
      job.resolve({ rows: reply!.rows, ms: reply!.ms });
      return;
    }
    if (!job.requeue) {
      job.reject(this.backfillError(job.rows, failure));
      return;
    }
    // Give the rows back. A newer version of a key wins: one buffered since, or one in a later job
    // (the worker runs jobs in order, so later jobs have not been answered yet).
    const later = [...this.jobs.values()].filter((j) => j.requeue !== null);
    const merged = new BarBuffer();
    for (const bar of job.requeue.values()) {
      if (!this.buffer.has(bar) && !later.some((j) => j.requeue!.has(bar))) merged.set(bar);
    }
    for (const bar of this.buffer.values()) merged.set(bar);
    this.buffer = merged;
    job.reject(this.flushFailed(job.rows, failure));
  }

  /** Blocks (Atomics.wait) until the writer thread holds fewer than `limit` in-flight rows. */
  private waitForWorker(limit: number): void {
    const deadline = performance.now() + this.options.busyTimeoutMs + 10_000;
    while (this.inflightRows >= limit && this.useWorker()) {
      const seen = Atomics.load(this.ctrl!, 0);
      this.drainReplies();
      if (this.inflightRows < limit) break;
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      Atomics.wait(this.ctrl!, 0, seen, Math.min(remaining, 100));
      this.drainReplies();
    }
  }

  private drainReplies(): void {
    for (let m = receiveMessageOnPort(this.replyPort!); m; m = receiveMessageOnPort(this.replyPort!)) {
      this.onReply(m.message as WorkerReply);
    }
  }

  private onWorkerDeath(cause: unknown): void {
    if (this.workerFailed) return;
    this.workerFailed = true;
    this.drainReplies();
    this.errorEvents.emit(
      new SqliteStoreError(
        CODES.WORKER_FAILED,
        `${COMPONENT}: writer thread failed, writing on the calling thread from now on: ${(cause as Error).message}`,
        { path: this.options.path, rows: this.inflightRows },
        cause,
      ),
    );
    for (const [seq, job] of [...this.jobs])
      this.settleJob(seq, job, cause instanceof Error ? cause : new Error(String(cause)));
    this.replyPort?.close();
  }

  private async stopWorker(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    if (!this.workerFailed) {
      const exited = once(worker, 'exit');
      // Hold the process open until the thread has closed its connection (it is unref'd when idle).
      worker.ref();
      worker.postMessage({ kind: 'close' });
      await exited;
    }
    this.replyPort?.close();
    this.worker = null;
  }
}

/** Opens (creating and migrating if needed) a bar store; see {@link SqliteStoreOptions}. */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}

/** Rows packed for the writer thread: see {@link encodeRows}. */
interface EncodedRows {
  data: Float64Array<ArrayBuffer>;
  strings: string[];
}

/** Interns a string column value into the batch's string table. */
function intern(value: string, strings: string[], index: Map<string, number>): number {
  let i = index.get(value);
  if (i === undefined) {
    i = strings.push(value) - 1;
    index.set(value, i);
  }
  return i;
}

/**
 * Packs flat rows into one transferable Float64Array; the string columns (0 symbol, 1 timeframe,
 * 8 source) become indexes into a per-batch string table. Epoch-ms ts and 0/1 are exact in doubles.
 */
function encodeRows(flat: readonly unknown[]): EncodedRows {
  const data = new Float64Array(flat.length);
  const strings: string[] = [];
  const index = new Map<string, number>();
  for (let r = 0; r < flat.length; r += ROW_WIDTH) {
    for (let c = 0; c < ROW_WIDTH; c++) {
      const v = flat[r + c];
      data[r + c] = c === 0 || c === 1 || c === 8 ? intern(v as string, strings, index) : (v as number);
    }
  }
  return { data, strings };
}

/** Same packing as {@link encodeRows}, straight from the buffer (no intermediate array on the loop). */
function encodeBars(batch: BarBuffer): EncodedRows {
  const data = new Float64Array(batch.size * ROW_WIDTH);
  const strings: string[] = [];
  const index = new Map<string, number>();
  let o = 0;
  for (const bar of batch.values()) {
    data[o] = intern(bar.symbol, strings, index);
    data[o + 1] = intern(bar.timeframe, strings, index);
    data[o + 2] = bar.ts;
    data[o + 3] = bar.open;
    data[o + 4] = bar.high;
    data[o + 5] = bar.low;
    data[o + 6] = bar.close;
    data[o + 7] = bar.volume;
    data[o + 8] = intern(bar.source, strings, index);
    data[o + 9] = bar.final ? 1 : 0;
    data[o + 10] = bar.quality;
    o += ROW_WIDTH;
  }
  return { data, strings };
}

/** Writes one bar as ROW_WIDTH consecutive values in the column order of the INSERT statements. */
function putRow(flat: unknown[], o: number, bar: Bar): void {
  flat[o] = bar.symbol;
  flat[o + 1] = bar.timeframe;
  flat[o + 2] = bar.ts;
  flat[o + 3] = bar.open;
  flat[o + 4] = bar.high;
  flat[o + 5] = bar.low;
  flat[o + 6] = bar.close;
  flat[o + 7] = bar.volume;
  flat[o + 8] = bar.source;
  flat[o + 9] = bar.final ? 1 : 0;
  flat[o + 10] = bar.quality;
}

function flatten(batch: BarBuffer): unknown[] {
  const flat = new Array<unknown>(batch.size * ROW_WIDTH);
  let o = 0;
  for (const bar of batch.values()) {
    putRow(flat, o, bar);
    o += ROW_WIDTH;
  }
  return flat;
}

function isSqliteStoreErrorLike(value: unknown): value is SqliteStoreError {
  return value instanceof SqliteStoreError;
}

function checkSeries(symbol: unknown, timeframe: unknown): void {
  if (typeof symbol !== 'string' || symbol.length === 0)
    throw badArgument(`symbol must be a non-empty string, got ${JSON.stringify(symbol)}`, 'symbol');
  if (!isTimeframe(timeframe))
    throw badArgument(`unknown timeframe ${JSON.stringify(timeframe)}`, 'timeframe');
}

function checkRange(q: RangeQuery): void {
  if (typeof q !== 'object' || q === null) throw badArgument('query must be an object', 'query');
  checkSeries(q.symbol, q.timeframe);
  if (!Number.isFinite(q.from) || !Number.isFinite(q.to) || q.from > q.to) {
    throw badArgument(
      `range must be finite with from <= to, got [${String(q.from)}, ${String(q.to)})`,
      'range',
    );
  }
}

function checkKey(key: unknown): void {
  if (typeof key !== 'string' || key.length === 0)
    throw badArgument(`state key must be a non-empty string, got ${JSON.stringify(key)}`, 'key');
}

/** Symbols are plain tickers; quote one anyway if it ever holds a CSV delimiter. */
function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
