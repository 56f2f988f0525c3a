// The breaker registry: one circuit per source, created on first use, all sharing the options and the
// injected clock. This file composes the stages, each in its own file:
//   circuit.ts      the source's cockatiel circuit, bookkeeping and refusal rule
//   retry.ts        one execute call: refusal, attempts, backoff, Retry-After, the wait
//   attempt.ts      one attempt: timeout, cancellation, how it ended
//   policy.ts       which errors count and which are retried (core's fetch error table)
//   health.ts       snapshot() of one circuit
//   saved-state.ts  exportState / restoreState validation
import { setMaxListeners } from 'node:events';
import { Emitter } from '@pipeline/core';
import { createCircuit, refusalOf, type Circuit } from './circuit';
import { healthOf } from './health';
import { resolveBreakerRegistryOptions, type BreakerRegistryOptions } from './options';
import { runWithRetries } from './retry';
import { exportCircuits, parseSavedState } from './saved-state';
import {
  isBreakerSource,
  type BreakerRegistry,
  type BreakerSource,
  type ExecuteOptions,
  type RetryEvent,
  type SourceHealth,
  type StateChangeEvent,
} from './types';

export type { Disposable } from '@pipeline/core';
export { countsAgainstBreaker, isRetryableError } from './policy';
export type {
  BreakerRegistry,
  BreakerSource,
  ErrorSummary,
  ExecuteOptions,
  RetryEvent,
  SavedBreakerState,
  SavedSourceState,
  SourceCounts,
  SourceHealth,
  StateChangeEvent,
} from './types';

/**
 * Creates one circuit per source (lazily, on first use), sharing options and an injected clock.
 *
 * Composition per `execute`: retry loop (ours, on the injected scheduler) -> cockatiel
 * CircuitBreakerPolicy (ConsecutiveBreaker, handleWhen(countsAgainstBreaker)) -> timeout (ours,
 * aborting the attempt's AbortSignal).
 */
export function createBreakerRegistry(options?: Partial<BreakerRegistryOptions>): BreakerRegistry {
  const opts = resolveBreakerRegistryOptions(options);
  const { clock } = opts;
  const circuits = new Map<BreakerSource, Circuit>();
  const stateChanges = new Emitter<StateChangeEvent>('breaker onStateChange');
  const retries = new Emitter<RetryEvent>('breaker onRetry');
  const closing = new AbortController();
  // Every call without a caller signal listens on this one long-lived signal for the duration of
  // the call and removes its listener afterwards: many concurrent calls are normal, not a leak.
  setMaxListeners(0, closing.signal);
  const emitStateChange = (event: StateChangeEvent): void => stateChanges.emit(event);
  const emitRetry = (event: RetryEvent): void => retries.emit(event);

  function circuitOf(source: BreakerSource): Circuit {
    let circuit = circuits.get(source);
    if (!circuit) {
      if (!isBreakerSource(source)) {
        throw new TypeError(
          `source must be a non-empty name without control characters, got ${JSON.stringify(source)}`,
        );
      }
      circuit = createCircuit(source, opts, emitStateChange);
      circuits.set(source, circuit);
    }
    return circuit;
  }

  async function execute<T>(
    source: BreakerSource,
    fn: (signal: AbortSignal) => Promise<T>,
    executeOptions?: ExecuteOptions,
  ): Promise<T> {
    const circuit = circuitOf(source);
    circuit.counts.calls++;
    const caller = executeOptions?.signal;
    if (!caller) return runWithRetries(circuit, fn, closing.signal, opts, emitRetry);
    // One signal for "the caller or the registry gave up", linked by hand and unlinked when the
    // call ends: listeners on the long-lived registry signal must not pile up.
    const link = new AbortController();
    const fromCaller = () => link.abort(caller.reason);
    const fromRegistry = () => link.abort(closing.signal.reason);
    if (caller.aborted) fromCaller();
    else if (closing.signal.aborted) fromRegistry();
    caller.addEventListener('abort', fromCaller, { once: true });
    closing.signal.addEventListener('abort', fromRegistry, { once: true });
    try {
      return await runWithRetries(circuit, fn, link.signal, opts, emitRetry);
    } finally {
      caller.removeEventListener('abort', fromCaller);
      closing.signal.removeEventListener('abort', fromRegistry);
    }
  }

  function snapshot(): Partial<Record<BreakerSource, SourceHealth>>;
  function snapshot(source: BreakerSource): SourceHealth;
  function snapshot(source?: BreakerSource): SourceHealth | Partial<Record<BreakerSource, SourceHealth>> {
    if (source !== undefined) return healthOf(circuitOf(source), clock);
    const all: Partial<Record<BreakerSource, SourceHealth>> = {};
    for (const [name, circuit] of circuits) all[name] = healthOf(circuit, clock);
    return all;
  }

  function restoreState(saved: unknown): void {
    const parsed = parseSavedState(saved);
    for (const [name, state] of Object.entries(parsed.sources)) {
      if (state === undefined) continue;
      circuits.get(name)?.subscription.dispose();
      circuits.set(name, createCircuit(name, opts, emitStateChange, state));
    }
  }

  return {
    options: opts,
    execute,
    isCallable: (source) => refusalOf(circuitOf(source), clock) === null,
    snapshot,
    onStateChange: stateChanges.on,
    onRetry: retries.on,
    exportState: () => exportCircuits(circuits.values(), clock),
    restoreState,
    close: () => closing.abort(new Error('breaker registry closed')),
  };
}
