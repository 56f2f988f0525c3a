import { PipelineError, isPipelineError } from '@pipeline/core';

/**
 * Every code a {@link PgStoreError} can carry. `INVALID_OPTIONS` (core's OptionsError) is thrown at
 * construction for bad options and is not repeated here.
 */
export const PG_STORE_ERROR_CODES = {
  /** The database cannot be reached (connection refused, reset, timed out, authentication failed). */
  UNAVAILABLE: 'PG_UNAVAILABLE',
  /** A migration failed, or the schema was written by a newer version of this package. */
  MIGRATION_FAILED: 'PG_MIGRATION_FAILED',
  /** A flush failed; its rows stay pending and are retried with backoff. */
  FLUSH_FAILED: 'PG_FLUSH_FAILED',
  /** A backfill failed; nothing of that call was written (one transaction). */
  BACKFILL_FAILED: 'PG_BACKFILL_FAILED',
  /** write() would take the buffer beyond `maxPending` rows; nothing of that call was buffered. */
  BUFFER_FULL: 'PG_BUFFER_FULL',
  /** A bar handed to write()/backfill() was not storable; it was dropped, counted and reported. */
  BAD_BAR: 'PG_BAD_BAR',
  /** A query argument was invalid (unknown timeframe, from > to, bad limit, unknown calendar, ...). */
  BAD_ARGUMENT: 'PG_BAD_ARGUMENT',
  /** A read, state or maintenance query failed while the database was reachable. */
  QUERY_FAILED: 'PG_QUERY_FAILED',
  /** The store was used after close(). */
  CLOSED: 'PG_CLOSED',
} as const;
export type PgStoreErrorCode = (typeof PG_STORE_ERROR_CODES)[keyof typeof PG_STORE_ERROR_CODES];

const CODES = new Set<string>(Object.values(PG_STORE_ERROR_CODES));

/** Data attached to a {@link PgStoreError}; which fields are set depends on the code. */
export interface PgStoreErrorData {
  /** Rows involved (flush/backfill size, rows kept pending). */
  rows?: number;
  /** `symbol|timeframe|ts` of a rejected bar. */
  key?: string;
  /** Why a bar or argument was refused. */
  reason?: string;
  /** PostgreSQL's SQLSTATE (e.g. `57P01`) or the socket error code (`ECONNREFUSED`) of the cause. */
  sqlState?: string;
}

/** The one error type of this package. Recognise it with {@link isPgStoreError}. */
export class PgStoreError extends PipelineError {
  declare readonly code: PgStoreErrorCode;
  readonly data: Readonly<PgStoreErrorData>;

  constructor(code: PgStoreErrorCode, message: string, data: PgStoreErrorData = {}, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
    this.data = Object.freeze({ ...data });
  }
}

/** True for a {@link PgStoreError} from any copy of this package (no `instanceof`). */
export function isPgStoreError(value: unknown, code?: PgStoreErrorCode): value is PgStoreError {
  return isPipelineError(value, code) && CODES.has(value.code);
}
