import { alignTs } from '@pipeline/core';
import { isSidecarError, SIDECAR_ERROR_CODES } from '../errors';
import { fetchLatestWithFallback, forEachLimited, withFallback } from './fallback';
import { stageFixture } from './stage-fixtures';

/** The fixture's i-th scripted source (the test config has two: yahoo, synthetic). */
function source(f: ReturnType<typeof stageFixture>, i: number) {
  const x = f.fetchers[i];
  if (!x) throw new Error(`the fixture has no source ${i}`);
  return x;
}

describe('fallback', () => {
  it('asks sources in order and records every attempt', async () => {
    const f = stageFixture();
    try {
      source(f, 0).mode = 'transient';
      const res = await fetchLatestWithFallback({
        slots: f.sources,
        breaker: f.breaker,
        symbol: 'EURUSD',
        timeframe: '1m',
        limit: 3,
        now: () => f.clock.now(),
      });
      expect(res.source).toBe('synthetic');
      expect(res.attempts.map((a) => [a.source, a.outcome])).toEqual([
        ['yahoo', 'failed'],
        ['synthetic', 'ok'],
      ]);
      expect(res.value.at(-1)!.ts).toBe(alignTs(f.clock.now(), '1m'));
    } finally {
      await f.close();
    }
  });

  it('treats a rejected answer as a failed attempt and throws with every attempt when none succeeded', async () => {
    const f = stageFixture();
    try {
      let err: unknown;
      try {
        await withFallback({
          slots: f.sources,
          breaker: f.breaker,
          symbol: 'EURUSD',
          timeframe: '1m',
          call: async () => [],
          accept: (bars) => bars.length > 0,
          now: () => f.clock.now(),
        });
      } catch (e) {
        err = e;
      }
      expect(isSidecarError(err, SIDECAR_ERROR_CODES.ALL_SOURCES_FAILED)).toBe(true);
      const attempts = (err as { attempts: { code?: string }[] }).attempts;
      expect(attempts.map((a) => a.code)).toEqual([
        SIDECAR_ERROR_CODES.EMPTY_ANSWER,
        SIDECAR_ERROR_CODES.EMPTY_ANSWER,
      ]);
    } finally {
      await f.close();
    }
  });

  it('counts empty answers against the breaker after the same threshold as errors, and probes after BREAKER_RESET_AFTER', async () => {
    const f = stageFixture({ BREAKER_RESET_AFTER: '30' });
    try {
      const empty = () =>
        withFallback({
          slots: f.sources.slice(0, 1),
          breaker: f.breaker,
          symbol: 'EURUSD',
          timeframe: '1m',
          call: async () => [],
          accept: (bars) => bars.length > 0,
          now: () => f.clock.now(),
        }).catch((e: unknown) => e);
      // The breaker's default threshold is 5 consecutive counted failures.
      for (let i = 0; i < 4; i++) await empty();
      expect(f.breaker.snapshot('yahoo').state).toBe('closed');
      await empty();
      expect(f.breaker.snapshot('yahoo').state).toBe('open');
      const skipped = (await empty()) as { attempts: { outcome: string }[] };
      expect(skipped.attempts.map((a) => a.outcome)).toEqual(['skipped_open']);
      f.clock.advance(29_000);
      expect(f.breaker.isCallable('yahoo')).toBe(false);
      f.clock.advance(1_000);
      expect(f.breaker.isCallable('yahoo')).toBe(true);
    } finally {
      await f.close();
    }
  });

  it('runs at most `limit` tasks at once', async () => {
    let running = 0;
    let peak = 0;
    await forEachLimited([1, 2, 3, 4, 5], 2, async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setImmediate(r));
      running--;
    });
    expect(peak).toBe(2);
  });
});
