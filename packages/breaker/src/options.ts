import {
  assertNumberOption,
  OptionsError,
  resolveOptions,
  systemClock,
  type Scheduler,
} from '@pipeline/core';
import { JITTER_MODES, type JitterMode } from './states';

/** When a source's circuit opens and when it is probed again. */
export interface CircuitOptions {
  /**
   * Consecutive counted failures (attempts, retries included) that open the circuit.
   * @default 5
   */
  failureThreshold: number;
  /**
   * Milliseconds an open circuit waits before it lets one probe call through.
   * @default 60000
   */
  halfOpenAfterMs: number;
}

/** Retries of one `execute` call, inside the caller's cycle. */
export interface RetryOptions {
  /**
   * Calls of your function per `execute`, the FIRST CALL INCLUDED: 1 = never retry, 3 = the first call
   * and at most 2 retries. Porting from cockatiel: its `retry(handleAll, { maxAttempts: 3 })` means 3
   * RETRIES, i.e. our `maxAttempts: 4`.
   * @default 3
   */
  maxAttempts: number;
  /**
   * First retry delay in milliseconds before jitter; doubles per retry.
   * @default 100
   */
  baseDelayMs: number;
  /**
   * Cap on one retry delay in milliseconds. A Retry-After longer than this is not waited for in
   * the same call: the call fails at once and the source cools down until the Retry-After time.
   * @default 1000
   */
  maxDelayMs: number;
  /**
   * How delays are randomised (`decorrelated`, `full`, `half`, `none`).
   * @default 'decorrelated'
   */
  jitter: JitterMode;
}

export interface BreakerRegistryOptions {
  /**
   * Time source and timer scheduler for probe times, timeouts, retry waits, cool-downs and
   * latencies. Pass core's ManualClock in tests.
   * @default systemClock (wall clock, unref'd Node timers)
   */
  clock: Scheduler;
  /** Circuit settings, shared by every source. Unknown keys are rejected. */
  breaker: Partial<CircuitOptions>;
  /** Retry settings, shared by every source. Unknown keys are rejected. */
  retry: Partial<RetryOptions>;
  /**
   * Milliseconds one attempt may take before its AbortSignal is aborted and it counts as a
   * failure; 0 disables the timeout.
   * @default 5000
   */
  timeoutMs: number;
  /**
   * Number of most recent attempts per source kept for the success rate and latency percentiles.
   * @default 200
   */
  windowSize: number;
}

/** Resolved options: nested groups complete. */
export interface ResolvedBreakerRegistryOptions {
  readonly clock: Scheduler;
  readonly breaker: Readonly<CircuitOptions>;
  readonly retry: Readonly<RetryOptions>;
  readonly timeoutMs: number;
  readonly windowSize: number;
}

export const DEFAULT_CIRCUIT_OPTIONS: Readonly<CircuitOptions> = Object.freeze({
  failureThreshold: 5,
  halfOpenAfterMs: 60_000,
});

export const DEFAULT_RETRY_OPTIONS: Readonly<RetryOptions> = Object.freeze({
  maxAttempts: 3,
  baseDelayMs: 100,
  maxDelayMs: 1_000,
  jitter: 'decorrelated',
});

/** Every default of {@link BreakerRegistryOptions}, in one place. */
export const DEFAULT_BREAKER_REGISTRY_OPTIONS: ResolvedBreakerRegistryOptions = Object.freeze({
  clock: systemClock,
  breaker: DEFAULT_CIRCUIT_OPTIONS,
  retry: DEFAULT_RETRY_OPTIONS,
  timeoutMs: 5_000,
  windowSize: 200,
});

const C = 'createBreakerRegistry';

function assertInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  assertNumberOption(C, name, value, min, max);
  if (!Number.isInteger(value)) {
    throw new OptionsError(`${C}: option "${name}" must be an integer, got ${JSON.stringify(value)}`);
  }
}

export function resolveBreakerRegistryOptions(
  options: Partial<BreakerRegistryOptions> | undefined,
): ResolvedBreakerRegistryOptions {
  const top = resolveOptions<BreakerRegistryOptions>(C, DEFAULT_BREAKER_REGISTRY_OPTIONS, options);
  const breaker = resolveOptions<CircuitOptions>(`${C}: breaker`, DEFAULT_CIRCUIT_OPTIONS, top.breaker);
  const retry = resolveOptions<RetryOptions>(`${C}: retry`, DEFAULT_RETRY_OPTIONS, top.retry);

  const clock = top.clock as unknown;
  if (
    typeof clock !== 'object' ||
    clock === null ||
    typeof (clock as Scheduler).now !== 'function' ||
    typeof (clock as Scheduler).setTimeout !== 'function'
  ) {
    throw new OptionsError(`${C}: option "clock" must have now() and setTimeout(), got ${String(clock)}`);
  }
  assertInteger('breaker.failureThreshold', breaker.failureThreshold, 1, 1_000_000);
  assertNumberOption(C, 'breaker.halfOpenAfterMs', breaker.halfOpenAfterMs, 0, 7 * 86_400_000);
  assertInteger('retry.maxAttempts', retry.maxAttempts, 1, 100);
  assertNumberOption(C, 'retry.baseDelayMs', retry.baseDelayMs, 0, 3_600_000);
  assertNumberOption(C, 'retry.maxDelayMs', retry.maxDelayMs, retry.baseDelayMs, 3_600_000);
  if (!Object.prototype.hasOwnProperty.call(JITTER_MODES, retry.jitter)) {
    throw new OptionsError(
      `${C}: option "retry.jitter" must be one of ${Object.keys(JITTER_MODES).join(', ')}, got ${JSON.stringify(retry.jitter)}`,
    );
  }
  assertNumberOption(C, 'timeoutMs', top.timeoutMs, 0, 3_600_000);
  assertInteger('windowSize', top.windowSize, 1, 100_000);

  return Object.freeze({
    clock: top.clock,
    breaker,
    retry,
    timeoutMs: top.timeoutMs,
    windowSize: top.windowSize,
  });
}
