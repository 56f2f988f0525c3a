import {
  OptionsError,
  assertIntegerOptions,
  assertNumberOption,
  assertSchedulerOption,
  assertTimeframeMsOption,
  resolveOptions,
  systemClock,
  type Scheduler,
  type Timeframe,
} from '@pipeline/core';
import { isCalendarSpec, type CalendarSpec } from './calendar';

/** Where flushes run. */
export const WRITE_MODES = {
  /** On the calling thread: simplest, but a big flush blocks the event loop (see the README numbers). */
  inline: 'inline',
  /** On a worker thread with its own connection: the event loop only pays for copying the rows. */
  worker: 'worker',
} as const;
export type WriteMode = (typeof WRITE_MODES)[keyof typeof WRITE_MODES];

/**
 * Pragmas a caller may override, with what each accepts. Names are checked so that a misspelled
 * pragma (`synchronus`) is refused instead of being silently ignored by SQLite.
 */
export const ALLOWED_PRAGMAS = {
  journal_mode: ['WAL', 'DELETE', 'TRUNCATE', 'PERSIST', 'MEMORY', 'OFF'],
  synchronous: ['OFF', 'NORMAL', 'FULL', 'EXTRA', 0, 1, 2, 3],
  cache_size: 'integer',
  mmap_size: 'integer',
  temp_store: ['DEFAULT', 'FILE', 'MEMORY', 0, 1, 2],
  wal_autocheckpoint: 'integer',
  journal_size_limit: 'integer',
  page_size: 'integer',
  locking_mode: ['NORMAL', 'EXCLUSIVE'],
} as const;
export type PragmaName = keyof typeof ALLOWED_PRAGMAS;

export interface SqliteStoreOptions {
  /** Path of the database file; created with its directory missing = error. `:memory:` only in inline mode. */
  path: string;
  /** Where flushes and backfills run: `'inline'` or `'worker'` (worker_threads). @default 'inline' */
  mode?: WriteMode;
  /** Milliseconds between automatic flushes of buffered writes (sidecar: BATCH_WRITE_INTERVAL x 1000). @default 10000 */
  flushIntervalMs?: number;
  /**
   * Rows the write buffer may hold (distinct (symbol, timeframe, ts) keys) before write() flushes early,
   * synchronously; in worker mode it hands the rows to the worker and blocks only if the worker is a
   * full buffer behind. Rows are never dropped. @default 50000
   */
  maxPending?: number;
  /** Rows per multi-row INSERT statement in flushes and backfills (SQLite allows 32766 parameters, 11 per row). @default 50 */
  rowsPerStatement?: number;
  /** Clock and timers for the flush schedule; inject a ManualClock in tests. @default systemClock (unref'd timers) */
  scheduler?: Scheduler;
  /** Calendar for gaps() and needsBootstrap() when the call does not pass one. @default '24x7' */
  calendar?: CalendarSpec;
  /** Retention per timeframe in milliseconds, used by prune(); absent timeframes are kept forever. @default {} */
  retentionMs?: Partial<Record<Timeframe, number>>;
  /** Pragma overrides on top of WAL + synchronous=NORMAL; names outside {@link ALLOWED_PRAGMAS} are refused. @default {} */
  pragmas?: Partial<Record<PragmaName, string | number>>;
  /** Milliseconds a connection waits for a lock held by the other connection (worker mode) before failing. @default 5000 */
  busyTimeoutMs?: number;
  /** Rows per page read while exporting CSV (bounds memory and the time one read blocks). @default 5000 */
  exportPageRows?: number;
}

export type ResolvedSqliteStoreOptions = Readonly<Required<SqliteStoreOptions>>;

/** Defaults of every option but `path`. */
export const SQLITE_STORE_DEFAULTS: Readonly<Required<Omit<SqliteStoreOptions, 'path'>>> = Object.freeze({
  mode: 'inline',
  flushIntervalMs: 10_000,
  maxPending: 50_000,
  rowsPerStatement: 50,
  scheduler: systemClock,
  calendar: '24x7',
  retentionMs: Object.freeze({}),
  pragmas: Object.freeze({}),
  busyTimeoutMs: 5_000,
  exportPageRows: 5_000,
});

