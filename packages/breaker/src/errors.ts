import { PipelineError, isPipelineError } from '@pipeline/core';
import { type BreakerSource } from './types';
import { type BreakerState } from './states';

/** Every code this package throws (besides core's `INVALID_OPTIONS` for bad options). */
export const BREAKER_ERROR_CODES = {
  /** The source's circuit is open (or a probe is in flight): the call was not made. */
  open: 'BREAKER_OPEN',
  /** The source said "retry after" and that time has not come: the call was not made. */
  coolingDown: 'BREAKER_COOLING_DOWN',
  /** One attempt took longer than `timeoutMs`; its signal was aborted. */
  timeout: 'BREAKER_TIMEOUT',
  /** The caller's own signal aborted the call (or a retry wait). */
  cancelled: 'BREAKER_CANCELLED',
  /** `restoreState` was given something that is not a saved breaker state. */
  badState: 'BREAKER_BAD_STATE',
} as const;
export type BreakerErrorCode = (typeof BREAKER_ERROR_CODES)[keyof typeof BREAKER_ERROR_CODES];

const CODES = new Set<string>(Object.values(BREAKER_ERROR_CODES));

/**
 * Base of this package's errors. `tryNextSource` mirrors core's FetchError field so a caller can
 * treat both the same way when deciding whether to fall back within the cycle.
 */
export class BreakerError extends PipelineError {
  override readonly code: BreakerErrorCode;
  readonly source: BreakerSource | undefined;
  readonly tryNextSource: boolean;

  constructor(
    code: BreakerErrorCode,
    message: string,
    init: { source?: BreakerSource; tryNextSource: boolean; cause?: unknown },
  ) {
    super(code, message, { cause: init.cause });
    this.code = code;
    this.source = init.source;
    this.tryNextSource = init.tryNextSource;
  }
}

export class BreakerOpenError extends BreakerError {
  readonly state: BreakerState;
  /** When the next probe is allowed (epoch ms, injected clock); null while a probe is in flight. */
  readonly probeAt: number | null;

  constructor(source: BreakerSource, state: BreakerState, probeAt: number | null) {
    super(
      BREAKER_ERROR_CODES.open,
      state === 'half_open'
        ? `[${source}] circuit half-open: a probe is in flight`
        : `[${source}] circuit open until ${new Date(probeAt ?? 0).toISOString()}`,
      { source, tryNextSource: true },
    );
    this.state = state;
    this.probeAt = probeAt;
  }
}

export class BreakerCoolingDownError extends BreakerError {
  /** When the source may be asked again (epoch ms, injected clock). */
  readonly retryAt: number;

  constructor(source: BreakerSource, retryAt: number, cause: unknown) {
    super(
      BREAKER_ERROR_CODES.coolingDown,
      `[${source}] rate limited until ${new Date(retryAt).toISOString()}`,
      {
        source,
        tryNextSource: true,
        cause,
      },
    );
    this.retryAt = retryAt;
  }
}

export class BreakerTimeoutError extends BreakerError {
  readonly timeoutMs: number;

  constructor(source: BreakerSource, timeoutMs: number) {
    super(BREAKER_ERROR_CODES.timeout, `[${source}] attempt timed out after ${timeoutMs} ms`, {
      source,
      tryNextSource: true,
    });
    this.timeoutMs = timeoutMs;
  }
}

export class BreakerCancelledError extends BreakerError {
  constructor(source: BreakerSource, cause: unknown) {
    super(BREAKER_ERROR_CODES.cancelled, `[${source}] call cancelled by the caller`, {
      source,
      tryNextSource: false,
      cause,
    });
  }
}

export class BreakerStateError extends BreakerError {
  /** Path of the offending field in the saved state, e.g. `sources.yahoo.openedAt`. */
  readonly path: string;

  constructor(path: string, message: string) {
    super(BREAKER_ERROR_CODES.badState, `restoreState: ${path}: ${message}`, { tryNextSource: false });
    this.path = path;
  }
}

/** True for an error of this package (from any loaded copy), optionally with the given code. */
export function isBreakerError(value: unknown, code?: BreakerErrorCode): value is BreakerError {
  return isPipelineError(value) && CODES.has(value.code) && (code === undefined || value.code === code);
}
