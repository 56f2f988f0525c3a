// The HistoryStore port over SQLite (README "The HistoryStore adapter"; src/quick-start.int.test.ts runs it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteHistoryStore, type Bar, type HistoryStore } from '@pipeline/sqlite-store';

const dir = mkdtempSync(join(tmpdir(), 'history-'));
// Code that takes a HistoryStore runs unchanged on @pipeline/pg-store.
const history: HistoryStore = createSqliteHistoryStore({ path: join(dir, 'pipeline.db'), mode: 'worker' });
history.onError((error) => console.error(error.code, error.message));

const t0 = Date.UTC(2024, 0, 2, 10, 0);
const bar = (i: number, close: number): Bar => ({
  symbol: 'EURUSD',
  timeframe: '1m',
  ts: t0 + i * 60_000,
  open: 1.1,
  high: 1.2,
  low: 1.0,
  close,
  volume: 0,
  source: 'yahoo',
  final: true,
  quality: 1,
});

history.write([bar(0, 1.15), bar(1, 1.16)]); // buffered
await history.flush();
console.log('written', await history.backfill([bar(3, 1.18)])); // 1
console.log((await history.latest('EURUSD', '1m', 10)).map((b) => b.close)); // [ 1.15, 1.16, 1.18 ]
console.log(await history.gaps({ symbol: 'EURUSD', timeframe: '1m', from: t0, to: t0 + 4 * 60_000 }, 'fx'));
await history.setState('bootstrap:EURUSD:1m', { doneTo: t0 });
console.log(history.health(), history.stats().pending); // { status: 'ready' } 0
await history.close();
rmSync(dir, { recursive: true, force: true });
