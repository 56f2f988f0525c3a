import fc from 'fast-check';
import { type Bar, type Timeframe } from '@pipeline/core';
import { createMemoryHotCache as createReference } from '../test/reference/memory-hot-cache';
import { planWrite as planWriteReference } from '../test/reference/write-plan';
import { createMemoryHotCache } from './memory-hot-cache';
import { planWrite } from './write-plan';

// The issue-16 rework of the in-process cache (series index with a recency list, a one-pass write for
// batches already grouped and sorted, no bar copies without an onBars listener) and of planWrite,
// against the implementation before it (test/reference/): same results, same events, same contents,
// same evictions, for random batches of grouped, scattered, unsorted, duplicate and invalid bars.

const T0 = Date.UTC(2026, 0, 5);
const TF_MS: Record<string, number> = { '1m': 60_000, '5m': 300_000 };
const SYMBOLS = ['A', 'B', 'C', 'D'];
const TIMEFRAMES: Timeframe[] = ['1m', '5m'];

const barArb: fc.Arbitrary<Bar> = fc
  .record({
    symbol: fc.constantFrom(...SYMBOLS),
    timeframe: fc.constantFrom(...TIMEFRAMES),
    slot: fc.integer({ min: 0, max: 12 }),
    close: fc.integer({ min: 1, max: 50 }),
    final: fc.boolean(),
    source: fc.constantFrom('s1', 's2'),
    bad: fc.integer({ min: 0, max: 30 }),
  })
  .map(({ symbol, timeframe, slot, close, final, source, bad }) => {
    const b: Bar = {
      symbol,
      timeframe,
      ts: T0 + slot * (TF_MS[timeframe] ?? 0),
      open: close,
      high: close + 1,
      low: close - 0.5,
      close,
      volume: slot,
      source: source as Bar['source'],
      final,
      quality: 1,
    };
    // Now and then a bar the cache cannot hold.
    if (bad === 0) return { ...b, close: Number.NaN };
    if (bad === 1) return { ...b, symbol: '{x}' };
    return b;
  });

/** Batches in the shapes the sidecar sends (one bar per series, sorted runs) and in any shape at all. */
const batchArb: fc.Arbitrary<Bar[]> = fc.oneof(
  fc.array(barArb, { maxLength: 10 }),
  fc
    .array(barArb, { maxLength: 10 })
    .map((bars) =>
      [...bars].sort(
        (a, b) => a.symbol.localeCompare(b.symbol) || a.timeframe.localeCompare(b.timeframe) || a.ts - b.ts,
      ),
    ),
);

async function contents(cache: ReturnType<typeof createMemoryHotCache>): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const s of SYMBOLS)
    for (const tf of TIMEFRAMES) {
      out.push(
        await cache.seriesLength(s, tf),
        await cache.latestBars(s, tf, 100),
        await cache.lastBar(s, tf),
        await cache.barsInRange(s, tf, T0 + 2 * (TF_MS[tf] ?? 0), T0 + 9 * (TF_MS[tf] ?? 0)),
      );
    }
  return out;
}

describe('in-process cache equivalence with the implementation before issue 16', () => {
  it('writes, evicts and reports exactly as before (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          maxSeries: fc.integer({ min: 1, max: 6 }),
          maxBars: fc.integer({ min: 1, max: 6 }),
          replaceWindow: fc.integer({ min: 0, max: 3 }),
        }),
        fc.boolean(),
        fc.array(batchArb, { minLength: 1, maxLength: 12 }),
        async (options, listen, batches) => {
          const now = createMemoryHotCache(options);
          const before = createReference(options);
          const seen: unknown[][] = [[], []];
          if (listen) {
            now.onBars((e) => seen[0]?.push(['bars', e]));
            now.onRejected((e) => seen[0]?.push(['rejected', e]));
            before.onBars((e) => seen[1]?.push(['bars', e]));
            before.onRejected((e) => seen[1]?.push(['rejected', e]));
          }
          for (const batch of batches) {
            expect(await now.writeBars(batch)).toEqual(await before.writeBars(batch));
            expect(await contents(now)).toEqual(await contents(before));
          }
          expect(seen[0]).toEqual(seen[1]);
          expect(now.stats()).toEqual(before.stats());
          await now.close();
          await before.close();
        },
      ),
      { numRuns: 400 },
    );
  });

  it('planWrite plans exactly as before (property)', () => {
    fc.assert(
      fc.property(batchArb, (batch) => {
        expect(planWrite(batch)).toEqual(planWriteReference(batch));
      }),
      { numRuns: 1000 },
    );
  });
});
