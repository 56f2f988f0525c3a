// Which failures are evidence against a source, which may be retried, and how a failure is kept
// (code plus a redacted message). Decided by core's fetch error table; nothing is string-matched.
import { isFetchError, isPipelineError } from '@pipeline/core';
import { isBreakerError } from './errors';
import { redactMessage } from './redact';
import { type ErrorSummary } from './types';

/**
 * Whether an error is evidence that the source is unhealthy. Decided by core's fetch error table:
 * rate limits, unknown symbols, unsupported requests and caller cancellations do not count;
 * timeouts and errors of unknown origin do.
 */
export function countsAgainstBreaker(error: unknown): boolean {
  if (isBreakerError(error)) return error.code === 'BREAKER_TIMEOUT';
  if (isFetchError(error)) return error.countsForBreaker;
  return true;
}

/** Whether another attempt in the same call may help (before the Retry-After rule is applied). */
export function isRetryableError(error: unknown): boolean {
  if (isBreakerError(error)) return error.code === 'BREAKER_TIMEOUT';
  if (isFetchError(error)) return error.retryable;
  return true;
}

/** The stored, shown form of an error: its code and its redacted, truncated message. */
export function summariseError(error: unknown, at: number): ErrorSummary {
  const code = isPipelineError(error)
    ? error.code
    : error instanceof Error
      ? error.name || 'Error'
      : 'UNKNOWN';
  const message = error instanceof Error ? error.message : String(error);
  return { code, message: redactMessage(message), at };
}
