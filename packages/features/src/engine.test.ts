import { type Bar, ManualClock, type Timeframe, alignTs, isPipelineError } from '@pipeline/core';
import {
  DEFAULT_FEATURE_SET,
  type FeatureEngineOptions,
  type FlatFeatureValues,
  featureKeys,
  flattenFeatureValues,
  IndicatorSet,
  type RejectedBar,
  createFeatureEngine,
} from './index';
import { randomSeries } from '../test/series';

const T0 = Date.UTC(2024, 0, 2, 10, 37); // deliberately not on an hour boundary

function baseBars(n: number, symbol = 'EURUSD'): Bar[] {
  const s = randomSeries(11, n);
  return Array.from({ length: n }, (_, i) => ({
    symbol,
    timeframe: '1m' as const,
    ts: T0 + i * 60_000,
    open: s.open[i]!,
    high: s.high[i]!,
    low: s.low[i]!,
    close: s.close[i]!,
    volume: s.volume[i]!,
    source: 'synthetic' as const,
    final: true,
    quality: 1,
  }));
}

/** Feeds each bar as two forming versions then the final one, as a live feed does. */
function feedLive(engine: ReturnType<typeof createFeatureEngine>, bars: Bar[]): void {
  for (const b of bars) {
    engine.update({
      ...b,
      close: b.open,
      high: Math.max(b.open, b.low),
      low: b.low,
      volume: 1,
      final: false,
    });
    engine.update({ ...b, close: b.high, volume: Math.floor(b.volume / 2), final: false });
    engine.update(b);
  }
}

/** Independent resampling: group final base bars by UTC-aligned period. */
function aggregate(bars: Bar[], tf: Timeframe): Bar[] {
  const out: Bar[] = [];
  for (const b of bars) {
    const ts = alignTs(b.ts, tf);
    const last = out[out.length - 1];
    if (last && last.ts === ts) {
      last.high = Math.max(last.high, b.high);
      last.low = Math.min(last.low, b.low);
      last.close = b.close;
      last.volume += b.volume;
    } else {
      out.push({ ...b, timeframe: tf, ts });
    }
  }
  return out;
}

function direct(bars: Bar[]): IndicatorSet {
  const set = new IndicatorSet(DEFAULT_FEATURE_SET);
  for (const b of bars) set.update(b, false);
  return set;
}

function engine(options?: Partial<FeatureEngineOptions>) {
  return createFeatureEngine({ clock: new ManualClock(), ...options });
}

