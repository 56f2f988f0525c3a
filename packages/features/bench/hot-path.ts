// Per-call cost of the feature engine on the sidecar's hot path (issue 16): 20,000 symbols warmed
// with 60 bars, then each cycle one forming-bar update per symbol (a replace; a new bar every 60
// cycles) followed by a read of the flat values: update, then values(symbol) into a new object frozen
// (kept by the caller in a map of every symbol, as the sidecar did before 2026-12-06); and
// updateValues(bar), which does both and keeps the record per symbol in the engine (what
// apps/sidecar/src/strategy/features.ts calls now). Two sets: the sidecar's strategy set (6 indicators,
// 10 keys) and the package's DEFAULT_FEATURE_SET (12 indicators, 19 keys).
// How it measures: bench/measure.ts. Run: pnpm --filter @pipeline/features bench:hot
import { type Bar } from '@pipeline/core';
import { DEFAULT_FEATURE_SET, FeatureEngine, type FeatureSetSpec } from '../src/index';
import { measureCycles as measure } from '@pipeline/test-utils';

const SYMBOLS = Number(process.env.BENCH_SYMBOLS ?? 20_000);

const STRATEGY_SET: FeatureSetSpec = {
  ema12: { kind: 'ema', options: { period: 12 } },
  ema26: { kind: 'ema', options: { period: 26 } },
  rsi14: { kind: 'rsi', options: { period: 14 } },
  macd: { kind: 'macd', options: { fast: 12, slow: 26, signal: 9 } },
  bb: { kind: 'bollinger', options: { period: 20, stdDev: 2 } },
  atr14: { kind: 'atr', options: { period: 14 } },
};
const T0 = Date.UTC(2026, 11, 5, 9, 0, 0);
const symbols = Array.from({ length: SYMBOLS }, (_, i) => `SYM${i}`);
const bar = (i: number, t: number): Bar => {
  const ts = t - (t % 60_000);
  const close = 100 + Math.sin(i + t / 7e5) * 2 + Math.sin(t / 3e4);
  return {
    symbol: symbols[i] ?? '',
    timeframe: '1m',
    ts,
    open: 100 + Math.sin(i + ts / 7e5) * 2,
    high: close + 1,
    low: close - 1.5,
    close,
    volume: 1000 + (t % 60_000) / 100,
    source: 'synthetic',
    final: false,
    quality: 1,
  };
};

async function run(name: string, spec: FeatureSetSpec, both: boolean): Promise<Record<string, unknown>> {
  const engine = new FeatureEngine({ features: spec, timeframes: [], cacheTtlMs: 0 });
  for (let k = 60; k > 0; k--) for (let i = 0; i < SYMBOLS; i++) engine.update(bar(i, T0 - k * 60_000));
  let t = T0;
  let bars: Bar[] = [];
  let kept: unknown = null;
  const latest = new Map<string, unknown>();
  const cost = await measure(
    SYMBOLS,
    () => {
      for (let i = 0; i < SYMBOLS; i++) {
        const b = bars[i] as Bar;
        if (both) {
          kept = engine.updateValues(b); // frozen, kept by the engine and the caller
        } else {
          engine.update(b);
          kept = Object.freeze(engine.values(b.symbol)); // frozen, as the sidecar kept it
          latest.set(b.symbol, kept);
        }
      }
    },
    {
      prepare: () => {
        t += 1000;
        bars = symbols.map((_, i) => bar(i, t));
      },
    },
  );
  void kept;
  return { case: `${both ? 'updateValues' : 'update + values + Map.set'}, ${name}`, ...cost };
}

for (const [name, spec, both] of [
  ['strategy set (10 keys)', STRATEGY_SET, false],
  ['strategy set (10 keys)', STRATEGY_SET, true],
  ['DEFAULT_FEATURE_SET (19 keys)', DEFAULT_FEATURE_SET, false],
] as const)
  console.log(JSON.stringify({ bench: 'features: per symbol', ...(await run(name, spec, both)) }));
