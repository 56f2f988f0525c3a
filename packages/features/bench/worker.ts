// One library, one fresh process: prints {"results": {case: nsPerUnit}} as JSON on stdout.
// Run by bench/indicators.ts; usage: tsx bench/worker.ts <library> <bars> <rounds>
import { randomSeries } from '../test/series';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

const [lib = 'ours', barsArg = '100000', roundsArg = '3'] = process.argv.slice(2);
const N = Number(barsArg);
const ROUNDS = Number(roundsArg);
const s = randomSeries(20240102, N);
/**
 * Incremental inputs cycle through a pool of POOL bars (`a[i & MASK]`): a live feed updates one hot
 * bar at a time, and reading 100,000 distinct bar objects would measure cache misses instead.
 */
const POOL = 1024;
const MASK = POOL - 1;
const bars = Array.from({ length: POOL }, (_, i) => ({
  ts: s.ts[i]!,
  open: s.open[i]!,
  high: s.high[i]!,
  low: s.low[i]!,
  close: s.close[i]!,
  volume: s.volume[i]!,
}));
const closes = Array.from(s.close.subarray(0, POOL));
const revisedCloses = closes.map((c) => c * 1.0005);
const revisedBars = bars.map((b) => ({ ...b, high: b.high * 1.0005, close: b.close * 1.0005, volume: b.volume + 1 }));
const allCloses = Array.from(s.close);
const highs = Array.from(s.high);
const lows = Array.from(s.low);
const volumes = Array.from(s.volume);
const allBarsTs = Array.from(s.ts);

/** Best of ROUNDS timed runs after one warm-up run; ns per bar. */
function time(run: () => void): number {
  run();
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    run();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / N);
  }
  return best;
}

let sink = 0;

/**
 * Each case gets its own loop compiled from source, so every call site in it sees one indicator class
 * (monomorphic), as it does in a real program; a shared helper loop would measure V8's megamorphic
 * dispatch instead of the indicators.
 */
function loop(call: string): (ind: Any, a: unknown[], b: unknown[], n: number) => void {
  return new Function('ind', 'a', 'b', 'n', `for (let i = 0; i < n; i++) { const j = i & ${MASK}; ${call} }`) as never;
}

/** Incremental: a fresh indicator per run, fed every bar (`call` uses ind, a[j], b[j]). */
function incremental(make: () => Any, call: string, a: unknown[], b: unknown[] = a): number {
  const run = loop(call);
  return time(() => {
    const ind = make();
    run(ind, a, b, N);
    sink += Number(ind.getResult?.() !== null);
  });
}

type Case = [name: string, make: () => Any, call: string, input: unknown[]];
const results: Record<string, number | null> = {};
const errors: Record<string, string> = {};

function measure(cases: Case[]): void {
  for (const [name, make, call, input] of cases) {
    try {
      results[name] = incremental(make, call, input);
    } catch (e) {
      results[name] = null;
      errors[name] = String(e);
    }
  }
}

