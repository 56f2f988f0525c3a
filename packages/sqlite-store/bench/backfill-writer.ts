// CPU per row of the writer thread for the sidecar bootstrap's write patterns (issue 16): worker mode,
// 1m bars, symbols in order; one backfill() (one transaction) per symbol and day (1,440 rows), or
// one per symbol (all its days, the sidecar's write group since 7bf31e2).
// Each chunk order is run BENCH_ROUNDS times, alternated; the writer thread's CPU comes from
// /proc/self/task (Linux), the caller's (packing and handing over) from its own thread.
//
//   pnpm --filter @pipeline/sqlite-store exec tsx bench/backfill-writer.ts
//   BENCH_SYMBOLS=200 BENCH_DAYS=4 BENCH_ROUNDS=3 (defaults)
//
// "newest first" was the sidecar's write order until 7bf31e2 (each symbol's days newest first, one
// transaction each): every chunk but a symbol's first lands before rows already stored, and SQLite
// seeks each row from the root. "oldest first" appends every row at the end of the table, where SQLite
// skips the descent: it shows what the order costs. "one group per symbol" is what the sidecar does
// now: the days still fetched newest first, written together, oldest bar first, in one transaction.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Bar } from '@pipeline/core';
import { envNumber } from '@pipeline/test-utils';
import { createSqliteStore } from '../src/index';

const SYMBOLS = envNumber('BENCH_SYMBOLS', 200);
const DAYS = envNumber('BENCH_DAYS', 4);
const ROUNDS = envNumber('BENCH_ROUNDS', 3);
const DAY_BARS = 1440;
const T0 = Date.UTC(2026, 10, 1);

/** CPU seconds of each thread of this process, by thread id. */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(tid, (Number(f[11]) + Number(f[12])) / 100);
  }
  return out;
}

/** One day of one symbol's 1m bars (prices from a fixed-seed generator). */
function day(symbol: string, d: number, rand: () => number): Bar[] {
  const bars: Bar[] = [];
  for (let i = 0; i < DAY_BARS; i++) {
    const p = 100 + rand();
    bars.push({
      symbol,
      timeframe: '1m',
      ts: T0 + (d * DAY_BARS + i) * 60_000,
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
  return bars;
}

const ORDERS = ['newest first', 'oldest first', 'one group per symbol'] as const;
type Order = (typeof ORDERS)[number];

async function run(order: Order, dir: string): Promise<{ writer: number; caller: number }> {
  const store = createSqliteStore({ path: join(dir, `${order.replaceAll(' ', '-')}.db`), mode: 'worker' });
  let seed = 1;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const before = threadCpu();
  for (let s = 0; s < SYMBOLS; s++) {
    const symbol = `SYM${String(s).padStart(5, '0')}`;
    if (order === 'one group per symbol') {
      // Generated newest day first (the sidecar's fetch order), handed over oldest bar first.
      const days: Bar[][] = [];
      for (let k = DAYS - 1; k >= 0; k--) days.unshift(day(symbol, k, rand));
      await store.backfill(days.flat());
    } else
      for (let k = 0; k < DAYS; k++)
        await store.backfill(day(symbol, order === 'newest first' ? DAYS - 1 - k : k, rand));
  }
  const after = threadCpu();
  await store.close();
  let writer = 0;
  let caller = 0;
  for (const [tid, s] of after) {
    const d = s - (before.get(tid) ?? 0);
    if (tid === String(process.pid)) caller = d;
    else writer = Math.max(writer, d);
  }
  const rows = SYMBOLS * DAYS * DAY_BARS;
  return { writer: (writer * 1e6) / rows, caller: (caller * 1e6) / rows };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'backfill-writer-'));
  const load0 = loadavg()[0] ?? 0;
  const results: Record<string, { writer: number[]; caller: number[] }> = {};
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const order of ORDERS) {
        const { writer, caller } = await run(order, dir);
        const slot = (results[order] ??= { writer: [], caller: [] });
        slot.writer.push(writer);
        slot.caller.push(caller);
        rmSync(join(dir, `${order.replaceAll(' ', '-')}.db`), { force: true });
        for (const ext of ['-wal', '-shm'])
          rmSync(join(dir, `${order.replaceAll(' ', '-')}.db${ext}`), { force: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  console.log(
    `${SYMBOLS} symbols x ${DAYS} days of 1m, one backfill per symbol and day (one per symbol for the group), ${ROUNDS} rounds alternated; load ${load0.toFixed(2)} -> ${(loadavg()[0] ?? 0).toFixed(2)}`,
  );
  console.table(
    Object.entries(results).map(([order, r]) => ({
      order,
      'writer thread us/row (median)': Number(median(r.writer).toFixed(3)),
      'writer us/row (min)': Number(Math.min(...r.writer).toFixed(3)),
      'calling thread us/row (median)': Number(median(r.caller).toFixed(3)),
    })),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
