import {
  OptionsError,
  assertIntegerOptions,
  assertNumberOption,
  assertSchedulerOption,
  assertTimeframeMsOption,
  resolveOptions,
  systemClock,
  type HistoryCalendar,
  type Scheduler,
  type Timeframe,
} from '@pipeline/core';
import type { Pool } from 'pg';

/** The calendars `gaps()` understands (computed in SQL). */
export const PG_CALENDARS = ['24x7', 'fx', 'us-equity'] as const satisfies readonly HistoryCalendar[];

/** How the bars table is split over time. */
export const PARTITIONING_MODES = {
  /** TimescaleDB hypertable when the extension is installed in the database, else `native`. */
  auto: 'auto',
  /** Declarative monthly range partitions on `ts` (plain PostgreSQL 11+). */
  native: 'native',
  /** A TimescaleDB hypertable (fails at start-up when the extension is missing). */
  timescale: 'timescale',
} as const;
export type PartitioningMode = (typeof PARTITIONING_MODES)[keyof typeof PARTITIONING_MODES];

export interface PgStoreOptions {
  /**
   * Connection URL, `postgres://user:password@host:port/database`. Exactly one of `url` and `pool`.
   * The password never appears in errors or health output.
   */
  url?: string;
  /**
   * A node-postgres `Pool` you own (then `poolSize`, `statementTimeoutMs` and `connectTimeoutMs` must be
   * left unset: configure the pool itself). `close()` does not end a pool you passed in.
   */
  pool?: Pool;
  /** Schema that holds the tables; created when missing. @default 'public' */
  schema?: string;
  /** Connections in the pool created from `url`. @default 4 */
  poolSize?: number;
  /** Server-side `statement_timeout` of the pool's connections, ms (0 = none). @default 30000 */
  statementTimeoutMs?: number;
  /** How long connecting may take before it counts as a failure, ms. @default 5000 */
  connectTimeoutMs?: number;
  /** Milliseconds between automatic flushes of buffered writes (sidecar: BATCH_WRITE_INTERVAL x 1000). @default 10000 */
  flushIntervalMs?: number;
  /**
   * Most rows (distinct (symbol, timeframe, ts) keys) the write buffer holds. A `write()` that would go
   * beyond it throws `PG_BUFFER_FULL` and buffers nothing of that call; at half of it an early flush
   * starts. @default 100000
   */
  maxPending?: number;
  /** Rows per INSERT statement of a flush (one `unnest` of 11 arrays per statement; smaller statements keep each slice of JavaScript work short). @default 1000 */
  rowsPerStatement?: number;
  /** First retry delay after a failed flush, ms; doubles per failure up to `retryMaxMs`. @default 500 */
  retryBaseMs?: number;
  /** Longest delay between flush retries while the database is down, ms. @default 30000 */
  retryMaxMs?: number;
  /** Retention per timeframe in ms, applied by `prune()`; absent timeframes are kept forever. @default {} */
  retentionMs?: Partial<Record<Timeframe, number>>;
  /** Monthly partitions created ahead of the current month (native partitioning). @default 2 */
  partitionsAhead?: number;
  /** `auto` (TimescaleDB when present), `native` or `timescale`. @default 'auto' */
  partitioning?: PartitioningMode;
  /** Clock and timers for the flush schedule and retries; inject a ManualClock in tests. @default systemClock */
  scheduler?: Scheduler;
  /** Calendar of `gaps()` when the call does not pass one. @default '24x7' */
  calendar?: HistoryCalendar;
  /** `application_name` of the pool's connections (shows in `pg_stat_activity`). @default 'pipeline-pg-store' */
  applicationName?: string;
}

export interface ResolvedPgStoreOptions extends Readonly<Required<Omit<PgStoreOptions, 'url' | 'pool'>>> {
  readonly url: string | undefined;
  readonly pool: Pool | undefined;
}

/** Defaults of every option but `url` and `pool`. */
export const PG_STORE_DEFAULTS: Readonly<Required<Omit<PgStoreOptions, 'url' | 'pool'>>> = Object.freeze({
  schema: 'public',
  poolSize: 4,
  statementTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
  flushIntervalMs: 10_000,
  maxPending: 100_000,
  rowsPerStatement: 1_000,
  retryBaseMs: 500,
  retryMaxMs: 30_000,
  retentionMs: Object.freeze({}),
  partitionsAhead: 2,
  partitioning: 'auto',
  scheduler: systemClock,
  calendar: '24x7',
  applicationName: 'pipeline-pg-store',
});