const COMPONENT = 'SqliteStore';

export function resolveSqliteStoreOptions(options: SqliteStoreOptions): ResolvedSqliteStoreOptions {
  if (typeof options !== 'object' || options === null) {
    throw new OptionsError(`${COMPONENT}: options must be an object with a "path", got ${String(options)}`);
  }
  const { path, ...rest } = options;
  if (typeof path !== 'string' || path.length === 0) {
    throw new OptionsError(
      `${COMPONENT}: option "path" must be a non-empty string, got ${JSON.stringify(path)}`,
    );
  }
  const o = resolveOptions(COMPONENT, SQLITE_STORE_DEFAULTS, rest);
  if (!(Object.values(WRITE_MODES) as unknown[]).includes(o.mode)) {
    throw new OptionsError(
      `${COMPONENT}: option "mode" must be 'inline' or 'worker', got ${JSON.stringify(o.mode)}`,
    );
  }
  if (o.mode === 'worker' && (path === ':memory:' || path.startsWith('file::memory'))) {
    throw new OptionsError(`${COMPONENT}: mode 'worker' needs a file, got path ${JSON.stringify(path)}`);
  }
  assertNumberOption(COMPONENT, 'flushIntervalMs', o.flushIntervalMs, 1, 86_400_000);
  assertNumberOption(COMPONENT, 'maxPending', o.maxPending, 1, 10_000_000);
  assertNumberOption(COMPONENT, 'rowsPerStatement', o.rowsPerStatement, 1, 2_978);
  assertNumberOption(COMPONENT, 'busyTimeoutMs', o.busyTimeoutMs, 0, 600_000);
  assertNumberOption(COMPONENT, 'exportPageRows', o.exportPageRows, 1, 1_000_000);
  assertIntegerOptions(COMPONENT, o, ['maxPending', 'rowsPerStatement', 'exportPageRows']);
  assertSchedulerOption(COMPONENT, 'scheduler', o.scheduler);
  if (!isCalendarSpec(o.calendar)) {
    throw new OptionsError(
      `${COMPONENT}: option "calendar" must be '24x7', 'fx', 'us-equity' or a function, got ${JSON.stringify(o.calendar)}`,
    );
  }
  assertTimeframeMsOption(COMPONENT, 'retentionMs', o.retentionMs);
  validatePragmas(o.pragmas);
  const locking = o.pragmas.locking_mode;
  if (o.mode === 'worker' && typeof locking === 'string' && locking.toUpperCase() === 'EXCLUSIVE') {
    throw new OptionsError(
      `${COMPONENT}: pragma locking_mode "${locking}" cannot be used with mode 'worker' (the writer thread has its own connection)`,
    );
  }
  return Object.freeze({ ...o, path });
}

function validatePragmas(pragmas: unknown): void {
  if (typeof pragmas !== 'object' || pragmas === null) {
    throw new OptionsError(`${COMPONENT}: option "pragmas" must be an object, got ${String(pragmas)}`);
  }
  for (const [name, value] of Object.entries(pragmas)) {
    if (!Object.prototype.hasOwnProperty.call(ALLOWED_PRAGMAS, name)) {
      throw new OptionsError(
        `${COMPONENT}: unknown pragma "${name}"; allowed: ${Object.keys(ALLOWED_PRAGMAS).sort().join(', ')}`,
      );
    }
    const allowed = ALLOWED_PRAGMAS[name as PragmaName];
    const ok =
      allowed === 'integer'
        ? Number.isInteger(value)
        : (allowed as readonly (string | number)[]).includes(
            typeof value === 'string' ? value.toUpperCase() : (value as number),
          );
    if (!ok) {
      throw new OptionsError(
        `${COMPONENT}: pragma "${name}" must be ${allowed === 'integer' ? 'an integer' : (allowed as readonly unknown[]).join(' | ')}, got ${JSON.stringify(value)}`,
      );
    }
  }
}
