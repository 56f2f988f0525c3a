// One library, one fresh process: prints {"results": {case: nsPerUnit}} as JSON on stdout.
// Run by bench/indicators.ts; usage: tsx bench/worker.ts <library> <bars> <rounds>
import { percentileOf } from '@pipeline/test-utils';
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
  ts: s.ts[i],
  open: s.open[i],
  high: s.high[i],
  low: s.low[i],
  close: s.close[i],
  volume: s.volume[i],
}));
const closes = Array.from(s.close.subarray(0, POOL));
const revisedCloses = closes.map((c) => c * 1.0005);
const revisedBars = bars.map((b) => ({
  ...b,
  high: b.high! * 1.0005,
  close: b.close! * 1.0005,
  volume: b.volume! + 1,
}));
const allBarsTs = Array.from(s.ts);

/**
 * The machine is shared: a timed stretch longer than a scheduler time slice is almost always
 * preempted, and the preemption would be counted as our time. So every run is timed in short chunks of
 * CHUNK updates, and the figure is the 20th percentile of the chunk times over ROUNDS runs (after
 * WARMUP runs that let the JIT settle), in ns per update. Every library is measured the same way.
 */
const CHUNK = 2048;
const WARMUP = 3;

/** `run(from, to)` performs updates from..to-1 of one run; `start()` begins a fresh run. */
function timeChunks(start: () => void, run: (from: number, to: number) => void): number {
  const samples: number[] = [];
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    start();
    for (let c = 0; c < N; c += CHUNK) {
      const to = Math.min(N, c + CHUNK);
      const t = process.hrtime.bigint();
      run(c, to);
      const dt = Number(process.hrtime.bigint() - t) / (to - c);
      if (r >= WARMUP) samples.push(dt);
    }
  }
  return percentileOf(samples, 20);
}

/**
 * Batch: one call over the whole history (N bars) per sample, as history is used; the figure is the
 * minimum over ROUNDS calls after WARMUP calls, in ns per bar (deterministic code: noise only adds
 * time, so the fastest call is the closest to the function's own cost; the same for every library).
 */
function time(fn: (chunk: number) => unknown): number {
  let best = Infinity;
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    const t = process.hrtime.bigint();
    sink += Number(fn(0) !== null);
    const dt = Number(process.hrtime.bigint() - t) / N;
    if (r >= WARMUP && dt < best) best = dt;
  }
  return best;
}

let sink = 0;

// Batch inputs over the whole history (index 0): typed arrays for us, JS arrays for the others.
const slices = (arr: Float64Array): Float64Array[] => [arr];
const C = {
  ts: slices(s.ts),
  high: slices(s.high),
  low: slices(s.low),
  close: slices(s.close),
  volume: slices(s.volume),
};
const J = {
  high: C.high.map((x) => Array.from(x)),
  low: C.low.map((x) => Array.from(x)),
  close: C.close.map((x) => Array.from(x)),
  volume: C.volume.map((x) => Array.from(x)),
};

/**
 * Each case gets its own loop compiled from source, so every call site in it sees one indicator class
 * (monomorphic), as it does in a real program; a shared helper loop would measure V8's megamorphic
 * dispatch instead of the indicators.
 */
function loop(call: string): (ind: Any, a: unknown[], b: unknown[], from: number, to: number) => void {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- deliberate: one compiled loop per case (see above)
  return new Function(
    'ind',
    'a',
    'b',
    'from',
    'to',
    `for (let i = from; i < to; i++) { const j = i & ${MASK}; ${call} }`,
  ) as never;
}

