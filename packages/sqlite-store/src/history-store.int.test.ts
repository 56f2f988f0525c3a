import Database from 'better-sqlite3';
import { ManualClock, type Bar } from '@pipeline/core';
import { cleanupTempDirs, runHistoryStoreContract, tempSqlitePath } from '@pipeline/test-utils';
import { createSqliteHistoryStore, type SqliteHistoryStore, type WriteMode } from './index';

afterAll(() => cleanupTempDirs());

for (const mode of ['inline', 'worker'] as WriteMode[]) {
  runHistoryStoreContract(`sqlite-store (${mode} mode)`, async () => {
    const path = tempSqlitePath(`contract-${mode}`);
    // A manual clock that the suite never advances: only explicit flush() and close() write.
    const open = (): SqliteHistoryStore =>
      createSqliteHistoryStore({ path, mode, scheduler: new ManualClock(Date.UTC(2024, 0, 1)) });
    const first = open();
    const stores = [first];
    return {
      store: first,
      reopen: async () => {
        const store = open();
        stores.push(store);
        return store;
      },
      cleanup: async () => {
        await Promise.allSettled(stores.map((s) => s.close()));
      },
    };
  });
}

describe('createSqliteHistoryStore', () => {
  it('gives the SQLite-specific API through .sqlite and reports a failed flush as degraded health', async () => {
    const path = tempSqlitePath('adapter');
    const store = createSqliteHistoryStore({ path, busyTimeoutMs: 20, scheduler: new ManualClock(0) });
    try {
      expect(store.kind).toBe('sqlite');
      await store.backfill([
        {
          symbol: 'EURUSD',
          timeframe: '1m',
          ts: 0,
          open: 1,
          high: 1,
          low: 1,
          close: 1,
          volume: 0,
          source: 'yahoo',
          final: true,
          quality: 1,
        },
      ]);
      expect(store.sqlite.coverage()).toEqual([
        { symbol: 'EURUSD', timeframe: '1m', firstTs: 0, lastTs: 0, count: 1 },
      ]);
      store.write([
        {
          symbol: 'EURUSD',
          timeframe: '1m',
          ts: 60_000,
          open: 1,
          high: 1,
          low: 1,
          close: 1,
          volume: 0,
          source: 'yahoo',
          final: true,
          quality: 1,
        },
      ]);
      // A second connection holding the write lock makes the flush fail (SQLITE_BUSY).
      const { default: Database } = await import('better-sqlite3');
      const locker = new Database(path);
      locker.exec('BEGIN IMMEDIATE');
      await expect(store.flush()).rejects.toMatchObject({ code: 'SQLITE_FLUSH_FAILED' });
      expect(store.health()).toMatchObject({
        status: 'degraded',
        lastError: expect.stringMatching(/1 rows failed/),
      });
      expect(store.stats()).toMatchObject({ pending: 1, failedFlushes: 1, mode: 'inline' });
      locker.exec('ROLLBACK');
      locker.close();
      await store.flush();
      expect(store.health()).toEqual({ status: 'ready' });
      expect(await store.latest('EURUSD', '1m')).toHaveLength(2);
    } finally {
      await store.close();
    }
  });
});

describe.each(['inline', 'worker'] as WriteMode[])('createSqliteHistoryStore health (%s mode)', (mode) => {
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

  it('is ready again after the first successful flush, though live rows are pending by then', async () => {
    const path = tempSqlitePath(`adapter-recovery-${mode}`);
    const store = createSqliteHistoryStore({ path, mode, busyTimeoutMs: 20, scheduler: new ManualClock(0) });
    const locker = new Database(path);
    try {
      store.write([bar(0), bar(1)]);
      // A second connection holding the write lock makes the flush fail (SQLITE_BUSY), twice.
      locker.exec('BEGIN IMMEDIATE');
      await expect(store.flush()).rejects.toMatchObject({ code: 'SQLITE_FLUSH_FAILED' });
      store.write([bar(2)]);
      await expect(store.flush()).rejects.toMatchObject({ code: 'SQLITE_FLUSH_FAILED' });
      expect(store.health()).toMatchObject({ status: 'degraded' });
      expect(store.stats()).toMatchObject({ failedFlushes: 2, consecutiveFailures: 2, pending: 3 });
      locker.exec('ROLLBACK');
      // The lock is gone; a bar arrives while the retry is being written (the live loop never pauses).
      const retry = store.flush();
      store.write([bar(3)]);
      await retry;
      expect(store.stats()).toMatchObject({ failedFlushes: 2, consecutiveFailures: 0, pending: 1 });
      expect(store.health()).toEqual({ status: 'ready' });
      expect(await store.latest('EURUSD', '1m')).toHaveLength(3);
    } finally {
      locker.close();
      await store.close();
    }
  });
});
