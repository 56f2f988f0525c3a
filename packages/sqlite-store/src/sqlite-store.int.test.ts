import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { ManualClock } from '@pipeline/core';
import { cleanupTempDirs, tempSqlitePath } from '@pipeline/test-utils';
import { makeBar, makeBars } from '../test/helpers';
import {
  CSV_HEADER,
  SCHEMA_VERSION,
  createSqliteStore,
  isSqliteStoreError,
  type FlushEvent,
  type SqliteStore,
  type SqliteStoreError,
  type SqliteStoreOptions,
  type WriteMode,
} from './index';

const T0 = Date.UTC(2024, 0, 1);
const MIN = 60_000;
const DAY = 86_400_000;

afterAll(() => cleanupTempDirs());

/** Count rows with a separate, plain connection: what another process would see in the file. */
function countRows(path: string, where = '1 = 1'): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(`SELECT COUNT(*) FROM bars WHERE ${where}`).pluck().get() as number;
  } finally {
    db.close();
  }
}

/** Worker-mode flushes finish asynchronously; wait for the next flush event or error. */
function nextFlushOrError(store: SqliteStore): Promise<FlushEvent | SqliteStoreError> {
  return new Promise((resolve) => {
    const a = store.onFlush((e) => {
      a.dispose();
      b.dispose();
      resolve(e);
    });
    const b = store.onError((e) => {
      a.dispose();
      b.dispose();
      resolve(e);
    });
  });
}