/** Incremental: a fresh indicator per run, fed every bar (`call` uses ind, a[j], b[j]). */
function incremental(make: () => Any, call: string, a: unknown[], b: unknown[] = a): number {
  const run = loop(call);
  let ind: Any = null;
  return timeChunks(
    () => {
      if (ind !== null) sink += Number(ind.getResult?.() !== null);
      ind = make();
    },
    (from, to) => run(ind, a, b, from, to),
  );
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
    results['default set (IndicatorSet)'] = incremental(
      () => f.createIndicatorSet(),
      'ind.update(a[j], false);',
      bars,
    );
  } else if (lib === 'ours-engine') {
    const f = await import('../src');
    // The engine needs increasing times: the pooled bar objects get the next minute's ts before use.
    // Built as object literals in core Bar field order, as a validator or decoder produces them.
    const symbolBars = bars.map((x) => ({
      symbol: 'EURUSD',
      timeframe: '1m' as const,
      ts: x.ts,
      open: x.open,
      high: x.high,
      low: x.low,
      close: x.close,
      volume: x.volume,
      source: 'synthetic' as const,
      final: true,
      quality: 1,
    }));
    const engineLoop = (e: Any) => {
      for (let i = 0; i < N; i++) {
        const bar = symbolBars[i & MASK]!;
        bar.ts = allBarsTs[i]!;
        e.update(bar);
      }
    };
    let eng: Any = null;
    results['engine update (1m+5m+15m+1h)'] = timeChunks(
      () => (eng = f.createFeatureEngine({ cacheTtlMs: 0 })),
      (from, to) => {
        for (let i = from; i < to; i++) {
          const bar = symbolBars[i & MASK]!;
          bar.ts = allBarsTs[i]!;
          eng.update(bar);
        }
      },
    );
    // One feature computation: the uncached /features answer for a symbol with 4 timeframes.
    const engine = f.createFeatureEngine({ cacheTtlMs: 0 });
    engineLoop(engine);
    const calls: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const t = process.hrtime.bigint();
      sink += engine.getFeatures('EURUSD')!.ts;
      if (i >= 500) calls.push(Number(process.hrtime.bigint() - t));
    }
    results['feature set computation (getFeatures, uncached)'] = percentileOf(calls, 20);
    // The live loop's read after each bar (the sidecar's strategy set, base timeframe only, no read
    // cache): the frozen getFeatures object flattened, against values() and valuesInto().
    const strategySet = {
      ema12: { kind: 'ema', options: { period: 12 } },
      ema26: { kind: 'ema', options: { period: 26 } },
      rsi14: { kind: 'rsi', options: { period: 14 } },
      macd: { kind: 'macd', options: { fast: 12, slow: 26, signal: 9 } },
      bb: { kind: 'bollinger', options: { period: 20, stdDev: 2 } },
      atr14: { kind: 'atr', options: { period: 14 } },
    } as const;
    const liveEngine = () => f.createFeatureEngine({ features: strategySet, timeframes: [], cacheTtlMs: 0 });
    const liveCase = (read: (e: Any) => void) => {
      let e: Any = null;
      return timeChunks(
        () => (e = liveEngine()),
        (from, to) => {
          for (let i = from; i < to; i++) {
            const bar = symbolBars[i & MASK]!;
            bar.ts = allBarsTs[i]!;
            e.update(bar);
            read(e);
          }
        },
      );
    };
    results['live: update only'] = liveCase(() => {});
    results['live: update + getFeatures + flatten'] = liveCase((e) => {
      const fs = e.getFeatures('EURUSD');
      sink += Number(f.flattenFeatureValues(fs.timeframes['1m'].values, strategySet).ema12 !== null);
    });
    results['live: update + values()'] = liveCase((e) => {
      sink += Number(e.values('EURUSD').ema12 !== null);
    });
    const record = {};
    results['live: update + valuesInto()'] = liveCase((e) => {
      sink += Number(e.valuesInto('EURUSD', record).ema12 !== null);
    });
  } else if (lib === 'ours-batch') {
    const f = await import('../src');
    // Batch over typed arrays.
    const one = (fn: (k: number) => unknown) => time(fn);
    results['batch SMA'] = one((k) => f.smaBatch(C.close[k]!, { period: 20 }));
    results['batch EMA'] = one((k) => f.emaBatch(C.close[k]!, { period: 12 }));
    results['batch RSI'] = one((k) => f.rsiBatch(C.close[k]!, { period: 14 }));
    results['batch MACD'] = one((k) => f.macdBatch(C.close[k]!));
    results['batch Bollinger'] = one((k) => f.bollingerBatch(C.close[k]!));
    results['batch StdDev'] = one((k) => f.stdDevBatch(C.close[k]!));
    results['batch ATR'] = one((k) => f.atrBatch(C.high[k]!, C.low[k]!, C.close[k]!));
    results['batch Stochastic'] = one((k) => f.stochasticBatch(C.high[k]!, C.low[k]!, C.close[k]!));
    results['batch ADX'] = one((k) => f.adxBatch(C.high[k]!, C.low[k]!, C.close[k]!));
    results['batch OBV'] = one((k) => f.obvBatch(C.close[k]!, C.volume[k]!));
    results['batch VWAP'] = one((k) =>
      f.vwapBatch(C.ts[k]!, C.high[k]!, C.low[k]!, C.close[k]!, C.volume[k]!),
    );
    // The same calls writing into preallocated outputs (`into`), compared with TA-Lib's C core, are
    // measured by bench/talib-c/paired.ts.
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
      [
        'Stochastic',
        () => new t.StochasticOscillator({ kPeriod: 14, kSlowingPeriod: 3, dPeriod: 3 }),
        v,
        bars,
      ],
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
      [
        'MACD',
        () => new t.FasterMACD(new t.FasterEMA(12), new t.FasterEMA(26), new t.FasterEMA(9)),
        v,
        closes,
      ],
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
      [
        'MACD',
        () =>
          new t.MACD({
            values: [],
            fastPeriod: 12,
            slowPeriod: 26,
            signalPeriod: 9,
            SimpleMAOscillator: false,
            SimpleMASignal: false,
          }),
        v,
        closes,
      ],
      ['Bollinger', () => new t.BollingerBands({ period: 20, stdDev: 2, values: [] }), v, closes],
      ['StdDev', () => new t.SD({ period: 20, values: [] }), v, closes],
      ['ATR', () => new t.ATR({ period: 14, ...hlc() }), v, bars],
      ['Stochastic', () => new t.Stochastic({ period: 14, signalPeriod: 3, ...hlc() }), v, bars],
      ['ADX', () => new t.ADX({ period: 14, ...hlc() }), v, bars],
      ['OBV', () => new t.OBV({ close: [], volume: [] }), v, bars],
      ['VWAP', () => new t.VWAP({ high: [], low: [], close: [], volume: [] }), v, bars],
    ]);
    const batch = (name: string, fn: (k: number) => unknown) => {
      try {
        results[`batch ${name}`] = time(fn);
      } catch (e) {
        errors[`batch ${name}`] = String(e);
      }
    };
    batch('SMA', (k) => t.SMA.calculate({ period: 20, values: J.close[k] }));
    batch('EMA', (k) => t.EMA.calculate({ period: 12, values: J.close[k] }));
    batch('RSI', (k) => t.RSI.calculate({ period: 14, values: J.close[k] }));
    batch('MACD', (k) =>
      t.MACD.calculate({
        values: J.close[k],
        fastPeriod: 12,
        slowPeriod: 26,
        signalPeriod: 9,
        SimpleMAOscillator: false,
        SimpleMASignal: false,
      }),
    );
    batch('Bollinger', (k) => t.BollingerBands.calculate({ period: 20, stdDev: 2, values: J.close[k] }));
    batch('ATR', (k) => t.ATR.calculate({ period: 14, high: J.high[k], low: J.low[k], close: J.close[k] }));
    batch('Stochastic', (k) =>
      t.Stochastic.calculate({
        period: 14,
        signalPeriod: 3,
        high: J.high[k],
        low: J.low[k],
        close: J.close[k],
      }),
    );
    batch('ADX', (k) => t.ADX.calculate({ period: 14, high: J.high[k], low: J.low[k], close: J.close[k] }));
    batch('OBV', (k) => t.OBV.calculate({ close: J.close[k], volume: J.volume[k] }));
    batch('VWAP', (k) =>
      t.VWAP.calculate({ high: J.high[k], low: J.low[k], close: J.close[k], volume: J.volume[k] }),
    );
  } else if (lib === 'indicatorts') {
    const t: Any = await import('indicatorts');
    const batch = (name: string, fn: (k: number) => unknown) => {
      try {
        results[`batch ${name}`] = time(fn);
      } catch (e) {
        errors[`batch ${name}`] = String(e);
      }
    };
    batch('SMA', (k) => t.sma(J.close[k], { period: 20 }));
    batch('EMA', (k) => t.ema(J.close[k], { period: 12 }));
    batch('RSI', (k) => t.rsi(J.close[k], { period: 14 }));
    batch('MACD', (k) => t.macd(J.close[k], { fast: 12, slow: 26, signal: 9 }));
    batch('Bollinger', (k) => t.bb(J.close[k], { period: 20 }));
    batch('StdDev', (k) => t.mstd(J.close[k], { period: 20 }));
    batch('ATR', (k) => t.atr(J.high[k], J.low[k], J.close[k], { period: 14 }));
    batch('Stochastic', (k) => t.stoch(J.high[k], J.low[k], J.close[k], { kPeriod: 14, dPeriod: 3 }));
    batch('OBV', (k) => t.obv(J.close[k], J.volume[k]));
    batch('VWAP', (k) => t.vwap(J.close[k], J.volume[k], { period: 14 }));
  } else if (lib === 'ixjb94') {
    const m: Any = await import('@ixjb94/indicators');
    const t = new m.IndicatorsSync();
    const batch = (name: string, fn: (k: number) => unknown) => {
      try {
        results[`batch ${name}`] = time(fn);
      } catch (e) {
        errors[`batch ${name}`] = String(e);
      }
    };
    batch('SMA', (k) => t.sma(J.close[k], 20));
    batch('EMA', (k) => t.ema(J.close[k], 12));
    batch('RSI', (k) => t.rsi(J.close[k], 14));
    batch('MACD', (k) => t.macd(J.close[k], 12, 26, 9));
    batch('Bollinger', (k) => t.bbands(J.close[k], 20, 2));
    batch('StdDev', (k) => t.stddev(J.close[k], 20));
    batch('ATR', (k) => t.atr(J.high[k], J.low[k], J.close[k], 14));
    batch('Stochastic', (k) => t.stoch(J.high[k], J.low[k], J.close[k], 14, 3, 3));
    batch('ADX', (k) => t.adx(J.high[k], J.low[k], 14));
    batch('OBV', (k) => t.obv(J.close[k], J.volume[k]));
    batch('VWAP', (k) => t.vwap(J.high[k], J.low[k], J.close[k], J.volume[k], 14));
  } else {
    throw new Error(`unknown library ${lib}`);
  }
  process.stdout.write(JSON.stringify({ library: lib, results, errors, sink: sink > 0 }) + '\n');
}

void main();
