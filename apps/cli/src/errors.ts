import { PipelineError, isPipelineError } from '@pipeline/core';

/** Every error the CLI raises on its own; the bin prints `code: message` and exits non-zero. */
export const CLI_ERROR_CODES = {
  /** A command-line value is malformed (symbol list, timeframe, days, dates, source). */
  BAD_ARGUMENT: 'CLI_BAD_ARGUMENT',
  /** `--out` / `--from` names no target this CLI writes or reads. */
  BAD_TARGET: 'CLI_BAD_TARGET',
  /** `--out` is an existing file and no download of it is in progress (use `--force` to replace it). */
  OUT_EXISTS: 'CLI_OUT_EXISTS',
  /** The source cannot be used (a keyed source without its key in the environment). */
  SOURCE_UNAVAILABLE: 'CLI_SOURCE_UNAVAILABLE',
  /** Some series could not be downloaded completely; what was fetched is kept and a rerun resumes. */
  DOWNLOAD_INCOMPLETE: 'CLI_DOWNLOAD_INCOMPLETE',
  /** `pipeline doctor` found at least one failing check. */
  DOCTOR_FAILED: 'CLI_DOCTOR_FAILED',
} as const;
export type CliErrorCode = (typeof CLI_ERROR_CODES)[keyof typeof CLI_ERROR_CODES];

export class CliError extends PipelineError {
  declare readonly code: CliErrorCode;
  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** True for errors of this CLI (by code, not `instanceof`, so two copies of the package agree). */
export function isCliError(value: unknown, code?: CliErrorCode): value is CliError {
  return (
    isPipelineError(value) && value.code.startsWith('CLI_') && (code === undefined || value.code === code)
  );
}