const COMPONENT = 'PgStore';
const POOL_ONLY = ['poolSize', 'statementTimeoutMs', 'connectTimeoutMs', 'applicationName'] as const;

export function resolvePgStoreOptions(options: PgStoreOptions): ResolvedPgStoreOptions {
  if (typeof options !== 'object' || options === null) {
    throw new OptionsError(
      `${COMPONENT}: options must be an object with "url" or "pool", got ${String(options)}`,
    );
  }
  const { url, pool, ...rest } = options;
  if ((url === undefined) === (pool === undefined)) {
    throw new OptionsError(`${COMPONENT}: pass exactly one of "url" and "pool"`);
  }
  if (url !== undefined) {
    if (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url)) {
      // Never quote the value: it may hold a password.
      throw new OptionsError(`${COMPONENT}: option "url" must be a postgres:// or postgresql:// URL`);
    }
    try {
      new URL(url);
    } catch {
      throw new OptionsError(`${COMPONENT}: option "url" is not a valid URL`);
    }
  }
  if (pool !== undefined) {
    if (typeof pool !== 'object' || pool === null || typeof pool.connect !== 'function') {
      throw new OptionsError(`${COMPONENT}: option "pool" must be a pg.Pool`);
    }
    for (const name of POOL_ONLY) {
      if (rest[name] !== undefined) {
        throw new OptionsError(
          `${COMPONENT}: option "${name}" applies to the pool created from "url"; configure the pool you pass instead`,
        );
      }
    }
  }
  const o = resolveOptions(COMPONENT, PG_STORE_DEFAULTS, rest);
  if (typeof o.schema !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(o.schema)) {
    throw new OptionsError(
      `${COMPONENT}: option "schema" must be a lower-case SQL identifier ([a-z_][a-z0-9_]*), got ${JSON.stringify(o.schema)}`,
    );
  }
  assertNumberOption(COMPONENT, 'poolSize', o.poolSize, 1, 1_000);
  assertNumberOption(COMPONENT, 'statementTimeoutMs', o.statementTimeoutMs, 0, 86_400_000);
  assertNumberOption(COMPONENT, 'connectTimeoutMs', o.connectTimeoutMs, 1, 600_000);
  assertNumberOption(COMPONENT, 'flushIntervalMs', o.flushIntervalMs, 1, 86_400_000);
  assertNumberOption(COMPONENT, 'maxPending', o.maxPending, 1, 10_000_000);
  // 65535 bind parameters per statement does not bind unnest (11 arrays); the cap keeps one
  // statement's memory and lock time reasonable.
  assertNumberOption(COMPONENT, 'rowsPerStatement', o.rowsPerStatement, 1, 100_000);
  assertNumberOption(COMPONENT, 'retryBaseMs', o.retryBaseMs, 1, 3_600_000);
  assertNumberOption(COMPONENT, 'retryMaxMs', o.retryMaxMs, 1, 3_600_000);
  assertNumberOption(COMPONENT, 'partitionsAhead', o.partitionsAhead, 0, 120);
  assertIntegerOptions(COMPONENT, o, ['poolSize', 'maxPending', 'rowsPerStatement', 'partitionsAhead']);
  if (o.retryMaxMs < o.retryBaseMs) {
    throw new OptionsError(
      `${COMPONENT}: option "retryMaxMs" (${o.retryMaxMs}) must be >= "retryBaseMs" (${o.retryBaseMs})`,
    );
  }
  if (!(Object.values(PARTITIONING_MODES) as unknown[]).includes(o.partitioning)) {
    throw new OptionsError(
      `${COMPONENT}: option "partitioning" must be 'auto', 'native' or 'timescale', got ${JSON.stringify(o.partitioning)}`,
    );
  }
  if (!(PG_CALENDARS as readonly unknown[]).includes(o.calendar)) {
    throw new OptionsError(
      `${COMPONENT}: option "calendar" must be ${PG_CALENDARS.map((c) => `'${c}'`).join(', ')}, got ${JSON.stringify(o.calendar)}`,
    );
  }
  if (typeof o.applicationName !== 'string' || o.applicationName.length > 63) {
    throw new OptionsError(
      `${COMPONENT}: option "applicationName" must be a string of at most 63 characters`,
    );
  }
  assertSchedulerOption(COMPONENT, 'scheduler', o.scheduler);
  assertTimeframeMsOption(COMPONENT, 'retentionMs', o.retentionMs);
  return Object.freeze({ ...o, url, pool });
}
