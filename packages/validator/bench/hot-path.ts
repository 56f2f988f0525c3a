// Per-call cost of `validate()` and of `keep()` (the sidecar's hot path, issue 16): 20,000 series, each
// cycle the forming 1m bar of every symbol (the close moving, the minute rolling over every 60 cycles),
// one call per symbol; each on a validator of its own. How it measures: measureCycles in @pipeline/test-utils.
// Run: pnpm --filter @pipeline/validator bench:hot
import { ManualClock, type Bar } from '@pipeline/core';
import { createValidator } from '../src/index';
import { measureCycles as measure } from '@pipeline/test-utils';

const SYMBOLS = Number(process.env.BENCH_SYMBOLS ?? 20_000);
const T0 = Date.UTC(2026, 11, 5, 10, 0, 0);
const clock = new ManualClock(T0);
// Bars as the synthetic source builds them (one literal shape), prepared outside the measured window.
const bar = (i: number, now: number): Bar => {
  const ts = now - (now % 60_000);
  return {
    symbol: `SYM${i}`,
    timeframe: '1m',
    ts,
    open: 100 + Math.sin(i + ts / 7e5) * 2,
    high: 103,
    low: 97,
    close: 100 + Math.sin(i + now / 7e5) * 2,
    volume: 1000 + (now % 60_000) / 100,
    source: 'synthetic',
    final: false,
    quality: 1,
  };
};
let now = T0;
let bars: Bar[] = [];
let kept: unknown = null;
for (const call of ['validate', 'keep'] as const) {
  const validator = createValidator({ clock, maxSeries: SYMBOLS });
  const run =
    call === 'validate'
      ? () => {
          for (const b of bars) kept = validator.validate(b);
        }
      : () => {
          for (const b of bars) kept = validator.keep(b);
        };
  const cost = await measure(SYMBOLS, run, {
    cycles: 30,
    prepare: () => {
      now += 1000;
      clock.set(now);
      bars = Array.from({ length: SYMBOLS }, (_, i) => bar(i, now));
    },
  });
  console.log(
    JSON.stringify({ bench: `validator: ${call}(forming 1m bar), 20,000 series, per call`, ...cost }),
  );
}
void kept;
