import { ManualClock, TIMEFRAMES, isFetchError, type Bar } from '@pipeline/core';
import { isBatchFetcher } from '../base/batch';
import { createSyntheticFetcher } from './fetcher';

const T0 = Date.UTC(2024, 2, 5, 10, 0, 0);

function assertPlausible(bars: Bar[]): void {
  for (const b of bars) {
    expect(b.low).toBeLessThanOrEqual(Math.min(b.open, b.close));
    expect(b.high).toBeGreaterThanOrEqual(Math.max(b.open, b.close));
    expect(b.low).toBeGreaterThan(0);
    expect(b.volume).toBeGreaterThanOrEqual(0);
  }
}

describe('synthetic fetcher', () => {
  it('is deterministic per seed and differs across seeds', async () => {
    const clock = new ManualClock(T0);
    const a = createSyntheticFetcher({ clock, seed: 7 });
    const b = createSyntheticFetcher({ clock, seed: 7 });
    const c = createSyntheticFetcher({ clock, seed: 8 });
    const req = { symbol: 'EURUSD', timeframe: '1m' as const, from: T0 - 3_600_000, to: T0 };
    const [x, y, z] = await Promise.all([a.fetchHistory(req), b.fetchHistory(req), c.fetchHistory(req)]);
    expect(x).toHaveLength(60);
    expect(y).toEqual(x);
    expect(z.map((bar) => bar.close)).not.toEqual(x.map((bar) => bar.close));
  });

  it('produces consistent OHLC on every timeframe, each bar opening at the previous close', async () => {
    const clock = new ManualClock(T0);
    const f = createSyntheticFetcher({ clock, symbols: { XAUUSD: 2000 } });
    for (const timeframe of TIMEFRAMES) {
      const bars = await f.fetchLatest({ symbol: 'XAUUSD', timeframe, limit: 50 });
      expect(bars).toHaveLength(50);
      assertPlausible(bars);
      for (let i = 1; i < bars.length; i++) {
        expect(bars[i]!.ts - bars[i - 1]!.ts).toBe(bars[1]!.ts - bars[0]!.ts);
        expect(bars[i]!.open).toBeCloseTo(bars[i - 1]!.close, 10);
      }
      expect(bars.at(-1)!.final).toBe(false);
      expect(bars.slice(0, -1).every((bar) => bar.final)).toBe(true);
    }
  });

  it('agrees across timeframes: a 5m bar aggregates its five 1m bars', async () => {
    const clock = new ManualClock(T0);
    const f = createSyntheticFetcher({ clock });
    const ones = await f.fetchHistory({ symbol: 'NAS100', timeframe: '1m', from: T0 - 300_000, to: T0 });
    const [five] = await f.fetchHistory({ symbol: 'NAS100', timeframe: '5m', from: T0 - 300_000, to: T0 });
    expect(five!.open).toBeCloseTo(ones[0]!.open, 9);
    expect(five!.close).toBeCloseTo(ones[4]!.close, 9);
    expect(five!.high).toBeCloseTo(Math.max(...ones.map((b) => b.high)), 9);
    expect(five!.low).toBeCloseTo(Math.min(...ones.map((b) => b.low)), 9);
    expect(five!.volume).toBe(ones.reduce((s, b) => s + b.volume, 0));
  });

  it('updates the forming bar within its period and closes it on the same path', async () => {
    const clock = new ManualClock(T0 + 10_000);
    const f = createSyntheticFetcher({ clock });
    const seen: Bar[] = [];
    for (let i = 0; i < 5; i++) {
      const [bar] = await f.fetchLatest({ symbol: 'EURUSD', timeframe: '1m', limit: 1 });
      seen.push(bar!);
      clock.advance(10_000);
    }
    expect(new Set(seen.map((b) => b.ts))).toEqual(new Set([T0]));
    expect(seen.every((b) => !b.final)).toBe(true);
    expect(new Set(seen.map((b) => b.close)).size).toBeGreaterThan(1);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.high).toBeGreaterThanOrEqual(seen[i - 1]!.high);
      expect(seen[i]!.open).toBe(seen[0]!.open);
    }
    clock.set(T0 + 120_000);
    const [done] = await f.fetchHistory({ symbol: 'EURUSD', timeframe: '1m', from: T0, to: T0 + 60_000 });
    expect(done).toMatchObject({ ts: T0, final: true, open: seen[0]!.open });
    expect(done!.high).toBeGreaterThanOrEqual(seen.at(-1)!.high);
  });

  it('never returns bars after now', async () => {
    const clock = new ManualClock(T0 + 30_000);
    const f = createSyntheticFetcher({ clock });
    const bars = await f.fetchHistory({
      symbol: 'EURUSD',
      timeframe: '1m',
      from: T0 - 120_000,
      to: T0 + 3_600_000,
    });
    expect(bars.map((b) => b.ts)).toEqual([T0 - 120_000, T0 - 60_000, T0]);
  });

  it('has the configured volatility (std of 1m log returns) and honours start prices', async () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 20));
    const f = createSyntheticFetcher({
      clock,
      volatility: 0.001,
      symbols: { ABC: 50 },
      epoch: Date.UTC(2024, 0, 1),
    });
    const [first] = await f.fetchHistory({
      symbol: 'ABC',
      timeframe: '1m',
      from: Date.UTC(2024, 0, 1),
      to: Date.UTC(2024, 0, 1, 0, 1),
    });
    expect(first!.open).toBeCloseTo(50, 10);
    const bars = await f.fetchHistory({
      symbol: 'ABC',
      timeframe: '1m',
      from: Date.UTC(2024, 0, 10),
      to: Date.UTC(2024, 0, 15),
    });
    const r = bars.map((b) => Math.log(b.close / b.open));
    const mean = r.reduce((s, x) => s + x, 0) / r.length;
    const sd = Math.sqrt(r.reduce((s, x) => s + (x - mean) ** 2, 0) / r.length);
    expect(sd).toBeGreaterThan(0.0008);
    expect(sd).toBeLessThan(0.0012);
  });

  it('serves any symbol by default, refuses unknown ones when defaultStartPrice is null, guards huge requests', async () => {
    const clock = new ManualClock(T0);
    expect(
      await createSyntheticFetcher({ clock }).fetchLatest({ symbol: 'ANY1', timeframe: '1h', limit: 3 }),
    ).toHaveLength(3);
    const strict = createSyntheticFetcher({ clock, defaultStartPrice: null, maxBarsPerRequest: 1000 });
    await expect(strict.fetchLatest({ symbol: 'ANY1', timeframe: '1h' })).rejects.toMatchObject({
      kind: 'symbol_not_found',
    });
    const err = await strict
      .fetchHistory({ symbol: 'EURUSD', timeframe: '1s', from: T0 - 86_400_000, to: T0 })
      .catch((e: unknown) => e);
    expect(isFetchError(err) && err.kind).toBe('bad_request');
    expect(strict.budget()).toEqual({
      perMinuteLeft: null,
      perDayLeft: null,
      dayResetsAt: null,
      blockedUntil: null,
    });
  });

  it('answers many symbols in one call exactly as fetchLatest answers each (batchLatest), one request counted', async () => {
    const clock = new ManualClock(T0 + 25_000);
    const f = createSyntheticFetcher({ clock, defaultStartPrice: null, batchMaxSymbols: 3 });
    expect(isBatchFetcher(f)).toBe(true);
    expect(f.capabilities.batchLatest).toEqual({
      timeframes: TIMEFRAMES,
      maxSymbols: 3,
      maxLimit: null,
      costPerSymbol: 0,
    });
    const many = await f.fetchLatestMany({
      symbols: ['EURUSD', 'NOPE', 'XAUUSD'],
      timeframe: '1m',
      limit: 3,
    });
    expect([...many.keys()]).toEqual(['EURUSD', 'NOPE', 'XAUUSD']);
    expect(f.stats().requests).toBe(1);
    for (const symbol of ['EURUSD', 'XAUUSD'])
      expect(many.get(symbol)).toEqual(await f.fetchLatest({ symbol, timeframe: '1m', limit: 3 }));
    const missing = many.get('NOPE');
    expect(isFetchError(missing) && missing.kind).toBe('symbol_not_found');
    await expect(
      f.fetchLatestMany({ symbols: ['EURUSD', 'XAUUSD', 'AAPL', 'NAS100'], timeframe: '1m' }),
    ).rejects.toMatchObject({ kind: 'bad_request' });
    const aborted = AbortSignal.abort();
    await expect(
      f.fetchLatestMany({ symbols: ['EURUSD'], timeframe: '1m', signal: aborted }),
    ).rejects.toMatchObject({ kind: 'aborted' });
  });

  it('answers every symbol its own bars whatever the order and grouping of the batches (the feed guessed from the last batch is checked)', async () => {
    const clock = new ManualClock(T0 + 25_000);
    const f = createSyntheticFetcher({ clock, defaultStartPrice: null, batchMaxSymbols: 4 });
    const batches = [
      ['EURUSD', 'XAUUSD', 'NAS100', 'AAPL'],
      ['EURUSD', 'XAUUSD', 'NAS100', 'AAPL'],
      ['EURUSD', 'NAS100', 'XAUUSD', 'AAPL'],
      ['XAUUSD', 'NOPE', 'NAS100', 'EURUSD'],
      ['NAS100', 'EURUSD', 'NOPE', 'AAPL'],
      ['EURUSD', 'XAUUSD', 'NAS100', 'AAPL'],
    ];
    for (const symbols of batches) {
      clock.advance(700);
      const many = await f.fetchLatestMany({ symbols, timeframe: '1m', limit: 3 });
      const fresh = createSyntheticFetcher({ clock, defaultStartPrice: null });
      for (const symbol of symbols) {
        const got = many.get(symbol);
        if (symbol === 'NOPE') expect(isFetchError(got) && got.kind).toBe('symbol_not_found');
        else expect(got).toEqual(await fresh.fetchLatest({ symbol, timeframe: '1m', limit: 3 }));
      }
    }
  });

  it('gives the same forming bar polled every second as asked once (the quoted seconds are resumed, not redone)', async () => {
    const clock = new ManualClock(T0 + 500);
    const polled = createSyntheticFetcher({ clock });
    for (let s = 0; s < 130; s += 1 + (s % 3)) {
      clock.set(T0 + 500 + s * 1000);
      const once = createSyntheticFetcher({ clock });
      for (const timeframe of ['1m', '5m'] as const) {
        const req = { symbol: 'EURUSD', timeframe, limit: 2 };
        expect(await polled.fetchLatest(req)).toEqual(await once.fetchLatest(req));
      }
    }
  });

  it('hands out a kept final bar again as the same frozen object; a forming bar is a new object every poll', async () => {
    const clock = new ManualClock(T0 + 30_000);
    const f = createSyntheticFetcher({ clock });
    const poll = async () =>
      (await f.fetchLatestMany({ symbols: ['EURUSD'], timeframe: '1m', limit: 3 })).get('EURUSD') as Bar[];
    const got = await poll();
    const pristine = structuredClone(got);
    expect(got.map((b) => Object.isFrozen(b))).toEqual([true, true, false]);
    // A caller cannot change a kept bar (it would change every later answer): the attempt throws.
    expect(() => Object.assign(got[0]!, { close: -1 })).toThrow(TypeError);
    clock.advance(1000);
    const again = await poll();
    expect(again[0]).toBe(got[0]);
    expect(again[1]).toBe(got[1]);
    expect(again[2]).not.toBe(got[2]);
    expect(again.slice(0, 2)).toEqual(pristine.slice(0, 2));
    // The same numbers as a fetcher that never answered before (nothing from the memo).
    const fresh = createSyntheticFetcher({ clock });
    expect(again).toEqual(await fresh.fetchLatest({ symbol: 'EURUSD', timeframe: '1m', limit: 3 }));
    // Across the minute's end: the bar that was forming comes back final, frozen, and is kept from then on.
    clock.set(T0 + 61_000);
    const next = await poll();
    expect(next[0]).toBe(got[1]);
    expect(next[1]).not.toBe(got[2]);
    expect(next[1]).toMatchObject({ ts: T0, final: true });
    expect(Object.isFrozen(next[1])).toBe(true);
    clock.advance(1000);
    expect((await poll())[1]).toBe(next[1]);
  });

  it('never changes a bar it handed out (forming or final), over polls across minute ends', async () => {
    const clock = new ManualClock(T0 + 1_500);
    const f = createSyntheticFetcher({ clock });
    const seen: { bars: Bar[]; copy: Bar[] }[] = [];
    for (let i = 0; i < 150; i++) {
      const bars = (
        await f.fetchLatestMany({ symbols: ['EURUSD', 'XAUUSD'], timeframe: '1m', limit: 3 })
      ).get('XAUUSD') as Bar[];
      seen.push({ bars, copy: structuredClone(bars) });
      clock.advance(997);
    }
    for (const { bars, copy } of seen) expect(bars).toEqual(copy);
  });

  it('rejects bad options quoting the value', () => {
    expect(() => createSyntheticFetcher({ volatility: 0 })).toThrow(/volatility.*got 0/);
    expect(() => createSyntheticFetcher({ symbols: { EURUSD: -1 } })).toThrow(/EURUSD.*got -1/);
    expect(() => createSyntheticFetcher({ sed: 1 } as never)).toThrow(/unknown option "sed"/);
  });
});
