import { PipelineError, isPipelineError } from '@pipeline/core';

/** Every code this package uses (besides core's `INVALID_OPTIONS` for bad options). */
export const METRICS_ERROR_CODES = {
  /** A metric name is already registered in the registry (same prefix used twice). Thrown at construction. */
  nameClash: 'METRICS_NAME_CLASH',
  /** A scrape-time provider threw or rejected. Never thrown: reported via `onScrapeError` and counted. */
  providerFailed: 'METRICS_PROVIDER_FAILED',
} as const;
export type MetricsErrorCode = (typeof METRICS_ERROR_CODES)[keyof typeof METRICS_ERROR_CODES];

const CODES = new Set<string>(Object.values(METRICS_ERROR_CODES));

export class MetricsError extends PipelineError {
  override readonly code: MetricsErrorCode;
  /** The metric names involved (the clashing names, or the gauges the provider feeds). */
  readonly metrics: readonly string[];

  constructor(
    code: MetricsErrorCode,
    message: string,
    init: { metrics: readonly string[]; cause?: unknown },
  ) {
    super(code, message, { cause: init.cause });
    this.code = code;
    this.metrics = init.metrics;
  }
}

/** True for an error of this package (from any loaded copy), optionally with the given code. */
export function isMetricsError(value: unknown, code?: MetricsErrorCode): value is MetricsError {
  return isPipelineError(value) && CODES.has(value.code) && (code === undefined || value.code === code);
}
