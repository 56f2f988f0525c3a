import { ManualClock, TIMEFRAME_MS, type Bar, type HistoryCalendar, type Timeframe } from '@pipeline/core';
import { createSqliteHistoryStore } from '@pipeline/sqlite-store';
import { cleanupTempDirs, contractBar, tempSqlitePath } from '@pipeline/test-utils';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../test/pg';
import { isPgStoreError } from './errors';
import { createPgStore, type PgStore } from './pg-store';
import { SCHEMA_VERSION, partitionName } from './schema';

const T0 = Date.UTC(2024, 0, 1); // a Monday
const MIN = 60_000;
const DAY = 86_400_000;

let db: TestDatabase;
const open: PgStore[] = [];

beforeAll(async () => {
  db = await createTestDatabase('pgstore_int');
});
afterAll(async () => {
  await Promise.allSettled(open.map((s) => s.close()));
  await db.drop();
  cleanupTempDirs();
});

/** A store on its own schema of the file's database, so tests do not see each other's rows. */
let schemaSeq = 0;
function store(extra: Partial<Parameters<typeof createPgStore>[0]> = {}): PgStore {
  const s = createPgStore({
    url: db.url,
    schema: `t${++schemaSeq}`,
    flushIntervalMs: 3_600_000,
    poolSize: 2,
    ...extra,
  });
  open.push(s);
  return s;
}