async function main(): Promise<void> {
  if (lib === 'ours') {
    const f = await import('../src');
    const single: Case[] = [
      ['SMA', () => new f.SMA({ period: 20 }), 'ind.add(a[j]);', closes],
      ['EMA', () => new f.EMA({ period: 12 }), 'ind.add(a[j]);', closes],
      ['RSI', () => new f.RSI({ period: 14 }), 'ind.add(a[j]);', closes],
      ['MACD', () => new f.MACD(), 'ind.add(a[j]);', closes],
      ['Bollinger', () => new f.BollingerBands(), 'ind.add(a[j]);', closes],
      ['StdDev', () => new f.StdDev(), 'ind.add(a[j]);', closes],
      ['ATR', () => new f.ATR(), 'ind.add(a[j]);', bars],
      ['Stochastic', () => new f.Stochastic(), 'ind.add(a[j]);', bars],
      ['ADX', () => new f.ADX(), 'ind.add(a[j]);', bars],
      ['OBV', () => new f.OBV(), 'ind.add(a[j]);', bars],
      ['VWAP', () => new f.VWAP(), 'ind.add(a[j]);', bars],
    ];
    measure(single);
    // replace(): add the bar, then replace it by a revised forming bar (what a live feed does);
    // the replace cost is the difference to add() alone.
    for (const [name, make, , input] of single) {
      const revised = input === closes ? revisedCloses : revisedBars;
      const both = incremental(make, 'ind.add(a[j]); ind.replace(b[j]);', input, revised);
      results[`${name} replace`] = Math.max(0, both - results[name]!);
    }
    results['default set (IndicatorSet)'] = incremental(() => f.createIndicatorSet(), 'ind.update(a[j], false);', bars);
    // The engine needs increasing times: the pooled bar objects get the next minute's ts before use.
    const symbolBars = bars.map((x) => ({ ...x, symbol: 'EURUSD', timeframe: '1m' as const, source: 'synthetic' as const, final: true, quality: 1 }));
    const engineLoop = (e: Any) => {
      for (let i = 0; i < N; i++) {
        const bar = symbolBars[i & MASK]!;
        bar.ts = allBarsTs[i]!;
        e.update(bar);
      }
    };
    results['engine update (1m+5m+15m+1h)'] = time(() => engineLoop(f.createFeatureEngine({ cacheTtlMs: 0 })));
    // One feature computation: the uncached /features answer for a symbol with 4 timeframes.
    const engine = f.createFeatureEngine({ cacheTtlMs: 0 });
    engineLoop(engine);
    results['feature set computation (getFeatures, uncached)'] = time(() => {
      for (let i = 0; i < N / 100; i++) sink += engine.getFeatures('EURUSD')!.ts;
    }) * 100;
    // Batch over typed arrays.
    const c = s.close;
    const one = (fn: () => unknown) => time(fn);
    results['batch SMA'] = one(() => f.smaBatch(c, { period: 20 }));
    results['batch EMA'] = one(() => f.emaBatch(c, { period: 12 }));
    results['batch RSI'] = one(() => f.rsiBatch(c, { period: 14 }));
    results['batch MACD'] = one(() => f.macdBatch(c));
    results['batch Bollinger'] = one(() => f.bollingerBatch(c));
    results['batch StdDev'] = one(() => f.stdDevBatch(c));
    results['batch ATR'] = one(() => f.atrBatch(s.high, s.low, c));
    results['batch Stochastic'] = one(() => f.stochasticBatch(s.high, s.low, c));
    results['batch ADX'] = one(() => f.adxBatch(s.high, s.low, c));
    results['batch OBV'] = one(() => f.obvBatch(c, s.volume));
    results['batch VWAP'] = one(() => f.vwapBatch(s.ts, s.high, s.low, c, s.volume));
  } else if (lib === 'trading-signals-8') {
    const t: Any = await import('trading-signals');
    const v = 'ind.add(a[j]);';
    measure([
      ['SMA', () => new t.SMA(20), v, closes],
      ['EMA', () => new t.EMA(12), v, closes],
      ['RSI', () => new t.RSI(14), v, closes],
      ['MACD', () => new t.MACD(new t.EMA(12), new t.EMA(26), new t.EMA(9)), v, closes],
      ['Bollinger', () => new t.BollingerBands(20, 2), v, closes],
      ['ATR', () => new t.ATR(14), v, bars],
      ['Stochastic', () => new t.StochasticOscillator({ kPeriod: 14, kSlowingPeriod: 3, dPeriod: 3 }), v, bars],
      ['ADX', () => new t.ADX(14), v, bars],
      ['OBV', () => new t.OBV(14), v, bars],
      ['VWAP', () => new t.VWAP(), v, bars],
    ]);
  } else if (lib === 'trading-signals-6') {
    const t: Any = await import('trading-signals-6');
    const v = 'ind.update(a[j], false);';
    measure([
      ['SMA', () => new t.FasterSMA(20), v, closes],
      ['EMA', () => new t.FasterEMA(12), v, closes],
      ['RSI', () => new t.FasterRSI(14), v, closes],
      ['MACD', () => new t.FasterMACD(new t.FasterEMA(12), new t.FasterEMA(26), new t.FasterEMA(9)), v, closes],
      ['Bollinger', () => new t.FasterBollingerBands(20, 2), v, closes],
      ['ATR', () => new t.FasterATR(14), v, bars],
      ['Stochastic', () => new t.FasterStochasticOscillator(14, 3, 3), v, bars],
      ['ADX', () => new t.FasterADX(14), v, bars],
      ['OBV', () => new t.FasterOBV(), v, bars],
      ['VWAP', () => new t.FasterVWAP(), v, bars],
    ]);
  } else if (lib === 'technicalindicators') {
    const t: Any = await import('technicalindicators');
    const v = 'ind.nextValue(a[j]);';
    const hlc = () => ({ high: [], low: [], close: [] });
    measure([
      ['SMA', () => new t.SMA({ period: 20, values: [] }), v, closes],
      ['EMA', () => new t.EMA({ period: 12, values: [] }), v, closes],
      ['RSI', () => new t.RSI({ period: 14, values: [] }), v, closes],
      ['MACD', () => new t.MACD({ values: [], fastPeriod: 12, slowPeriod: 26, signalPeriod: 9, SimpleMAOscillator: false, SimpleMASignal: false }), v, closes],
      ['Bollinger', () => new t.BollingerBands({ period: 20, stdDev: 2, values: [] }), v, closes],
      ['StdDev', () => new t.SD({ period: 20, values: [] }), v, closes],
      ['ATR', () => new t.ATR({ period: 14, ...hlc() }), v, bars],
      ['Stochastic', () => new t.Stochastic({ period: 14, signalPeriod: 3, ...hlc() }), v, bars],
      ['ADX', () => new t.ADX({ period: 14, ...hlc() }), v, bars],
      ['OBV', () => new t.OBV({ close: [], volume: [] }), v, bars],
      ['VWAP', () => new t.VWAP({ high: [], low: [], close: [], volume: [] }), v, bars],
    ]);
    const batch = (name: string, fn: () => unknown) => {
      try {
        results[`batch ${name}`] = time(fn);
      } catch (e) {
        errors[`batch ${name}`] = String(e);
      }
    };
    batch('SMA', () => t.SMA.calculate({ period: 20, values: allCloses }));
    batch('EMA', () => t.EMA.calculate({ period: 12, values: allCloses }));
    batch('RSI', () => t.RSI.calculate({ period: 14, values: allCloses }));
    batch('MACD', () => t.MACD.calculate({ values: allCloses, fastPeriod: 12, slowPeriod: 26, signalPeriod: 9, SimpleMAOscillator: false, SimpleMASignal: false }));
    batch('Bollinger', () => t.BollingerBands.calculate({ period: 20, stdDev: 2, values: allCloses }));
    batch('ATR', () => t.ATR.calculate({ period: 14, high: highs, low: lows, close: allCloses }));
    batch('Stochastic', () => t.Stochastic.calculate({ period: 14, signalPeriod: 3, high: highs, low: lows, close: allCloses }));
    batch('ADX', () => t.ADX.calculate({ period: 14, high: highs, low: lows, close: allCloses }));
    batch('OBV', () => t.OBV.calculate({ close: allCloses, volume: volumes }));
    batch('VWAP', () => t.VWAP.calculate({ high: highs, low: lows, close: allCloses, volume: volumes }));
  } else if (lib === 'indicatorts') {
    const t: Any = await import('indicatorts');
    const batch = (name: string, fn: () => unknown) => {
      try {
        results[`batch ${name}`] = time(fn);
      } catch (e) {
        errors[`batch ${name}`] = String(e);
      }
    };
    batch('SMA', () => t.sma(allCloses, { period: 20 }));
    batch('EMA', () => t.ema(allCloses, { period: 12 }));
    batch('RSI', () => t.rsi(allCloses, { period: 14 }));
    batch('MACD', () => t.macd(allCloses, { fast: 12, slow: 26, signal: 9 }));
    batch('Bollinger', () => t.bb(allCloses, { period: 20 }));
    batch('StdDev', () => t.mstd(allCloses, { period: 20 }));
    batch('ATR', () => t.atr(highs, lows, allCloses, { period: 14 }));
    batch('Stochastic', () => t.stoch(highs, lows, allCloses, { kPeriod: 14, dPeriod: 3 }));
    batch('OBV', () => t.obv(allCloses, volumes));
    batch('VWAP', () => t.vwap(allCloses, volumes, { period: 14 }));
  } else if (lib === 'ixjb94') {
    const m: Any = await import('@ixjb94/indicators');
    const t = new m.IndicatorsSync();
    const batch = (name: string, fn: () => unknown) => {
      try {
        results[`batch ${name}`] = time(fn);
      } catch (e) {
        errors[`batch ${name}`] = String(e);
      }
    };
    batch('SMA', () => t.sma(allCloses, 20));
    batch('EMA', () => t.ema(allCloses, 12));
    batch('RSI', () => t.rsi(allCloses, 14));
    batch('MACD', () => t.macd(allCloses, 12, 26, 9));
    batch('Bollinger', () => t.bbands(allCloses, 20, 2));
    batch('StdDev', () => t.stddev(allCloses, 20));
    batch('ATR', () => t.atr(highs, lows, allCloses, 14));
    batch('Stochastic', () => t.stoch(highs, lows, allCloses, 14, 3, 3));
    batch('ADX', () => t.adx(highs, lows, 14));
    batch('OBV', () => t.obv(allCloses, volumes));
    batch('VWAP', () => t.vwap(highs, lows, allCloses, volumes, 14));
  } else {
    throw new Error(`unknown library ${lib}`);
  }
  process.stdout.write(JSON.stringify({ library: lib, results, errors, sink: sink > 0 }) + '\n');
}

void main();
