// The retry loop of one execute call: refusal check, attempt, backoff delay (cockatiel's
// ExponentialBackoff generators), the Retry-After rule, the onRetry event and the wait.
import {
  ExponentialBackoff,
  decorrelatedJitterGenerator,
  fullJitterGenerator,
  halfJitterGenerator,
  noJitterGenerator,
  type GeneratorFn,
  type IBackoff,
} from 'cockatiel';
import { isFetchError, systemClock, type Scheduler } from '@pipeline/core';
import { runAttempt } from './attempt';
import { refusalOf, type Circuit } from './circuit';
import { BreakerCancelledError } from './errors';
import { type ResolvedBreakerRegistryOptions } from './options';
import { isRetryableError, summariseError } from './policy';
import { type JitterMode } from './states';
import { type BreakerSource, type RetryEvent } from './types';

const GENERATORS = {
  decorrelated: decorrelatedJitterGenerator,
  full: fullJitterGenerator,
  half: halfJitterGenerator,
  none: noJitterGenerator,
} as const satisfies Record<JitterMode, unknown>;

/**
 * Waits `ms` on the injected clock, or rejects with BREAKER_CANCELLED when `signal` aborts. core's
 * systemClock unrefs its timers (a library must not hold a process open on its own), but a caller
 * awaiting `execute` IS work in flight: like cockatiel's retry, the wait then holds one referenced
 * Node timer, so a script whose top-level `await breakers.execute(...)` sits in a retry wait does not
 * exit early (Node's exit code 13, "unsettled top-level await"). Other clocks (ManualClock in tests,
 * a caller's own scheduler) decide themselves.
 */
export function sleep(
  ms: number,
  signal: AbortSignal,
  source: BreakerSource,
  clock: Scheduler,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // Held until the wait settles (not a one-shot of ms + 1: the release check saw an exit 13 once in
    // CI, with no output, i.e. inside a retry wait; an interval cannot lapse before the wait ends).
    const keepAlive = clock === systemClock ? setInterval(() => undefined, 1_000) : undefined;
    const onAbort = () => {
      handle.cancel();
      if (keepAlive !== undefined) clearInterval(keepAlive);
      reject(new BreakerCancelledError(source, signal.reason));
    };
    const handle = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      if (keepAlive !== undefined) clearInterval(keepAlive);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `fn` under `circuit` with up to `retry.maxAttempts` attempts in total (the first included). */
export async function runWithRetries<T>(
  circuit: Circuit,
  fn: (signal: AbortSignal) => Promise<T>,
  outer: AbortSignal,
  opts: ResolvedBreakerRegistryOptions,
  onRetry: (event: RetryEvent) => void,
): Promise<T> {
  const { source } = circuit;
  let backoff: IBackoff<unknown> | undefined;
  for (let attemptNo = 1; ; attemptNo++) {
    if (outer.aborted) throw new BreakerCancelledError(source, outer.reason);
    const refused = refusalOf(circuit, opts.clock);
    if (refused) {
      circuit.counts.rejected++;
      throw refused;
    }
    try {
      return await runAttempt(circuit, fn, outer, opts);
    } catch (error) {
      if (
        attemptNo >= opts.retry.maxAttempts ||
        !isRetryableError(error) ||
        // The failure just opened the circuit: stop here and let the caller fall back.
        circuit.state !== 'closed'
      ) {
        throw error;
      }
      backoff = backoff
        ? backoff.next(undefined)
        : new ExponentialBackoff<unknown>({
            generator: GENERATORS[opts.retry.jitter] as GeneratorFn<unknown>,
            initialDelay: opts.retry.baseDelayMs,
            maxDelay: opts.retry.maxDelayMs,
          }).next();
      let delayMs = backoff.duration;
      if (isFetchError(error) && error.kind === 'rate_limited') {
        // Retry-After rule: no header, or longer than one retry may wait, means not again in
        // this call; the cool-down set by the attempt then refuses later calls until it passes.
        if (error.retryAfterMs === undefined || error.retryAfterMs > opts.retry.maxDelayMs) throw error;
        delayMs = Math.max(delayMs, error.retryAfterMs);
      }
      circuit.counts.retries++;
      onRetry({
        source,
        attempt: attemptNo + 1,
        delayMs,
        error: circuit.lastError ?? summariseError(error, opts.clock.now()),
      });
      await sleep(delayMs, outer, source, opts.clock);
    }
  }
}
