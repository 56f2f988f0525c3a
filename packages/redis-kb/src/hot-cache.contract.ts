// The one contract every HotCache implementation must meet (run by memory-hot-cache.test.ts and
// redis-hot-cache.int.test.ts, and against a real cluster). Not exported from the package.
import { type Bar, type Timeframe, TIMEFRAME_MS, isPipelineError } from '@pipeline/core';
import fc from 'fast-check';
import { type BarsRejectedEvent, type BarsWrittenEvent, type HotCache } from './hot-cache';

export interface ContractSettings {
  maxBars: number;
  replaceWindow: number;
  featureTtlMs: number;
}

export interface ContractHarness {
  cache: HotCache;
  /** Lets at least `ms` pass for feature expiry (a manual clock, or real time for Redis' own TTL). */
  elapse(ms: number): Promise<void>;
  teardown(): Promise<void>;
}

const T0 = Date.UTC(2024, 0, 2, 0, 0, 0);
const M = TIMEFRAME_MS['1m'];

export function bar(i: number, over: Partial<Bar> = {}): Bar {
  const close = 1.1 + i / 1000;
  return {
    symbol: 'EURUSD',
    timeframe: '1m',
    ts: T0 + i * M,
    open: close - 0.0005,
    high: close + 0.001,
    low: close - 0.001,
    close,
    volume: i,
    source: 'yahoo',
    final: true,
    quality: 1,
    ...over,
  };
}

const tsOf = (bars: readonly Bar[]) => bars.map((b) => (b.ts - T0) / M);

