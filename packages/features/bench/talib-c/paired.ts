// Our batch functions (writing `into` preallocated outputs) against TA-Lib's C core, call by call: the
// C harness runs in serve mode beside this process and waits blocked in read() between requests, so
// the two sides take turns on the same CPU within milliseconds: one C call over the whole history,
// then one JavaScript call (the order swaps every round), ROUNDS rounds per indicator after WARMUP
// calls per side. Whatever load the machine has at that moment falls on both sides alike.
//
// Statistic: the minimum per side over the rounds, in ns per bar. Both functions are deterministic
// code over the same data; preemption, other processes' cache and memory traffic and interrupts can
// only add time to a call, never remove it, so the fastest of many calls is the closest observation
// of the function's own cost, and the same statistic on both sides keeps the ratio fair. The median is
// printed too, as the spread.
//
// One fresh Node process per run (bench/talib-c/compare.ts starts several, in three warm-up histories):
// V8's compiled code can differ between processes (which code the first calls left behind, whether the
// process has ever detached an ArrayBuffer, which adds a check to every typed-array access), so a
// single process is not the whole story.
//
//   HISTORY=mixed|plain-first|into-only|detached tsx bench/talib-c/paired.ts [bars] [rounds] [indicator,...]
//   prints one JSON line
// HISTORY=detached first detaches an ArrayBuffer (structuredClone with transfer), as a process that has
// ever transferred a buffer (worker messages, byte streams) has: from then on V8 checks on every
// typed-array access whether the buffer is detached. It must run before anything is compiled.
if (process.env.HISTORY === 'detached') {
  const ab = new ArrayBuffer(8);
  structuredClone(ab, { transfer: [ab] });
}
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as f from '../../src';
import { randomSeries } from '../../test/series';
import { prepareTalibC } from './talib-c';

const [barsArg = '100000', roundsArg = '40', only = ''] = process.argv.slice(2);
const N = Number(barsArg);
const ROUNDS = Number(roundsArg);
const WARMUP = 20;
const HISTORY = process.env.HISTORY ?? 'mixed';
if (!['mixed', 'plain-first', 'into-only', 'detached'].includes(HISTORY))
  throw new Error(`HISTORY=${HISTORY}?`);
const s = randomSeries(20240102, N);

const buf = (): Float64Array => new Float64Array(N);
const o1 = buf();
const m3 = { macd: buf(), signal: buf(), histogram: buf() };
const b3 = { upper: buf(), middle: buf(), lower: buf() };
const a3 = { adx: buf(), plusDI: buf(), minusDI: buf() };
const s2 = { k: buf(), d: buf() };
const { ts, high, low, close, volume } = s;

/** Indicator -> [C case name, our call into preallocated outputs, our call with new outputs]. */
const CASES: Record<string, [string, () => unknown, () => unknown]> = {
  SMA: ['SMA', () => f.smaBatch(close, { period: 20 }, o1), () => f.smaBatch(close, { period: 20 })],
  EMA: ['EMA', () => f.emaBatch(close, { period: 12 }, o1), () => f.emaBatch(close, { period: 12 })],
  RSI: ['RSI', () => f.rsiBatch(close, { period: 14 }, o1), () => f.rsiBatch(close, { period: 14 })],
  MACD: ['MACD', () => f.macdBatch(close, undefined, m3), () => f.macdBatch(close)],
  Bollinger: ['Bollinger', () => f.bollingerBatch(close, undefined, b3), () => f.bollingerBatch(close)],
  StdDev: ['StdDev', () => f.stdDevBatch(close, undefined, o1), () => f.stdDevBatch(close)],
  ATR: ['ATR', () => f.atrBatch(high, low, close, undefined, o1), () => f.atrBatch(high, low, close)],
  Stochastic: [
    'Stochastic',
    () => f.stochasticBatch(high, low, close, undefined, s2),
    () => f.stochasticBatch(high, low, close),
  ],
  ADX: ['ADX', () => f.adxBatch(high, low, close, undefined, a3), () => f.adxBatch(high, low, close)],
  OBV: ['OBV', () => f.obvBatch(close, volume, o1), () => f.obvBatch(close, volume)],
};
void ts;

export interface PairedCase {
  /** Minimum over the rounds, ns per bar. */
  js: number;
  c: number;
  /** Median over the rounds, ns per bar (the spread). */
  jsMedian: number;
  cMedian: number;
  rounds: number;
}

const { exe, seriesFile } = prepareTalibC(s);
const child = spawn(exe, [seriesFile, '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();

async function cCall(name: string): Promise<number> {
  child.stdin.write(name + '\n');
  const next = await lines.next();
  const line = next.done === true ? 'error: harness ended' : String(next.value);
  const ns = Number(line);
  if (!Number.isFinite(ns)) throw new Error(`TA-Lib C harness, case ${name}: ${line}`);
  return ns;
}

let sink = 0;
function jsCall(fn: () => unknown): number {
  const t = process.hrtime.bigint();
  sink += Number(fn() !== null);
  return Number(process.hrtime.bigint() - t) / N;
}

const min = (xs: number[]): number => xs.reduce((a, b) => (b < a ? b : a), Infinity);
const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? NaN;
};

async function main(): Promise<void> {
  const results: Record<string, PairedCase> = {};
  const wanted = only === '' ? Object.keys(CASES) : only.split(',');
  for (const ind of wanted) {
    const entry = CASES[ind];
    if (entry === undefined) throw new Error(`unknown indicator ${ind}`);
    const [cName, into, plain] = entry;
    // Warm-up (V8 compiles while these run), after one of three histories (HISTORY): `mixed`, a
    // program that uses both forms of the call (every fourth warm-up call allocates its outputs);
    // `plain-first`, 18 calls with new outputs before the first `into` call (bench/worker.ts's order);
    // `into-only`; `detached`, into-only in a process that has detached a buffer (top of this file).
    if (HISTORY === 'plain-first') for (let i = 0; i < 18; i++) jsCall(plain);
    for (let i = 0; i < WARMUP; i++) {
      await cCall(cName);
      jsCall(HISTORY === 'mixed' && i % 4 === 0 ? plain : into);
    }
    const js: number[] = [];
    const c: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) {
        c.push(await cCall(cName));
        js.push(jsCall(into));
      } else {
        js.push(jsCall(into));
        c.push(await cCall(cName));
      }
    }
    results[ind] = { js: min(js), c: min(c), jsMedian: median(js), cMedian: median(c), rounds: ROUNDS };
  }
  child.stdin.write('q\n');
  child.stdin.end();
  process.stdout.write(
    JSON.stringify({ bars: N, rounds: ROUNDS, history: HISTORY, results, sink: sink > 0 }) + '\n',
  );
}

void main();
