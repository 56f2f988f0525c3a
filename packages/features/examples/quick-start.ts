// Quick start of @pipeline/features (the same code as in the README). Run: npx tsx examples/quick-start.ts
import { MACD, RSI, createFeatureEngine, emaBatch, isFeaturesError, type Bar } from '@pipeline/features';

// 1. Incremental indicators: add closed bars, replace the forming one as often as it changes.
const rsi = new RSI({ period: 14 });
const macd = new MACD(); // 12, 26, 9
const closes = Array.from({ length: 60 }, (_, i) => 100 + Math.sin(i / 5) * 3);
for (const close of closes) {
  rsi.add(close);
  macd.add(close);
}
rsi.replace(103.2); // the forming bar moved: replaces the last input, O(1)
console.log('RSI', rsi.getResult(), 'MACD', macd.getResultOrThrow());

try {
  new RSI().getResultOrThrow();
} catch (e) {
  if (isFeaturesError(e)) console.log(e.code); // FEATURES_NOT_STABLE
}

// 2. Snapshot and restore, e.g. across a restart (plain JSON).
const saved = JSON.stringify(rsi.snapshot());
const restored = new RSI({ period: 14 });
restored.restore(JSON.parse(saved));
console.log('restored RSI equals', restored.getResult() === rsi.getResult());

// 3. Batch over typed arrays: the same numbers as the incremental API.
const ema = emaBatch(Float64Array.from(closes), { period: 12 });
console.log('EMA(12) first valid at index 11:', ema[10], ema[11]);

// 4. The feature engine: 1m bars in, default features on 1m, 5m, 15m and 1h out.
const engine = createFeatureEngine({ cacheTtlMs: 2000 });
const t0 = Date.UTC(2024, 0, 2, 9, 0);
for (let i = 0; i < 120; i++) {
  const close = 100 + Math.sin((i % closes.length) / 5) * 3; // the same values as closes
  const bar: Bar = {
    symbol: 'EURUSD',
    timeframe: '1m',
    ts: t0 + i * 60_000,
    open: close,
    high: close + 0.2,
    low: close - 0.2,
    close,
    volume: 10,
    source: 'synthetic',
    final: true,
    quality: 1,
  };
  engine.update(bar);
}
const features = engine.getFeatures('EURUSD');
console.log(
  JSON.stringify(features?.timeframes['5m']?.values.rsi14),
  Object.keys(features?.timeframes ?? {}),
);
