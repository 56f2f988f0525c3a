import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  BarBuffer,
  TIMEFRAME_MS,
  isTimeframe,
  type Bar,
  Emitter,
  type Disposable,
  type HistoryCalendar,
  type HistoryGap,
  type HistoryStore,
  type HistoryStoreHealth,
  type HistoryStoreStats,
  type SeriesQuery,
  type TimerHandle,
  type Timeframe,
} from '@pipeline/core';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PG_STORE_ERROR_CODES as CODES, PgStoreError, isPgStoreError, type PgStoreErrorCode } from './errors';
import {
  PG_CALENDARS,
  resolvePgStoreOptions,
  type PgStoreOptions,
  type ResolvedPgStoreOptions,
} from './options';
import { passwordOf, redact } from './redact';
import {
  BAR_COLUMNS,
  MIGRATIONS,
  SCHEMA_VERSION,
  addMonths,
  barProblem,
  copyChunks,
  createPartitionSql,
  firstAligned,
  gapsSql,
  mergeStagingSql,
  monthStart,
  monthsOf,
  partitionName,
  quoteIdent,
  rowToBar,
  upsertParams,
  upsertSql,
  type Layout,
} from './schema';

/** What `onFlush` listeners receive. */
export interface PgFlushEvent {
  /** Rows committed by this flush. */
  rows: number;
  /** Wall time of the flush (partitions, transaction, commit), ms. */
  ms: number;
}

/** Counters of a {@link PgStore}: the port's plus PostgreSQL specifics. */
export interface PgStoreStats extends HistoryStoreStats {
  /** Calls of write() refused with PG_BUFFER_FULL, and the bars in them. */
  refusedWrites: number;
  refusedBars: number;
  /** Rows written by backfill(), and how many of those went through the staging table (replace path). */
  backfilledRows: number;
  stagedRows: number;
  /** Consecutive failed flushes (0 when the last one succeeded). */
  consecutiveFailures: number;
  /** Partitions this process created, and dropped by prune(). */
  partitionsCreated: number;
  partitionsDropped: number;
  lastFlushMs: number | null;
  lastFlushAt: number | null;
}

/** Result of {@link PgStore.prune}. */
export interface PgPruneResult {
  /** Rows deleted by DELETE statements (rows in dropped partitions are not counted). */
  deleted: number;
  /** Names of the partitions dropped whole. */
  droppedPartitions: string[];
}

/** How backfill() writes: `auto` COPYs straight into bars when the range is empty, else via staging. */
export type BackfillMethod = 'auto' | 'staging';

const BACKFILL_METHODS: readonly BackfillMethod[] = ['auto', 'staging'];
const MAX_LIMIT = 1_000_000;

/**
 * node-postgres hands int8 (our `ts`, counts) back as strings to protect values beyond 2^53; epoch ms
 * and row counts fit, so this store's own queries parse them as numbers. Passed per query, so a pool
 * you share with other code keeps its global parsers.
 */
const TYPES = {
  getTypeParser(oid: number, format?: string): unknown {
    if (oid === 20) return (v: string) => Number(v);
    return (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format);
  },
};

// Socket errors and SQLSTATE classes that mean "the database is not there", not "the query is wrong".
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
const CONNECTION_STATES = new Set(['57P01', '57P02', '57P03', '53300', '3D000']);

/** True when `error` says the database is unreachable (not a bad query). */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (CONNECTION_ERRNOS.has(code) || CONNECTION_STATES.has(code) || code.startsWith('08'))
  )
    return true;
  const raw = (error as { message?: unknown }).message;
  const message = typeof raw === 'string' ? raw : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED|Client was closed/i.test(
    message,
  );
}

type Client = pg.PoolClient;

/**
 * History in PostgreSQL, shared by many sidecars: buffered upserts, COPY backfill, monthly partitions
 * (or a TimescaleDB hypertable), calendar-aware gaps in SQL, versioned migrations, retention and a JSON
 * state table. Implements core's `HistoryStore`. Create it with {@link createPgStore}.
 */
export class PgStore implements HistoryStore {
  readonly kind = 'postgres';
  readonly options: ResolvedPgStoreOptions;

  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly schema: string;
  private readonly secrets: (string | undefined)[];
  private readonly buffer = new BarBuffer();
  private inFlight = 0;
  private initPromise: Promise<void> | null = null;
  private ready_ = false;
  private layout: Layout = 'native';
  private readonly knownPartitions = new Set<number>();
  private timer: TimerHandle | null = null;
  private flushChain: Promise<unknown> = Promise.resolve();
  private earlyFlush = false;
  /** True only while close() runs its last flush (the one use allowed after closing). */
  private finalFlush = false;
  private inTick = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  private status: HistoryStoreHealth['status'] = 'ready';
  private lastError: string | undefined;
  private readonly flushEvents = new Emitter<PgFlushEvent>('pg-store onFlush');
  private readonly errorEvents = new Emitter<PgStoreError>('pg-store onError');
  private readonly poolErrorListener = (error: Error): void => this.markFailure(error);
  private readonly counters = {
    flushes: 0,
    failedFlushes: 0,
    flushedRows: 0,
    rejectedBars: 0,
    refusedWrites: 0,
    refusedBars: 0,
    backfilledRows: 0,
    stagedRows: 0,
    consecutiveFailures: 0,
    partitionsCreated: 0,
    partitionsDropped: 0,
    lastFlushMs: null as number | null,
    lastFlushAt: null as number | null,
  };

