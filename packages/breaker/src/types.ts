// The public shapes of the breaker registry: what execute, snapshot, the events and the saved state
// hand out. The behaviour lives in the stage files named in registry.ts.
import { type Disposable, type SourceName } from '@pipeline/core';
import { type ResolvedBreakerRegistryOptions } from './options';
import { type BreakerState } from './states';

/**
 * What a circuit is keyed by: any non-empty name. The market-data sources (`yahoo`, `polygon`, ...)
 * are the common case and autocomplete; a broker or order API (`'ib-orders'`) is as welcome.
 */
export type BreakerSource = SourceName | (string & {});

/** The last error seen from a source, safe to show: code and redacted, truncated message. */
export interface ErrorSummary {
  code: string;
  message: string;
  /** When it happened, epoch ms (injected clock). */
  at: number;
}

/** Running totals per source since the registry (or the source's entry) was created. */
export interface SourceCounts {
  /** `execute` calls. */
  calls: number;
  /** Attempts that reached the source (first tries and retries). */
  attempts: number;
  successes: number;
  /** Attempts that failed and counted against the circuit. */
  failures: number;
  /** Attempts that failed without counting (rate limit, unknown symbol, bad request, ...). */
  ignoredErrors: number;
  /** Attempts aborted by `timeoutMs` (included in `failures`). */
  timeouts: number;
  retries: number;
  /** Calls refused without reaching the source (open circuit or Retry-After cool-down). */
  rejected: number;
  /** Times the circuit opened. */
  opened: number;
}

/** Health of one source at one moment. */
export interface SourceHealth {
  source: BreakerSource;
  state: BreakerState;
  /** True when `execute` would reach the source now (see `isCallable`). */
  callable: boolean;
  consecutiveFailures: number;
  /** Successful share of the last `windowSamples` attempts (0..1), null before any attempt. */
  successRate: number | null;
  /** Attempts in the window (at most `windowSize`). */
  windowSamples: number;
  /** Attempt latency percentiles over the window, ms (nearest rank); null before any attempt. */
  latencyMs: { p50: number | null; p90: number | null; p99: number | null };
  lastError: ErrorSummary | null;
  /** When the circuit last opened (epoch ms), null while closed. */
  openedAt: number | null;
  /** When an open circuit lets a probe through (epoch ms), null while closed. */
  probeAt: number | null;
  /** Retry-After cool-down end (epoch ms), null when none is running. */
  coolingDownUntil: number | null;
  counts: SourceCounts;
}

/** Emitted on every circuit transition. */
export interface StateChangeEvent {
  source: BreakerSource;
  from: BreakerState;
  to: BreakerState;
  /** Epoch ms (injected clock). */
  at: number;
  consecutiveFailures: number;
  /** Set when `to` is `open`. */
  probeAt: number | null;
  /** The error that caused the transition to `open`, if any. */
  lastError: ErrorSummary | null;
}

/** Emitted before each retry wait. */
export interface RetryEvent {
  source: BreakerSource;
  /** The attempt about to be made (2 = first retry). */
  attempt: number;
  /** How long the retry waits, ms (at least the source's Retry-After). */
  delayMs: number;
  error: ErrorSummary;
}

/** JSON-safe saved state (`exportState`), version 1. */
export interface SavedBreakerState {
  version: 1;
  /** Epoch ms (injected clock). */
  savedAt: number;
  sources: Partial<Record<BreakerSource, SavedSourceState>>;
}

export interface SavedSourceState {
  /** `half_open` is saved as `open` with `probeAt` = save time: a restart probes at once. */
  state: 'closed' | 'open';
  consecutiveFailures: number;
  openedAt: number | null;
  probeAt: number | null;
  coolingDownUntil: number | null;
  lastError: ErrorSummary | null;
}

export interface ExecuteOptions {
  /** The caller's cancellation; aborting it aborts the attempt's signal and any retry wait. */
  signal?: AbortSignal;
}

export interface BreakerRegistry {
  /** The resolved, frozen options. */
  readonly options: ResolvedBreakerRegistryOptions;
  /**
   * Runs `fn` against `source` under its circuit, with a per-attempt timeout and retries.
   * `fn` must pass the signal to its I/O. Rejects with the last error of `fn` (a FetchError
   * keeps its kind) or a BreakerError (`BREAKER_OPEN`, `BREAKER_COOLING_DOWN`,
   * `BREAKER_TIMEOUT`, `BREAKER_CANCELLED`).
   */
  execute<T>(
    source: BreakerSource,
    fn: (signal: AbortSignal) => Promise<T>,
    options?: ExecuteOptions,
  ): Promise<T>;
  /** False while the circuit is open before its probe time, while a probe is in flight, or during a Retry-After cool-down. */
  isCallable(source: BreakerSource): boolean;
  snapshot(): Partial<Record<BreakerSource, SourceHealth>>;
  snapshot(source: BreakerSource): SourceHealth;
  onStateChange(listener: (event: StateChangeEvent) => void): Disposable;
  onRetry(listener: (event: RetryEvent) => void): Disposable;
  exportState(): SavedBreakerState;
  /** Replaces the state of the saved sources; throws BREAKER_BAD_STATE on malformed input, changing nothing. */
  restoreState(saved: unknown): void;
  /** Aborts in-flight calls and retry waits; later calls reject with BREAKER_CANCELLED. */
  close(): void;
}

/** A source name is any non-empty string of at most 200 characters without control characters. */
export function isBreakerSource(value: unknown): value is BreakerSource {
  // Control characters would corrupt logs and metric labels.
  // eslint-disable-next-line no-control-regex -- matching them is the point
  const control = /[\u0000-\u001f\u007f]/;
  return typeof value === 'string' && value.length > 0 && value.length <= 200 && !control.test(value);
}
