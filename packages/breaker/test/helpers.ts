import { FetchError, type FetchErrorKind, type ManualClock, type SourceName } from '@pipeline/core';

/** Lets pending promise callbacks run (the breaker awaits between steps). */
export const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Drives a ManualClock in `stepMs` steps until `promise` settles, so retry waits and timeouts
 * fire without real sleeping. Returns the outcome instead of throwing.
 */
export async function settle<T>(
  promise: Promise<T>,
  clock: ManualClock,
  stepMs = 10,
  maxMs = 600_000,
): Promise<{ value?: T; error?: unknown; elapsedMs: number }> {
  let done = false;
  let outcome: { value?: T; error?: unknown } = {};
  promise.then(
    (value) => ((done = true), (outcome = { value })),
    (error: unknown) => ((done = true), (outcome = { error })),
  );
  const start = clock.now();
  await flush();
  while (!done) {
    if (clock.now() - start > maxMs)
      throw new Error(`promise did not settle within ${maxMs} ms of fake time`);
    clock.advance(stepMs);
    await flush();
  }
  return { ...outcome, elapsedMs: clock.now() - start };
}

export function fetchError(
  kind: FetchErrorKind,
  source: SourceName = 'yahoo',
  retryAfterMs?: number,
): FetchError {
  return new FetchError({ kind, source, message: `${kind} from test`, retryAfterMs, symbol: 'EURUSD' });
}