  constructor(options: PgStoreOptions) {
    this.options = resolvePgStoreOptions(options);
    const o = this.options;
    this.schema = quoteIdent(o.schema);
    this.secrets = [passwordOf(o.url)];
    if (o.pool) {
      this.pool = o.pool;
      this.ownsPool = false;
    } else {
      this.pool = new pg.Pool({
        connectionString: o.url,
        max: o.poolSize,
        connectionTimeoutMillis: o.connectTimeoutMs,
        statement_timeout: o.statementTimeoutMs === 0 ? undefined : o.statementTimeoutMs,
        application_name: o.applicationName,
        // Idle connections are dropped after a while so a restarted server is reconnected cleanly.
        idleTimeoutMillis: 30_000,
      });
      this.ownsPool = true;
    }
    // An idle client losing its connection is reported on the pool; without a listener Node would
    // crash the process.
    this.pool.on('error', this.poolErrorListener);
    this.arm(o.flushIntervalMs);
  }

  // ------------------------------------------------------------------------------- lifecycle

  /**
   * Connects, creates the schema and migrates it (once across all processes), and creates the
   * partitions of the current month and `partitionsAhead` months. Every other method calls it
   * implicitly; call it yourself to fail fast at start-up. Rejects with PG_UNAVAILABLE or
   * PG_MIGRATION_FAILED (a later call tries again).
   */
  ready(): Promise<void> {
    if (this.closed && !this.finalFlush) return Promise.reject(this.closedError());
    if (this.ready_) return Promise.resolve();
    if (!this.initPromise) {
      this.initPromise = this.init().then(
        () => {
          this.ready_ = true;
        },
        (error: unknown) => {
          this.initPromise = null;
          throw error;
        },
      );
    }
    return this.initPromise;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** `native` (monthly partitions) or `timescale` (hypertable); known after {@link ready}. */
  get partitioning(): Layout {
    return this.layout;
  }

  private async init(): Promise<void> {
    try {
      await this.initSchema();
    } catch (error) {
      throw this.wrap(error, CODES.MIGRATION_FAILED, 'preparing the schema failed');
    }
    this.markSuccess();
  }

  private async initSchema(): Promise<void> {
    const client = await this.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      // Waiting for another sidecar's migration, and the DDL itself, may take longer than a query.
      await client.query('SET LOCAL statement_timeout = 0');
      // One lock per schema: N sidecars starting at once queue here and the first one migrates.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `pg-store:migrate:${this.options.schema}`,
      ]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.schema}.schema_migrations (
           version    integer     NOT NULL PRIMARY KEY,
           name       text        NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const { rows } = await client.query<{ v: number | null }>(
        `SELECT max(version) AS v FROM ${this.schema}.schema_migrations`,
      );
      const current = rows[0]?.v ?? 0;
      if (current > SCHEMA_VERSION) {
        throw new PgStoreError(
          CODES.MIGRATION_FAILED,
          `schema ${this.options.schema} is at version ${current}, newer than this package (${SCHEMA_VERSION}); upgrade @pipeline/pg-store`,
          { reason: 'newer schema' },
        );
      }
      this.layout = await this.detectLayout(client, current);
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        for (const sql of m.statements({ schema: this.schema, layout: this.layout })) await client.query(sql);
        await client.query(`INSERT INTO ${this.schema}.schema_migrations (version, name) VALUES ($1, $2)`, [
          m.version,
          m.name,
        ]);
      }
      await client.query('COMMIT');
    } catch (error) {
      broken = isConnectionError(error) || (await rollback(client));
      throw error;
    } finally {
      this.release(client, broken);
    }
    if (this.layout === 'native') {
      await this.loadPartitions();
      const now = monthStart(this.options.scheduler.now());
      const months: number[] = [];
      for (let i = 0; i <= this.options.partitionsAhead; i++) months.push(addMonths(now, i));
      await this.ensurePartitions(months);
    }
  }

  /** The layout of an existing bars table, or the one to create (TimescaleDB when present and allowed). */
  private async detectLayout(client: Client, current: number): Promise<Layout> {
    const wanted = this.options.partitioning;
    if (current > 0) {
      const { rows } = await client.query<{ relkind: string }>(
        `SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relname = 'bars'`,
        [this.options.schema],
      );
      const existing: Layout = rows[0]?.relkind === 'p' ? 'native' : 'timescale';
      if (wanted !== 'auto' && wanted !== existing) {
        throw new PgStoreError(
          CODES.MIGRATION_FAILED,
          `schema ${this.options.schema} holds a ${existing} bars table; option partitioning is '${wanted}'`,
          { reason: 'layout mismatch' },
        );
      }
      return existing;
    }
    const { rows } = await client.query<{ present: boolean }>(
      "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS present",
    );
    return choosePartitioning(wanted, rows[0]?.present === true);
  }

  private async loadPartitions(): Promise<void> {
    const { rows } = await this.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent
         JOIN pg_namespace n ON n.oid = p.relnamespace
       WHERE n.nspname = $1 AND p.relname = 'bars'`,
      [this.options.schema],
    );
    this.knownPartitions.clear();
    for (const { name } of rows) {
      const m = /^bars_y(\d{4})m(\d{2})$/.exec(name);
      if (m) this.knownPartitions.add(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
    }
  }

  /** Creates the monthly partitions among `months` that this process has not seen yet. */
  private async ensurePartitions(months: readonly number[]): Promise<void> {
    if (this.layout !== 'native') return;
    const missing = months.filter((m) => !this.knownPartitions.has(m));
    if (missing.length === 0) return;
    await this.transaction(async (client) => {
      // DDL waits for locks other sessions hold on the parent; that is not a slow query.
      await client.query('SET LOCAL statement_timeout = 0');
      // Concurrent CREATE TABLE IF NOT EXISTS of the same partition can still collide in the catalog;
      // the lock serialises creators across processes.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `pg-store:partitions:${this.options.schema}`,
      ]);
      for (const m of missing) {
        const { rows } = await client.query<{ exists: boolean }>(
          'SELECT to_regclass($1) IS NOT NULL AS exists',
          [`${this.schema}.${partitionName(m)}`],
        );
        if (!rows[0]?.exists) {
          await client.query(createPartitionSql(this.schema, m));
          this.counters.partitionsCreated++;
        }
      }
    });
    for (const m of missing) this.knownPartitions.add(m);
  }

  // ---------------------------------------------------------------------------------- writes

  /**
   * Buffers bars for the next flush; a bar with the key of a buffered one replaces it. Malformed bars
   * are dropped, counted (`rejectedBars`) and reported through `onError` (PG_BAD_BAR). Throws
   * PG_BUFFER_FULL, buffering nothing of this call, when the buffer would exceed `maxPending` keys.
   */
  write(bars: readonly Bar[]): void {
    this.assertOpen();
    if (!Array.isArray(bars)) throw badArgument(`write() takes an array of bars, got ${typeof bars}`, 'bars');
    const good: Bar[] = [];
    for (const bar of bars) {
      const problem = barProblem(bar);
      if (problem) this.reject(bar, problem);
      else good.push(bar);
    }
    if (good.length === 0) return;
    let fresh = 0;
    const seen = new Set<string>();
    for (const b of good) {
      if (this.buffer.has(b)) continue;
      const k = `${b.symbol}\u0000${b.timeframe}\u0000${b.ts}`;
      if (!seen.has(k)) {
        seen.add(k);
        fresh++;
      }
    }
    const pending = this.pendingCount;
    if (pending + fresh > this.options.maxPending) {
      this.counters.refusedWrites++;
      this.counters.refusedBars += good.length;
      throw new PgStoreError(
        CODES.BUFFER_FULL,
        `write buffer full: ${pending} rows pending, ${fresh} new would exceed maxPending ${this.options.maxPending}` +
          (this.lastError ? ` (database: ${this.lastError})` : ''),
        { rows: good.length },
      );
    }
    for (const b of good) this.buffer.set(b);
    // Half full: flush early, unless retries are backing off (the timer owns the schedule then).
    if (
      this.buffer.size >= this.options.maxPending / 2 &&
      !this.earlyFlush &&
      this.counters.consecutiveFailures === 0
    ) {
      this.earlyFlush = true;
      this.flush()
        .catch(() => undefined) // reported through onError
        .finally(() => {
          this.earlyFlush = false;
        });
    }
  }

  /** Rows buffered plus rows of the flush in progress. */
  get pendingCount(): number {
    return this.buffer.size + this.inFlight;
  }

  /**
   * Commits what is buffered now in one transaction. Rejects with PG_FLUSH_FAILED when it fails (the
   * rows stay buffered; a newer version of a key written meanwhile wins) and the timer retries with
   * backoff. Concurrent calls run one after another.
   */
  flush(): Promise<void> {
    if (this.closed && !this.finalFlush) return Promise.reject(this.closedError());
    const run = this.flushChain.then(() => this.flushOnce());
    this.flushChain = run.catch(() => undefined);
    return run;
  }

  private async flushOnce(): Promise<void> {
    if (this.buffer.size === 0) return;
    const started = performance.now();
    const batch = this.buffer.drain();
    this.inFlight = batch.length;
    try {
      await this.ready();
      // The event loop gets a turn between the synchronous steps of a flush (drain, the partition
      // check, each statement's encoding), so none of them adds to another: a 10,000-row flush is
      // ten slices of about a millisecond each instead of one long one (bench: live flush case).
      await yieldToLoop();
      await this.ensurePartitions(monthsOf(batch));
      const step = this.options.rowsPerStatement;
      const sql = upsertSql(this.schema);
      await this.transaction(async (client) => {
        for (let i = 0; i < batch.length; i += step) {
          await yieldToLoop();
          // Named: parsed and planned once per connection.
          await client.query({
            name: `pg-store-upsert-${this.options.schema}`,
            text: sql,
            values: upsertParams(i === 0 && batch.length <= step ? batch : batch.slice(i, i + step)),
          });
        }
      });
      const ms = performance.now() - started;
      this.counters.flushes++;
      this.counters.flushedRows += batch.length;
      this.counters.consecutiveFailures = 0;
      this.counters.lastFlushMs = ms;
      this.counters.lastFlushAt = this.options.scheduler.now();
      this.markSuccess();
      this.emitFlush({ rows: batch.length, ms });
    } catch (cause) {
      // Give the rows back; a newer version of a key written while we were trying wins.
      for (const b of batch) if (!this.buffer.has(b)) this.buffer.set(b);
      if ((cause as { code?: unknown }).code === '23514') this.knownPartitions.clear(); // dropped elsewhere
      this.counters.failedFlushes++;
      this.counters.consecutiveFailures++;
      const error = this.wrap(
        cause,
        CODES.FLUSH_FAILED,
        `flush of ${batch.length} rows failed; they stay pending`,
        {
          rows: batch.length,
        },
      );
      // Retry on the backoff schedule rather than a whole flush interval later (the timer loop
      // re-arms itself after a tick).
      if (!this.inTick && !this.closed) {
        this.timer?.cancel();
        this.arm(this.nextDelay());
      }
      this.emitError(error);
      throw error;
    } finally {
      this.inFlight = 0;
    }
  }

  /**
   * Writes bars in bulk through COPY, in one transaction: straight into `bars` when none of the
   * series has a row in the batch's time range (the bootstrap case), else into a temporary staging table
   * and from there with one upsert, so a re-backfill replaces. Malformed bars are dropped and counted;
   * duplicate keys within the call keep the last. Resolves with the rows written. A bar with the same
   * key still buffered by write() is written by the next flush and wins (live data is newer).
   */
  async backfill(bars: readonly Bar[], options: { method?: BackfillMethod } = {}): Promise<number> {
    this.assertOpen();
    if (!Array.isArray(bars))
      throw badArgument(`backfill() takes an array of bars, got ${typeof bars}`, 'bars');
    const method = options.method ?? 'auto';
    if (!BACKFILL_METHODS.includes(method))
      throw badArgument(
        `backfill method must be 'auto' or 'staging', got ${JSON.stringify(method)}`,
        'method',
      );
    const good: Bar[] = [];
    for (const bar of bars) {
      const problem = barProblem(bar);
      if (problem) this.reject(bar, problem);
      else good.push(bar);
    }
    // History usually arrives series by series in time order: then there is nothing to dedup.
    let rows = good;
    if (!increasingPerSeries(good)) {
      const dedup = new BarBuffer();
      for (const bar of good) dedup.set(bar, false);
      rows = dedup.drain();
    }
    if (rows.length === 0) return 0;
    try {
      await this.ready();
      await this.ensurePartitions(monthsOf(rows));
      let staged = method === 'staging' || !(await this.rangesEmpty(rows));
      if (!staged) {
        try {
          await this.transaction((client) => this.copyInto(client, `${this.schema}.bars`, rows));
        } catch (error) {
          // Another writer filled the range between the check and the COPY: replace instead.
          if ((error as { code?: unknown }).code !== '23505') throw error;
          staged = true;
        }
      }
      if (staged) {
        const staging = quoteIdent(`pg_store_staging_${this.options.schema}`);
        await this.transaction(async (client) => {
          await client.query(
            `CREATE TEMP TABLE IF NOT EXISTS ${staging} (LIKE ${this.schema}.bars) ON COMMIT DELETE ROWS`,
          );
          await this.copyInto(client, staging, rows);
          await client.query(mergeStagingSql(this.schema, staging));
        });
        this.counters.stagedRows += rows.length;
      }
      this.counters.backfilledRows += rows.length;
      this.markSuccess();
      return rows.length;
    } catch (error) {
      throw this.wrap(
        error,
        CODES.BACKFILL_FAILED,
        `backfill of ${rows.length} rows failed; nothing of it was written`,
        {
          rows: rows.length,
        },
      );
    }
  }

  /** True when no series of `rows` has a stored bar within the batch's [min, max] ts of that series. */
  private async rangesEmpty(rows: readonly Bar[]): Promise<boolean> {
    const spans = new Map<string, { symbol: string; timeframe: string; lo: number; hi: number }>();
    let current: { symbol: string; timeframe: string; lo: number; hi: number } | undefined;
    for (const b of rows) {
      // Consecutive bars of one series (the usual shape) skip the map and its key string.
      if (!current || b.symbol !== current.symbol || b.timeframe !== current.timeframe) {
        const k = `${b.symbol}\u0000${b.timeframe}`;
        current = spans.get(k);
        if (!current) {
          current = { symbol: b.symbol, timeframe: b.timeframe, lo: b.ts, hi: b.ts };
          spans.set(k, current);
        }
      }
      if (b.ts < current.lo) current.lo = b.ts;
      if (b.ts > current.hi) current.hi = b.ts;
    }
    const list = [...spans.values()];
    const { rows: found } = await this.query<{ any: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS s(symbol, timeframe, lo, hi)
         WHERE EXISTS (SELECT 1 FROM ${this.schema}.bars b
                       WHERE b.symbol = s.symbol AND b.timeframe = s.timeframe AND b.ts >= s.lo AND b.ts <= s.hi)) AS any`,
      [list.map((s) => s.symbol), list.map((s) => s.timeframe), list.map((s) => s.lo), list.map((s) => s.hi)],
    );
    return found[0]?.any !== true;
  }

  private async copyInto(client: Client, table: string, rows: readonly Bar[]): Promise<void> {
    const stream = client.query(copyFrom(`COPY ${table} (${BAR_COLUMNS}) FROM STDIN`));
    await pipeline(Readable.from(copyChunks(rows)), stream);
  }

  // ----------------------------------------------------------------------------------- reads

  /** The latest `limit` bars of a series, oldest first. */
  async latest(symbol: string, timeframe: Timeframe, limit = 500): Promise<Bar[]> {
    this.assertOpen();
    checkSeries(symbol, timeframe);
    checkLimit(limit);
    await this.ready();
    const { rows } = await this.query<unknown[]>({
      text: `SELECT ${BAR_COLUMNS} FROM ${this.schema}.bars WHERE symbol = $1 AND timeframe = $2 ORDER BY ts DESC LIMIT $3`,
      values: [symbol, timeframe, limit],
      rowMode: 'array',
      name: `pg-store-latest-${this.options.schema}`,
    });
    const out = new Array<Bar>(rows.length);
    let i = rows.length; // newest first from the query, oldest first out
    for (const row of rows) out[--i] = rowToBar(row);
    return out;
  }

  /** Bars with `from <= ts < to`, oldest first, at most `limit`. */
  async range(query: SeriesQuery, limit = MAX_LIMIT): Promise<Bar[]> {
    this.assertOpen();
    checkRange(query);
    checkLimit(limit);
    await this.ready();
    const { rows } = await this.query<unknown[]>({
      text: `SELECT ${BAR_COLUMNS} FROM ${this.schema}.bars WHERE symbol = $1 AND timeframe = $2 AND ts >= $3 AND ts < $4 ORDER BY ts LIMIT $5`,
      values: [query.symbol, query.timeframe, query.from, query.to, limit],
      rowMode: 'array',
    });
    return rows.map(rowToBar);
  }

  /**
   * Runs of bars the calendar expects in [from, to) that the table lacks, computed in one SQL
   * statement; the same answer as sqlite-store's gaps() for the same rows.
   */
  async gaps(query: SeriesQuery, calendar: HistoryCalendar = this.options.calendar): Promise<HistoryGap[]> {
    this.assertOpen();
    checkRange(query);
    if (!(PG_CALENDARS as readonly unknown[]).includes(calendar))
      throw badArgument(
        `unknown calendar ${JSON.stringify(calendar)}; use '24x7', 'fx' or 'us-equity'`,
        'calendar',
      );
    const step = TIMEFRAME_MS[query.timeframe];
    const first = firstAligned(query.from, query.timeframe);
    if (first >= query.to) return [];
    await this.ready();
    const { rows } = await this.query<{ gap_from: number; gap_to: number; missing: number }>(
      gapsSql(this.schema, calendar),
      [query.symbol, query.timeframe, first, query.to, step],
    );
    return rows.map((r) => ({ from: r.gap_from, to: r.gap_to, missing: r.missing }));
  }

  // ----------------------------------------------------------------------------------- state

  /** The JSON value stored under `key`, or undefined. */
  async getState<T = unknown>(key: string): Promise<T | undefined> {
    this.assertOpen();
    checkKey(key);
    await this.ready();
    const { rows } = await this.query<{ value: T }>(`SELECT value FROM ${this.schema}.kv WHERE key = $1`, [
      key,
    ]);
    return rows[0]?.value;
  }

  /** Stores a JSON-serialisable value under `key`, committed immediately (not buffered). */
  async setState(key: string, value: unknown): Promise<void> {
    this.assertOpen();
    checkKey(key);
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      throw badArgument(
        `state value of ${JSON.stringify(key)} is not JSON: ${(error as Error).message}`,
        'value',
      );
    }
    if (json === undefined)
      throw badArgument(`state value of ${JSON.stringify(key)} is not JSON (${typeof value})`, 'value');
    await this.ready();
    await this.query(
      `INSERT INTO ${this.schema}.kv (key, value, updated_at) VALUES ($1, $2::jsonb, now())
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      [key, json],
    );
  }

  /** Removes `key`; resolves true when it existed. */
  async deleteState(key: string): Promise<boolean> {
    this.assertOpen();
    checkKey(key);
    await this.ready();
    const { rowCount } = await this.query(`DELETE FROM ${this.schema}.kv WHERE key = $1`, [key]);
    return (rowCount ?? 0) > 0;
  }

  // ----------------------------------------------------------------------------- maintenance

  /**
   * Applies retention relative to `now`: a monthly partition whose whole range is past the retention
   * of every timeframe it holds is dropped (cheap, no vacuum debt); elsewhere expired rows are deleted
   * per timeframe. Timeframes without a retention are kept forever. On TimescaleDB: DELETE only.
   */
  async prune(
    now: number = this.options.scheduler.now(),
    retentionMs: Partial<Record<Timeframe, number>> = this.options.retentionMs,
  ): Promise<PgPruneResult> {
    this.assertOpen();
    if (!Number.isFinite(now)) throw badArgument(`now must be epoch ms, got ${String(now)}`, 'now');
    const cutoffs = new Map<string, number>();
    for (const [tf, ms] of Object.entries(retentionMs)) {
      if (!isTimeframe(tf))
        throw badArgument(`unknown timeframe ${JSON.stringify(tf)} in retention`, 'timeframe');
      if (typeof ms !== 'number' || !(ms > 0))
        throw badArgument(`retention of ${tf} must be > 0 ms, got ${String(ms)}`, 'retention');
      cutoffs.set(tf, now - ms);
    }
    const result: PgPruneResult = { deleted: 0, droppedPartitions: [] };
    if (cutoffs.size === 0) return result;
    await this.ready();
    try {
      if (this.layout === 'native') {
        await this.loadPartitions();
        for (const start of [...this.knownPartitions].sort((a, b) => a - b)) {
          const end = addMonths(start, 1);
          // Timeframes whose every row in this partition is expired.
          const expired = [...cutoffs].filter(([, cut]) => end <= cut).map(([tf]) => tf);
          if (expired.length === 0) continue;
          const part = `${this.schema}.${partitionName(start)}`;
          const dropped = await this.transaction(async (client) => {
            await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
              `pg-store:partitions:${this.options.schema}`,
            ]);
            const { rows } = await client.query<{ keep: boolean }>(
              `SELECT EXISTS (SELECT 1 FROM ${part} WHERE timeframe <> ALL($1::text[])) AS keep`,
              [expired],
            );
            if (rows[0]?.keep) return false;
            await client.query(`ALTER TABLE ${this.schema}.bars DETACH PARTITION ${part}`);
            await client.query(`DROP TABLE ${part}`);
            return true;
          });
          if (dropped) {
            this.knownPartitions.delete(start);
            this.counters.partitionsDropped++;
            result.droppedPartitions.push(partitionName(start));
          }
        }
      }
      for (const [tf, cut] of cutoffs) {
        const { rowCount } = await this.query(
          `DELETE FROM ${this.schema}.bars WHERE timeframe = $1 AND ts < $2`,
          [tf, cut],
        );
        result.deleted += rowCount ?? 0;
      }
      this.markSuccess();
      return result;
    } catch (error) {
      throw this.wrap(error, CODES.QUERY_FAILED, 'prune failed');
    }
  }

  /** Names of the monthly partitions of the bars table, oldest first (empty on TimescaleDB). */
  async partitions(): Promise<string[]> {
    this.assertOpen();
    await this.ready();
    if (this.layout !== 'native') return [];
    await this.loadPartitions();
    return [...this.knownPartitions].sort((a, b) => a - b).map(partitionName);
  }

  /** Applied migrations, oldest first. */
  async migrations(): Promise<{ version: number; name: string }[]> {
    this.assertOpen();
    await this.ready();
    const { rows } = await this.query<{ version: number; name: string }>(
      `SELECT version, name FROM ${this.schema}.schema_migrations ORDER BY version`,
    );
    return rows;
  }

  // ---------------------------------------------------------------------------- observability

  stats(): PgStoreStats {
    return { pending: this.pendingCount, ...this.counters };
  }

  /**
   * `ready` when the last database round trip succeeded; `down` (with the redacted error) when it
   * failed because the database is unreachable; `degraded` when the database answers but the last
   * flush failed, or the buffer is more than half full.
   */
  health(): HistoryStoreHealth {
    if (this.closed) return { status: 'down', lastError: 'the store is closed' };
    let status = this.status;
    if (status === 'ready' && this.pendingCount > this.options.maxPending / 2) status = 'degraded';
    return status === 'ready'
      ? { status }
      : { status, lastError: this.lastError ?? 'write buffer over half full' };
  }

  /** Called after every successful flush. */
  onFlush(listener: (event: PgFlushEvent) => void): Disposable {
    return this.flushEvents.on(listener);
  }

  /** Called for every failure that is not thrown to a caller: timer flush failures, bad bars. */
  onError(listener: (error: PgStoreError) => void): Disposable {
    return this.errorEvents.on(listener);
  }

  /**
   * Flushes what is pending (one attempt), stops the timer and ends the pool (unless you passed it in).
   * If the final flush fails, the pool is ended anyway and close() rejects with PG_FLUSH_FAILED whose
   * `data.rows` says how many rows were not written. Idempotent.
   */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.timer?.cancel();
      this.timer = null;
      this.closing = (async () => {
        let failure: PgStoreError | undefined;
        this.finalFlush = true;
        try {
          await this.flushChain;
          if (this.buffer.size > 0) await this.flushOnce();
        } catch (error) {
          failure = isPgStoreError(error)
            ? error
            : this.wrap(error, CODES.FLUSH_FAILED, 'final flush failed');
        }
        this.finalFlush = false;
        // A pool we own keeps our listener: a connection dropped while the pool ends (a server
        // restart, DROP DATABASE ... WITH (FORCE)) must not become an unhandled 'error' event. A pool
        // passed in is the caller's to listen to.
        if (!this.ownsPool) this.pool.off('error', this.poolErrorListener);
        if (this.ownsPool) await this.pool.end().catch(() => undefined);
        if (failure) throw failure;
      })();
    }
    return this.closing;
  }

  // -------------------------------------------------------------------------------- plumbing

  /** Timer loop: flush every interval; after failures, retry with exponential backoff. */
  private arm(ms: number): void {
    if (this.closed) return;
    this.timer = this.options.scheduler.setTimeout(() => {
      this.timer = null;
      this.inTick = true;
      void this.tick().finally(() => {
        this.inTick = false;
        this.arm(this.nextDelay());
      });
    }, ms);
  }

  private nextDelay(): number {
    const n = this.counters.consecutiveFailures;
    if (n === 0) return this.options.flushIntervalMs;
    return Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** Math.min(n - 1, 30));
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    if (this.buffer.size > 0) {
      await this.flush().catch(() => undefined); // reported through onError
    } else if (this.status === 'down') {
      // Nothing to write: probe so health recovers when the database is back.
      await this.query('SELECT 1').then(
        () => this.markSuccess(),
        () => undefined,
      );
    }
  }

  private async connect(): Promise<Client> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw this.wrap(error, CODES.UNAVAILABLE, 'cannot connect to PostgreSQL');
    }
  }

  private release(client: Client, broken: boolean): void {
    client.removeListener('error', noop);
    client.release(broken ? true : undefined);
  }

  private async transaction<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.connect();
    // A checked-out client that loses its socket between queries emits 'error'; without a listener
    // that would crash the process. The failing query reports it.
    client.on('error', noop);
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      broken = isConnectionError(error) || (await rollback(client));
      throw error;
    } finally {
      this.release(client, broken);
    }
  }

  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    config: string | pg.QueryConfig | pg.QueryArrayConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    const cfg: pg.QueryConfig =
      typeof config === 'string' ? { text: config, values } : { ...(config as pg.QueryConfig) };
    (cfg as { types?: unknown }).types = TYPES;
    try {
      const result = await this.pool.query<R>(cfg);
      if (this.status !== 'ready') this.markSuccess();
      return result;
    } catch (error) {
      throw this.wrap(
        error,
        isConnectionError(error) ? CODES.UNAVAILABLE : CODES.QUERY_FAILED,
        'query failed',
      );
    }
  }

  /** Wraps any failure in a PgStoreError with a redacted message and records it for health(). */
  private wrap(
    error: unknown,
    code: PgStoreErrorCode,
    what: string,
    data: { rows?: number } = {},
  ): PgStoreError {
    const batchCode = code === CODES.FLUSH_FAILED || code === CODES.BACKFILL_FAILED;
    if (isPgStoreErrorLike(error)) {
      this.markFailure(error);
      // Already redacted; a flush or backfill says which rows it concerns.
      if (batchCode && error.code !== code) {
        return new PgStoreError(code, `${what}: ${error.message}`, { ...error.data, ...data }, error);
      }
      return error;
    }
    this.markFailure(error);
    const raw = (error as { code?: unknown } | null)?.code;
    const sqlState = typeof raw === 'string' ? raw : undefined;
    const detail = redact(String((error as { message?: unknown } | null)?.message ?? error), this.secrets);
    const finalCode = !batchCode && isConnectionError(error) ? CODES.UNAVAILABLE : code;
    // The cause keeps pg's error class and code for debugging, with its message redacted too.
    const cause = error instanceof Error ? redactedCopy(error, this.secrets) : undefined;
    return new PgStoreError(
      finalCode,
      `${what}: ${detail}`,
      { ...data, ...(sqlState ? { sqlState } : {}) },
      cause,
    );
  }

  private markFailure(error: unknown): void {
    const message = redact(String((error as { message?: unknown })?.message ?? error), this.secrets);
    this.lastError = message;
    const down = isPgStoreError(error)
      ? error.code === CODES.UNAVAILABLE || isConnectionError(error.cause)
      : isConnectionError(error);
    this.status = down ? 'down' : 'degraded';
  }

  private markSuccess(): void {
    if (this.counters.consecutiveFailures === 0) {
      this.status = 'ready';
      this.lastError = undefined;
    } else {
      // The database answers again, but buffered rows still wait for their retry.
      this.status = 'degraded';
    }
  }

  private reject(bar: unknown, reason: string): void {
    this.counters.rejectedBars++;
    const b = (typeof bar === 'object' && bar !== null ? bar : {}) as Partial<Bar>;
    const key = `${String(b.symbol)}|${String(b.timeframe)}|${String(b.ts)}`;
    this.emitError(new PgStoreError(CODES.BAD_BAR, `bar ${key} refused: ${reason}`, { key, reason }));
  }

  private emitFlush(event: PgFlushEvent): void {
    this.flushEvents.emit(event);
  }

  private emitError(error: PgStoreError): void {
    this.errorEvents.emit(error);
  }

  private assertOpen(): void {
    if (this.closed) throw this.closedError();
  }

  private closedError(): PgStoreError {
    return new PgStoreError(CODES.CLOSED, 'the store is closed');
  }
}

/** Opens a store; the schema is created and migrated on first use (or by `await store.ready()`). */
export function createPgStore(options: PgStoreOptions): PgStore {
  return new PgStore(options);
}

/** Which layout to create in an empty schema. */
export function choosePartitioning(wanted: 'auto' | Layout, timescalePresent: boolean): Layout {
  if (wanted === 'timescale' && !timescalePresent) {
    throw new PgStoreError(
      CODES.MIGRATION_FAILED,
      "option partitioning is 'timescale' but the timescaledb extension is not installed in this database (CREATE EXTENSION timescaledb)",
      { reason: 'timescaledb missing' },
    );
  }
  if (wanted === 'auto') return timescalePresent ? 'timescale' : 'native';
  return wanted;
}

function noop(): void {}

/** Resolves on the next turn of the event loop (after pending I/O and timers), not as a microtask. */
function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** True when every series appears in one contiguous run with strictly increasing ts (no duplicate keys). */
export function increasingPerSeries(bars: readonly Bar[]): boolean {
  const finished = new Set<string>();
  let symbol: string | null = null;
  let timeframe: string | null = null;
  let last = -Infinity;
  for (const b of bars) {
    if (b.symbol !== symbol || b.timeframe !== timeframe) {
      if (symbol !== null) finished.add(`${symbol}\u0000${timeframe}`);
      if (finished.has(`${b.symbol}\u0000${b.timeframe}`)) return false;
      symbol = b.symbol;
      timeframe = b.timeframe;
    } else if (b.ts <= last) return false;
    last = b.ts;
  }
  return true;
}

async function rollback(client: Client): Promise<boolean> {
  try {
    await client.query('ROLLBACK');
    return false;
  } catch {
    return true; // the connection is unusable: destroy it on release
  }
}

function isPgStoreErrorLike(e: unknown): e is PgStoreError {
  return isPgStoreError(e);
}

function redactedCopy(error: Error, secrets: readonly (string | undefined)[]): Error {
  const copy = new Error(redact(error.message, secrets));
  copy.name = error.name;
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) Object.assign(copy, { code });
  return copy;
}

function badArgument(message: string, reason: string): PgStoreError {
  return new PgStoreError(CODES.BAD_ARGUMENT, message, { reason });
}

function checkSeries(symbol: unknown, timeframe: unknown): void {
  if (typeof symbol !== 'string' || symbol.length === 0)
    throw badArgument(`symbol must be a non-empty string, got ${JSON.stringify(symbol)}`, 'symbol');
  if (!isTimeframe(timeframe))
    throw badArgument(`unknown timeframe ${JSON.stringify(timeframe)}`, 'timeframe');
}

function checkRange(q: SeriesQuery): void {
  if (typeof q !== 'object' || q === null) throw badArgument('query must be an object', 'query');
  checkSeries(q.symbol, q.timeframe);
  if (!Number.isSafeInteger(q.from) || !Number.isSafeInteger(q.to))
    throw badArgument(
      `from and to must be integer epoch ms, got ${String(q.from)}, ${String(q.to)}`,
      'range',
    );
  if (q.from > q.to) throw badArgument(`from (${q.from}) must be <= to (${q.to})`, 'range');
}

function checkLimit(limit: unknown): void {
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_LIMIT)
    throw badArgument(`limit must be an integer in [1, ${MAX_LIMIT}], got ${String(limit)}`, 'limit');
}

function checkKey(key: unknown): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1000)
    throw badArgument(`state key must be a string of 1-1000 characters, got ${JSON.stringify(key)}`, 'key');
}
