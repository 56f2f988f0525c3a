// Per-call cost of `validate()` on the sidecar's hot path (issue 16): 20,000 series, each cycle the
// forming 1m bar of every symbol (the close moving, the minute rolling over every 60 cycles), one call
// per symbol. Prints the median over cycles of the process CPU time (user + system) and of the bytes
// allocated, per call. Bytes: heapUsed after minus before one cycle, after a full GC, in a young
// generation large enough that no scavenge runs inside the cycle.
// Run: pnpm --filter @pipeline/validator bench:hot   (node --expose-gc --max-semi-space-size=256 --import tsx)
import { loadavg } from 'node:os';
import { ManualClock, type Bar } from '@pipeline/core';
import { createValidator } from '../src';

const SYMBOLS = Number(process.env.BENCH_SYMBOLS ?? 20_000);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 30);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const T0 = Date.UTC(2026, 11, 5, 10, 0, 0);
const clock = new ManualClock(T0);
const validator = createValidator({ clock, maxSeries: SYMBOLS });
// Bars as the synthetic source builds them (one literal shape), prepared before the timed loop.
const bar = (i: number, now: number): Bar => {
  const ts = now - (now % 60_000);
  const close = 100 + Math.sin(i + now / 7e5) * 2;
  return {
    symbol: `SYM${i}`,
    timeframe: '1m',
    ts,
    open: 100 + Math.sin(i + ts / 7e5) * 2,
    high: 103,
    low: 97,
    close,
    volume: 1000 + (now % 60_000) / 100,
    source: 'synthetic',
    final: false,
    quality: 1,
  };
};

let kept: unknown = null;
function cycle(bars: Bar[]): void {
  for (const b of bars) kept = validator.validate(b);
}
let now = T0;
const next = (): Bar[] => {
  now += 1000;
  clock.set(now);
  return Array.from({ length: SYMBOLS }, (_, i) => bar(i, now));
};
for (let i = 0; i < 5; i++) cycle(next());
const ns: number[] = [];
const bytes: number[] = [];
for (let i = 0; i < CYCLES; i++) {
  const bars = next();
  gc();
  const h0 = process.memoryUsage().heapUsed;
  const c0 = process.cpuUsage();
  cycle(bars);
  const c = process.cpuUsage(c0);
  const h1 = process.memoryUsage().heapUsed;
  ns.push(((c.user + c.system) * 1e3) / SYMBOLS);
  if (h1 > h0) bytes.push((h1 - h0) / SYMBOLS);
}
void kept;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
console.log(
  JSON.stringify({
    bench: 'validator hot path: validate(forming 1m bar) over 20,000 series, per call',
    series: SYMBOLS,
    nsPerCall: Math.round(median(ns)),
    nsMinPerCall: Math.round(Math.min(...ns)),
    bytesPerCall: Math.round(median(bytes)),
    load: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  }),
);
