// The one contract every HistoryStore (@pipeline/core's port) must meet, whatever the engine: run by
// @pipeline/sqlite-store (inline and worker mode) and @pipeline/pg-store against real files and a real
// PostgreSQL. Only the port is used here, so a test that passes for one engine means the same for another.
import {
  TIMEFRAME_MS,
  isPipelineError,
  type Bar,
  type HistoryStore,
  type PipelineError,
  type Timeframe,
} from '@pipeline/core';

/** One test's storage: a store on fresh, empty storage, and a way to open that storage again. */
export interface HistoryStoreFixture {
  /**
   * A store on storage no other test uses, created with the engine's defaults for everything the port
   * leaves open: default calendar `24x7`, automatic flushes far enough apart that they do not fire
   * during a test (the suite flushes explicitly), and nothing pending.
   */
  store: HistoryStore;
  /** Opens a new store on the same storage (called after `store` was closed). */
  reopen(): Promise<HistoryStore>;
  /** Closes whatever is still open and removes the storage (file, database). */
  cleanup(): Promise<void>;
}

/** Makes one fixture per test. */
export type HistoryStoreFactory = () => Promise<HistoryStoreFixture>;

const T0 = Date.UTC(2024, 0, 1); // a Monday
const MIN = 60_000;
const HOUR = 3_600_000;

/** A deterministic, valid bar; prices vary with `i` so that a replacement is visible. */
export function contractBar(
  i: number,
  overrides: Partial<Bar> = {},
  timeframe: Timeframe = '1m',
  start = T0,
): Bar {
  const base = 1.1 + (i % 97) / 1000;
  return {
    symbol: 'EURUSD',
    timeframe,
    ts: start + i * TIMEFRAME_MS[timeframe],
    open: base,
    high: base + 0.002,
    low: base - 0.002,
    close: base + 0.001,
    volume: i % 7,
    source: 'yahoo',
    final: true,
    quality: 1,
    ...overrides,
  };
}

function contractBars(
  n: number,
  overrides: Partial<Bar> = {},
  timeframe: Timeframe = '1m',
  start = T0,
): Bar[] {
  return Array.from({ length: n }, (_, i) => contractBar(i, overrides, timeframe, start));
}

const minutesOf = (bars: readonly Bar[], start = T0): number[] => bars.map((b) => (b.ts - start) / MIN);

/** Resolves with what `p` rejected with (fails the test if it resolved). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the promise to reject, it resolved');
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw, nothing was thrown');
}

function expectCode(error: unknown, suffix: string): void {
  expect(isPipelineError(error)).toBe(true);
  expect((error as PipelineError).code).toMatch(new RegExp(`_${suffix}$`));
}

/**
 * Registers one `describe` block asserting the `HistoryStore` contract against the stores `factory`
 * makes: upsert by (symbol, timeframe, ts) including forming-bar replacement, latest oldest-first with a
 * limit, range bounds, backfill counts, calendar-aware gaps (24x7, fx weekend, us-equity across a DST
 * change), key-value state, flush on close, persistence across reopen, malformed bars refused with a
 * clear error and counted, stats, health and use after close.
 */
