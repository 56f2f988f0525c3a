import { PipelineError, isPipelineError } from '@pipeline/core';

/**
 * Every code a {@link SqliteStoreError} can carry. `INVALID_OPTIONS` (core's OptionsError) is thrown at
 * construction for bad options and is not repeated here.
 */
export const SQLITE_STORE_ERROR_CODES = {
  /** The file could not be opened or its pragmas could not be applied. */
  OPEN_FAILED: 'SQLITE_OPEN_FAILED',
  /** A migration failed, or the file was written by a newer version of this package. */
  MIGRATION_FAILED: 'SQLITE_MIGRATION_FAILED',
  /** A flush transaction failed; its rows stay pending and are retried on the next flush. */
  FLUSH_FAILED: 'SQLITE_FLUSH_FAILED',
  /** A backfill batch failed; nothing of that batch was written (one transaction). */
  BACKFILL_FAILED: 'SQLITE_BACKFILL_FAILED',
  /** A bar handed to write()/backfill() was not storable; it was dropped and counted, never thrown. */
  BAD_BAR: 'SQLITE_BAD_BAR',
  /** A query argument was invalid (unknown timeframe, from > to, non-integer limit, ...). */
  BAD_ARGUMENT: 'SQLITE_BAD_ARGUMENT',
  /** The writer thread died or could not start; the store fell back to writing on the calling thread. */
  WORKER_FAILED: 'SQLITE_WORKER_FAILED',
  /** The store was used after close(). */
  CLOSED: 'SQLITE_CLOSED',
  /** Writing a CSV export failed (target not writable, stream error). */
  EXPORT_FAILED: 'SQLITE_EXPORT_FAILED',
} as const;
export type SqliteStoreErrorCode = (typeof SQLITE_STORE_ERROR_CODES)[keyof typeof SQLITE_STORE_ERROR_CODES];

const CODES = new Set<string>(Object.values(SQLITE_STORE_ERROR_CODES));

/** Data attached to a {@link SqliteStoreError}; which fields are set depends on the code. */
export interface SqliteStoreErrorData {
  /** Path of the database file. */
  path?: string;
  /** Rows involved (flush/backfill size, rows kept pending). */
  rows?: number;
  /** `symbol|timeframe|ts` of a rejected bar. */
  key?: string;
  /** Why a bar or argument was refused. */
  reason?: string;
}

/** The one error type of this package. Recognise it with {@link isSqliteStoreError}. */
export class SqliteStoreError extends PipelineError {
  declare readonly code: SqliteStoreErrorCode;
  readonly data: Readonly<SqliteStoreErrorData>;

  constructor(code: SqliteStoreErrorCode, message: string, data: SqliteStoreErrorData = {}, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
    this.data = Object.freeze({ ...data });
  }
}

/** True for a {@link SqliteStoreError} from any copy of this package (no `instanceof`). */
export function isSqliteStoreError(value: unknown, code?: SqliteStoreErrorCode): value is SqliteStoreError {
  return isPipelineError(value, code) && CODES.has(value.code);
}
