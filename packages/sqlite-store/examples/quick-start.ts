// Quick start of @pipeline/sqlite-store (also run by src/quick-start.int.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore, type Bar } from '@pipeline/sqlite-store';

const dir = mkdtempSync(join(tmpdir(), 'quick-start-'));
const store = createSqliteStore({
  path: join(dir, 'pipeline.db'),
  flushIntervalMs: 10_000, // BATCH_WRITE_INTERVAL=10
  mode: 'worker', // flushes run on a worker thread; 'inline' is the default
  calendar: 'fx',
});
store.onFlush(({ rows, ms }) => console.log(`flushed ${rows} rows in ${ms.toFixed(1)} ms`));
store.onError((error) => console.error(error.code, error.message));

const t0 = Date.UTC(2024, 0, 2, 10, 0); // a Tuesday
const bar = (i: number, close: number, final = true): Bar => ({
  symbol: 'EURUSD',
  timeframe: '1m',
  ts: t0 + i * 60_000,
  open: 1.1,
  high: 1.2,
  low: 1.0,
  close,
  volume: 0,
  source: 'yahoo',
  final,
  quality: 1,
});

// Live path: buffered, flushed every flushIntervalMs and on close. The forming bar is replaced.
store.write([bar(0, 1.15), bar(1, 1.16, false)]);
store.write([bar(1, 1.17)]);
console.log('pending', store.pendingCount); // 2
await store.flush();

// Bootstrap path: straight to the file, 50 rows per statement.
await store.backfill([bar(5, 1.18), bar(6, 1.19)]);

console.log(store.latest('EURUSD', '1m', 3).map((b) => b.close)); // [ 1.17, 1.18, 1.19 ]
console.log(store.gaps({ symbol: 'EURUSD', timeframe: '1m', from: t0, to: t0 + 7 * 60_000 }));
// [ { from: t0 + 2 min, to: t0 + 5 min, missing: 3 } ]  -> refetch exactly that range

store.setState('bootstrap:EURUSD:1m', { doneTo: t0 });
await store.exportCsv(
  { symbol: 'EURUSD', timeframe: '1m', from: t0, to: t0 + 7 * 60_000 },
  join(dir, 'eurusd.csv'),
);
await store.close(); // flushes what is pending
rmSync(dir, { recursive: true, force: true });