export function runHistoryStoreContract(name: string, factory: HistoryStoreFactory): void {
  describe(`HistoryStore contract: ${name}`, () => {
    let fx: HistoryStoreFixture;
    let store: HistoryStore;

    beforeEach(async () => {
      fx = await factory();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('starts empty, ready, with zeroed counters', async () => {
      expect(typeof store.kind).toBe('string');
      expect(store.isClosed).toBe(false);
      expect(store.health()).toEqual({ status: 'ready' });
      expect(store.stats()).toMatchObject({
        pending: 0,
        flushes: 0,
        failedFlushes: 0,
        flushedRows: 0,
        rejectedBars: 0,
      });
      expect(await store.latest('EURUSD', '1m')).toEqual([]);
    });

    it('buffers writes until flush, then reads the latest bars oldest first with every field intact', async () => {
      const bars = contractBars(120, { source: 'polygon', quality: 0.75 });
      store.write(bars);
      expect(store.stats().pending).toBe(120);
      await store.flush();
      expect(store.stats()).toMatchObject({ pending: 0, flushedRows: 120 });
      expect(store.stats().flushes).toBeGreaterThanOrEqual(1);
      const latest = await store.latest('EURUSD', '1m', 5);
      expect(minutesOf(latest)).toEqual([115, 116, 117, 118, 119]);
      expect(latest[4]).toEqual(bars[119]);
      expect(await store.latest('EURUSD', '1m', 1000)).toEqual(bars);
      expect(await store.latest('EURUSD', '5m', 5)).toEqual([]);
      expect(await store.latest('XAUUSD', '1m', 5)).toEqual([]);
    });

    it('returns 500 bars from latest() when no limit is given', async () => {
      await store.backfill(contractBars(600));
      const latest = await store.latest('EURUSD', '1m');
      expect(latest).toHaveLength(500);
      expect(minutesOf(latest.slice(0, 1))).toEqual([100]);
      expect(minutesOf(latest.slice(-1))).toEqual([599]);
    });

    it('keeps one row per (symbol, timeframe, ts): the forming bar is replaced in the buffer and in storage', async () => {
      store.write([contractBar(0), contractBar(1, { final: false, close: 1.2, high: 1.21 })]);
      store.write([contractBar(1, { final: false, close: 1.3, high: 1.31 })]);
      expect(store.stats().pending).toBe(2);
      await store.flush();
      expect((await store.latest('EURUSD', '1m', 10))[1]).toEqual(
        contractBar(1, { final: false, close: 1.3, high: 1.31 }),
      );
      const final = contractBar(1, {
        final: true,
        close: 1.4,
        high: 1.5,
        source: 'twelvedata',
        quality: 0.5,
      });
      store.write([final]);
      await store.flush();
      expect(await store.latest('EURUSD', '1m', 10)).toEqual([contractBar(0), final]);
      // The same key on another series is another row.
      store.write([contractBar(1, { symbol: 'XAUUSD' }), contractBar(1, {}, '5m')]);
      await store.flush();
      expect(await store.latest('EURUSD', '1m', 10)).toHaveLength(2);
      expect(await store.latest('XAUUSD', '1m', 10)).toEqual([contractBar(1, { symbol: 'XAUUSD' })]);
      expect(await store.latest('EURUSD', '5m', 10)).toEqual([contractBar(1, {}, '5m')]);
    });

    it('answers range() on [from, to), oldest first, with a limit', async () => {
      await store.backfill([...contractBars(100), ...contractBars(10, { symbol: 'XAUUSD' })]);
      const q = { symbol: 'EURUSD', timeframe: '1m' as const, from: T0 + 10 * MIN, to: T0 + 20 * MIN };
      expect(minutesOf(await store.range(q))).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
      expect(minutesOf(await store.range(q, 3))).toEqual([10, 11, 12]);
      // A from between two bars starts at the next one; to is exclusive.
      expect(minutesOf(await store.range({ ...q, from: T0 + 10 * MIN + 1, to: T0 + 12 * MIN + 1 }))).toEqual([
        11, 12,
      ]);
      expect(await store.range({ ...q, to: q.from })).toEqual([]);
      expect(await store.range({ ...q, symbol: 'XAUUSD', from: T0 - HOUR, to: T0 + HOUR })).toEqual(
        contractBars(10, { symbol: 'XAUUSD' }),
      );
      expect(await store.range({ ...q, from: T0 + 200 * MIN, to: T0 + 300 * MIN })).toEqual([]);
    });

    it('rejects bad query arguments with a *_BAD_ARGUMENT code', async () => {
      const q = { symbol: 'EURUSD', timeframe: '1m' as const, from: T0, to: T0 + MIN };
      expectCode(await rejection(store.latest('EURUSD', '7m' as Timeframe)), 'BAD_ARGUMENT');
      expectCode(await rejection(store.latest('EURUSD', '1m', 0)), 'BAD_ARGUMENT');
      expectCode(await rejection(store.latest('', '1m')), 'BAD_ARGUMENT');
      expectCode(await rejection(store.range({ ...q, from: q.to, to: q.from })), 'BAD_ARGUMENT');
      expectCode(await rejection(store.range(q, 1.5)), 'BAD_ARGUMENT');
      expectCode(await rejection(store.gaps({ ...q, timeframe: '2m' as Timeframe })), 'BAD_ARGUMENT');
    });

    it('backfills in bulk, resolving with the rows written and replacing existing keys', async () => {
      expect(await store.backfill(contractBars(1234))).toBe(1234);
      expect(await store.latest('EURUSD', '1m', 2000)).toHaveLength(1234);
      const changed = contractBar(7, { close: 2.5, high: 3 });
      expect(await store.backfill([changed])).toBe(1);
      const q = { symbol: 'EURUSD', timeframe: '1m' as const, from: T0, to: T0 + 2000 * MIN };
      const all = await store.range(q);
      expect(all).toHaveLength(1234);
      expect(all[7]).toEqual(changed);
      expect(await store.backfill([])).toBe(0);
    });

    it('refuses malformed bars with a clear error and counts them, storing the good ones of the same call', async () => {
      const errors: PipelineError[] = [];
      const sub = store.onError((e) => errors.push(e));
      const bad = [
        contractBar(1, { close: Number.NaN }),
        contractBar(2, { timeframe: '2m' as Timeframe }),
        contractBar(3, { ts: 1.5 }),
        null as unknown as Bar,
      ];
      store.write([contractBar(0), ...bad]);
      expect(store.stats().pending).toBe(1);
      expect(await store.backfill([contractBar(10), contractBar(11, { volume: -1 })])).toBe(1);
      expect(store.stats().rejectedBars).toBe(5);
      expect(errors).toHaveLength(5);
      for (const e of errors) expectCode(e, 'BAD_BAR');
      // The message names the bar's key and why it was refused.
      expect(errors[0]?.message).toContain(`EURUSD|1m|${T0 + MIN}`);
      expect(errors[0]?.message).toMatch(/price|close|finite/i);
      expect(errors[4]?.message).toMatch(/volume/);
      await store.flush();
      expect(minutesOf(await store.latest('EURUSD', '1m', 100))).toEqual([0, 10]);
      sub.dispose();
      store.write([contractBar(20, { open: Number.POSITIVE_INFINITY })]);
      expect(errors).toHaveLength(5);
      expect(store.stats().rejectedBars).toBe(6);
    });

    it('finds gaps on the 24x7 calendar (the default)', async () => {
      const bars = contractBars(60).filter((b) => ![10, 11, 12, 40].includes((b.ts - T0) / MIN));
      await store.backfill(bars);
      const q = { symbol: 'EURUSD', timeframe: '1m' as const, from: T0, to: T0 + 65 * MIN };
      const expected = [
        { from: T0 + 10 * MIN, to: T0 + 13 * MIN, missing: 3 },
        { from: T0 + 40 * MIN, to: T0 + 41 * MIN, missing: 1 },
        { from: T0 + 60 * MIN, to: T0 + 65 * MIN, missing: 5 },
      ];
      expect(await store.gaps(q)).toEqual(expected);
      expect(await store.gaps(q, '24x7')).toEqual(expected);
      expect(await store.gaps({ ...q, to: T0 + 10 * MIN })).toEqual([]);
      // Pending rows are not stored yet: they count as missing until flushed.
      store.write([contractBar(40)]);
      expect(await store.gaps(q)).toEqual(expected);
      await store.flush();
      expect(await store.gaps(q)).toEqual([expected[0], expected[2]]);
    });

    it('finds gaps on the fx calendar without counting the weekend', async () => {
      // Friday 2024-01-05 00:00 .. 21:00 stored hourly; the market closes Friday 22:00 and reopens
      // Sunday 22:00 UTC, so only Sunday 22:00 .. Monday 02:00 is missing.
      const fri = Date.UTC(2024, 0, 5);
      await store.backfill(contractBars(22, { symbol: 'FXTEST' }, '1h', fri));
      const q = { symbol: 'FXTEST', timeframe: '1h' as const, from: fri, to: Date.UTC(2024, 0, 8, 2) };
      expect(await store.gaps(q, 'fx')).toEqual([
        { from: Date.UTC(2024, 0, 7, 22), to: Date.UTC(2024, 0, 8, 2), missing: 4 },
      ]);
      // On 24x7 the same weekend is one long gap.
      expect(await store.gaps(q, '24x7')).toEqual([
        { from: Date.UTC(2024, 0, 5, 22), to: Date.UTC(2024, 0, 8, 2), missing: 52 },
      ]);
      // A weekend alone is no gap at all.
      expect(
        await store.gaps({ ...q, from: Date.UTC(2024, 0, 6), to: Date.UTC(2024, 0, 7, 22) }, 'fx'),
      ).toEqual([]);
    });

    it('finds gaps on the us-equity calendar in New York time, across the DST change', async () => {
      // Winter: Monday 2024-01-08 09:30-16:00 New York is 14:30-21:00 UTC; Saturday and Sunday are closed.
      expect(
        await store.gaps(
          { symbol: 'AAPL', timeframe: '1m', from: Date.UTC(2024, 0, 6), to: Date.UTC(2024, 0, 9) },
          'us-equity',
        ),
      ).toEqual([{ from: Date.UTC(2024, 0, 8, 14, 30), to: Date.UTC(2024, 0, 8, 21), missing: 390 }]);
      // US clocks move forward on Sunday 2024-03-10: Friday's session is 14:30-21:00 UTC, Monday's
      // 13:30-20:00 UTC. Hourly bars are expected when they overlap the session (7 each day).
      const fri = Date.UTC(2024, 2, 8);
      await store.backfill(contractBars(7, { symbol: 'AAPL' }, '1h', Date.UTC(2024, 2, 8, 14)));
      expect(
        await store.gaps(
          { symbol: 'AAPL', timeframe: '1h', from: fri, to: Date.UTC(2024, 2, 12) },
          'us-equity',
        ),
      ).toEqual([{ from: Date.UTC(2024, 2, 11, 13), to: Date.UTC(2024, 2, 11, 20), missing: 7 }]);
    });

    it('round-trips JSON state by key, and keeps it across reopen', async () => {
      expect(await store.getState('bootstrap:EURUSD:1m')).toBeUndefined();
      await store.setState('bootstrap:EURUSD:1m', { doneTo: T0, chunks: [1, 2], note: 'é"\n' });
      await store.setState('breaker:yahoo', 'open');
      await store.setState('breaker:yahoo', { state: 'half-open', failures: 3 });
      await store.setState('zero', 0);
      expect(await store.getState('bootstrap:EURUSD:1m')).toEqual({
        doneTo: T0,
        chunks: [1, 2],
        note: 'é"\n',
      });
      expect(await store.getState('breaker:yahoo')).toEqual({ state: 'half-open', failures: 3 });
      expect(await store.getState('zero')).toBe(0);
      expectCode(await rejection(store.setState('x', undefined)), 'BAD_ARGUMENT');
      expectCode(await rejection(store.getState('')), 'BAD_ARGUMENT');
      await store.close();
      const again = await fx.reopen();
      try {
        expect(await again.getState('bootstrap:EURUSD:1m')).toEqual({
          doneTo: T0,
          chunks: [1, 2],
          note: 'é"\n',
        });
        expect(await again.getState('zero')).toBe(0);
      } finally {
        await again.close();
      }
    });

    it('flushes what is pending on close, and what was written persists across reopen', async () => {
      store.write(contractBars(500));
      store.write([contractBar(499, { final: false, close: 1.5, high: 1.6 })]);
      await store.backfill(contractBars(10, { symbol: 'XAUUSD' }));
      await store.close();
      const again = await fx.reopen();
      try {
        const latest = await again.latest('EURUSD', '1m', 1000);
        expect(latest).toHaveLength(500);
        expect(latest[499]).toEqual(contractBar(499, { final: false, close: 1.5, high: 1.6 }));
        expect(await again.latest('XAUUSD', '1m', 100)).toEqual(contractBars(10, { symbol: 'XAUUSD' }));
        expect(again.stats().pending).toBe(0);
      } finally {
        await again.close();
      }
    });

    it('closes idempotently and refuses use afterwards with a *_CLOSED code', async () => {
      await store.close();
      await store.close();
      expect(store.isClosed).toBe(true);
      expect(store.health().status).toBe('down');
      expectCode(
        thrown(() => store.write([contractBar(1)])),
        'CLOSED',
      );
      expectCode(await rejection(store.latest('EURUSD', '1m')), 'CLOSED');
      expectCode(
        await rejection(store.range({ symbol: 'EURUSD', timeframe: '1m', from: T0, to: T0 + MIN })),
        'CLOSED',
      );
      expectCode(await rejection(store.backfill([contractBar(1)])), 'CLOSED');
      expectCode(await rejection(store.getState('k')), 'CLOSED');
    });
  });
}
