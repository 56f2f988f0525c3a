// /health's store state over a real SQLite file whose flush is made to fail by a second connection
// holding the write lock: failing while flushes fail, up again after the first one that succeeds,
// although live bars keep rows pending (the rule "failed flushes ever, and rows pending" stayed
// failing for good after one transient error).
import { createRequire } from 'node:module';
import { ManualClock, type Bar } from '@pipeline/core';
import { createSqliteHistoryStore } from '@pipeline/sqlite-store';
import { cleanupTempDirs, tempSqlitePath } from '@pipeline/test-utils';
import { storeState } from './health';

// The second connection uses the store's own better-sqlite3 (the sidecar does not depend on it directly).
const requireFromStore = createRequire(require.resolve('@pipeline/sqlite-store'));
const Database = requireFromStore('better-sqlite3') as new (path: string) => {
  exec(sql: string): void;
  close(): void;
};

afterAll(() => cleanupTempDirs());

const bar = (minute: number): Bar => ({
  symbol: 'EURUSD',
  timeframe: '1m',
  ts: minute * 60_000,
  open: 1,
  high: 1,
  low: 1,
  close: 1,
  volume: 0,
  source: 'yahoo',
  final: true,
  quality: 1,
});

describe.each(['inline', 'worker'] as const)('storeState of a SQLite store (%s mode)', (mode) => {
  it('is failing while flushes fail and up after one succeeds, with rows pending again', async () => {
    const path = tempSqlitePath(`store-state-${mode}`);
    const store = createSqliteHistoryStore({ path, mode, busyTimeoutMs: 20, scheduler: new ManualClock(0) });
    const locker = new Database(path);
    try {
      store.write([bar(0)]);
      expect(storeState(store)).toBe('up');
      locker.exec('BEGIN IMMEDIATE');
      await expect(store.flush()).rejects.toMatchObject({ code: 'SQLITE_FLUSH_FAILED' });
      expect(storeState(store)).toBe('failing');
      locker.exec('ROLLBACK');
      const retry = store.flush();
      store.write([bar(1)]); // the next live bar, buffered while the retry is written
      await retry;
      expect(store.stats()).toMatchObject({ failedFlushes: 1, pending: 1 });
      expect(storeState(store)).toBe('up');
    } finally {
      locker.close();
      await store.close();
    }
  });
});
