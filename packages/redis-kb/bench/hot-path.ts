// Per-bar cost of the in-process cache's write on the sidecar's hot path (issue 16): 20,000 series
// (maxSeries 80,000 as the sidecar sets it for 20,000 symbols) warmed with 40 bars, then each cycle
// one writeBars of 20,000 bars, one per series, mostly replacing the forming bar (a new bar every 60
// cycles); and planWrite alone on the same batch (the Redis cache's planning step). Each is measured
// for the current code and for the implementation before the issue-16 rework (test/reference/), in
// the same process. How it measures: bench/measure.ts.
// Run: pnpm --filter @pipeline/redis-kb bench:hot
import { type Bar } from '@pipeline/core';
import { createMemoryHotCache as createBefore } from '../test/reference/memory-hot-cache';
import { planWrite as planWriteBefore } from '../test/reference/write-plan';
import { createMemoryHotCache } from '../src/memory-hot-cache';
import { planWrite } from '../src/write-plan';
import { measureCycles as measure } from '@pipeline/test-utils';

const SYMBOLS = Number(process.env.BENCH_SYMBOLS ?? 20_000);
const T0 = Date.UTC(2026, 11, 5, 9, 0, 0);
const symbols = Array.from({ length: SYMBOLS }, (_, i) => `SYM${i}`);
const bar = (i: number, t: number): Bar => {
  const ts = t - (t % 60_000);
  const close = 100 + Math.sin(i + t / 7e5);
  return {
    symbol: symbols[i] ?? '',
    timeframe: '1m',
    ts,
    open: 100,
    high: close + 1,
    low: close - 1,
    close,
    volume: 1000 + (t % 60_000) / 100,
    source: 'synthetic',
    final: false,
    quality: 1,
  };
};

async function writes(name: string, create: typeof createMemoryHotCache): Promise<void> {
  const cache = create({ maxSeries: SYMBOLS * 4, maxSymbols: SYMBOLS });
  for (let k = 40; k > 0; k--) await cache.writeBars(symbols.map((_, i) => bar(i, T0 - k * 60_000)));
  let t = T0;
  let batch: Bar[] = [];
  const cost = await measure(SYMBOLS, () => void cache.writeBars(batch), {
    prepare: () => {
      t += 1000;
      batch = symbols.map((_, i) => bar(i, t));
    },
  });
  console.log(
    JSON.stringify({ bench: `redis-kb: memory cache writeBars(20,000 bars), per bar, ${name}`, ...cost }),
  );
  await cache.close();
}

async function plans(name: string, plan: typeof planWrite): Promise<void> {
  const batch = symbols.map((_, i) => bar(i, T0));
  let kept: unknown = null;
  const cost = await measure(SYMBOLS, () => {
    kept = plan(batch);
  });
  void kept;
  console.log(JSON.stringify({ bench: `redis-kb: planWrite(20,000 bars), per bar, ${name}`, ...cost }));
}

await writes('before', createBefore);
await writes('now', createMemoryHotCache);
await plans('before', planWriteBefore);
await plans('now', planWrite);
