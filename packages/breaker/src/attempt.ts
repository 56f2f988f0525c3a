// One attempt against a source: through the circuit, with its own AbortSignal, the per-attempt
// timeout and the caller's abort, and the bookkeeping of how it ended (window, counts, last error,
// Retry-After cool-down).
import { BrokenCircuitError } from 'cockatiel';
import { isFetchError, type TimerHandle } from '@pipeline/core';
import { type Circuit } from './circuit';
import { BreakerCancelledError, BreakerOpenError, BreakerTimeoutError, isBreakerError } from './errors';
import { type ResolvedBreakerRegistryOptions } from './options';
import { countsAgainstBreaker, summariseError } from './policy';

/**
 * Runs `fn` once under `circuit`. Settles on whichever comes first: `fn`, the timeout or the
 * `outer` abort; a late settlement of `fn` is dropped.
 */
export async function runAttempt<T>(
  circuit: Circuit,
  fn: (signal: AbortSignal) => Promise<T>,
  outer: AbortSignal,
  opts: ResolvedBreakerRegistryOptions,
): Promise<T> {
  const { source } = circuit;
  const { clock } = opts;
  const controller = new AbortController();
  let timer: TimerHandle | undefined;
  let onOuterAbort: (() => void) | undefined;
  const started = clock.now();
  circuit.counts.attempts++;
  try {
    const value = await circuit.policy.execute(
      () =>
        new Promise<T>((resolve, reject) => {
          onOuterAbort = () => {
            controller.abort(outer.reason);
            reject(new BreakerCancelledError(source, outer.reason));
          };
          outer.addEventListener('abort', onOuterAbort, { once: true });
          if (opts.timeoutMs > 0) {
            timer = clock.setTimeout(() => {
              const error = new BreakerTimeoutError(source, opts.timeoutMs);
              controller.abort(error);
              reject(error);
            }, opts.timeoutMs);
          }
          Promise.resolve()
            .then(() => fn(controller.signal))
            .then(resolve, (error: unknown) =>
              reject(outer.aborted ? new BreakerCancelledError(source, error) : (error as Error)),
            );
        }),
    );
    circuit.counts.successes++;
    circuit.window.record(true, clock.now() - started);
    return value;
  } catch (raw) {
    const error = raw instanceof BrokenCircuitError ? new BreakerOpenError(source, circuit.state, null) : raw;
    const now = clock.now();
    if (isBreakerError(error, 'BREAKER_CANCELLED') || isBreakerError(error, 'BREAKER_OPEN')) throw error;
    circuit.window.record(false, now - started);
    circuit.lastError = summariseError(error, now);
    if (countsAgainstBreaker(error)) circuit.counts.failures++;
    else circuit.counts.ignoredErrors++;
    if (isBreakerError(error, 'BREAKER_TIMEOUT')) circuit.counts.timeouts++;
    if (isFetchError(error) && error.kind === 'rate_limited' && error.retryAfterMs !== undefined) {
      if (error.retryAfterMs > 0) circuit.coolingDownUntil = now + error.retryAfterMs;
    }
    throw error;
  } finally {
    timer?.cancel();
    if (onOuterAbort) outer.removeEventListener('abort', onOuterAbort);
  }
}
