// Memory of the in-process cache per cached bar: fills SYMBOLS x BARS 1m bars (default 2,000 x 5,000,
// the sidecar's MAX_BARS_CACHE) and prints one JSON line with the heap and resident deltas per bar.
// Needs --expose-gc (redis-kb.bench.ts runs it as a child: node --expose-gc --import tsx bench/memory-heap.ts).
// heapUsed does not include typed-array backing stores, so "bytesPerBar" is (heapUsed + arrayBuffers)
// delta / bars: every byte the cache holds, in the V8 heap or beside it.
import { type Bar, TIMEFRAME_MS } from '@pipeline/core';
import { createMemoryHotCache } from '../src/index';

const SYMBOLS = Number(process.env.HEAP_SYMBOLS ?? 2000);
const BARS = Number(process.env.HEAP_BARS ?? 5000);
const T0 = Date.UTC(2024, 0, 2);
const M = TIMEFRAME_MS['1m'];
const SOURCES = ['yahoo', 'polygon', 'twelvedata'] as const;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('memory-heap.ts needs node --expose-gc');

function mkBars(symbol: string, from: number, n: number): Bar[] {
  const out = new Array<Bar>(n);
  for (let k = 0; k < n; k++) {
    const i = from + k;
    const c = 1.1 + ((i * 7919) % 1000) / 10_000;
    out[k] = {
      symbol,
      timeframe: '1m',
      ts: T0 + i * M,
      open: c,
      high: c + 0.001,
      low: c - 0.001,
      close: c + 0.0005,
      volume: i % 977,
      source: SOURCES[i % 3]!,
      final: i % 5 !== 0,
      quality: 0.5 + (i % 50) / 100,
    };
  }
  return out;
}

async function main(): Promise<void> {
  const symbols = Array.from({ length: SYMBOLS }, (_, i) => `S${i}`);
  const cache = createMemoryHotCache({ maxBars: BARS, maxSeries: SYMBOLS });
  gc!();
  gc!();
  const before = process.memoryUsage();
  const t0 = performance.now();
  // Written in chunks of 500 bars per series, round robin, the way a bootstrap fills it.
  for (let from = 0; from < BARS; from += 500) {
    const n = Math.min(500, BARS - from);
    for (const s of symbols) await cache.writeBars(mkBars(s, from, n));
  }
  const fillMs = performance.now() - t0;
  gc!();
  gc!();
  const after = process.memoryUsage();
  const bars = SYMBOLS * BARS;
  let held = 0;
  for (const s of symbols) held += await cache.seriesLength(s, '1m');
  if (held !== bars) throw new Error(`expected ${bars} bars cached, found ${held}`);
  const heap = after.heapUsed - before.heapUsed;
  const external = after.arrayBuffers - before.arrayBuffers;
  console.log(
    JSON.stringify({
      symbols: SYMBOLS,
      barsPerSeries: BARS,
      bars,
      heapUsedPerBar: heap / bars,
      arrayBuffersPerBar: external / bars,
      bytesPerBar: (heap + external) / bars,
      rssMB: after.rss / 2 ** 20,
      rssDeltaMB: (after.rss - before.rss) / 2 ** 20,
      fillBarsPerSec: bars / (fillMs / 1000),
    }),
  );
  await cache.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
