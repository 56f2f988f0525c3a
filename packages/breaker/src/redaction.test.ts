// Issue 11: every known secret spelling, in every shape an error message carries it, through every path
// of the breaker that reports it: snapshot().lastError, exportState(), onStateChange's lastError,
// onRetry's error, the cool-down error's cause, and restoreState() of a hand-edited saved state.
import { FetchError, ManualClock } from '@pipeline/core';
import { SECRET_SPELLINGS as SPELLINGS, TEST_SECRET as SECRET } from '@pipeline/test-utils';
import { createBreakerRegistry, isBreakerError, type RetryEvent, type StateChangeEvent } from './index';

const messages = (name: string): string[] => [
  `GET https://api.example.com/q?symbol=IBM&${name}=${SECRET} failed`,
  `request failed: ${name}=${SECRET}`,
  `upstream said ${JSON.stringify({ [name]: SECRET, error: 'bad' })}`,
  `header ${name}: ${SECRET}`,
];
const ALL = [
  ...SPELLINGS.flatMap(messages),
  `Authorization: Bearer ${SECRET}`,
  `got 401 with bearer ${SECRET}`,
  `Basic ${Buffer.from(`u:${SECRET}`).toString('base64')} refused`,
  `connect to redis://user:${SECRET}@cache:6379 failed`,
];

it.each(ALL)('never reports the secret in %s', async (message) => {
  const clock = new ManualClock();
  const breakers = createBreakerRegistry({
    clock,
    breaker: { failureThreshold: 2 },
    retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10, jitter: 'none' },
    timeoutMs: 0,
  });
  const seen: Array<StateChangeEvent | RetryEvent> = [];
  breakers.onStateChange((e) => seen.push(e));
  breakers.onRetry((e) => seen.push(e));
  const call = breakers.execute('ib-orders', () => Promise.reject(new Error(message))).catch(() => undefined);
  await Promise.resolve();
  for (let i = 0; i < 10; i++) {
    clock.advance(10);
    await new Promise((r) => setImmediate(r));
  }
  await call;
  expect(seen.some((e) => 'to' in e && e.to === 'open')).toBe(true);
  expect(seen.some((e) => 'attempt' in e)).toBe(true);

  // A rate limit with a long Retry-After: the cool-down error carries the summary as its cause.
  await breakers
    .execute('yahoo', () =>
      Promise.reject(
        new FetchError({ kind: 'rate_limited', source: 'yahoo', message, retryAfterMs: 60_000 }),
      ),
    )
    .catch(() => undefined);
  const cooling: unknown = await breakers.execute('yahoo', () => Promise.resolve(1)).catch((e: unknown) => e);
  expect(isBreakerError(cooling, 'BREAKER_COOLING_DOWN')).toBe(true);

  const reported = JSON.stringify([
    breakers.snapshot(),
    breakers.exportState(),
    seen,
    (cooling as Error).message,
    (cooling as Error).cause,
  ]);
  expect(reported).not.toContain(SECRET);
  expect(reported).toContain('***');

  // A saved state edited by hand (or written by an older version) is redacted on the way in.
  const saved = breakers.exportState();
  const ib = saved.sources['ib-orders'];
  if (ib?.lastError) ib.lastError.message = message;
  const restored = createBreakerRegistry({ clock });
  restored.restoreState(saved);
  expect(JSON.stringify(restored.snapshot('ib-orders'))).not.toContain(SECRET);
});