/** Deterministic pseudo-random numbers (tests must not flake). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('gaps() in SQL equals sqlite-store gaps() for the same rows', () => {
  const cases: { calendar: HistoryCalendar; tf: Timeframe; from: number; days: number }[] = [
    { calendar: '24x7', tf: '1m', from: T0 + 17 * MIN + 13_000, days: 2 },
    { calendar: 'fx', tf: '1m', from: Date.UTC(2024, 0, 4, 20), days: 5 },
    { calendar: 'fx', tf: '1h', from: Date.UTC(2024, 2, 1), days: 40 },
    { calendar: 'fx', tf: '1d', from: Date.UTC(2024, 0, 1), days: 60 },
    { calendar: 'fx', tf: '4h', from: Date.UTC(2024, 5, 1, 3), days: 30 },
    // Across both US DST changes of 2024 (March 10, November 3).
    { calendar: 'us-equity', tf: '1m', from: Date.UTC(2024, 2, 7), days: 6 },
    { calendar: 'us-equity', tf: '5m', from: Date.UTC(2024, 9, 30), days: 8 },
    { calendar: 'us-equity', tf: '1h', from: Date.UTC(2024, 2, 1), days: 20 },
    { calendar: 'us-equity', tf: '30m', from: Date.UTC(2024, 10, 1), days: 7 },
    { calendar: 'us-equity', tf: '1d', from: Date.UTC(2024, 0, 1), days: 90 },
  ];

  it.each(cases)('$calendar $tf over $days days', async ({ calendar, tf, from, days }) => {
    const pgStore = store();
    const sqlite = createSqliteHistoryStore({ path: tempSqlitePath('gaps'), scheduler: new ManualClock(0) });
    try {
      const step = TIMEFRAME_MS[tf];
      const to = from + days * DAY + 7 * MIN;
      const rnd = lcg(days * 7919 + step);
      // Every aligned slot (open or closed hours) stored with probability ~0.7, in runs.
      const bars: Bar[] = [];
      let keep = true;
      for (let ts = from - (from % step); ts < to; ts += step) {
        if (rnd() < 0.15) keep = !keep;
        if (keep) bars.push(contractBar(0, { symbol: 'GAPS', timeframe: tf, ts }));
      }
      await pgStore.backfill(bars);
      await sqlite.backfill(bars);
      const q = { symbol: 'GAPS', timeframe: tf, from, to };
      const expected = await sqlite.gaps(q, calendar);
      expect(expected.length).toBeGreaterThan(0); // the case exercises something
      expect(await pgStore.gaps(q, calendar)).toEqual(expected);
      // An empty series: the whole calendar range is one or more gaps.
      const empty = { ...q, symbol: 'NONE' };
      expect(await pgStore.gaps(empty, calendar)).toEqual(await sqlite.gaps(empty, calendar));
    } finally {
      await sqlite.close();
    }
  });

  it('uses the calendar option when the call passes none', async () => {
    const s = store({ calendar: 'fx' });
    const sat = Date.UTC(2024, 0, 6);
    expect(await s.gaps({ symbol: 'X', timeframe: '1h', from: sat, to: sat + DAY })).toEqual([]);
    await expect(
      s.gaps({ symbol: 'X', timeframe: '1h', from: sat, to: sat + DAY }, 'lse' as HistoryCalendar),
    ).rejects.toMatchObject({ code: 'PG_BAD_ARGUMENT' });
  });
});

describe('schema: migrations, partitions, retention', () => {
  it('N stores starting at once on an empty schema migrate exactly once', async () => {
    const schema = `race${Date.now() % 100000}`;
    const stores = Array.from({ length: 6 }, () => createPgStore({ url: db.url, schema, poolSize: 1 }));
    open.push(...stores);
    await Promise.all(stores.map((s) => s.ready()));
    expect(await stores[0]!.migrations()).toEqual([{ version: 1, name: 'bars, kv' }]);
    expect(SCHEMA_VERSION).toBe(1);
    // Every one of them can write and sees the others' rows.
    await Promise.all(stores.map((s, i) => s.backfill([contractBar(i)])));
    expect(await stores[5]!.latest('EURUSD', '1m', 10)).toHaveLength(6);
  });

  it('refuses a schema written by a newer version of the package', async () => {
    const s = store();
    await s.ready();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query(`INSERT INTO ${s.options.schema}.schema_migrations (version, name) VALUES (99, 'future')`);
    await c.end();
    const again = store({ schema: s.options.schema });
    await expect(again.ready()).rejects.toMatchObject({
      code: 'PG_MIGRATION_FAILED',
      message: expect.stringMatching(/version 99, newer than this package/),
    });
    expect(again.health().status).toBe('degraded');
  });

  it('creates the current month and partitionsAhead months at start, and old months on demand', async () => {
    const clock = new ManualClock(Date.UTC(2025, 10, 15));
    const s = store({ scheduler: clock, partitionsAhead: 3 });
    await s.ready();
    expect(s.partitioning).toBe('native');
    expect(await s.partitions()).toEqual([
      'bars_y2025m11',
      'bars_y2025m12',
      'bars_y2026m01',
      'bars_y2026m02',
    ]);
    // A backfill of 2023 history creates exactly the months it touches.
    const old = [
      contractBar(0, { ts: Date.UTC(2023, 4, 31, 23, 59) }),
      contractBar(0, { ts: Date.UTC(2023, 6, 1) }),
    ];
    expect(await s.backfill(old)).toBe(2);
    // Live writes too.
    s.write([contractBar(0, { ts: Date.UTC(2020, 1, 29) })]);
    await s.flush();
    expect(await s.partitions()).toEqual([
      'bars_y2020m02',
      'bars_y2023m05',
      'bars_y2023m07',
      'bars_y2025m11',
      'bars_y2025m12',
      'bars_y2026m01',
      'bars_y2026m02',
    ]);
    expect(s.stats().partitionsCreated).toBe(7);
    // The rows sit in the partitions of their months.
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const { rows } = await c.query(
      `SELECT count(*)::int AS n FROM ${s.options.schema}.${partitionName(Date.UTC(2023, 4, 1))}`,
    );
    await c.end();
    expect(rows[0].n).toBe(1);
  });

  it('prune() drops whole expired partitions and deletes expired rows elsewhere, per timeframe', async () => {
    const now = Date.UTC(2024, 5, 15);
    const s = store({ scheduler: new ManualClock(now), partitionsAhead: 0 });
    const jan = Array.from({ length: 10 }, (_, i) => contractBar(i, { ts: Date.UTC(2024, 0, 10) + i * MIN }));
    const mar1m = Array.from({ length: 10 }, (_, i) =>
      contractBar(i, { ts: Date.UTC(2024, 2, 10) + i * MIN }),
    );
    const mar1d = [contractBar(0, { timeframe: '1d', ts: Date.UTC(2024, 2, 10) })];
    const may = Array.from({ length: 10 }, (_, i) => contractBar(i, { ts: Date.UTC(2024, 4, 30) + i * MIN }));
    await s.backfill([...jan, ...mar1m, ...mar1d, ...may]);
    // Keep 1m bars 60 days, 1d bars forever: January goes whole; March keeps its daily bar, so
    // only its minute rows are deleted; May is inside the window.
    const result = await s.prune(now, { '1m': 60 * DAY });
    expect(result).toEqual({ deleted: 10, droppedPartitions: ['bars_y2024m01'] });
    expect(await s.partitions()).toEqual(['bars_y2024m03', 'bars_y2024m05', 'bars_y2024m06']);
    expect(await s.latest('EURUSD', '1m', 100)).toEqual(may);
    expect(await s.latest('EURUSD', '1d', 100)).toEqual(mar1d);
    // The dropped month is recreated on demand when history for it arrives again.
    expect(await s.backfill(jan.slice(0, 1))).toBe(1);
    expect(await s.partitions()).toContain('bars_y2024m01');
    // retentionMs option is the default; nothing configured means nothing pruned.
    expect(await store().prune(now)).toEqual({ deleted: 0, droppedPartitions: [] });
  });

  it('backfill COPYs straight into an empty range and goes through staging (replacing) otherwise', async () => {
    const s = store();
    const bars = Array.from({ length: 3000 }, (_, i) => contractBar(i));
    expect(await s.backfill(bars)).toBe(3000);
    expect(s.stats()).toMatchObject({ backfilledRows: 3000, stagedRows: 0 });
    // Re-backfill of an overlapping range with changed values replaces, never duplicates.
    const changed = bars.slice(1000, 2000).map((b) => ({ ...b, close: b.close + 1, high: b.high + 1 }));
    expect(await s.backfill(changed)).toBe(1000);
    expect(s.stats()).toMatchObject({ backfilledRows: 4000, stagedRows: 1000 });
    const all = await s.range({ symbol: 'EURUSD', timeframe: '1m', from: T0, to: T0 + 10_000 * MIN });
    expect(all).toHaveLength(3000);
    expect(all.slice(1000, 2000)).toEqual(changed);
    expect(all[999]).toEqual(bars[999]);
    // method 'staging' forces the replace path; duplicate keys in one call keep the last.
    expect(
      await s.backfill([contractBar(5, { close: 9, high: 9 }), contractBar(5, { close: 8, high: 9 })], {
        method: 'staging',
      }),
    ).toBe(1);
    expect(
      (await s.range({ symbol: 'EURUSD', timeframe: '1m', from: T0 + 5 * MIN, to: T0 + 6 * MIN }))[0]!.close,
    ).toBe(8);
  });

  it('stores symbols and sources with COPY special characters intact', async () => {
    const s = store();
    const odd = contractBar(0, { symbol: 'A\\B\tC\nD\rE', source: 'x\\y' as Bar['source'] });
    await s.backfill([odd]);
    await s.backfill([{ ...odd, close: 1.3, high: 1.4 }]); // staging path too
    expect(await s.latest(odd.symbol, '1m')).toEqual([{ ...odd, close: 1.3, high: 1.4 }]);
    // And the live path's array literals (quotes, backslashes, braces, commas).
    const live = [
      contractBar(1, { symbol: 'A\\B\tC\nD\rE', source: 'x\\y' as Bar['source'], final: false }),
      contractBar(2, { symbol: 'q"u{o},te', source: '"' as Bar['source'], volume: 1e21, close: -0.5e-300 }),
      contractBar(3, { symbol: 'NULL', source: 'NULL' as Bar['source'] }),
    ];
    s.write(live);
    await s.flush();
    expect(await s.latest(live[0]!.symbol, '1m')).toEqual([{ ...odd, close: 1.3, high: 1.4 }, live[0]]);
    expect(await s.latest(live[1]!.symbol, '1m')).toEqual([live[1]]);
    expect(await s.latest('NULL', '1m')).toEqual([live[2]]);
  });

  it('applies statementTimeoutMs on the server: a long query fails with PG_QUERY_FAILED (57014), health degraded', async () => {
    const s = store({ statementTimeoutMs: 300 });
    await s.ready();
    // Ten years of expected 1m bars (5 million): far more than 300 ms of work.
    const error = await s
      .gaps({ symbol: 'X', timeframe: '1m', from: Date.UTC(2010, 0, 1), to: Date.UTC(2020, 0, 1) })
      .catch((e: unknown) => e);
    expect(isPgStoreError(error, 'PG_QUERY_FAILED')).toBe(true);
    expect((error as { data: { sqlState: string } }).data.sqlState).toBe('57014');
    expect(s.health()).toEqual({ status: 'degraded', lastError: expect.stringMatching(/statement timeout/) });
    // The next successful round trip clears it.
    expect(await s.latest('X', '1m')).toEqual([]);
    expect(s.health()).toEqual({ status: 'ready' });
  });

  it('two stores flushing overlapping keys at once (a handover) do not deadlock: rows are locked in key order', async () => {
    const a = store();
    const b = store({ schema: a.options.schema });
    await Promise.all([a.ready(), b.ready()]);
    const symbols = ['EURUSD', 'XAUUSD', 'NAS100', 'AAPL'];
    for (let round = 0; round < 8; round++) {
      const bars = symbols.flatMap((symbol) =>
        Array.from({ length: 500 }, (_, i) => contractBar(i, { symbol, close: 1.1 + round / 100, high: 2 })),
      );
      a.write(bars);
      b.write([...bars].reverse().map((x) => ({ ...x, close: x.close + 0.001 })));
      await Promise.all([a.flush(), b.flush()]);
    }
    expect(a.stats().failedFlushes + b.stats().failedFlushes).toBe(0);
    expect(await a.latest('AAPL', '1m', 1000)).toHaveLength(500);
  });

  it('refuses bars PostgreSQL would reject for the whole batch, so one bad row cannot block every flush', async () => {
    const s = store();
    const reasons: string[] = [];
    s.onError((e) => reasons.push(e.data.reason ?? ''));
    s.write([
      contractBar(0, { symbol: 'X'.repeat(5000) }),
      contractBar(1, { symbol: 'NUL\u0000' }),
      contractBar(2, { ts: 1e15 }),
      contractBar(3, { ts: Date.UTC(1850, 0, 1) }),
      contractBar(4),
    ]);
    await s.flush();
    expect(reasons).toEqual([
      'symbol longer than 200 characters',
      'symbol must not contain NUL',
      'ts 1000000000000000 is outside 1900-01-01..9999-12-31',
      `ts ${Date.UTC(1850, 0, 1)} is outside 1900-01-01..9999-12-31`,
    ]);
    expect(s.stats()).toMatchObject({ rejectedBars: 4, flushedRows: 1, failedFlushes: 0 });
  });

  it('works on a pool passed in, and leaves that pool open on close', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    const s = createPgStore({ pool, schema: `pool${schemaSeq++}` });
    await s.backfill([contractBar(1)]);
    expect(await s.latest('EURUSD', '1m')).toEqual([contractBar(1)]);
    await s.close();
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await pool.end();
  });

  it('flushes on the injected clock, with no timer left after close', async () => {
    const clock = new ManualClock(T0);
    const s = store({ scheduler: clock, flushIntervalMs: 10_000 });
    const flushed: number[] = [];
    s.onFlush((e) => flushed.push(e.rows));
    s.write([contractBar(0), contractBar(1)]);
    clock.advance(9_999);
    expect(flushed).toEqual([]);
    clock.advance(1);
    await waitFor(() => flushed.length === 1);
    expect(flushed).toEqual([2]);
    expect(await s.latest('EURUSD', '1m')).toHaveLength(2);
    expect(clock.pendingTimers).toBe(1);
    await s.close();
    expect(clock.pendingTimers).toBe(0);
    await expect(s.ready()).rejects.toMatchObject({ code: 'PG_CLOSED' });
    await expect(s.flush()).rejects.toMatchObject({ code: 'PG_CLOSED' });
  });
});

describe('outage: a database that is not there', () => {
  it('reports down with a redacted error, keeps writes (bounded) and refuses beyond maxPending', async () => {
    // A port nothing listens on, with a password in the URL.
    const url = 'postgres://postgres:hunter2-secret@127.0.0.1:1/nothing';
    const clock = new ManualClock(T0);
    const s = createPgStore({
      url,
      scheduler: clock,
      maxPending: 100,
      connectTimeoutMs: 500,
      retryBaseMs: 1000,
    });
    open.push(s);
    const errors: string[] = [];
    s.onError((e) =>
      errors.push(`${e.code} ${e.message} ${String((e.cause as Error | undefined)?.message)}`),
    );
    const ready = await s.ready().catch((e: unknown) => e);
    expect(isPgStoreError(ready, 'PG_UNAVAILABLE')).toBe(true);
    expect(s.health()).toEqual({ status: 'down', lastError: expect.stringMatching(/ECONNREFUSED/) });
    s.write(Array.from({ length: 60 }, (_, i) => contractBar(i)));
    expect(s.stats().pending).toBe(60);
    // Replacing buffered keys does not grow the buffer; 41 new keys would.
    s.write(Array.from({ length: 60 }, (_, i) => contractBar(i, { close: 1.2 })));
    let full: unknown;
    try {
      s.write(Array.from({ length: 41 }, (_, i) => contractBar(100 + i)));
    } catch (e) {
      full = e;
    }
    expect(isPgStoreError(full, 'PG_BUFFER_FULL')).toBe(true);
    expect(String((full as Error).message)).toMatch(/60 rows pending, 41 new would exceed maxPending 100/);
    expect(s.stats()).toMatchObject({ pending: 60, refusedWrites: 1, refusedBars: 41 });
    s.write(Array.from({ length: 40 }, (_, i) => contractBar(100 + i)));
    expect(s.stats().pending).toBe(100);

    // Reaching half of maxPending started an early flush, which failed; the explicit one fails too.
    const failure = await s.flush().catch((e: unknown) => e);
    expect(isPgStoreError(failure, 'PG_FLUSH_FAILED')).toBe(true);
    expect((failure as { data: { rows: number } }).data.rows).toBe(100);
    expect(s.stats()).toMatchObject({ pending: 100, failedFlushes: 2, consecutiveFailures: 2 });
    expect(s.health().status).toBe('down');
    // The timer retries with backoff: 2 s after the second failure, then 4 s.
    clock.advance(1_999);
    await new Promise((r) => setTimeout(r, 50));
    expect(s.stats().failedFlushes).toBe(2);
    clock.advance(1);
    await waitFor(() => s.stats().failedFlushes === 3);
    clock.advance(3_999);
    await new Promise((r) => setTimeout(r, 50));
    expect(s.stats().failedFlushes).toBe(3);
    clock.advance(1);
    await waitFor(() => s.stats().failedFlushes === 4);
    expect(s.stats().pending).toBe(100);

    const text = JSON.stringify([
      s.health(),
      errors,
      String(failure),
      (failure as Error).cause && String((failure as Error).cause),
    ]);
    expect(text).not.toContain('hunter2');
    expect(errors.length).toBeGreaterThanOrEqual(3);
    const closeFailure = await s.close().catch((e: unknown) => e);
    expect(isPgStoreError(closeFailure, 'PG_FLUSH_FAILED')).toBe(true);
    expect((closeFailure as { data: { rows: number } }).data.rows).toBe(100);
    expect(clock.pendingTimers).toBe(0);
  });
});

async function waitFor(cond: () => boolean, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
