import { type Bar } from '@pipeline/core';
import { ATR, BollingerBands, EMA, MACD, RSI } from '@pipeline/features';
import { createIndicatorFeatures } from './features';

/** A seeded walk with forming-bar updates: every minute gets 3 versions, the last one final. */
function* bars(): Generator<Bar> {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let close = 1.1;
  for (let m = 0; m < 120; m++) {
    const open = close;
    let high = open;
    let low = open;
    for (let v = 0; v < 3; v++) {
      close = Math.max(0.5, close + (rnd() - 0.5) * 0.002);
      high = Math.max(high, close);
      low = Math.min(low, close);
      yield {
        symbol: 'EURUSD',
        timeframe: '1m',
        ts: m * 60_000,
        open,
        high,
        low,
        close,
        volume: 0,
        source: 'synthetic',
        final: v === 2,
        quality: 1,
      };
    }
  }
}

describe('the strategy feature set', () => {
  it('equals the standalone indicators, forming-bar replacements included, and ignores older bars', () => {
    const features = createIndicatorFeatures();
    const ema12 = new EMA({ period: 12 });
    const ema26 = new EMA({ period: 26 });
    const rsi14 = new RSI({ period: 14 });
    const macd = new MACD();
    const bb = new BollingerBands();
    const atr14 = new ATR({ period: 14 });
    let lastTs = -1;
    let stable = 0;
    for (const bar of bars()) {
      const replace = bar.ts === lastTs;
      lastTs = bar.ts;
      for (const i of [ema12, ema26, rsi14, macd, bb]) i.update(bar.close, replace);
      atr14.update(bar, replace);
      const got = features.update(bar);
      const m = macd.getResult();
      const b = bb.getResult();
      expect(got).toEqual({
        ema12: ema12.getResult(),
        ema26: ema26.getResult(),
        rsi14: rsi14.getResult(),
        macd: m ? m.macd : null,
        macd_signal: m ? m.signal : null,
        macd_hist: m ? m.histogram : null,
        bb_upper: b ? b.upper : null,
        bb_middle: b ? b.middle : null,
        bb_lower: b ? b.lower : null,
        atr14: atr14.getResult(),
      });
      if (got.macd_hist !== null) stable++;
    }
    expect(stable).toBeGreaterThan(50);
    // A bar older than the newest one (seen again at the bootstrap/live seam) changes nothing.
    const before = features.latest('EURUSD');
    const [first] = bars();
    if (!first) throw new Error('no bars');
    expect(features.update({ ...first })).toBe(before);
  });

  it('keeps the latest frozen record per symbol: a rejected bar answers it, an unseen symbol nothing', () => {
    const features = createIndicatorFeatures();
    expect(features.latest('EURUSD')).toBeNull();
    expect(features.symbols).toBe(0);
    const all = [...bars()];
    let last = null;
    for (const bar of all.slice(0, 90)) {
      last = features.update(bar);
      expect(Object.isFrozen(last)).toBe(true);
      expect(features.latest('EURUSD')).toBe(last);
    }
    const next = all[90] as Bar;
    // A non-finite bar is rejected: the answer is the kept record, nothing changes.
    expect(features.update({ ...next, close: NaN })).toBe(last);
    expect(features.update({ ...next, symbol: 'GBPUSD', high: Infinity })).toEqual({});
    expect(features.latest('GBPUSD')).toBeNull();
    expect(features.symbols).toBe(1);
    const other = features.update({ ...next, symbol: 'GBPUSD' });
    expect(features.latest('GBPUSD')).toBe(other);
    expect(features.latest('EURUSD')).toBe(last);
    expect(features.symbols).toBe(2);
  });
});
