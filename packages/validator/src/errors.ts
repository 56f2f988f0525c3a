import { PipelineError, isPipelineError } from '@pipeline/core';

/** Error codes of @pipeline/validator. Bad market data never throws: these are caller mistakes. */
export const VALIDATOR_ERROR_CODES = {
  seriesShape: 'VALIDATOR_SERIES_SHAPE',
} as const;
export type ValidatorErrorCode = (typeof VALIDATOR_ERROR_CODES)[keyof typeof VALIDATOR_ERROR_CODES];

/**
 * `validateSeries` got columns that are not a series: different lengths, a missing column, or a symbol or
 * timeframe that cannot key a series. Data values inside the columns never cause it.
 */
export class SeriesShapeError extends PipelineError {
  /** The column or field at fault. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(VALIDATOR_ERROR_CODES.seriesShape, `validateSeries: ${message}`);
    this.field = field;
  }
}

export function isSeriesShapeError(value: unknown): value is SeriesShapeError {
  return isPipelineError(value, VALIDATOR_ERROR_CODES.seriesShape);
}
