import { PipelineError, isPipelineError } from '@pipeline/core';

/** Error codes thrown by @pipeline/redis-kb (bad options throw core's `INVALID_OPTIONS`). */
export const REDIS_KB_ERROR_CODES = {
  /** Redis is not reachable right now (down, reconnecting, timed out); retry later. */
  CACHE_UNAVAILABLE: 'CACHE_UNAVAILABLE',
  /** Redis answered with an error (wrong key type, script error); a bug or a foreign key under our prefix. */
  CACHE_COMMAND_FAILED: 'CACHE_COMMAND_FAILED',
  /** The cache was closed; create a new one. */
  CACHE_CLOSED: 'CACHE_CLOSED',
  /** A stored value could not be decoded (written by something else, or corrupted). */
  CACHE_DECODE_FAILED: 'CACHE_DECODE_FAILED',
} as const;
export type RedisKbErrorCode = (typeof REDIS_KB_ERROR_CODES)[keyof typeof REDIS_KB_ERROR_CODES];

/** Base of this package's errors; `operation` names the cache call that failed (e.g. `writeBars`). */
export class RedisKbError extends PipelineError {
  declare readonly code: RedisKbErrorCode;
  readonly operation: string;

  constructor(code: RedisKbErrorCode, operation: string, message: string, options?: { cause?: unknown }) {
    super(code, `${operation}: ${message}`, options);
    this.operation = operation;
  }
}

/**
 * Redis cannot serve the command now. Thrown fast (no offline queue, bounded command timeout) so the
 * host's loop never waits on a dead connection; the client keeps reconnecting in the background.
 */
export class CacheUnavailableError extends RedisKbError {
  /** Connection state when the command failed (`connecting` or `down`). */
  readonly status: string;

  constructor(operation: string, status: string, cause?: unknown) {
    super(
      REDIS_KB_ERROR_CODES.CACHE_UNAVAILABLE,
      operation,
      `Redis unavailable (${status}): ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.status = status;
  }
}

/** Redis rejected a command (a reply error that is not about availability). */
export class CacheCommandError extends RedisKbError {
  constructor(operation: string, cause: unknown) {
    super(
      REDIS_KB_ERROR_CODES.CACHE_COMMAND_FAILED,
      operation,
      `Redis rejected the command: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/** A call on a cache after `close()`. */
export class CacheClosedError extends RedisKbError {
  constructor(operation: string) {
    super(REDIS_KB_ERROR_CODES.CACHE_CLOSED, operation, 'the cache is closed');
  }
}

/** A stored value under our prefix did not decode; `key` tells which. */
export class CacheDecodeError extends RedisKbError {
  readonly key: string;

  constructor(operation: string, key: string, cause: unknown) {
    super(
      REDIS_KB_ERROR_CODES.CACHE_DECODE_FAILED,
      operation,
      `cannot decode the value at ${key}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.key = key;
  }
}

const CODES = new Set<string>(Object.values(REDIS_KB_ERROR_CODES));

/** True for any error of this package (from any loaded copy of it). */
export function isRedisKbError(value: unknown): value is RedisKbError {
  return isPipelineError(value) && CODES.has(value.code);
}

/** True when a cache call failed because Redis is unreachable: retry later, serve stale data meanwhile. */
export function isCacheUnavailableError(value: unknown): value is CacheUnavailableError {
  return isPipelineError(value, REDIS_KB_ERROR_CODES.CACHE_UNAVAILABLE);
}
