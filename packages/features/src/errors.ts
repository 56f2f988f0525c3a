import { PipelineError, isPipelineError } from '@pipeline/core';

/** Error codes thrown by @pipeline/features (option errors use core's `INVALID_OPTIONS`). */
export const FEATURES_ERROR_CODES = {
  /** `getResultOrThrow()` was called before the indicator finished its warm-up. */
  notStable: 'FEATURES_NOT_STABLE',
  /** `restore()` got a snapshot of another indicator, other parameters or an unknown version. */
  badSnapshot: 'FEATURES_BAD_SNAPSHOT',
} as const;
export type FeaturesErrorCode = (typeof FEATURES_ERROR_CODES)[keyof typeof FEATURES_ERROR_CODES];

const CODES = new Set<string>(Object.values(FEATURES_ERROR_CODES));

/** Base of the errors this package throws; carries the indicator's name. */
export class FeaturesError extends PipelineError {
  /** Indicator (or component) the error is about, e.g. `rsi(14)`. */
  readonly indicator: string;

  constructor(code: FeaturesErrorCode, indicator: string, message: string, options?: { cause?: unknown }) {
    super(code, `${indicator}: ${message}`, options);
    this.indicator = indicator;
  }
}

/** Thrown by `getResultOrThrow()` during warm-up. */
export class NotStableError extends FeaturesError {
  /** Inputs seen so far. */
  readonly count: number;
  /** Inputs needed before the first result (`lookback + 1`). */
  readonly needed: number;

  constructor(indicator: string, count: number, needed: number) {
    super(FEATURES_ERROR_CODES.notStable, indicator, `not stable yet: ${count} of ${needed} inputs seen`);
    this.count = count;
    this.needed = needed;
  }
}

/** Thrown by `restore()` when the snapshot does not belong to this indicator. */
export class SnapshotError extends FeaturesError {
  constructor(indicator: string, message: string) {
    super(FEATURES_ERROR_CODES.badSnapshot, indicator, message);
  }
}

/** True for any error of this package, from any copy of it. */
export function isFeaturesError(value: unknown): value is FeaturesError {
  return isPipelineError(value) && CODES.has(value.code);
}