export function runHotCacheContract(
  name: string,
  make: (settings: ContractSettings) => Promise<ContractHarness>,
): void {
  describe(`HotCache contract: ${name}`, () => {
    let h: ContractHarness;
    let cache: HotCache;
    const settings: ContractSettings = { maxBars: 20, replaceWindow: 4, featureTtlMs: 40 };

    beforeEach(async () => {
      h = await make(settings);
      cache = h.cache;
      await cache.ready();
    });
    afterEach(async () => {
      await h.teardown();
    });

    it('appends newer bars and reads the latest K oldest first, with every field intact', async () => {
      const input = [0, 1, 2, 3, 4].map((i) =>
        bar(i, { final: i < 4, quality: 0.5 + i / 10, source: 'polygon' }),
      );
      const res = await cache.writeBars(input);
      expect(res).toEqual({ appended: 5, replaced: 0, refused: 0, invalid: 0, series: 1 });
      expect(await cache.latestBars('EURUSD', '1m', 3)).toEqual(input.slice(2));
      expect(await cache.latestBars('EURUSD', '1m', 100)).toEqual(input);
      expect(await cache.lastBar('EURUSD', '1m')).toEqual(input[4]);
      expect(await cache.seriesLength('EURUSD', '1m')).toBe(5);
      expect(await cache.latestBars('EURUSD', '1m', 0)).toEqual([]);
    });

    it('replaces the forming bar in place when the same ts comes again, never duplicating it', async () => {
      await cache.writeBars([bar(0), bar(1, { final: false, close: 1.2 })]);
      const res = await cache.writeBars([bar(1, { final: false, close: 1.25 })]);
      expect(res).toMatchObject({ appended: 0, replaced: 1, refused: 0 });
      const res2 = await cache.writeBars([bar(1, { final: true, close: 1.3 }), bar(2, { final: false })]);
      expect(res2).toMatchObject({ appended: 1, replaced: 1, refused: 0 });
      const got = await cache.latestBars('EURUSD', '1m', 10);
      expect(tsOf(got)).toEqual([0, 1, 2]);
      expect(got[1]).toMatchObject({ close: 1.3, final: true });
      expect(got[2]?.final).toBe(false);
    });

    it('replaces an older bar within replaceWindow, refuses older ones beyond it or missing', async () => {
      await cache.writeBars([0, 1, 2, 3, 4, 5, 6, 8].map((i) => bar(i)));
      // window 4 covers ts 4,5,6,8 (the last four bars)
      const res = await cache.writeBars([
        bar(5, { close: 9 }), // within window: replaced
        bar(7, { close: 9 }), // a gap inside the window: never inserted
        bar(2, { close: 9 }), // beyond the window: refused
      ]);
      expect(res).toMatchObject({ appended: 0, replaced: 1, refused: 2 });
      const got = await cache.latestBars('EURUSD', '1m', 20);
      expect(tsOf(got)).toEqual([0, 1, 2, 3, 4, 5, 6, 8]);
      expect(got.filter((b) => b.close === 9).map((b) => (b.ts - T0) / M)).toEqual([5]);
    });

    it('sorts a batch by ts and lets the later of two equal-ts bars win', async () => {
      const res = await cache.writeBars([bar(3), bar(1), bar(2, { close: 7 }), bar(2, { close: 8 })]);
      expect(res).toMatchObject({ appended: 3, replaced: 1, refused: 0 });
      const got = await cache.latestBars('EURUSD', '1m', 10);
      expect(tsOf(got)).toEqual([1, 2, 3]);
      expect(got[1]?.close).toBe(8);
    });

    it('caps each series at maxBars, dropping the oldest, in one call and across calls', async () => {
      const res = await cache.writeBars(Array.from({ length: 30 }, (_, i) => bar(i)));
      expect(res.appended).toBe(30);
      expect(await cache.seriesLength('EURUSD', '1m')).toBe(20);
      expect(tsOf(await cache.latestBars('EURUSD', '1m', 100))).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 10),
      );
      for (let i = 30; i < 75; i++) await cache.writeBars([bar(i)]);
      expect(await cache.seriesLength('EURUSD', '1m')).toBe(20);
      expect(tsOf(await cache.latestBars('EURUSD', '1m', 5))).toEqual([70, 71, 72, 73, 74]);
      // a bar that fell off the end cannot come back
      expect((await cache.writeBars([bar(40)])).refused).toBe(1);
    });

    it('writes many series in one call and keeps symbols and timeframes apart', async () => {
      const symbols = ['EURUSD', 'XAUUSD', 'NAS100', 'AAPL', 'BRK.B'];
      const tfs: Timeframe[] = ['1m', '5m'];
      const input: Bar[] = [];
      for (const symbol of symbols)
        for (const timeframe of tfs)
          for (let i = 0; i < 3; i++)
            input.push(bar(i, { symbol, timeframe, ts: T0 + i * TIMEFRAME_MS[timeframe] }));
      const res = await cache.writeBars(input);
      expect(res).toMatchObject({ appended: 30, series: 10 });
      for (const symbol of symbols)
        for (const timeframe of tfs) {
          const got = await cache.latestBars(symbol, timeframe, 10);
          expect(got.map((b) => b.ts)).toEqual([0, 1, 2].map((i) => T0 + i * TIMEFRAME_MS[timeframe]));
          expect(got.every((b) => b.symbol === symbol && b.timeframe === timeframe)).toBe(true);
        }
      expect(await cache.latestBars('GBPUSD', '1m', 10)).toEqual([]);
      expect(await cache.lastBar('GBPUSD', '1m')).toBeNull();
      expect(await cache.seriesLength('GBPUSD', '1m')).toBe(0);
    });

    it('counts and reports unusable bars instead of throwing', async () => {
      const rejected: BarsRejectedEvent[] = [];
      const sub = cache.onRejected((e) => rejected.push(e));
      const bad = [
        bar(1, { symbol: 'EUR{USD}' }),
        bar(2, { ts: Number.NaN }),
        bar(3, { timeframe: '2m' as Timeframe }),
        bar(4, { close: Number.POSITIVE_INFINITY }),
        null as unknown as Bar,
      ];
      const res = await cache.writeBars([bar(0), ...bad]);
      expect(res).toMatchObject({ appended: 1, invalid: 5 });
      expect(rejected).toHaveLength(1);
      expect(rejected[0]?.invalid.map((i) => i.issue)).toEqual([
        expect.stringContaining('symbol'),
        expect.stringContaining('ts'),
        expect.stringContaining('timeframe'),
        expect.stringContaining('close'),
        'not an object',
      ]);
      await cache.writeBars([bar(5)]);
      await cache.writeBars([bar(1)]); // older than the tail and not cached: refused
      expect(rejected[1]?.refused.map((b) => b.ts)).toEqual([bar(1).ts]);
      expect(cache.stats()).toMatchObject({ barsAppended: 2, barsInvalid: 5, barsRefused: 1 });
      sub.dispose();
    });

    it('reads a time range [from, to)', async () => {
      await cache.writeBars([0, 1, 2, 3, 5, 8, 9].map((i) => bar(i)));
      const range = (a: number, b: number) =>
        cache.barsInRange('EURUSD', '1m', T0 + a * M, T0 + b * M).then(tsOf);
      expect(await range(1, 5)).toEqual([1, 2, 3]);
      expect(await range(4, 9)).toEqual([5, 8]);
      expect(await range(-10, 100)).toEqual([0, 1, 2, 3, 5, 8, 9]);
      expect(await range(6, 8)).toEqual([]);
      expect(await range(10, 20)).toEqual([]);
      expect(await range(3, 3)).toEqual([]);
      expect(await range(0, 1)).toEqual([0]);
      expect(await cache.barsInRange('GBPUSD', '1m', T0, T0 + 10 * M)).toEqual([]);
    });

    it('keeps a feature set for featureTtlMs, then forgets it', async () => {
      const features = { ts: T0, rsi14: 55.5, ema: [1.1, 1.2], trend: 'up', missing: null };
      expect(await cache.getFeatures('EURUSD')).toBeNull();
      await cache.setFeatures('EURUSD', features);
      expect(await cache.getFeatures('EURUSD')).toEqual(features);
      expect(await cache.getFeatures('XAUUSD')).toBeNull();
      await h.elapse(settings.featureTtlMs + 20);
      expect(await cache.getFeatures('EURUSD')).toBeNull();
    });

    it('keeps the latest signal per symbol without expiry and notifies listeners', async () => {
      const seen: Array<{ symbol: string; signal: Record<string, unknown> }> = [];
      const sub = cache.onSignal((e) => seen.push(e));
      await cache.setSignal('EURUSD', { direction: 'long', confidence: 0.8 });
      await cache.setSignal('EURUSD', { direction: 'flat', confidence: 0.1 });
      await cache.setSignal('XAUUSD', { direction: 'short', confidence: 0.6, reasons: ['rsi > 70'] });
      await h.elapse(settings.featureTtlMs + 20);
      expect(await cache.getSignal('EURUSD')).toEqual({ direction: 'flat', confidence: 0.1 });
      expect(await cache.getSignal('NAS100')).toBeNull();
      const all = await cache.getSignals(['EURUSD', 'XAUUSD', 'NAS100']);
      expect([...all.keys()]).toEqual(['EURUSD', 'XAUUSD']);
      expect(all.get('XAUUSD')).toEqual({ direction: 'short', confidence: 0.6, reasons: ['rsi > 70'] });
      expect(seen.map((e) => e.symbol)).toEqual(['EURUSD', 'EURUSD', 'XAUUSD']);
      sub.dispose();
      await cache.setSignal('EURUSD', { direction: 'long' });
      expect(seen).toHaveLength(3);
    });

    it('emits accepted bars (not refused ones) to onBars until disposed', async () => {
      const events: BarsWrittenEvent[] = [];
      const sub = cache.onBars((e) => events.push(e));
      await cache.writeBars([bar(0), bar(1), bar(2)]);
      await cache.writeBars([bar(2, { close: 5 }), bar(3), bar(-50)]);
      expect(events.map((e) => tsOf(e.bars))).toEqual([
        [0, 1, 2],
        [2, 3],
      ]);
      expect(events[1]?.bars[0]?.close).toBe(5);
      sub.dispose();
      await cache.writeBars([bar(4)]);
      expect(events).toHaveLength(2);
    });

    it('isolates a throwing listener and reports it on onError', async () => {
      const errors: Error[] = [];
      cache.onError((e) => errors.push(e));
      cache.onBars(() => {
        throw new Error('listener broke');
      });
      const after: number[] = [];
      cache.onBars((e) => after.push(e.bars.length));
      await expect(cache.writeBars([bar(0)])).resolves.toMatchObject({ appended: 1 });
      expect(after).toEqual([1]);
      expect(errors.map((e) => e.message)).toContain('listener broke');
    });

    it('is ready and fails every call with CACHE_CLOSED after close()', async () => {
      expect(cache.health().status).toBe('ready');
      await cache.close();
      await cache.close();
      const err = await cache.latestBars('EURUSD', '1m', 1).catch((e: unknown) => e);
      expect(isPipelineError(err, 'CACHE_CLOSED')).toBe(true);
      await expect(cache.writeBars([bar(0)])).rejects.toMatchObject({ code: 'CACHE_CLOSED' });
    });

    it('matches a simple reference model over random write sequences', async () => {
      const { maxBars, replaceWindow } = settings;
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.array(fc.record({ i: fc.integer({ min: 0, max: 60 }), v: fc.integer({ min: 1, max: 9 }) }), {
              maxLength: 8,
            }),
            {
              minLength: 1,
              maxLength: 12,
            },
          ),
          async (batches) => {
            const symbol = `P${run++}`;
            let model: Array<{ i: number; v: number }> = [];
            let modelRefused = 0;
            let refused = 0;
            for (const batch of batches) {
              const sorted = [...batch].sort((a, b) => a.i - b.i);
              for (const x of sorted) {
                const tail = model[model.length - 1];
                if (!tail || x.i > tail.i) model.push(x);
                else {
                  const pos = model.findIndex((m) => m.i === x.i);
                  if (pos >= 0 && pos >= model.length - replaceWindow) model[pos] = x;
                  else modelRefused++;
                }
                if (model.length > maxBars) model = model.slice(-maxBars);
              }
              const res = await cache.writeBars(batch.map((x) => bar(x.i, { symbol, close: x.v })));
              expect(res.appended + res.replaced + res.refused).toBe(batch.length);
              refused += res.refused;
            }
            const got = await cache.latestBars(symbol, '1m', maxBars);
            expect(got.map((b) => [(b.ts - T0) / M, b.close])).toEqual(model.map((m) => [m.i, m.v]));
            expect(refused).toBe(modelRefused);
          },
        ),
        { numRuns: 40 },
      );
    });
  });
}
