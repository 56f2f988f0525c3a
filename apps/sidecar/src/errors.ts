import { PipelineError, isPipelineError } from '@pipeline/core';

/** Error codes of the sidecar; each is listed with its remedy in the README. */
export const SIDECAR_ERROR_CODES = {
  /** One or more environment variables are invalid; `issues` lists every one. */
  CONFIG_INVALID: 'SIDECAR_CONFIG_INVALID',
  /** The symbol is neither a generic, broker nor provider spelling of a configured symbol. */
  UNKNOWN_SYMBOL: 'SIDECAR_UNKNOWN_SYMBOL',
  /** Every configured source failed (or was skipped) for a symbol in one cycle. */
  ALL_SOURCES_FAILED: 'SIDECAR_ALL_SOURCES_FAILED',
  /** A source answered without error but with no current bar; recorded as a failed attempt and the next source is asked. */
  EMPTY_ANSWER: 'SIDECAR_EMPTY_ANSWER',
  /** A lifecycle call came in the wrong state (e.g. start after stop). */
  LIFECYCLE: 'SIDECAR_LIFECYCLE',
} as const;
export type SidecarErrorCode = (typeof SIDECAR_ERROR_CODES)[keyof typeof SIDECAR_ERROR_CODES];

/** Base of every error the sidecar throws; recognise it with {@link isSidecarError}. */
export class SidecarError extends PipelineError {
  constructor(code: SidecarErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

const CODES = new Set<string>(Object.values(SIDECAR_ERROR_CODES));

/** True for any sidecar error, from any copy of this package; optionally of one code. */
export function isSidecarError(value: unknown, code?: SidecarErrorCode): value is SidecarError {
  return isPipelineError(value) && CODES.has(value.code) && (code === undefined || value.code === code);
}

/** One invalid environment variable. `value` is already redacted for secrets. */
export interface ConfigIssue {
  variable: string;
  value: string | undefined;
  allowed: string;
}

/** Start-up configuration was invalid. The message has one line per problem. */
export class ConfigError extends SidecarError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(
      SIDECAR_ERROR_CODES.CONFIG_INVALID,
      issues
        .map(
          (i) =>
            `invalid ${i.variable}=${i.value === undefined ? '(unset)' : JSON.stringify(i.value)}: ${i.allowed}`,
        )
        .join('\n'),
    );
    this.issues = Object.freeze([...issues]);
  }
}

/** A symbol the sidecar does not collect. `suggestions` come from the symbol mapper when it has them. */
export class UnknownSymbolError extends SidecarError {
  readonly symbol: string;
  readonly suggestions: readonly string[];
  constructor(symbol: string, suggestions: readonly string[] = [], cause?: unknown) {
    super(
      SIDECAR_ERROR_CODES.UNKNOWN_SYMBOL,
      `unknown symbol "${symbol}"${suggestions.length ? `; did you mean ${suggestions.join(', ')}?` : ''}`,
      { cause },
    );
    this.symbol = symbol;
    this.suggestions = suggestions;
  }
}

/** Every source failed for one symbol in one cycle; `attempts` says why each one was skipped or failed. */
export class AllSourcesFailedError extends SidecarError {
  readonly symbol: string;
  readonly attempts: readonly SourceAttempt[];
  constructor(symbol: string, attempts: readonly SourceAttempt[]) {
    super(
      SIDECAR_ERROR_CODES.ALL_SOURCES_FAILED,
      `every source failed for ${symbol}: ${attempts.map((a) => `${a.source}=${a.outcome}${a.code ? `(${a.code})` : ''}`).join(', ') || 'no source configured'}`,
      { cause: attempts.at(-1)?.error },
    );
    this.symbol = symbol;
    this.attempts = attempts;
  }
}

/** What happened when one source was tried for one symbol. */
export interface SourceAttempt {
  source: string;
  outcome: 'ok' | 'failed' | 'skipped_open' | 'skipped_budget' | 'skipped_unsupported';
  code?: string;
  error?: unknown;
  latencyMs?: number;
}

/**
 * A source answered without error but with no current bar. Thrown inside the breaker's call, so an
 * empty answer counts against the source's circuit after the same threshold as an error.
 */
export class EmptyAnswerError extends SidecarError {
  readonly source: string;
  constructor(source: string, symbol: string) {
    super(SIDECAR_ERROR_CODES.EMPTY_ANSWER, `${source} answered without a current bar for ${symbol}`);
    this.source = source;
  }
}

export class LifecycleError extends SidecarError {
  constructor(message: string) {
    super(SIDECAR_ERROR_CODES.LIFECYCLE, message);
  }
}
