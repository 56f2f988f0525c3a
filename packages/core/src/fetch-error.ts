import { type SourceName } from './bar';
import { PipelineError, isPipelineError } from './errors';

/**
 * What went wrong when fetching from a source. Each kind fixes how the pipeline reacts:
 *
 * | kind | retryable | counts against the breaker | try the next source |
 * | --- | --- | --- | --- |
 * | `rate_limited` | yes, after `retryAfterMs` | no | yes |
 * | `auth` | no | yes | yes |
 * | `symbol_not_found` | no | no | yes |
 * | `not_supported` | no | no | yes |
 * | `bad_request` | no | no | yes |
 * | `transient` (5xx, timeout, network) | yes | yes | yes |
 * | `malformed` (payload not understood) | yes | yes | yes |
 * | `aborted` (the caller cancelled) | no | no | no |
 */
export const FETCH_ERROR_KINDS = {
  rate_limited: { code: 'FETCH_RATE_LIMITED', retryable: true, countsForBreaker: false, tryNextSource: true },
  auth: { code: 'FETCH_AUTH', retryable: false, countsForBreaker: true, tryNextSource: true },
  symbol_not_found: {
    code: 'FETCH_SYMBOL_NOT_FOUND',
    retryable: false,
    countsForBreaker: false,
    tryNextSource: true,
  },
  not_supported: {
    code: 'FETCH_NOT_SUPPORTED',
    retryable: false,
    countsForBreaker: false,
    tryNextSource: true,
  },
  bad_request: { code: 'FETCH_BAD_REQUEST', retryable: false, countsForBreaker: false, tryNextSource: true },
  transient: { code: 'FETCH_TRANSIENT', retryable: true, countsForBreaker: true, tryNextSource: true },
  malformed: { code: 'FETCH_MALFORMED', retryable: true, countsForBreaker: true, tryNextSource: true },
  aborted: { code: 'FETCH_ABORTED', retryable: false, countsForBreaker: false, tryNextSource: false },
} as const;
export type FetchErrorKind = keyof typeof FETCH_ERROR_KINDS;

export interface FetchErrorInit {
  kind: FetchErrorKind;
  source: SourceName;
  message: string;
  /** HTTP status when there was a response. */
  status?: number;
  /** Milliseconds to wait before the source may be asked again, when the source said so. */
  retryAfterMs?: number;
  /** The generic symbol that was asked for. */
  symbol?: string;
  cause?: unknown;
}

/**
 * The one error type fetchers throw. The message and fields never contain API keys: URLs are
 * redacted before they get here.
 */
export class FetchError extends PipelineError {
  readonly kind: FetchErrorKind;
  readonly source: SourceName;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly symbol: string | undefined;
  readonly retryable: boolean;
  readonly countsForBreaker: boolean;
  readonly tryNextSource: boolean;

  constructor(init: FetchErrorInit) {
    const policy = FETCH_ERROR_KINDS[init.kind];
    super(policy.code, `[${init.source}] ${init.message}`, { cause: init.cause });
    this.kind = init.kind;
    this.source = init.source;
    this.status = init.status;
    this.retryAfterMs = init.retryAfterMs;
    this.symbol = init.symbol;
    this.retryable = policy.retryable;
    this.countsForBreaker = policy.countsForBreaker;
    this.tryNextSource = policy.tryNextSource;
  }
}

const FETCH_CODES = new Set<string>(Object.values(FETCH_ERROR_KINDS).map((k) => k.code));

/** True for a {@link FetchError} from any copy of this package. */
export function isFetchError(value: unknown): value is FetchError {
  return isPipelineError(value) && FETCH_CODES.has(value.code);
}
