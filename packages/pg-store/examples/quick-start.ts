import { createPgStore, type Bar } from '@pipeline/pg-store';

const store = createPgStore({
  url: process.env.HISTORY_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  flushIntervalMs: 10_000, // BATCH_WRITE_INTERVAL=10
  maxPending: 100_000, // beyond it write() throws PG_BUFFER_FULL instead of growing without bound
  calendar: 'fx',
  retentionMs: { '1m': 90 * 86_400_000 }, // prune() keeps 90 days of 1m bars
});
store.onFlush(({ rows, ms }) => console.log(`flushed ${rows} rows in ${ms.toFixed(1)} ms`));
store.onError((error) => console.error(error.code, error.message));
await store.ready(); // connects, migrates (once, however many sidecars start), creates partitions

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
console.log('pending', store.stats().pending); // 2
await store.flush();

// Bootstrap path: COPY (straight into the table when the range is empty, else via staging + upsert).
console.log('backfilled', await store.backfill([bar(5, 1.18), bar(6, 1.19)])); // 2

console.log((await store.latest('EURUSD', '1m', 3)).map((b) => b.close)); // [ 1.17, 1.18, 1.19 ]
console.log(await store.gaps({ symbol: 'EURUSD', timeframe: '1m', from: t0, to: t0 + 7 * 60_000 }));
// [ { from: t0 + 2 min, to: t0 + 5 min, missing: 3 } ]  -> refetch exactly that range

await store.setState('bootstrap:EURUSD:1m', { doneTo: t0 });
console.log(await store.getState('bootstrap:EURUSD:1m')); // { doneTo: 1704189600000 }
console.log(store.health()); // { status: 'ready' }
await store.close(); // flushes what is pending, ends the pool