describe('FeatureEngine', () => {
  it('resamples 1m into UTC-aligned 5m/15m/1h bars whose indicators equal a direct computation', () => {
    const bars = baseBars(600);
    const e = engine({ cacheTtlMs: 0 });
    for (const cut of [37, 300, 600]) {
      const part = bars.slice(0, cut);
      const e2 = engine({ cacheTtlMs: 0 });
      feedLive(e2, part);
      const fs = e2.getFeatures('EURUSD')!;
      expect(fs.timeframes['1m']!.values).toEqual(direct(part).values());
      for (const tf of ['5m', '15m', '1h'] as const) {
        const agg = aggregate(part, tf);
        expect(fs.timeframes[tf]!.ts).toBe(agg[agg.length - 1]!.ts);
        expect(fs.timeframes[tf]!.ts % (tf === '1h' ? 3_600_000 : tf === '15m' ? 900_000 : 300_000)).toBe(0);
        expect(fs.timeframes[tf]!.bars).toBe(agg.length);
        expect(fs.timeframes[tf]!.values).toEqual(direct(agg).values());
      }
    }
    feedLive(e, bars);
    expect(e.stats()).toMatchObject({ added: 600, replaced: 1200 });
    expect(JSON.parse(JSON.stringify(e.getFeatures('EURUSD')))).toEqual(e.getFeatures('EURUSD'));
  });

  it('rejects, counts and reports out-of-order, foreign-timeframe and non-finite bars', () => {
    const e = engine();
    const seen: RejectedBar[] = [];
    const off = e.onRejected((r) => seen.push(r));
    const [a, b] = baseBars(2) as [Bar, Bar];
    expect(e.update(b)).toBe('added');
    expect(e.update(a)).toBe('rejected');
    expect(e.update({ ...b, timeframe: '5m' })).toBe('rejected');
    expect(e.update({ ...b, close: Number.NaN })).toBe('rejected');
    expect(seen.map((r) => r.reason)).toEqual(['out_of_order', 'timeframe', 'non_finite']);
    expect(seen[0]!.latestTs).toBe(b.ts);
    off();
    e.update(a);
    expect(seen).toHaveLength(3);
    expect(e.stats().rejected).toEqual({ out_of_order: 2, timeframe: 1, non_finite: 1, symbol: 0 });
    expect(e.update({ ...b, close: b.close + 1 })).toBe('replaced');
  });

  it('serves one cached object per symbol for cacheTtlMs, then recomputes', () => {
    const clock = new ManualClock();
    const e = createFeatureEngine({ clock, cacheTtlMs: 2000 });
    const bars = baseBars(50);
    for (const b of bars.slice(0, 40)) e.update(b);
    const first = e.getFeatures('EURUSD')!;
    expect(Object.isFrozen(first)).toBe(true);
    e.update(bars[40]!);
    clock.advance(1999);
    expect(e.getFeatures('EURUSD')).toBe(first);
    clock.advance(1);
    const second = e.getFeatures('EURUSD')!;
    expect(second).not.toBe(first);
    expect(second.ts).toBe(bars[40]!.ts);
    expect(e.stats()).toMatchObject({ cacheHits: 1, cacheMisses: 2 });
    expect(e.getFeatures('XAUUSD')).toBeNull();
    expect(e.listSymbols()).toEqual(['EURUSD']);
    expect(e.forget('EURUSD')).toBe(true);
    expect(e.getFeatures('EURUSD')).toBeNull();
    expect(e.stats().symbols).toBe(0);
  });

  it('snapshot and restore (through JSON) continue exactly where the old engine was', () => {
    const bars = baseBars(400);
    const a = engine({ cacheTtlMs: 0 });
    feedLive(a, bars.slice(0, 217));
    // Leave a forming bar pending so the restored engine must replace it correctly.
    a.update({ ...bars[217]!, close: bars[217]!.open, final: false });
    const b = engine({ cacheTtlMs: 0 });
    b.restore(JSON.parse(JSON.stringify(a.snapshot('EURUSD'))));
    feedLive(a, bars.slice(217));
    feedLive(b, bars.slice(217));
    expect(b.getFeatures('EURUSD')!.timeframes).toEqual(a.getFeatures('EURUSD')!.timeframes);
  });

  it('warmStart from stored bars equals feeding them one by one', () => {
    const bars = baseBars(120);
    const a = engine({ cacheTtlMs: 0 });
    feedLive(a, bars.slice(0, 10)); // state that warmStart must forget
    expect(a.warmStart('EURUSD', [...bars, { ...bars[0]!, symbol: 'XAUUSD' }])).toBe(120);
    expect(a.stats().rejected.symbol).toBe(1);
    const b = engine({ cacheTtlMs: 0 });
    for (const bar of bars) b.update(bar);
    expect(a.getFeatures('EURUSD')!.timeframes).toEqual(b.getFeatures('EURUSD')!.timeframes);
  });

  it('supports a feature set per timeframe', () => {
    const e = engine({
      timeframes: ['5m'],
      featuresByTimeframe: { '5m': { fast: { kind: 'ema', options: { period: 3 } } } },
    });
    for (const b of baseBars(30)) e.update(b);
    const fs = e.getFeatures('EURUSD')!;
    expect(Object.keys(fs.timeframes['5m']!.values)).toEqual(['fast']);
    expect(Object.keys(fs.timeframes['1m']!.values)).toEqual(Object.keys(DEFAULT_FEATURE_SET));
  });

  it('values() and valuesInto() give the flattened getFeatures() values of each timeframe, mid-period too', () => {
    const spec = DEFAULT_FEATURE_SET;
    const keys = featureKeys(spec);
    const e = engine({ cacheTtlMs: 0 });
    const watched = engine({ cacheTtlMs: 0 }); // read through values() after every bar
    const kept: Record<Timeframe, FlatFeatureValues> = { '1m': {}, '5m': {}, '15m': {}, '1h': {} } as never;
    const bars = baseBars(200);
    feedLive(e, bars);
    let checked = 0;
    for (const [i, b] of bars.entries()) {
      feedLive(watched, [b]);
      for (const tf of ['1m', '5m', '15m', '1h'] as const) {
        const got = watched.values('EURUSD', tf);
        const into = kept[tf];
        expect(watched.valuesInto('EURUSD', into, tf)).toBe(into); // the caller's record, filled
        expect(into).toEqual(got);
        if (i % 7 !== 0 && i !== bars.length - 1) continue;
        // Compared with the frozen path on a fresh engine state: same keys, same numbers.
        const fs = watched.getFeatures('EURUSD');
        const frame = fs?.timeframes[tf];
        if (frame === undefined) throw new Error(`no ${tf} features`);
        expect(Object.keys(got ?? {})).toEqual(keys);
        expect(got).toEqual(flattenFeatureValues(frame.values, spec));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
    // Reading mid-period (applying the forming higher bar early) does not change later results.
    for (const tf of ['1m', '5m', '15m', '1h'] as const) {
      expect(watched.values('EURUSD', tf)).toEqual(e.values('EURUSD', tf));
    }
    // Once warm, every key holds a number (the default set is stable after 34 bars).
    const last = e.values('EURUSD');
    expect(Object.values(last ?? {}).every((v) => typeof v === 'number')).toBe(true);
  });

  it('values() is null for a symbol never seen or a timeframe not computed, and leaves extra keys alone', () => {
    const e = engine({
      timeframes: ['5m'],
      featuresByTimeframe: { '5m': { fast: { kind: 'ema', options: { period: 3 } } } },
    });
    expect(e.values('EURUSD')).toBeNull();
    const record: FlatFeatureValues = { mine: 42 };
    expect(e.valuesInto('EURUSD', record)).toBeNull();
    expect(record).toEqual({ mine: 42 });
    for (const b of baseBars(30)) e.update(b);
    expect(e.values('EURUSD', '1h')).toBeNull();
    expect(e.values('EURUSD', '5m')).toEqual({ fast: expect.any(Number) });
    expect(e.valuesInto('EURUSD', record, '5m')).toEqual({ mine: 42, fast: expect.any(Number) });
    expect(Object.isFrozen(e.values('EURUSD'))).toBe(false);
  });

  it('updateValues() is update() then values(), frozen and kept per symbol; latestValues() reads it back', () => {
    const e = engine({ timeframes: ['5m'] });
    const twin = engine({ timeframes: ['5m'] });
    expect(e.latestValues('EURUSD')).toBeNull();
    const bars = baseBars(60);
    let last: Readonly<FlatFeatureValues> | null = null;
    for (const [i, b] of bars.entries()) {
      // Forming versions first (replaces), then the final bar; another symbol in between.
      for (const x of [{ ...b, close: b.open, final: false }, b]) {
        const v = e.updateValues(x);
        expect(twin.update(x)).not.toBe('rejected');
        expect(v).toEqual(twin.values('EURUSD'));
        expect(Object.isFrozen(v)).toBe(true);
        expect(e.latestValues('EURUSD')).toBe(v);
        last = v;
      }
      if (i % 7 === 0) e.updateValues({ ...b, symbol: 'GBPUSD' });
    }
    expect(e.latestValues('EURUSD')).toBe(last);
    // Rejected bars (older, non-finite, other timeframe) give null and keep the record.
    expect(e.updateValues(bars[3]!)).toBeNull();
    expect(e.updateValues({ ...bars[59]!, close: NaN })).toBeNull();
    expect(e.updateValues({ ...bars[59]!, timeframe: '5m' })).toBeNull();
    expect(e.latestValues('EURUSD')).toBe(last);
    expect(e.latestValues('GBPUSD')).not.toBeNull();
    // The higher timeframe is as update() leaves it.
    expect(e.values('EURUSD', '5m')).toEqual(twin.values('EURUSD', '5m'));
    e.forget('EURUSD');
    expect(e.latestValues('EURUSD')).toBeNull();
  });

  it('symbols updated round after round in one order, then forgotten, warm-started or restored, keep their own state', () => {
    const e = engine({ timeframes: ['5m'] });
    const twin = engine({ timeframes: ['5m'] });
    const symbols = ['AAA', 'BBB', 'CCC', 'DDD'];
    const series = new Map(symbols.map((s) => [s, baseBars(30, s)]));
    const feed = (symbol: string, i: number, into = [e, twin]) => {
      const b = series.get(symbol)![i]!;
      for (const x of into) expect(x.updateValues(b)).not.toBeNull();
    };
    // The same order each round (the successor links are learned), then a round in another order.
    for (let i = 0; i < 10; i++) for (const s of symbols) feed(s, i);
    for (const s of [...symbols].reverse()) feed(s, 10);
    for (const s of symbols) expect(e.latestValues(s)).toEqual(twin.latestValues(s));
    // BBB forgotten: AAA's link to its old state must not be followed (BBB starts afresh).
    e.forget('BBB');
    twin.forget('BBB');
    for (let i = 11; i < 14; i++) for (const s of symbols) feed(s, i);
    expect(e.snapshot('BBB')?.timeframes['1m']?.bars).toBe(3);
    // CCC warm-started and DDD restored over: the replaced states are not reached through a link.
    const bars = series.get('CCC')!.slice(0, 5);
    expect(e.warmStart('CCC', bars)).toBe(5);
    expect(twin.warmStart('CCC', bars)).toBe(5);
    const snap = twin.snapshot('DDD')!;
    feed('DDD', 14, [e]); // e's DDD moves on; the restore puts it back where twin's is
    e.restore(snap);
    for (let i = 14; i < 20; i++) for (const s of symbols) feed(s, i);
    for (const s of symbols) {
      expect(e.latestValues(s)).toEqual(twin.latestValues(s));
      expect(e.snapshot(s)).toEqual(twin.snapshot(s));
    }
    expect(e.stats().symbols).toBe(4);
  });

  it('values() gives a new record per call: what a caller does to one it keeps shows in no later one', () => {
    const e = engine({ timeframes: [] });
    const bars = baseBars(40);
    for (const b of bars.slice(0, 10)) e.update(b); // not stable yet: some keys null
    const early = e.values('EURUSD') as FlatFeatureValues;
    const pristine = { ...early };
    const keys = featureKeys(DEFAULT_FEATURE_SET);
    early.ema12 = -1;
    delete early.macd;
    early.extra = 7;
    const again = e.values('EURUSD') as FlatFeatureValues;
    expect(again).not.toBe(early);
    expect(again).toEqual(pristine);
    expect(Object.keys(again)).toEqual(keys);
    for (const b of bars.slice(10)) e.update(b);
    const late = e.values('EURUSD') as FlatFeatureValues;
    expect(Object.keys(late)).toEqual(keys);
    expect(late).toEqual(flattenFeatureValues(e.getFeatures('EURUSD')?.timeframes['1m']?.values ?? {}));
    expect(again).toEqual(pristine); // an earlier record is not refilled by later reads
    // A plain object, as one built from {} (toStrictEqual also compares prototypes), extensible.
    expect(Object.getPrototypeOf(late)).toBe(Object.prototype);
    expect(late).toStrictEqual({ ...late });
    expect(Object.isExtensible(late)).toBe(true);
  });

  it('a read right after an update of the same symbol sees forget, restore and warmStart of it', () => {
    const e = engine({ timeframes: [] });
    const bars = baseBars(60);
    for (const b of bars.slice(0, 40)) e.update(b);
    const snap = e.snapshot('EURUSD');
    const at40 = e.values('EURUSD');
    e.update(bars[40] as Bar);
    expect(e.forget('EURUSD')).toBe(true);
    expect(e.values('EURUSD')).toBeNull(); // not the state read last
    e.update(bars[41] as Bar);
    if (snap === null) throw new Error('no snapshot');
    e.restore(snap);
    expect(e.values('EURUSD')).toEqual(at40); // the restored state, not the one updated before
    e.update(bars[40] as Bar);
    expect(e.warmStart('EURUSD', bars.slice(0, 40))).toBe(40);
    expect(e.values('EURUSD')).toEqual(at40);
    expect(e.update(bars[40] as Bar)).toBe('added'); // a state that had seen bar 40 would replace it
  });

  it.each([
    [{ timeframes: ['7m'] as never }, /"7m"/],
    [{ baseTimeframe: '5m' as const, timeframes: ['1m'] as never }, /"1m"/],
    [{ cacheTtl: 2 } as never, /unknown option "cacheTtl"/],
    [{ cacheTtlMs: -1 }, /got -1/],
    [{ features: { x: { kind: 'ema', options: { period: 0 } } } }, /"period"/],
    [{ features: { x: { kind: 'wma' } } as never }, /"wma"/],
    [{ featuresByTimeframe: { '4h': {} } }, /"4h"/],
  ])('rejects bad options %j', (options, message) => {
    let caught: unknown;
    try {
      engine(options as Partial<FeatureEngineOptions>);
    } catch (err) {
      caught = err;
    }
    expect(isPipelineError(caught, 'INVALID_OPTIONS')).toBe(true);
    expect((caught as Error).message).toMatch(message);
  });
});
