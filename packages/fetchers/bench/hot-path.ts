// Per-call cost of the synthetic source on the sidecar's hot path (issue 16): `fetchLatestMany` of
// 100 symbols with limit 3 on 1m bars (the sidecar's LATEST_LIMIT), over 20,000 symbols, the clock
// one second further each cycle; per symbol. How it measures: bench/measure.ts.
// Run: pnpm --filter @pipeline/fetchers bench:hot
import { ManualClock } from '@pipeline/core';
import { createSyntheticFetcher } from '../src/synthetic/index';
import { measureCycles as measure } from '@pipeline/test-utils';

const SYMBOLS = Number(process.env.BENCH_SYMBOLS ?? 20_000);
const BATCH = 100;

const clock = new ManualClock(Date.UTC(2026, 11, 5, 10, 0, 0) + 250);
const fetcher = createSyntheticFetcher({ clock });
const symbols = Array.from({ length: SYMBOLS }, (_, i) => `SYM${i}`);
const batches: string[][] = [];
for (let i = 0; i < SYMBOLS; i += BATCH) batches.push(symbols.slice(i, i + BATCH));

let kept: unknown = null;
const cost = await measure(
  SYMBOLS,
  async () => {
    for (const b of batches) kept = await fetcher.fetchLatestMany({ symbols: b, timeframe: '1m', limit: 3 });
  },
  { prepare: () => clock.advance(1000) },
);
void kept;
console.log(
  JSON.stringify({ bench: 'fetchers: fetchLatestMany(100 symbols, 1m, limit 3), per symbol', ...cost }),
);
