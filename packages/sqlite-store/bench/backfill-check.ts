// The calling thread's cost per bar of handing a backfill to the writer thread (worker mode): the
// check every bar must pass (`barProblem`) and the packing into the transferred array. Before
// c6a4831 they were two passes (check, then `encodeBarList`); `encodeStorableBars` does both in
// one. Each variant runs over the same bars BENCH_ROUNDS times, alternated; min and median printed.
//
//   pnpm --filter @pipeline/sqlite-store exec tsx bench/backfill-check.ts
//   BENCH_SYMBOLS=100 BENCH_DAYS=4 BENCH_ROUNDS=8 (defaults)
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { type Bar } from '@pipeline/core';
import { envNumber } from '@pipeline/test-utils';
import { encodeBarList, encodeStorableBars } from '../src/row-encoding';
import { barProblem } from '../src/schema';

const SYMBOLS = envNumber('BENCH_SYMBOLS', 100);
const DAYS = envNumber('BENCH_DAYS', 4);
const ROUNDS = envNumber('BENCH_ROUNDS', 8);
const T0 = Date.UTC(2026, 10, 1);

/** One backfill per symbol: its days of 1m bars, oldest first (the sidecar's write group). */
function groups(): Bar[][] {
  let seed = 1;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const out: Bar[][] = [];
  for (let s = 0; s < SYMBOLS; s++) {
    const symbol = `SYM${String(s).padStart(5, '0')}`;
    const bars: Bar[] = [];
    for (let i = 0; i < DAYS * 1440; i++) {
      const p = 100 + rand();
      bars.push({
        symbol,
        timeframe: '1m',
        ts: T0 + i * 60_000,
        open: p,
        high: p + rand(),
        low: p - rand(),
        close: p + rand() - 0.5,
        volume: Math.floor(rand() * 1000),
        source: 'synthetic',
        final: true,
        quality: 1,
      });
    }
    out.push(bars);
  }
  return out;
}

const VARIANTS: [string, (bars: readonly Bar[]) => unknown][] = [
  [
    'check every bar, then encodeBarList (before c6a4831)',
    (bars) => {
      for (const bar of bars) if (barProblem(bar) !== null) throw new Error('bad bar');
      return encodeBarList(bars);
    },
  ],
  ['encodeStorableBars (one pass)', (bars) => encodeStorableBars(bars)],
];

function main(): void {
  const data = groups();
  const rows = data.reduce((n, g) => n + g.length, 0);
  const times = new Map<string, number[]>();
  const load0 = loadavg()[0] ?? 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, fn] of VARIANTS) {
      const t0 = performance.now();
      for (const g of data) if (!fn(g)) throw new Error(`${name} refused a good bar`);
      const us = ((performance.now() - t0) * 1000) / rows;
      times.set(name, [...(times.get(name) ?? []), us]);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  console.log(
    `${SYMBOLS} symbols x ${DAYS} days of 1m, one backfill per symbol, ${ROUNDS} rounds alternated; load ${load0.toFixed(2)} -> ${(loadavg()[0] ?? 0).toFixed(2)}`,
  );
  console.table(
    [...times].map(([name, xs]) => ({
      'calling thread': name,
      'us/bar (min)': Number(Math.min(...xs).toFixed(4)),
      'us/bar (median)': Number(median(xs).toFixed(4)),
    })),
  );
}

main();