describe.each(['inline', 'worker'] as WriteMode[])('SqliteStore (%s mode)', (mode) => {
  const open: SqliteStore[] = [];
  function make(options: Partial<SqliteStoreOptions> = {}): {
    store: SqliteStore;
    path: string;
    clock: ManualClock;
  } {
    const clock = new ManualClock(T0);
    const path = options.path ?? tempSqlitePath(mode);
    const store = createSqliteStore({ path, mode, scheduler: clock, ...options });
    open.push(store);
    return { store, path, clock };
  }
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((s) => s.close()));
  });

  it('writes, flushes and reads the latest bars oldest first', async () => {
    const { store, path } = make();
    expect(store.write(makeBars(120))).toEqual({ accepted: 120, rejected: 0 });
    expect(store.pendingCount).toBe(120);
    expect(countRows(path)).toBe(0);
    const event = await store.flush();
    expect(event).toMatchObject({ rows: 120, mode });
    expect(store.pendingCount).toBe(0);
    expect(countRows(path)).toBe(120);
    const latest = store.latest('EURUSD', '1m', 5);
    expect(latest.map((b) => (b.ts - T0) / MIN)).toEqual([115, 116, 117, 118, 119]);
    expect(latest[4]).toEqual(makeBar(119));
    expect(store.latest('EURUSD', '5m', 5)).toEqual([]);
  });

  it('replaces a forming bar in the buffer and in the file', async () => {
    const { store, path } = make();
    store.write([makeBar(0, { final: false, close: 1.2 })]);
    store.write([makeBar(0, { final: false, close: 1.3 })]);
    expect(store.pendingCount).toBe(1);
    await store.flush();
    store.write([makeBar(0, { final: true, close: 1.4, high: 1.5, source: 'polygon', quality: 0.5 })]);
    await store.flush();
    expect(countRows(path)).toBe(1);
    expect(store.latest('EURUSD', '1m', 10)).toEqual([
      makeBar(0, { final: true, close: 1.4, high: 1.5, source: 'polygon', quality: 0.5 }),
    ]);
  });

  it('flushes on the scheduler every flushIntervalMs and leaves no timer after close', async () => {
    const { store, path, clock } = make({ flushIntervalMs: 10_000 });
    const events: FlushEvent[] = [];
    store.onFlush((e) => events.push(e));
    store.write(makeBars(10));
    clock.advance(9_999);
    expect(events).toHaveLength(0);
    const flushed = nextFlushOrError(store);
    clock.advance(1);
    expect(await flushed).toMatchObject({ rows: 10 });
    expect(countRows(path)).toBe(10);
    expect(store.stats()).toMatchObject({
      flushes: 1,
      flushedRows: 10,
      pending: 0,
      lastFlushAt: T0 + 10_000,
    });
    // The next tick is scheduled once the previous flush has settled (a turn later in worker mode).
    await new Promise((r) => setImmediate(r));
    expect(clock.pendingTimers).toBe(1);
    await store.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('flushes early when the buffer reaches maxPending and never drops rows', async () => {
    const { store, path } = make({ maxPending: 100 });
    const events: FlushEvent[] = [];
    store.onFlush((e) => events.push(e));
    for (let i = 0; i < 1050; i += 50) store.write(makeBars(50, {}, '1m', T0 + i * MIN));
    expect(store.pendingCount).toBeLessThanOrEqual(200);
    await store.close();
    expect(countRows(path)).toBe(1050);
    expect(events.length).toBeGreaterThanOrEqual(10);
    expect(events.reduce((n, e) => n + e.rows, 0)).toBe(1050);
  });

  it('keeps rows pending when a flush fails and writes them on the next flush', async () => {
    const { store, path } = make({ busyTimeoutMs: 20 });
    const errors: SqliteStoreError[] = [];
    store.onError((e) => errors.push(e));
    store.write(makeBars(30));
    // A second connection holding the write lock makes the flush fail with SQLITE_BUSY.
    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE');
    await expect(store.flush()).rejects.toMatchObject({ code: 'SQLITE_FLUSH_FAILED' });
    expect(errors.map((e) => e.code)).toEqual(['SQLITE_FLUSH_FAILED']);
    expect(errors[0]!.data.rows).toBe(30);
    expect(store.pendingCount).toBe(30);
    expect(store.stats().failedFlushes).toBe(1);
    // A newer version of a key written while the failed batch was out must win over the old one.
    store.write([makeBar(3, { close: 9.9, high: 10 })]);
    locker.exec('ROLLBACK');
    locker.close();
    await expect(store.flush()).resolves.toMatchObject({ rows: 30 });
    expect(countRows(path)).toBe(30);
    expect(
      store.range({ symbol: 'EURUSD', timeframe: '1m', from: T0 + 3 * MIN, to: T0 + 4 * MIN })[0]!.close,
    ).toBe(9.9);
  });

  it('counts failures in a row until a flush succeeds again, while rows stay pending', async () => {
    const { store, path } = make({ busyTimeoutMs: 20 });
    store.write(makeBars(10));
    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE');
    await expect(store.flush()).rejects.toMatchObject({ code: 'SQLITE_FLUSH_FAILED' });
    store.write(makeBars(5, {}, '1m', T0 + 10 * MIN));
    await expect(store.flush()).rejects.toMatchObject({ code: 'SQLITE_FLUSH_FAILED' });
    expect(store.stats()).toMatchObject({ failedFlushes: 2, consecutiveFailures: 2, pending: 15 });
    locker.exec('ROLLBACK');
    locker.close();
    // The file takes writes again; bars keep arriving meanwhile, so something is always pending.
    const flushed = store.flush();
    store.write(makeBars(3, {}, '1m', T0 + 15 * MIN));
    await expect(flushed).resolves.toMatchObject({ rows: 15 });
    expect(store.stats()).toMatchObject({ flushes: 1, failedFlushes: 2, consecutiveFailures: 0, pending: 3 });
    expect(countRows(path)).toBe(15);
  });

  it('reports a failed timer flush and retries it on the next tick', async () => {
    const { store, path, clock } = make({ busyTimeoutMs: 20, flushIntervalMs: 1_000 });
    store.write(makeBars(25));
    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE');
    const failed = nextFlushOrError(store);
    clock.advance(1_000);
    expect(await failed).toMatchObject({ code: 'SQLITE_FLUSH_FAILED', data: { rows: 25 } });
    expect(store.pendingCount).toBe(25);
    locker.exec('ROLLBACK');
    locker.close();
    await new Promise((r) => setImmediate(r)); // the next tick is armed once the failure settled
    const flushed = nextFlushOrError(store);
    clock.advance(1_000);
    expect(await flushed).toMatchObject({ rows: 25 });
    expect(countRows(path)).toBe(25);
  });

  it('closes the file even when the final flush fails, and says how many rows were lost', async () => {
    const { store, path } = make({ busyTimeoutMs: 20 });
    store.write(makeBars(40));
    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE');
    try {
      await expect(store.close()).rejects.toMatchObject({ code: 'SQLITE_FLUSH_FAILED', data: { rows: 40 } });
      expect(store.isClosed).toBe(true);
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    expect(countRows(path)).toBe(0);
  });

  it('counts and reports bad bars without throwing', async () => {
    const { store, path } = make();
    const errors: SqliteStoreError[] = [];
    store.onError((e) => errors.push(e));
    const bad = [
      makeBar(1, { close: Number.NaN }),
      makeBar(2, { timeframe: '2m' as never }),
      makeBar(3, { ts: 1.5 }),
      null as never,
    ];
    expect(store.write([makeBar(0), ...bad])).toEqual({ accepted: 1, rejected: 4 });
    expect(await store.backfill([makeBar(10), makeBar(11, { volume: -1 })])).toEqual({
      accepted: 1,
      rejected: 1,
    });
    expect(errors.map((e) => e.code)).toEqual(Array(5).fill('SQLITE_BAD_BAR'));
    expect(errors[0]!.data.key).toBe(`EURUSD|1m|${T0 + MIN}`);
    expect(store.stats().rejectedBars).toBe(5);
    await store.close();
    expect(countRows(path)).toBe(2);
  });

  it('backfills with multi-row statements, replacing existing keys', async () => {
    const { store, path } = make();
    await store.backfill(makeBars(1234));
    expect(countRows(path)).toBe(1234);
    await store.backfill([makeBar(7, { close: 2.5, high: 3 })]);
    expect(countRows(path)).toBe(1234);
    expect(store.range({ symbol: 'EURUSD', timeframe: '1m', from: T0 + 7 * MIN, to: T0 + 8 * MIN })).toEqual([
      makeBar(7, { close: 2.5, high: 3 }),
    ]);
  });

  it('stores every column of statement chunks that share a series and of chunks that mix them', async () => {
    // 4 rows per statement: EURUSD 1m (one source change inside), EURUSD 5m, GBPUSD 1m; chunks that
    // share symbol, timeframe and source take the shared-series statement, the others the plain one.
    const { store } = make({ rowsPerStatement: 4 });
    const bars = [
      ...makeBars(9, {}, '1m').map((b, i) => (i === 6 ? { ...b, source: 'twelvedata' as const } : b)),
      ...makeBars(5, { final: false, quality: 0.25 }, '5m'),
      ...makeBars(8, { symbol: 'GBPUSD', volume: 7 }, '1m'),
    ];
    expect(await store.backfill(bars)).toEqual({ accepted: 22, rejected: 0 });
    // The buffered path too: the same bars a minute later, through a flush.
    const later = bars.map((b) => ({ ...b, ts: b.ts + DAY, close: b.close + 0.5, high: b.high + 1 }));
    store.write(later);
    await store.flush();
    const read = (symbol: string, timeframe: '1m' | '5m') =>
      store.range({ symbol, timeframe, from: T0, to: T0 + 2 * DAY });
    const sortKey = (b: { symbol: string; timeframe: string; ts: number }) =>
      `${b.symbol}|${b.timeframe}|${b.ts}`;
    const expected = [...bars, ...later].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
    expect([...read('EURUSD', '1m'), ...read('EURUSD', '5m'), ...read('GBPUSD', '1m')]).toEqual(expected);
    expect(store.coverage().map((c) => `${c.symbol}|${c.timeframe}`)).toEqual([
      'EURUSD|1m',
      'EURUSD|5m',
      'GBPUSD|1m',
    ]);
  });

  it('answers ranges [from, to), coverage and latest per series', async () => {
    const { store } = make();
    await store.backfill([...makeBars(100), ...makeBars(10, { symbol: 'XAUUSD' }), ...makeBars(5, {}, '5m')]);
    const r = store.range({ symbol: 'EURUSD', timeframe: '1m', from: T0 + 10 * MIN, to: T0 + 20 * MIN });
    expect(r.map((b) => (b.ts - T0) / MIN)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(store.range({ symbol: 'EURUSD', timeframe: '1m', from: T0, to: T0 + 100 * MIN }, 3)).toHaveLength(
      3,
    );
    expect(store.coverage()).toEqual([
      { symbol: 'EURUSD', timeframe: '1m', firstTs: T0, lastTs: T0 + 99 * MIN, count: 100 },
      { symbol: 'EURUSD', timeframe: '5m', firstTs: T0, lastTs: T0 + 20 * MIN, count: 5 },
      { symbol: 'XAUUSD', timeframe: '1m', firstTs: T0, lastTs: T0 + 9 * MIN, count: 10 },
    ]);
    expect(store.coverage({ symbol: 'XAUUSD' })).toHaveLength(1);
    expect(() => store.latest('EURUSD', '7m' as never)).toThrow(
      expect.objectContaining({ code: 'SQLITE_BAD_ARGUMENT' }),
    );
    expect(() => store.range({ symbol: 'EURUSD', timeframe: '1m', from: 5, to: 1 })).toThrow(/from <= to/);
  });

  it('finds gaps against 24x7 and session calendars', async () => {
    const { store } = make();
    const bars = makeBars(60).filter((b) => ![10, 11, 12, 40].includes((b.ts - T0) / MIN));
    await store.backfill(bars);
    expect(store.gaps({ symbol: 'EURUSD', timeframe: '1m', from: T0, to: T0 + 65 * MIN })).toEqual([
      { from: T0 + 10 * MIN, to: T0 + 13 * MIN, missing: 3 },
      { from: T0 + 40 * MIN, to: T0 + 41 * MIN, missing: 1 },
      { from: T0 + 60 * MIN, to: T0 + 65 * MIN, missing: 5 },
    ]);
    // FX, hourly, Friday 2024-01-05 .. Monday 2024-01-08: the weekend is not a gap.
    const fri = Date.UTC(2024, 0, 5);
    await store.backfill(makeBars(22, { symbol: 'FXTEST' }, '1h', fri));
    const fxGaps = store.gaps(
      { symbol: 'FXTEST', timeframe: '1h', from: fri, to: Date.UTC(2024, 0, 8, 2) },
      'fx',
    );
    expect(fxGaps).toEqual([{ from: Date.UTC(2024, 0, 7, 22), to: Date.UTC(2024, 0, 8, 2), missing: 4 }]);
    // us-equity: nothing stored for Monday 2024-01-08 -> one gap of 390 minutes from 14:30 UTC.
    const usGaps = store.gaps(
      { symbol: 'AAPL', timeframe: '1m', from: Date.UTC(2024, 0, 6), to: Date.UTC(2024, 0, 9) },
      'us-equity',
    );
    expect(usGaps).toEqual([
      { from: Date.UTC(2024, 0, 8, 14, 30), to: Date.UTC(2024, 0, 8, 21), missing: 390 },
    ]);
    // A custom calendar function from the caller.
    const everyOther = (from: number, to: number) => [{ from, to: Math.min(to, from + 5 * MIN) }];
    expect(store.gaps({ symbol: 'NONE', timeframe: '1m', from: T0, to: T0 + 60 * MIN }, everyOther)).toEqual([
      { from: T0, to: T0 + 5 * MIN, missing: 5 },
    ]);
  });

  it('tells what a bootstrap still needs', async () => {
    const { store, clock } = make();
    const now = T0 + 3 * DAY + 30 * 1000; // 30 s into a forming bar
    clock.set(now);
    expect(store.needsBootstrap('EURUSD', '1h', 2)).toEqual([
      { from: T0 + DAY, to: T0 + 3 * DAY, missing: 48 },
    ]);
    await store.backfill(makeBars(72, {}, '1h'));
    expect(store.needsBootstrap('EURUSD', '1h', 2)).toEqual([]);
    expect(store.needsBootstrap('EURUSD', '1h', 4, now)).toEqual([{ from: T0 - DAY, to: T0, missing: 24 }]);
    expect(() => store.needsBootstrap('EURUSD', '1h', 0)).toThrow(/days must be a positive number, got 0/);
  });

  it('prunes by retention per timeframe', async () => {
    const { store, path } = make({ retentionMs: { '1m': 60 * MIN } });
    await store.backfill([...makeBars(120), ...makeBars(10, {}, '1h')]);
    const result = store.prune(T0 + 120 * MIN);
    expect(result).toEqual({ deleted: 60, byTimeframe: { '1m': 60 } });
    expect(countRows(path, "timeframe = '1m'")).toBe(60);
    expect(countRows(path, "timeframe = '1h'")).toBe(10);
    expect(store.prune(T0 + 1000 * DAY, { '1h': DAY })).toEqual({ deleted: 10, byTimeframe: { '1h': 10 } });
    expect(store.coverage({ timeframe: '1h' })).toEqual([]);
  });

  it('exports a range as CSV to a file and to a stream, paging through the rows', async () => {
    const { store, path } = make({ exportPageRows: 7 });
    await store.backfill([...makeBars(30), ...makeBars(30, { symbol: 'XAUUSD' })]);
    const file = `${path}.csv`;
    const q = { symbol: 'EURUSD', timeframe: '1m' as const, from: T0 + 5 * MIN, to: T0 + 25 * MIN };
    expect(await store.exportCsv(q, file)).toEqual({ rows: 20 });
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('ts,open,high,low,close,volume,symbol,timeframe');
    expect(lines[0]).toBe(CSV_HEADER);
    expect(lines).toHaveLength(21);
    const b = makeBar(5);
    expect(lines[1]).toBe(`${b.ts},${b.open},${b.high},${b.low},${b.close},${b.volume},EURUSD,1m`);
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    expect(await store.exportCsv({ ...q, symbol: 'XAUUSD', from: T0, to: T0 + 30 * MIN }, sink)).toEqual({
      rows: 30,
    });
    expect(Buffer.concat(chunks).toString().trimEnd().split('\n')).toHaveLength(31);
    await expect(store.exportCsv(q, '/nonexistent-dir/x.csv')).rejects.toMatchObject({
      code: 'SQLITE_EXPORT_FAILED',
    });
  });

  it('keeps JSON state by key across reopen', async () => {
    const { store, path } = make();
    expect(store.getState('bootstrap:EURUSD')).toBeUndefined();
    store.setState('bootstrap:EURUSD', { doneTo: T0, chunks: [1, 2] });
    store.setState('breaker:yahoo', 'open');
    expect(store.deleteState('breaker:yahoo')).toBe(true);
    expect(store.deleteState('breaker:yahoo')).toBe(false);
    expect(() => store.setState('x', undefined)).toThrow(
      expect.objectContaining({ code: 'SQLITE_BAD_ARGUMENT' }),
    );
    await store.close();
    const again = make({ path });
    expect(again.store.getState('bootstrap:EURUSD')).toEqual({ doneTo: T0, chunks: [1, 2] });
  });

  it('flushes everything on close and refuses use afterwards', async () => {
    const { store, path } = make();
    store.write(makeBars(500));
    await store.close();
    await store.close(); // idempotent
    expect(countRows(path)).toBe(500);
    let thrown: unknown;
    try {
      store.write([makeBar(1)]);
    } catch (e) {
      thrown = e;
    }
    expect(isSqliteStoreError(thrown, 'SQLITE_CLOSED')).toBe(true);
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('refuses a file from a newer schema version', () => {
    const path = tempSqlitePath('newer');
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => make({ path })).toThrow(expect.objectContaining({ code: 'SQLITE_MIGRATION_FAILED' }));
  });

  it('reports an unopenable path as SQLITE_OPEN_FAILED', () => {
    expect(() => make({ path: '/nonexistent-dir/sub/x.db' })).toThrow(
      expect.objectContaining({ code: 'SQLITE_OPEN_FAILED' }),
    );
  });
});

describe('SqliteStore worker mode specifics', () => {
  it('falls back to writing inline when the writer thread dies, losing nothing', async () => {
    const path = tempSqlitePath('worker-death');
    const store = createSqliteStore({ path, mode: 'worker', scheduler: new ManualClock(T0) });
    const errors: SqliteStoreError[] = [];
    store.onError((e) => errors.push(e));
    store.write(makeBars(100));
    await store.flush();
    // Kill the thread the way a native crash would: no goodbye message.
    const worker = (store as unknown as { worker: { terminate(): Promise<number> } }).worker;
    await worker.terminate();
    store.write(makeBars(50, {}, '1m', T0 + 100 * MIN));
    await store.flush();
    expect(errors.map((e) => e.code)).toContain('SQLITE_WORKER_FAILED');
    expect(store.stats()).toMatchObject({ workerFallback: true, pending: 0 });
    await store.close();
    expect(countRows(path)).toBe(150);
  });

  it('gives the rows of failed jobs back with the newest version of each key winning (a later job, then the buffer)', async () => {
    const path = tempSqlitePath('worker-requeue');
    const store = createSqliteStore({
      path,
      mode: 'worker',
      busyTimeoutMs: 300,
      scheduler: new ManualClock(T0),
    });
    const errors: SqliteStoreError[] = [];
    store.onError((e) => errors.push(e));
    // The first job waits for the lock on the thread, the second queues behind it; the thread then dies.
    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE');
    store.write(makeBars(5));
    const first = store.flush();
    store.write([makeBar(2, { close: 7.7 }), makeBar(5)]);
    const second = store.flush();
    store.write([makeBar(4, { close: 8.8 })]);
    const worker = (store as unknown as { worker: { terminate(): Promise<number> } }).worker;
    await worker.terminate();
    await expect(first).rejects.toMatchObject({ code: 'SQLITE_FLUSH_FAILED' });
    await expect(second).rejects.toMatchObject({ code: 'SQLITE_FLUSH_FAILED' });
    expect(errors.map((e) => e.code)).toContain('SQLITE_WORKER_FAILED');
    // Six keys: the first job's five (key 2 newer in the second job, key 4 newer in the buffer) and key 5.
    expect(store.pendingCount).toBe(6);
    locker.exec('ROLLBACK');
    locker.close();
    await store.close();
    const closes = new Database(path, { readonly: true })
      .prepare('SELECT close FROM bars ORDER BY ts')
      .pluck()
      .all() as number[];
    expect(closes).toEqual([
      makeBar(0).close,
      makeBar(1).close,
      7.7,
      makeBar(3).close,
      8.8,
      makeBar(5).close,
    ]);
  });

  it('blocks write() only when the worker is a full buffer behind (back-pressure)', async () => {
    const path = tempSqlitePath('worker-bp');
    const store = createSqliteStore({
      path,
      mode: 'worker',
      maxPending: 200,
      scheduler: new ManualClock(T0),
    });
    // Spy only (calls through): shows write() really waited on the writer thread.
    const wait = jest.spyOn(Atomics, 'wait');
    for (let i = 0; i < 20_000; i += 100) {
      store.write(makeBars(100, {}, '1m', T0 + i * MIN));
      // Buffered plus in flight never exceeds two buffers.
      expect(store.pendingCount).toBeLessThan(2 * 200 + 100);
    }
    expect(wait).toHaveBeenCalled();
    wait.mockRestore();
    await store.close();
    expect(countRows(path)).toBe(20_000);
  });
});
