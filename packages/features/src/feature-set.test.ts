import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomSeries } from '../test/series';
import {
  ADX,
  BollingerBands,
  DEFAULT_FEATURE_SET,
  MACD,
  RSI,
  createIndicatorSet,
  featureKeys,
  flattenFeatureValues,
  type FeatureSetSpec,
} from './index';

const s = randomSeries(11, 80);
const bars = Array.from({ length: s.close.length }, (_, i) => ({
  ts: s.ts[i]!,
  open: s.open[i]!,
  high: s.high[i]!,
  low: s.low[i]!,
  close: s.close[i]!,
  volume: s.volume[i]!,
}));

describe('feature keys (the one documented naming)', () => {
  it('the default set flattens to the keys of the README table, in its order', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const section = readme.split('### Feature keys')[1]?.split('\n## ')[0] ?? '';
    const documented = [...section.matchAll(/^\| `([a-z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(featureKeys()).toEqual([
      'ema12',
      'ema26',
      'sma20',
      'rsi14',
      'macd',
      'macd_signal',
      'macd_hist',
      'bb_upper',
      'bb_middle',
      'bb_lower',
      'stddev20',
      'atr14',
      'stoch_k',
      'stoch_d',
      'adx',
      'adx_plus_di',
      'adx_minus_di',
      'obv',
      'vwap',
    ]);
    expect(documented).toEqual(featureKeys());
  });

  it('flatValues() equals flattenFeatureValues(values()) for sets of several specs, a new plain object per call', () => {
    const one: FeatureSetSpec = { fast: { kind: 'ema', options: { period: 3 } } };
    const two: FeatureSetSpec = {
      m: { kind: 'macd' },
      hi: { kind: 'sma', options: { period: 2 }, source: 'high' },
    };
    const sets = [
      createIndicatorSet(one),
      createIndicatorSet(two),
      createIndicatorSet(two),
      createIndicatorSet(),
    ];
    for (const [i, b] of bars.slice(0, 60).entries()) {
      for (const set of sets) {
        set.update(b, false);
        const flat = set.flatValues();
        expect(flat).toStrictEqual(flattenFeatureValues(set.values(), set.spec));
        expect(Object.keys(flat)).toEqual(featureKeys(set.spec));
        expect(set.flatValues()).not.toBe(flat);
        if (i === 0) flat.extra = 1; // a caller's change shows in no later record
      }
    }
  });

  it('flatValues() carries every output of every indicator under its key, null while warming up', () => {
    const set = createIndicatorSet();
    set.update(bars[0]!, false);
    const early = set.flatValues();
    expect(Object.keys(early)).toEqual(featureKeys());
    expect(early.macd_hist).toBeNull();
    expect(early.obv).toBe(bars[0]!.volume);

    const rsi = new RSI({ period: 14 });
    const macd = new MACD();
    const bb = new BollingerBands();
    const adx = new ADX();
    rsi.add(bars[0]!.close);
    macd.add(bars[0]!.close);
    bb.add(bars[0]!.close);
    adx.add(bars[0]!);
    for (const b of bars.slice(1)) {
      set.update(b, false);
      rsi.add(b.close);
      macd.add(b.close);
      bb.add(b.close);
      adx.add(b);
    }
    const flat = set.flatValues();
    expect(Object.values(flat).every((v) => typeof v === 'number')).toBe(true);
    expect(flat.rsi14).toBe(rsi.getResult());
    expect([flat.macd, flat.macd_signal, flat.macd_hist]).toEqual([
      macd.getResultOrThrow().macd,
      macd.getResultOrThrow().signal,
      macd.getResultOrThrow().histogram,
    ]);
    expect([flat.bb_upper, flat.bb_middle, flat.bb_lower]).toEqual([
      bb.getResultOrThrow().upper,
      bb.getResultOrThrow().middle,
      bb.getResultOrThrow().lower,
    ]);
    expect([flat.adx, flat.adx_plus_di, flat.adx_minus_di]).toEqual([
      adx.getResultOrThrow().adx,
      adx.getResultOrThrow().plusDI,
      adx.getResultOrThrow().minusDI,
    ]);
    expect(flattenFeatureValues(set.values(), DEFAULT_FEATURE_SET)).toEqual(flat);
  });

  it("reproduces the HTTP API's names (ema12, rsi14, macd_hist, bb_upper, atr14) from a strategy set", () => {
    const strategy: FeatureSetSpec = {
      ema12: { kind: 'ema', options: { period: 12 } },
      ema26: { kind: 'ema', options: { period: 26 } },
      rsi14: { kind: 'rsi', options: { period: 14 } },
      macd: { kind: 'macd', options: { fast: 12, slow: 26, signal: 9 } },
      bb: { kind: 'bollinger', options: { period: 20, stdDev: 2 } },
      atr14: { kind: 'atr', options: { period: 14 } },
    };
    const set = createIndicatorSet(strategy);
    for (const b of bars) set.update(b, false);
    expect(Object.keys(set.flatValues())).toEqual([
      'ema12',
      'ema26',
      'rsi14',
      'macd',
      'macd_signal',
      'macd_hist',
      'bb_upper',
      'bb_middle',
      'bb_lower',
      'atr14',
    ]);
    // A missing entry (values of another set) is null, never undefined.
    expect(flattenFeatureValues({}, strategy).macd_hist).toBeNull();
  });
});
