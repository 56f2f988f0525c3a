// Quick start of @pipeline/breaker (the README shows this file). Run: npx tsx examples/quick-start.ts

import { createBreakerRegistry, isBreakerError, FetchError, type Bar } from '@pipeline/breaker';

// A stand-in for a real fetcher: fails twice with a 503, then answers.
let calls = 0;
async function fetchLatest(signal: AbortSignal): Promise<Bar[]> {
  signal.throwIfAborted();
  if (++calls <= 2)
    throw new FetchError({ kind: 'transient', source: 'yahoo', status: 503, message: 'HTTP 503' });
  return [
    {
      symbol: 'EURUSD',
      timeframe: '1m',
      ts: Date.UTC(2024, 0, 2, 9, 30),
      open: 1.1,
      high: 1.2,
      low: 1.0,
      close: 1.15,
      volume: 0,
      source: 'yahoo',
      final: false,
      quality: 1,
    },
  ];
}

const breakers = createBreakerRegistry({
  breaker: { failureThreshold: 5, halfOpenAfterMs: 60_000 },
  retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 500 }, // 3 calls in total = cockatiel's maxAttempts: 2
  timeoutMs: 2_000,
});
const subscription = breakers.onStateChange((e) => console.log(`${e.source}: ${e.from} -> ${e.to}`));

for (const source of ['yahoo', 'polygon'] as const) {
  if (!breakers.isCallable(source)) continue; // open circuit or Retry-After: try the next source now
  try {
    const bars = await breakers.execute(source, (signal) => fetchLatest(signal));
    console.log(`${source} answered ${bars.length} bar(s) after ${calls} attempts`);
    break;
  } catch (error) {
    if (isBreakerError(error) && !error.tryNextSource) throw error;
    console.log(`${source} failed: ${(error as Error).message}; trying the next source`);
  }
}
console.log(JSON.stringify(breakers.snapshot('yahoo'), null, 2));
subscription.dispose();
